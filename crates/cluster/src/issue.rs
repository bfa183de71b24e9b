//! Certificates issued outside the kubeadm tree: a new user's kubeconfig file and the
//! component certificates kubeadm leaves out.

use core::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use kubepki_csr::Subject;
use kubepki_fs::{FileKind, Overwrite, TreeLock, write_atomic};
use kubepki_keys::{KeyAlgorithm, KeyPair};
use kubepki_profile::{ClusterParams, builtin};
use kubepki_sign::{Ca, IssueOptions};

use crate::ClusterError;
use crate::ca_source::{CaRef, ca_for, load_ca};
use crate::files::{LOCK_WAIT, ensure_dir, key_pem};
use crate::kubeconfig::ClientKubeconfig;
use crate::plan::issue_fixed;
use crate::tree::{CaName, crt, key};

/// A new user's kubeconfig file (kubeadm's `kubeconfig user`): what [`user_kubeconfig`]
/// needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserKubeconfigOptions {
    /// The certificate folder holding the cluster CA (`ca.crt`, `ca.key`), when the CA is
    /// not given.
    pub cert_dir: PathBuf,
    /// The cluster's name in the file.
    pub cluster_name: String,
    /// The API server URL.
    pub server: String,
    /// The user: the certificate's CN.
    pub client_name: String,
    /// The user's groups: the certificate's O.
    pub groups: Vec<String>,
    /// How long the certificate is valid (clamped to the CA's end).
    pub validity: Duration,
    /// The new key's algorithm.
    pub algorithm: KeyAlgorithm,
}

/// A kubeconfig for a new user (kubeadm's `kubeconfig user`): CN `client_name`, O `groups`,
/// signed for `validity` with a fresh key by `cluster_ca` when given (the cluster CA with its
/// key wherever it is: on a PKCS#11 token, say), else by the cluster CA in `cert_dir`, read
/// under the tree's lock.
///
/// # Errors
/// [`ClusterError::NoCaKey`] without `ca.key` (and no CA given); [`ClusterError::Sign`]
/// when the profile refuses (a validity past the CA's end is clamped, not refused).
pub fn user_kubeconfig(
    options: &UserKubeconfigOptions,
    cluster_ca: Option<&Ca>,
    now: SystemTime,
) -> Result<String, ClusterError> {
    let ca = match cluster_ca {
        Some(ca) => CaRef::Given(ca),
        None => {
            // Read the CA while no other kubepki changes the tree.
            let _lock = TreeLock::acquire(&options.cert_dir, LOCK_WAIT)?;
            CaRef::Loaded(load_ca(
                &options.cert_dir,
                CaName::Ca,
                &options.client_name,
            )?)
        }
    };
    let mut profile = builtin("client", &ClusterParams::default())?;
    profile.default_validity = options.validity;
    profile.max_validity = options.validity;
    let key = KeyPair::generate(options.algorithm).map_err(ClusterError::KeyGeneration)?;
    ClientKubeconfig {
        cluster_name: &options.cluster_name,
        server: &options.server,
        subject: &Subject::from_parts(&options.client_name, &options.groups),
        profile: &profile,
        name: &options.client_name,
    }
    .issue(&ca, &key, &IssueOptions::at(now))
}

/// The component certificates kubeadm leaves out.
pub const COMPONENTS: &[&str] = &["kube-proxy", "kubelet-client", "kubelet-serving"];

/// A component certificate (`kube-proxy`, `kubelet-client`, `kubelet-serving`): what
/// [`issue_component`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentOptions {
    /// The certificate folder holding the cluster CA (`ca.crt`, `ca.key`), when the CA is
    /// not given.
    pub cert_dir: PathBuf,
    /// Where `<kind>.crt` and `<kind>.key` go.
    pub out_dir: PathBuf,
    /// One of [`COMPONENTS`].
    pub kind: String,
    /// The node the certificate is for.
    pub node_name: String,
    /// The node's address (a SAN of `kubelet-serving`).
    pub address: Option<IpAddr>,
    /// The new key's algorithm.
    pub algorithm: KeyAlgorithm,
    /// The validity; the profile's default when `None`.
    pub validity: Option<Duration>,
}

/// Issues a component certificate for `node_name`, signed by `cluster_ca` when given (the
/// cluster CA with its key wherever it is: on a PKCS#11 token, say), else by the cluster CA
/// in `cert_dir`, writing `<out_dir>/<kind>.crt` and `.key` (never over existing files).
/// Returns the certificate's path.
///
/// # Errors
/// [`ClusterError::UnknownCertificate`] for another kind, [`ClusterError::NoCaKey`] without
/// `ca.key` (and no CA given), [`ClusterError::Fs`] when a file exists.
pub fn issue_component(
    options: &ComponentOptions,
    cluster_ca: Option<&Ca>,
    now: SystemTime,
) -> Result<PathBuf, ClusterError> {
    let kind = options.kind.as_str();
    if !COMPONENTS.contains(&kind) {
        return Err(ClusterError::UnknownCertificate {
            name: kind.to_owned(),
            known: COMPONENTS.join(", "),
        });
    }
    let ca = ca_for(&options.cert_dir, CaName::Ca, kind, cluster_ca)?;
    let params = ClusterParams {
        node_name: Some(options.node_name.clone()),
        advertise_address: options.address,
        ..ClusterParams::default()
    };
    let mut profile = builtin(kind, &params)?;
    if let Some(v) = options.validity {
        profile.default_validity = v;
        profile.max_validity = profile.max_validity.max(v);
    }
    let key_pair = KeyPair::generate(options.algorithm).map_err(ClusterError::KeyGeneration)?;
    let issued = issue_fixed(&ca, &key_pair, &profile, kind, &IssueOptions::at(now))?;
    ensure_dir(&options.out_dir)?;
    let (crt_path, key_path) = (crt(&options.out_dir, kind), key(&options.out_dir, kind));
    write_atomic(
        &key_path,
        key_pem(&key_path, &key_pair)?.as_bytes(),
        FileKind::Secret,
        Overwrite::Refuse,
    )?;
    write_atomic(
        &crt_path,
        issued.pem().as_bytes(),
        FileKind::Public,
        Overwrite::Refuse,
    )?;
    Ok(crt_path)
}
