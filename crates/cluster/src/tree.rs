//! What the kubeadm tree holds: the CAs, the leaves under them, the kubeconfig files.

use std::path::{Path, PathBuf};

/// One of the three CAs of a kubeadm cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaName {
    /// `ca`: the cluster CA (`ca.crt`, CN `kubernetes`).
    Ca,
    /// `etcd-ca`: etcd's CA (`etcd/ca.crt`).
    EtcdCa,
    /// `front-proxy-ca`: the aggregation layer's CA (`front-proxy-ca.crt`).
    FrontProxyCa,
}

impl CaName {
    /// All three, in kubeadm's order.
    pub const ALL: [CaName; 3] = [CaName::Ca, CaName::EtcdCa, CaName::FrontProxyCa];

    /// The name kubeadm uses (`ca`, `etcd-ca`, `front-proxy-ca`), also the profile name.
    pub fn name(self) -> &'static str {
        match self {
            CaName::Ca => "ca",
            CaName::EtcdCa => "etcd-ca",
            CaName::FrontProxyCa => "front-proxy-ca",
        }
    }

    /// The file base under the cert dir (`ca`, `etcd/ca`, `front-proxy-ca`).
    pub fn base(self) -> &'static str {
        match self {
            CaName::Ca => "ca",
            CaName::EtcdCa => "etcd/ca",
            CaName::FrontProxyCa => "front-proxy-ca",
        }
    }
}

/// A leaf certificate of the tree, stored as `<base>.crt` and `<base>.key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafSpec {
    /// kubeadm's name (`apiserver`, `etcd-server`, ...), also the built-in profile name.
    pub name: &'static str,
    /// The file base under the cert dir.
    pub base: &'static str,
    /// The CA that signs it.
    pub ca: CaName,
    /// Whether it belongs to the local etcd (left out with an external etcd).
    pub etcd: bool,
}

/// The leaf certificates kubeadm writes, in its order.
pub const LEAVES: &[LeafSpec] = &[
    leaf("apiserver", "apiserver", CaName::Ca, false),
    leaf(
        "apiserver-kubelet-client",
        "apiserver-kubelet-client",
        CaName::Ca,
        false,
    ),
    leaf(
        "front-proxy-client",
        "front-proxy-client",
        CaName::FrontProxyCa,
        false,
    ),
    leaf("etcd-server", "etcd/server", CaName::EtcdCa, true),
    leaf("etcd-peer", "etcd/peer", CaName::EtcdCa, true),
    leaf(
        "etcd-healthcheck-client",
        "etcd/healthcheck-client",
        CaName::EtcdCa,
        true,
    ),
    leaf(
        "apiserver-etcd-client",
        "apiserver-etcd-client",
        CaName::EtcdCa,
        true,
    ),
];

const fn leaf(name: &'static str, base: &'static str, ca: CaName, etcd: bool) -> LeafSpec {
    LeafSpec {
        name,
        base,
        ca,
        etcd,
    }
}

/// A kubeconfig file of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KubeconfigSpec {
    /// The file name in the kubeconfig dir (`admin.conf`, ...), also its name in
    /// check-expiration.
    pub file: &'static str,
    /// The built-in profile of its client certificate.
    pub profile: &'static str,
    /// Whether it talks to the local API server (advertise address) rather than the
    /// control-plane endpoint, as kubeadm's controller-manager and scheduler files do, and
    /// its kubelet.conf on the first control-plane node (kubeadm 1.31's
    /// `ControlPlaneKubeletLocalMode`, the default since).
    pub local: bool,
}

/// The kubeconfig files kubeadm writes, in its order.
pub const KUBECONFIGS: &[KubeconfigSpec] = &[
    kubeconfig("admin.conf", "admin", false),
    kubeconfig("super-admin.conf", "super-admin", false),
    kubeconfig("kubelet.conf", "kubelet-client", true),
    kubeconfig("controller-manager.conf", "controller-manager", true),
    kubeconfig("scheduler.conf", "scheduler", true),
];

const fn kubeconfig(file: &'static str, profile: &'static str, local: bool) -> KubeconfigSpec {
    KubeconfigSpec {
        file,
        profile,
        local,
    }
}

/// Every certificate file of a kubeadm tree under `cert_dir`, present or not: the CAs, then
/// the leaves, in kubeadm's order.
pub fn certificate_files(cert_dir: &Path) -> Vec<PathBuf> {
    CaName::ALL
        .iter()
        .map(|ca| ca.base())
        .chain(LEAVES.iter().map(|leaf| leaf.base))
        .map(|base| crt(cert_dir, base))
        .collect()
}

/// Every kubeconfig file of a kubeadm tree under `kubeconfig_dir`, present or not.
pub fn kubeconfig_files(kubeconfig_dir: &Path) -> Vec<PathBuf> {
    KUBECONFIGS
        .iter()
        .map(|spec| kubeconfig_dir.join(spec.file))
        .collect()
}

pub(crate) fn crt(dir: &Path, base: &str) -> PathBuf {
    dir.join(format!("{base}.crt"))
}

pub(crate) fn key(dir: &Path, base: &str) -> PathBuf {
    dir.join(format!("{base}.key"))
}

/// The file that says where a CA's key is when it is not `<base>.key` but on a PKCS#11
/// token: `<base>.key.uri`, one `pkcs11:` URI (no PIN) on one line.
pub fn key_uri_file(dir: &Path, ca: CaName) -> PathBuf {
    dir.join(format!("{}.key.uri", ca.base()))
}
