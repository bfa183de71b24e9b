//! What `certs renew` is given and what it reports, and which files it handles.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kubepki_csr::San;
use kubepki_keys::KeyAlgorithm;

use crate::tree::LEAVES;

/// The kubeconfig files `certs renew` handles (kubelet.conf's certificate rotates itself).
pub const RENEWABLE_KUBECONFIGS: &[&str] = &[
    "admin.conf",
    "super-admin.conf",
    "controller-manager.conf",
    "scheduler.conf",
];

/// What `certs renew` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewOptions {
    /// The certificate folder.
    pub cert_dir: PathBuf,
    /// The kubeconfig folder.
    pub kubeconfig_dir: PathBuf,
    /// The new keys' algorithm; `None` keeps each key's algorithm.
    pub algorithm: Option<KeyAlgorithm>,
    /// The new validity (default 365 days).
    pub validity: Option<Duration>,
    /// SANs added to every renewed serving certificate (one with serverAuth).
    pub add_sans: Vec<San>,
    /// Where the replaced files go: `None` removes them once the new pair is in place (no
    /// old key stays in the tree); `Some(dir)` moves them to `dir/<renewal time>/` (folders
    /// created 0700, key files staying 0600), certificates and keys under `pki/`, kubeconfig
    /// files by name.
    pub keep_old: Option<PathBuf>,
}

impl RenewOptions {
    /// The tree's folders with every other option at its default: keys of the same
    /// algorithm, the default validity, no SANs added, no old files kept.
    pub(crate) fn defaults(cert_dir: &Path, kubeconfig_dir: &Path) -> Self {
        RenewOptions {
            cert_dir: cert_dir.to_path_buf(),
            kubeconfig_dir: kubeconfig_dir.to_path_buf(),
            algorithm: None,
            validity: None,
            add_sans: Vec::new(),
            keep_old: None,
        }
    }
}

/// One renewed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewed {
    /// kubeadm's name.
    pub name: String,
    /// The certificate or kubeconfig file rewritten.
    pub path: PathBuf,
    /// The component to restart so that it reads the new certificate, or `nothing (...)`
    /// saying why none needs to ([`Renewed::restart_needed`]).
    pub restart: &'static str,
}

impl Renewed {
    /// The component to restart, `None` when the file is read again without one.
    pub fn restart_needed(&self) -> Option<&'static str> {
        (!self.restart.starts_with("nothing")).then_some(self.restart)
    }
}

/// A certificate `certs renew` left alone because its CA's key is not here (external CA
/// mode): kubeadm's "Detected external CA, ... can't be renewed".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// kubeadm's name.
    pub name: String,
    /// The CA whose key is absent.
    pub ca: String,
}

/// What `certs renew` did: every certificate it renewed, and every one it could not renew
/// because its CA is external. Nothing else is touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenewReport {
    /// Renewed, in kubeadm's order.
    pub renewed: Vec<Renewed>,
    /// Left alone: the CA key is absent.
    pub skipped: Vec<Skipped>,
    /// What was found and repaired first (a renewal a killed process left half-done).
    pub warnings: Vec<String>,
}

/// Who reads `name`'s new certificate only after a restart. What reloads by itself, and where
/// that is done upstream:
/// - `apiserver`: kube-apiserver serves from
///   `dynamiccertificates.NewDynamicServingContentFromFiles("serving-cert", ...)`
///   (k8s.io/apiserver/pkg/server/options/serving.go), which re-reads the files on change.
/// - `front-proxy-client`: the aggregator's `"aggregator-proxy-cert"` dynamic content
///   (k8s.io/kube-aggregator/pkg/apiserver/apiserver.go), the same mechanism.
/// - `apiserver-kubelet-client`: kube-apiserver's kubelet client config sets
///   `ReloadTLSFiles: true` (pkg/kubelet/client/kubelet_client.go), so client-go's
///   cert-rotating dialer re-reads the files.
/// - `etcd-server`, `etcd-peer`: etcd reloads its certificates on every new connection since
///   v3.2 (etcd's security guide, "Notes for TLS authentication"; client/pkg/transport
///   `TLSInfo.baseConfig`'s `GetCertificate`).
/// - `etcd-healthcheck-client`: read by each probe run (etcdctl), nothing long-running holds it.
/// - `admin.conf`, `super-admin.conf`: kubectl reads the file at every run.
///
/// What needs a restart:
/// - `apiserver-etcd-client`: the etcd client reloads its certificate only when it dials a
///   new connection, and kube-apiserver's gRPC connections to etcd live for its lifetime;
///   kubeadm's own advice is to restart it.
/// - `controller-manager.conf`, `scheduler.conf`: embedded data, read once at start.
/// - `kubelet.conf` (only `certs recover` writes it): the kubelet's certificate manager
///   holds the certificate it loaded; after an outage it must start again anyway.
pub(crate) fn restart_for(name: &str) -> &'static str {
    match name {
        "apiserver" | "front-proxy-client" | "apiserver-kubelet-client" => {
            "nothing (kube-apiserver reloads it)"
        }
        "etcd-server" | "etcd-peer" => "nothing (etcd reloads it on each connection)",
        "etcd-healthcheck-client" => "nothing (read by each health check)",
        "controller-manager.conf" => "kube-controller-manager",
        "scheduler.conf" => "kube-scheduler",
        "kubelet.conf" => "kubelet",
        "admin.conf" | "super-admin.conf" => "nothing (kubectl reads it at every run)",
        _ => "kube-apiserver",
    }
}

/// The names `certs renew` accepts (besides `all`).
pub fn renewable_names() -> Vec<&'static str> {
    LEAVES
        .iter()
        .map(|l| l.name)
        .chain(RENEWABLE_KUBECONFIGS.iter().copied())
        .collect()
}
