//! CA rotation (`ca rotate start|promote|finish|status`): replacing the cluster CA, the
//! front-proxy CA, the etcd CA and the service-account key of a kubeadm tree in three
//! phases, each one journaled change of the locked tree.
//!
//! - `start`: a new CA (or key) is set aside in `pki/rotation/<ca>/new.*` and every trust
//!   location holds the old and the new one; the old one still signs.
//! - `promote`: every leaf and kubeconfig client certificate is reissued under the new CA,
//!   which now signs (`<ca>.key` is its key); trust still holds both. The old pair is set
//!   aside in `pki/rotation/<ca>/old.*`.
//! - `finish`: the old CA (or key) leaves every trust location; its key stays aside in
//!   `pki/rotation/<ca>/old.key`, or is shredded.
//!
//! In every bundle the first certificate (or public key) is the one that signs, so that
//! every tool that reads `ca.crt` as "the CA" (kubeadm, `certs renew`) still finds the CA
//! whose key is `ca.key`.

mod change;
mod cross_signed;
mod keys;
mod kubelet;
mod manifests;
mod phase;
mod plan;
mod state;
mod status;

use std::path::PathBuf;
use std::time::Duration;

use kubepki_keys::KeyAlgorithm;
use serde::Serialize;

pub use phase::{finish, promote, promote_with, rollback, start, start_with};
pub use plan::{FlagChange, RestartPlan, RestartStep};
pub use status::{CaStatus, FileTrust, RotationStatus, status};

use crate::tree::CaName;

/// What is rotated: one of the three CAs, or the service-account key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RotatedCa {
    /// The cluster CA (`ca.crt`, `ca.key`).
    Cluster,
    /// The front-proxy CA (`front-proxy-ca.crt`).
    FrontProxy,
    /// The etcd CA (`etcd/ca.crt`).
    Etcd,
    /// The service-account key pair (`sa.key`, `sa.pub`).
    Sa,
}

impl RotatedCa {
    /// All four, in the order a rotation of `all` handles them.
    pub const ALL: [RotatedCa; 4] = [
        RotatedCa::Cluster,
        RotatedCa::FrontProxy,
        RotatedCa::Etcd,
        RotatedCa::Sa,
    ];

    /// The name on the command line: `cluster`, `front-proxy`, `etcd`, `sa`.
    pub fn name(self) -> &'static str {
        match self {
            RotatedCa::Cluster => "cluster",
            RotatedCa::FrontProxy => "front-proxy",
            RotatedCa::Etcd => "etcd",
            RotatedCa::Sa => "sa",
        }
    }

    /// Reads a command-line name; `None` for an unknown one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The X.509 CA of the tree, `None` for the service-account key.
    pub fn ca(self) -> Option<CaName> {
        match self {
            RotatedCa::Cluster => Some(CaName::Ca),
            RotatedCa::FrontProxy => Some(CaName::FrontProxyCa),
            RotatedCa::Etcd => Some(CaName::EtcdCa),
            RotatedCa::Sa => None,
        }
    }

    /// Its folder under `<cert dir>/rotation/`: `ca`, `front-proxy-ca`, `etcd-ca`, `sa`.
    pub fn folder(self) -> &'static str {
        self.ca().map_or("sa", CaName::name)
    }
}

/// Where a CA's rotation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// No rotation in progress: one CA, which signs.
    Idle,
    /// `start` done: trust holds old and new, the old one signs.
    Started,
    /// `promote` done: everything is reissued under the new one, which signs; trust holds both.
    Promoted,
    /// `finish` done: only the new one is trusted.
    Finished,
}

impl Phase {
    /// Its name, as printed and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Started => "started",
            Phase::Promoted => "promoted",
            Phase::Finished => "finished",
        }
    }
}

/// kube-apiserver's default lifetime of a projected service-account token that the kubelet
/// asks for (`expirationSeconds: 3607`): the kubelet replaces it once 80% of it has passed,
/// so an hour after `promote` (and a restart of kube-apiserver with the new key) every
/// projected token in use is signed by the new key.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3607);

/// What a rotation phase needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotateOptions {
    /// The certificate folder.
    pub cert_dir: PathBuf,
    /// The kubeconfig folder.
    pub kubeconfig_dir: PathBuf,
    /// The CAs to move to the phase, in [`RotatedCa::ALL`]'s order.
    pub cas: Vec<RotatedCa>,
    /// Compute and report the change, write nothing (and take no lock).
    pub dry_run: bool,
    /// `start`: the new keys' algorithm; `None` keeps each old key's.
    pub algorithm: Option<KeyAlgorithm>,
    /// `start` with one X.509 CA: the new CA's certificate and key (PEM), instead of a new one.
    pub new_ca: Option<(Vec<u8>, Vec<u8>)>,
    /// `finish`: how long a service-account token signed before `promote` may stay in use.
    pub token_lifetime: Duration,
    /// `finish`: do not wait for `token_lifetime`.
    pub force: bool,
    /// `finish`: overwrite the old keys set aside with zeros, then unlink them.
    pub shred: bool,
    /// kubeadm's static-pod manifests folder (`/etc/kubernetes/manifests`): the plan's flag
    /// changes are written into them, after the phase's files.
    pub manifests_dir: Option<PathBuf>,
    /// `promote`: the kubelet's certificate folder, when the client pair file kubelet.conf
    /// names (`/var/lib/kubelet/pki/kubelet-client-current.pem`) is to be found there rather
    /// than at the path written in it.
    pub kubelet_dir: Option<PathBuf>,
}

impl RotateOptions {
    /// Options for `cas` of the tree in `cert_dir` and `kubeconfig_dir`, with the defaults:
    /// no dry run, same algorithms, a new CA made, [`DEFAULT_TOKEN_LIFETIME`], no force, no
    /// shred.
    pub fn new(cert_dir: PathBuf, kubeconfig_dir: PathBuf, cas: Vec<RotatedCa>) -> Self {
        Self {
            cert_dir,
            kubeconfig_dir,
            cas,
            dry_run: false,
            algorithm: None,
            new_ca: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            force: false,
            shred: false,
            manifests_dir: None,
            kubelet_dir: None,
        }
    }
}

/// A cluster CA key on a PKCS#11 token, opened by the caller (the library loads no module).
pub struct TokenKey {
    /// The key.
    pub signer: Box<dyn kubepki_keys::Signer>,
    /// Its `pkcs11:` URI as recorded in the tree (`ca.key.uri`): no PIN in it.
    pub uri: String,
}

/// The cluster CA keys of a rotation that are on a PKCS#11 token rather than in files. The
/// caller opens them: the key `ca.key.uri` names (the one that signs today) and, for start,
/// the new CA's key given as a URI, for promote the one `rotation/ca/new.key.uri` names.
#[derive(Default)]
pub struct TokenKeys {
    /// The key that signs today, when `ca.key.uri` names it (no `ca.key`).
    pub current: Option<TokenKey>,
    /// The new CA's key.
    pub new: Option<TokenKey>,
}

/// One file a phase writes or removes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// The file.
    pub path: PathBuf,
    /// `write` (new or replaced), `remove`, `shred` (overwritten, then removed) or `edit` (a
    /// static-pod manifest's flag line).
    pub action: &'static str,
}

/// What a phase did (or, with `dry_run`, would do) to one CA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaPhase {
    /// The CA.
    pub ca: RotatedCa,
    /// The phase it was in.
    pub from: Phase,
    /// The phase it is in now.
    pub to: Phase,
    /// Whether anything was to be done (false: it was already in that phase, a rerun).
    pub changed: bool,
}

/// The report of one phase: what changed, and how to roll the control plane onto it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseReport {
    /// The phase run: `start`, `promote`, `finish`, `rollback`.
    pub phase: &'static str,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Each CA asked for.
    pub cas: Vec<CaPhase>,
    /// The files written or removed, in order.
    pub files: Vec<FileChange>,
    /// The components to restart, in order, with their flag changes.
    pub plan: RestartPlan,
    /// Whether and how this phase can be rolled back.
    pub rollback: String,
    /// What was found and repaired first (a phase a killed process left half-done).
    pub warnings: Vec<String>,
}
