#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod request;
mod request_rules;
mod san;
mod subject;

pub use error::CsrError;
pub use request::{Csr, CsrBuilder, MAX_CSR_BYTES, RequestedExtension, group_in_ou_warnings};
pub use san::{San, SanKind};
pub use subject::{NameAttribute, Subject};
