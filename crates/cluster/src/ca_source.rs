//! Where the cluster CA's key comes from: a `ca.key` file (kubeadm's way), a signer that
//! holds it elsewhere (a PKCS#11 token, a KMS), or nowhere here (external CA mode). One type
//! for `init` and `generate`, for the CLI and the C ABI alike.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use der::pem::LineEnding;
use kubepki_keys::{KeyError, PublicKey, Signer};
use kubepki_sign::{Ca, CertificateInfo, SignError, certificates_from_bytes};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::ClusterError;
use crate::files::read;
use crate::tree::{CaName, crt, key, key_uri_file};

/// Where the cluster CA's key is (the front-proxy and etcd CAs are always files).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CaSource {
    /// `ca.key` in the certificate folder, made with `ca.crt` when both are absent.
    #[default]
    File,
    /// A key held by a signer (a PKCS#11 token, a KMS behind a callback): no `ca.key` is
    /// written, and one that exists is refused. A missing `ca.crt` is self-signed with it, or
    /// is `certificate` when given; an existing `ca.crt` must be the signer's certificate.
    Signer {
        /// The key.
        signer: CaSigner,
        /// The CA certificate to place as `ca.crt` when it is absent, instead of a new one.
        certificate: Option<ExternalCa>,
        /// Where the key is, recorded in `ca.key.uri` for later commands (without a PIN).
        key_uri: Option<KeyUri>,
    },
    /// External CA mode: the CA certificate without its key. It is placed as `ca.crt` when
    /// absent (an existing `ca.crt` must be the same certificate), and what the CA would sign
    /// is reported missing, to be signed elsewhere.
    External(ExternalCa),
}

impl CaSource {
    /// A signer's key, nothing recorded, the CA certificate made anew when absent.
    pub fn signer(signer: Arc<dyn Signer>) -> Self {
        CaSource::Signer {
            signer: CaSigner(signer),
            certificate: None,
            key_uri: None,
        }
    }

    /// The CA certificate given with this source, if any, to place as `ca.crt`.
    pub(crate) fn given_certificate(&self) -> Option<&ExternalCa> {
        match self {
            CaSource::File => None,
            CaSource::Signer { certificate, .. } => certificate.as_ref(),
            CaSource::External(external) => Some(external),
        }
    }
}

/// A signer shared by the options and the CA made from it (options are cloned, a [`Ca`]
/// owns its boxed signer). Two are equal when they hold the same public key.
///
/// [`Ca`]: kubepki_sign::Ca
#[derive(Clone)]
pub struct CaSigner(pub Arc<dyn Signer>);

impl CaSigner {
    /// A boxed signer for a [`kubepki_sign::Ca`], sharing this key.
    pub(crate) fn boxed(&self) -> Box<dyn Signer> {
        Box::new(self.clone())
    }
}

impl Signer for CaSigner {
    fn public_key(&self) -> &PublicKey {
        self.0.public_key()
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.0.signature_algorithm()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.sign(message)
    }
}

impl fmt::Debug for CaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CaSigner")
            .field(&self.0.public_key().kind())
            .finish()
    }
}

impl PartialEq for CaSigner {
    fn eq(&self, other: &Self) -> bool {
        self.0.public_key() == other.0.public_key()
    }
}

impl Eq for CaSigner {}

/// A CA certificate given rather than made (external CA mode, or a key on a token with its
/// certificate from elsewhere), checked to be a CA when read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalCa {
    /// The CA certificate's DER, then the chain that came with it.
    certificates: Vec<Vec<u8>>,
}

impl ExternalCa {
    /// Reads a CA certificate (PEM, or DER), further certificates being its chain.
    ///
    /// # Errors
    /// [`ClusterError::Sign`] when it does not parse, holds no certificate
    /// ([`SignError::MalformedCertificate`]) or the first is not a CA ([`SignError::NotACa`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ClusterError> {
        let fail = |source| ClusterError::Sign {
            name: "external CA".to_owned(),
            source,
        };
        let certificates = certificates_from_bytes(bytes).map_err(fail)?;
        let first = certificates.first().ok_or_else(|| {
            fail(SignError::MalformedCertificate(
                "no certificate in it".to_owned(),
            ))
        })?;
        let info = CertificateInfo::from_der(first).map_err(fail)?;
        if !info.is_ca {
            return Err(fail(SignError::NotACa {
                subject: info.subject.to_string(),
                reason: "it is not a CA certificate",
            }));
        }
        Ok(ExternalCa { certificates })
    }

    /// The CA certificate's DER.
    pub fn der(&self) -> &[u8] {
        self.certificates.first().map_or(&[], Vec::as_slice)
    }

    /// What is written as `ca.crt`: every certificate given, as PEM, re-encoded from what
    /// was parsed.
    pub(crate) fn pem(&self) -> String {
        self.certificates
            .iter()
            .filter_map(|der| der::pem::encode_string("CERTIFICATE", LineEnding::LF, der).ok())
            .collect()
    }
}

/// Where a CA's key is when it is not a file: one `pkcs11:` URI, recorded in
/// `<base>.key.uri`. It never holds a PIN (`pin-value`): the record is not secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUri(String);

impl KeyUri {
    /// The URI, checked to carry no `pin-value` (remove it first: the PIN comes from
    /// `pin-source` or the environment when the key is used).
    ///
    /// # Errors
    /// [`ClusterError::PinInKeyUri`] when it carries one; [`ClusterError::InvalidKeyUri`] when
    /// it is empty or spans lines.
    pub fn new(uri: &str) -> Result<Self, ClusterError> {
        let uri = uri.trim();
        if uri.is_empty() || uri.contains(['\n', '\r']) {
            return Err(ClusterError::InvalidKeyUri {
                value: uri.to_owned(),
            });
        }
        let has_pin = uri
            .split([';', '?', '&'])
            .any(|attribute| attribute.to_ascii_lowercase().starts_with("pin-value="));
        if has_pin {
            return Err(ClusterError::PinInKeyUri);
        }
        Ok(KeyUri(uri.to_owned()))
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The content of the record file: the URI on one line.
    pub(crate) fn record(&self) -> String {
        format!("{}\n", self.0)
    }
}

/// The URI that `init` recorded in `ca.key.uri` for the cluster CA, when there is no
/// `ca.key` (a key file wins over a stale record).
///
/// # Errors
/// [`ClusterError::Read`] when the record cannot be read; [`ClusterError::InvalidKeyUri`]
/// when it is not UTF-8 text.
pub fn recorded_key_uri(cert_dir: &Path) -> Result<Option<String>, ClusterError> {
    let record = key_uri_file(cert_dir, CaName::Ca);
    if crate::tree::key(cert_dir, CaName::Ca.base()).exists() || !record.exists() {
        return Ok(None);
    }
    let text = String::from_utf8(read(&record)?).map_err(|_| ClusterError::InvalidKeyUri {
        value: format!("{} (not UTF-8 text)", record.display()),
    })?;
    Ok(Some(text.trim().to_owned()))
}

pub(crate) fn load_ca(cert_dir: &Path, ca: CaName, what: &str) -> Result<Ca, ClusterError> {
    let (crt_path, key_path) = (crt(cert_dir, ca.base()), key(cert_dir, ca.base()));
    if !key_path.exists() {
        return Err(ClusterError::NoCaKey {
            ca: ca.name().to_owned(),
            path: key_path,
            what: what.to_owned(),
        });
    }
    Ca::from_pem(&read(&crt_path)?, &read(&key_path)?, None).map_err(|source| ClusterError::Sign {
        name: crt_path.display().to_string(),
        source,
    })
}

/// A CA for one operation: the cluster CA the caller opened (its key on a token, say), or
/// one loaded from the tree.
pub(crate) enum CaRef<'a> {
    Given(&'a Ca),
    Loaded(Ca),
}

impl core::ops::Deref for CaRef<'_> {
    type Target = Ca;

    fn deref(&self) -> &Ca {
        match self {
            CaRef::Given(ca) => ca,
            CaRef::Loaded(ca) => ca,
        }
    }
}

/// `cluster_ca` when the operation needs the cluster CA and the caller gave it, else the CA
/// from its files in `cert_dir`.
pub(crate) fn ca_for<'a>(
    cert_dir: &Path,
    ca: CaName,
    what: &str,
    cluster_ca: Option<&'a Ca>,
) -> Result<CaRef<'a>, ClusterError> {
    match cluster_ca {
        Some(given) if ca == CaName::Ca => Ok(CaRef::Given(given)),
        _ => load_ca(cert_dir, ca, what).map(CaRef::Loaded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_uri_with_a_pin_is_refused_in_any_case_and_place() {
        for uri in [
            "pkcs11:token=t;object=ca?pin-value=1234",
            "pkcs11:token=t;object=ca?module-path=/m.so&PIN-VALUE=1",
            "pkcs11:token=t;pin-value=1234;object=ca",
        ] {
            assert!(
                matches!(KeyUri::new(uri), Err(ClusterError::PinInKeyUri)),
                "{uri}"
            );
        }
        let kept = KeyUri::new(" pkcs11:token=t;object=ca?pin-source=file:/run/pin \n")
            .expect("a pin-source is no secret");
        assert_eq!(
            kept.record(),
            "pkcs11:token=t;object=ca?pin-source=file:/run/pin\n"
        );
    }

    #[test]
    fn a_key_uri_over_two_lines_is_refused() {
        assert!(matches!(
            KeyUri::new("pkcs11:token=a\npkcs11:token=b"),
            Err(ClusterError::InvalidKeyUri { .. })
        ));
    }

    #[test]
    fn an_external_ca_must_be_a_ca() {
        let err = ExternalCa::from_bytes(b"").expect_err("empty");
        assert!(
            matches!(
                err,
                ClusterError::Sign {
                    source: SignError::MalformedCertificate(_),
                    ..
                }
            ),
            "{err}"
        );
    }
}
