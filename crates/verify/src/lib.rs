#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod cert;
mod error;
mod kube;
mod names;
mod path;
mod webpki;

pub use cert::Cert;
pub use error::VerifyError;
pub use kube::{KubernetesIdentity, kubernetes_identity, kubernetes_identity_pem, verify_pem};
pub use names::PeerName;
pub use path::{KeyPurpose, VerifiedPath, VerifyOptions, verify};
