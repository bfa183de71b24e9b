#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod init;
mod kubeconfig;
mod tree;

pub use error::{ClusterError, Misfit};
pub use init::{
    Action, GroupsCompat, InitOptions, InitReport, ReportEntry, generate_keys, init, parse_san,
};
pub use kubeconfig::{
    ClusterEntry, ContextEntry, Kubeconfig, NamedCluster, NamedContext, NamedUser, UserEntry,
    decode_data,
};
pub use tree::{CaName, KUBECONFIGS, KubeconfigSpec, LEAVES, LeafSpec};
