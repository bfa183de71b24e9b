#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod batch;
mod ca;
mod certificate;
mod error;
mod serial;
mod tbs;

pub use batch::issue_batch;
pub use ca::{Ca, IssueOptions, IssuedCert};
pub use certificate::{CertificateInfo, certificates_from_bytes, parse_certificate};
pub use error::{SignError, Timestamp};
pub use serial::random_serial;
