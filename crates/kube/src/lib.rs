#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod approve;
mod client;
mod controller;
mod csrs;
mod error;
#[cfg(test)]
mod fake_api;
mod leader;
mod metrics;

pub use approve::{ApprovalPolicy, Approver, Verdict, approve_condition};
pub use client::connect;
pub use controller::{ControllerOptions, run};
pub use csrs::{KubeCsrs, Subresource, from_kube};
pub use error::KubeError;
pub use leader::{LeaderElector, LeaseConfig};
pub use metrics::{Metrics, serve};
