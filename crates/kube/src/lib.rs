#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod approve;
mod client;
mod cluster_info;
mod controller;
mod csrs;
mod decide;
mod error;
mod events;
#[cfg(test)]
mod fake_api;
mod first_sight;
#[cfg(test)]
mod fixtures;
mod leader;
mod metrics;
#[cfg(test)]
mod mock_api;
mod retry;
mod root_ca;
mod serving;
mod signing;
mod verdict;
mod waiting;
mod workqueue;

pub use approve::{ApprovalPolicy, Approver};
pub use client::{ClusterSource, connect};
pub use cluster_info::{CLUSTER_INFO, set_cluster_info_ca};
pub use controller::{ControllerOptions, run};
pub use csrs::{KubeCsrs, Subresource, from_kube, same_object};
pub use error::KubeError;
pub use leader::{LeaderElector, LeaseConfig};
pub use metrics::{Metrics, Page, Pages, serve};
pub use root_ca::{ROOT_CA_CONFIG_MAP, RootCaReport, root_ca_report};
pub use serving::{
    DEFAULT_CLUSTER_DOMAIN, DEFAULT_SERVICE_CLUSTER_IP_RANGE, Requester, ServingConstraints,
    dns_names, resolution_verdict, serving_verdict,
};
pub use verdict::{Policy, Refusal, Verdict};
