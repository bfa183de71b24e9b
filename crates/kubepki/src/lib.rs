#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::time::Duration;

pub use kubepki_api as api;
pub use kubepki_cluster as cluster;
pub use kubepki_csr as csr;
pub use kubepki_keys as keys;
pub use kubepki_profile as profile;
pub use kubepki_sign as sign;
pub use kubepki_verify as verify;

pub use kubepki_csr::{Csr, CsrBuilder, CsrError, San, SanKind, Subject};
pub use kubepki_keys::{KeyAlgorithm, KeyError, KeyFormat, KeyPair, PublicKey, Signer};
pub use kubepki_profile::{ClusterParams, Profile, ProfileError, ProfileSet, Usage};
pub use kubepki_sign::{Ca, CertificateInfo, IssueOptions, IssuedCert, SignError};

/// Any error of the crates below, for callers that do not care which one.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A request problem.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// A profile problem.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A CA or issuing problem.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Finds a profile by name: in `profiles_yaml` (a profile file's text) when given, else among
/// the built-in ones, filled in with `params`.
///
/// # Errors
/// [`Error::Profile`] for an unknown name or a bad profile file.
pub fn find_profile(
    name: &str,
    profiles_yaml: Option<&str>,
    params: &ClusterParams,
) -> Result<Profile, Error> {
    match profiles_yaml {
        Some(yaml) => Ok(ProfileSet::from_yaml(yaml)?.get(name)?.clone()),
        None => Ok(kubepki_profile::builtin(name, params)?),
    }
}

/// Creates a self-signed root CA with a fresh key: returns the CA (holding the key) and the
/// key's PEM in `key_format`, to be stored as a secret.
///
/// # Errors
/// [`Error::Key`] when key generation fails, [`Error::Sign`] or [`Error::Profile`] when the
/// profile refuses the subject or validity.
pub fn new_root_ca(
    algorithm: KeyAlgorithm,
    subject: &Subject,
    profile: &Profile,
    options: &IssueOptions,
    key_format: KeyFormat,
) -> Result<(Ca, keys::KeyPem), Error> {
    let key = KeyPair::generate(algorithm)?;
    let pem = key.to_pem(key_format)?;
    let ca = Ca::self_signed(Box::new(key), subject, profile, options)?;
    Ok((ca, pem))
}

/// Signs a PEM or DER CSR: parses it, checks its proof of possession, and issues under
/// `profile` with the given validity (the profile's default when `None`).
///
/// # Errors
/// [`Error::Csr`] for a bad or forged request, [`Error::Sign`] or [`Error::Profile`] when
/// issuing is refused.
pub fn sign_csr(
    ca: &Ca,
    csr: &[u8],
    profile: &Profile,
    now: std::time::SystemTime,
    validity: Option<Duration>,
) -> Result<IssuedCert, Error> {
    let csr = Csr::from_bytes(csr)?;
    let options = IssueOptions { now, validity };
    Ok(ca.issue(&csr, profile, &options)?)
}

/// The workspace README's example runs as a doctest too, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;
