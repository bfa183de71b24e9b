#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::time::Duration;

// Every crate below, whole, under the name of its area: for what the flat surface leaves out
// (the kubeadm tree, the certificates.k8s.io objects, PEM helpers, batch issuing).
pub use kubepki_api as api;
pub use kubepki_cluster as cluster;
pub use kubepki_csr as csr;
pub use kubepki_fs as fs;
pub use kubepki_keys as keys;
#[cfg(feature = "pkcs11")]
pub use kubepki_pkcs11 as pkcs11;
pub use kubepki_profile as profile;
pub use kubepki_sign as sign;
pub use kubepki_verify as verify;

// The RustCrypto crates whose types appear in our signatures (certificates, names, times),
// at the versions we build with.
pub use der;
pub use x509_cert;

// The flat surface: the types and calls of the everyday jobs (make a CA, a key and a CSR,
// sign it under a profile, read and verify the result, lay out a cluster's tree) and every
// crate's error.
pub use kubepki_api::ApiError;
pub use kubepki_cluster::{ClusterError, InitOptions, RenewOptions, check_expiration, init, renew};
pub use kubepki_csr::{Csr, CsrBuilder, CsrError, San, SanKind, Subject};
pub use kubepki_fs::FsError;
pub use kubepki_keys::{KeyAlgorithm, KeyError, KeyFormat, KeyPair, KeyPem, PublicKey, Signer};
#[cfg(feature = "pkcs11")]
pub use kubepki_pkcs11::Pkcs11Error;
pub use kubepki_profile::{BACKDATE, ClusterParams, Profile, ProfileError, ProfileSet, Usage};
pub use kubepki_sign::{
    Ca, CertificateInfo, IssueOptions, IssuedCert, SignError, Timestamp, certificates_from_bytes,
    format_rfc3339, parse_rfc3339,
};
pub use kubepki_verify::{
    KeyPurpose, PeerName, VerifyError, VerifyOptions, kubernetes_identity_pem, verify_pem,
};

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
    /// A chain that does not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A cluster tree problem (init, check-expiration, renewal, kubeconfig files).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A certificates.k8s.io problem (objects, signers, the store).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Writing or locking files.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A PKCS#11 token problem.
    #[cfg(feature = "pkcs11")]
    #[error(transparent)]
    Pkcs11(#[from] Pkcs11Error),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every crate's error converts into [`Error`], so `?` works across crates.
    #[test]
    fn every_crate_error_converts() {
        fn convert<E: Into<Error>>(e: E) -> Error {
            e.into()
        }
        let errors = [
            convert(KeyError::Generation("k".to_owned())),
            convert(SignError::MalformedCertificate("s".to_owned())),
            convert(FsError::Exists { path: "x".into() }),
            convert(ClusterError::CaNotRenewed {
                name: "ca".to_owned(),
            }),
            convert(ApiError::Timestamp("t".to_owned())),
        ];
        assert!(matches!(errors[2], Error::Fs(_)));
        assert_eq!(
            errors[4].to_string(),
            ApiError::Timestamp("t".to_owned()).to_string()
        );
    }

    /// The x509-cert and der re-exports are the versions our signatures use: what
    /// `sign::parse_certificate` returns is a `kubepki::x509_cert::Certificate`.
    #[test]
    fn x509_cert_and_der_are_ours() {
        use der::Decode;
        assert_eq!(u8::from_der(&[0x02, 0x01, 0x05]).unwrap(), 5);
        let parse: fn(&[u8]) -> Result<x509_cert::Certificate, SignError> =
            kubepki_sign::parse_certificate;
        assert!(parse(&[0x02, 0x01, 0x05]).is_err());
    }
}

/// The workspace README's example runs as a doctest too, so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;
