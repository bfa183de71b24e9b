#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod builtin;
mod duration;
mod error;
mod file;
mod kubeadm_defaults;
mod profile;
mod signers;
mod usage;

pub use builtin::{
    BACKDATE, BUILTIN_NAMES, ClusterParams, KubeletClientGroup, ServiceNetworks, builtin,
    ca_profile, first_address, first_service_ip, service_networks,
};
pub use duration::format_duration;
pub use duration::parse::parse_duration;
pub use error::ProfileError;
pub use file::{MAX_PROFILE_FILE_BYTES, ProfileSet};
pub use kubeadm_defaults::{
    DEFAULT_BIND_PORT, DEFAULT_CA_VALIDITY, DEFAULT_CA_VALIDITY_TEXT, DEFAULT_CERT_VALIDITY,
    DEFAULT_CERT_VALIDITY_TEXT, DEFAULT_CLUSTER_NAME, DEFAULT_DNS_DOMAIN, DEFAULT_SERVICE_CIDR,
    DEFAULT_SERVICE_NETWORK,
};
pub use profile::{
    Approved, CaConstraint, DEFAULT_MAX_ORGANIZATIONS, DEFAULT_MAX_SANS, NameRule, Profile,
    SanPolicy, SubjectPolicy,
};
pub use signers::SignerCa;
pub use usage::{Usage, key_usage_and_eku, usages_from_cert_bits};
