#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod node_name;
mod request;
mod request_rules;
mod san;
mod subject;

pub use error::CsrError;
pub use node_name::{MAX_NODE_NAME, NODE_USER_PREFIX, check_node_name};
pub use request::{Csr, CsrBuilder, MAX_CSR_BYTES, RequestedExtension, group_in_ou_warnings};
pub use san::{San, SanKind};
pub use subject::{NameAttribute, Subject};
