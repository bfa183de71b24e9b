#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod build;
mod bundle;
mod ca_source;
mod check;
mod csrs;
mod error;
mod expiration;
mod files;
mod init;
mod issue;
mod keygen;
mod kubeconfig;
mod kubeconfig_edit;
mod plan;
mod recover;
mod renew;
mod renewal;
mod report;
mod rotation;
mod survey;
mod token_ca;
mod tree;
mod yaml;

pub use bundle::{Bundle, BundleFile, generate};
pub use ca_source::{CaSigner, CaSource, ExternalCa, KeyUri, recorded_key_uri};
pub use csrs::generate_csrs;
pub use error::{ClusterError, Misfit};
pub use expiration::{ExpirationEntry, ExpirationReport, check_expiration, due_for_renewal};
pub use init::init;
pub use issue::{
    COMPONENTS, ComponentOptions, UserKubeconfigOptions, issue_component, user_kubeconfig,
};
pub use keygen::generate_keys;
pub use kubeconfig::{
    ClusterEntry, ContextEntry, Kubeconfig, NamedCluster, NamedContext, NamedUser, UserEntry,
    decode_data,
};
pub use plan::{GroupsCompat, InitOptions, parse_san};
pub use recover::{KUBELET_CONF, RecoverOptions, recover};
pub use renew::{
    RENEWABLE_KUBECONFIGS, RenewOptions, RenewReport, Renewed, Skipped, renew, renew_due,
    renew_each, renew_with_ca, renewable_names,
};
pub use renewal::renewal_time;
pub use report::{Action, InitReport, ReportEntry};
pub use rotation::{
    CaPhase, CaStatus, DEFAULT_TOKEN_LIFETIME, FileChange, FileTrust, FlagChange, Phase,
    PhaseReport, RestartPlan, RestartStep, RotateOptions, RotatedCa, RotationStatus, TokenKey,
    TokenKeys, finish as rotate_finish, promote as rotate_promote,
    promote_with as rotate_promote_with, rollback as rotate_rollback, start as rotate_start,
    start_with as rotate_start_with, status as rotation_status,
};
pub use token_ca::{
    TokenCaKey, TokenKeyAction, TokenKeyOrigin, init_token_ca_key, init_token_key_action,
};
pub use tree::{
    CaName, KUBECONFIGS, KubeconfigSpec, LEAVES, LeafSpec, certificate_files, key_uri_file,
    kubeconfig_files,
};
