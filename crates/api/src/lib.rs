#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod approval;
mod controller;
mod error;
mod reconcile;
mod server;
mod signers;
mod store;
mod time;
mod types;
mod validation;

pub use approval::{
    AUTO_APPROVED, Decision, KubeletClientRequest, approve, approve_automatically, auto_approve,
    deny, kubelet_client_request,
};
pub use controller::{
    BACKDATE, BUILTIN_SIGNERS, DECIDED_TTL, DEFAULT_SIGNING_DURATION, MIN_TTL, PENDING_TTL,
    SHORT_TTL, SignOutcome, SigningController, cleanup_reason,
};
pub use error::{ApiError, FieldError, FieldErrorKind};
pub use reconcile::{Reconciliation, StoreController};
pub use server::{UserInfo, create_request, update_request};
pub use signers::{
    Signers, default_usages, usage_profile, validate_apiserver_client, validate_kubelet_client,
    validate_kubelet_serving,
};
pub use store::{CsrStore, FileStore, Scan};
pub use time::{format_time, parse_time};
pub use types::{
    API_VERSION, APPROVED, Base64Bytes, CertificateSigningRequest,
    CertificateSigningRequestCondition, CertificateSigningRequestList,
    CertificateSigningRequestSpec, CertificateSigningRequestStatus, DENIED, FAILED, KIND,
    MAX_ANNOTATIONS_BYTES, MAX_DEPTH, MAX_OBJECT_BYTES, ObjectMeta,
};
pub use validation::{
    KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING, LEGACY_UNKNOWN,
    admit_subject_restriction, parse_request, validate_create, validate_update,
};
