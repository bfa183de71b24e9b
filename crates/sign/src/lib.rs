#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod batch;
mod ca;
mod certificate;
mod error;
mod serial;
mod tbs;
mod time;

pub use batch::issue_batch;
pub use ca::{Ca, IssueOptions, IssuedCert};
pub use certificate::{CertificateInfo, certificates_from_bytes, parse_certificate};
pub use error::SignError;
pub use serial::random_serial;
pub use time::parse::parse_rfc3339;
pub use time::{Timestamp, format_kubeadm_date, format_rfc3339};
