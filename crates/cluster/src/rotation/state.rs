//! The files of a rotation: where each CA's trust, key and set-aside material live, the
//! state file, and reading a trust file as a list of anchors (certificates or public keys).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kubepki_keys::{KeyPair, PublicKey, pem::pem_blocks, pem::pem_encode};
use kubepki_sign::certificates_from_bytes;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use super::{Phase, RotatedCa};
use crate::ClusterError;
use crate::files::read;
use crate::tree::{crt, key};

/// The error for a rotation file at `path` that is not as it should be.
pub(super) fn rotation_file(path: &Path, reason: impl Into<String>) -> ClusterError {
    ClusterError::RotationFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The files of one CA's rotation in a tree.
pub(crate) struct Paths {
    /// `<cert dir>/rotation/<folder>`.
    pub(crate) dir: PathBuf,
    /// What every component trusts: `<base>.crt`, or `sa.pub`.
    pub(crate) trust: PathBuf,
    /// The key that signs: `<base>.key`, or `sa.key`.
    pub(crate) key: PathBuf,
    /// Where the key that signs is when it is on a PKCS#11 token: `<base>.key.uri`.
    pub(crate) key_uri: PathBuf,
    /// The new CA's certificate (public key for `sa`) between start and promote.
    pub(crate) new_anchor: PathBuf,
    /// The new key between start and promote.
    pub(crate) new_key: PathBuf,
    /// The new key's `pkcs11:` URI between start and promote, when it is on a token.
    pub(crate) new_key_uri: PathBuf,
    /// The old CA's certificate (public key for `sa`), set aside by promote.
    pub(crate) old_anchor: PathBuf,
    /// The old key, set aside by promote.
    pub(crate) old_key: PathBuf,
    /// The old key's `pkcs11:` URI, set aside by promote, when it was on a token.
    pub(crate) old_key_uri: PathBuf,
    /// The new CA's certificate signed by the old CA (X.509 CAs only), from promote to
    /// finish: appended to every leaf, so that a client that trusts only the old CA still
    /// finds a path to it from a leaf of the new one.
    pub(crate) cross: PathBuf,
    /// The state file.
    pub(crate) state: PathBuf,
}

impl Paths {
    pub(crate) fn of(cert_dir: &Path, ca: RotatedCa) -> Self {
        let dir = rotation_dir(cert_dir).join(ca.folder());
        let (trust, key_file, ext) = match ca.ca() {
            Some(name) => (
                crt(cert_dir, name.base()),
                key(cert_dir, name.base()),
                "crt",
            ),
            None => (cert_dir.join("sa.pub"), cert_dir.join("sa.key"), "pub"),
        };
        Paths {
            new_anchor: dir.join(format!("new.{ext}")),
            new_key: dir.join("new.key"),
            new_key_uri: dir.join("new.key.uri"),
            old_key_uri: dir.join("old.key.uri"),
            key_uri: trust.with_extension("key.uri"),
            old_anchor: dir.join(format!("old.{ext}")),
            old_key: dir.join("old.key"),
            cross: dir.join("cross.crt"),
            state: dir.join("state.json"),
            trust,
            key: key_file,
            dir,
        }
    }
}

/// `<cert dir>/rotation`.
pub(crate) fn rotation_dir(cert_dir: &Path) -> PathBuf {
    cert_dir.join("rotation")
}

/// The one-certificate file kube-controller-manager's `--cluster-signing-cert-file` reads
/// during a rotation of the cluster CA (kubeadm#1350: that flag refuses a bundle).
pub(crate) fn signing_cert(cert_dir: &Path) -> PathBuf {
    rotation_dir(cert_dir).join("ca").join("signing.crt")
}

/// What the state file records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    /// The phase reached.
    pub(crate) phase: Phase,
    /// When `start` ran (seconds since the Unix epoch).
    pub(crate) started_at: u64,
    /// When `promote` ran.
    #[serde(default)]
    pub(crate) promoted_at: Option<u64>,
    /// When `finish` ran.
    #[serde(default)]
    pub(crate) finished_at: Option<u64>,
}

impl State {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    }
}

/// The state file of a rotation, `None` when there is none.
pub(crate) fn read_state(path: &Path) -> Result<Option<State>, ClusterError> {
    if !path.exists() {
        return Ok(None);
    }
    serde_json::from_slice(&read(path)?)
        .map(Some)
        .map_err(|e| ClusterError::RotationFile {
            path: path.to_path_buf(),
            reason: format!("not a rotation state file: {e}"),
        })
}

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn from_unix(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// One thing a trust file holds: a CA certificate, or a service-account public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Anchor {
    /// Its PEM block.
    pub(crate) pem: String,
    /// Its public key (SubjectPublicKeyInfo DER): what identifies it.
    pub(crate) spki: Vec<u8>,
    /// The certificate's DER (empty for a public key).
    pub(crate) cert_der: Vec<u8>,
}

impl Anchor {
    /// A short name for reports: the hex of the first 8 bytes of its key identifier.
    pub(crate) fn id(&self) -> String {
        let id = PublicKey::from_der(&self.spki)
            .map(|k| k.key_id())
            .unwrap_or_default();
        id.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn from_cert_der(der: &[u8]) -> Result<Self, String> {
        use der::{Decode, Encode};
        let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| e.to_string())?;
        Ok(Anchor {
            pem: pem_encode("CERTIFICATE", der),
            spki,
            cert_der: der.to_vec(),
        })
    }

    pub(crate) fn from_public_key(key: &PublicKey) -> Self {
        Anchor {
            pem: key.to_pem(),
            spki: key.to_der().to_vec(),
            cert_der: Vec::new(),
        }
    }
}

/// The anchors in `bytes`, read as `ca`'s trust file holds them (certificates, or `PUBLIC
/// KEY` blocks for `sa`), in order.
pub(crate) fn parse_anchors(
    ca: RotatedCa,
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<Anchor>, ClusterError> {
    let bad = |reason: String| ClusterError::RotationFile {
        path: path.to_path_buf(),
        reason,
    };
    let anchors: Vec<Anchor> = if ca.ca().is_some() {
        certificates_from_bytes(bytes)
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(|der| Anchor::from_cert_der(der).map_err(&bad))
            .collect::<Result<_, _>>()?
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not PEM text".to_owned()))?;
        pem_blocks(text)
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .filter(|b| b.label == "PUBLIC KEY")
            .map(|b| {
                PublicKey::from_der(&b.der)
                    .map(|k| Anchor::from_public_key(&k))
                    .map_err(|e| bad(e.to_string()))
            })
            .collect::<Result<_, _>>()?
    };
    if anchors.is_empty() {
        return Err(bad(format!(
            "holds no {}",
            if ca.ca().is_some() {
                "certificate"
            } else {
                "PUBLIC KEY block"
            }
        )));
    }
    Ok(anchors)
}

/// Reads the trust file `path` of `ca`.
pub(crate) fn read_anchors(ca: RotatedCa, path: &Path) -> Result<Vec<Anchor>, ClusterError> {
    parse_anchors(ca, path, &read(path)?)
}

/// The text of a trust file holding `anchors`, in order.
pub(crate) fn bundle(anchors: &[&Anchor]) -> String {
    anchors.iter().map(|a| a.pem.as_str()).collect()
}

/// Reads a private key file.
pub(crate) fn read_key(path: &Path) -> Result<KeyPair, ClusterError> {
    crate::files::load_key(path)
}
