//! What the exporter reads: a kubeadm tree, extra files and folders.

use std::path::PathBuf;

/// The places to read certificates from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// A kubeadm certificate folder: every certificate file `kubepki-cluster` knows
    /// ([`kubepki_cluster::certificate_files`]); files absent from it (an external etcd's,
    /// say) are left out, as `certs check-expiration` marks them missing.
    pub cert_dir: Option<PathBuf>,
    /// A kubeadm kubeconfig folder: the certificates embedded in its kubeconfig files
    /// ([`kubepki_cluster::kubeconfig_files`]) or referenced by path (kubelet.conf's
    /// `client-certificate`); absent files are left out.
    pub kubeconfig_dir: Option<PathBuf>,
    /// Certificate files (PEM or DER); one that is absent is an error.
    pub watch_files: Vec<PathBuf>,
    /// Folders whose `*.crt` and `*.pem` files are read (not recursively; symlinks followed).
    pub watch_dirs: Vec<PathBuf>,
}

/// enix's `source_kind` label of `x509_source_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    /// Certificate files (`file`).
    File,
    /// Kubeconfig files (`kubeconfig`).
    Kubeconfig,
}

impl SourceKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Kubeconfig => "kubeconfig",
        }
    }
}

/// One configured source: its kind, its name (the path the operator gave, enix's
/// `source_name`), and whether an absent file is an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) kind: SourceKind,
    pub(crate) name: String,
    pub(crate) shape: Shape,
}

/// How a source names its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A fixed list, absent files left out (the kubeadm layout).
    Layout(Vec<PathBuf>),
    /// One file that must be there.
    File(PathBuf),
    /// A folder's `*.crt` and `*.pem` files.
    Dir(PathBuf),
}

impl Sources {
    /// Every source, in a fixed order: the tree, the kubeconfig files, the files, the folders.
    pub(crate) fn list(&self) -> Vec<Source> {
        let mut list = Vec::new();
        if let Some(dir) = &self.cert_dir {
            list.push(Source {
                kind: SourceKind::File,
                name: dir.display().to_string(),
                shape: Shape::Layout(kubepki_cluster::certificate_files(dir)),
            });
        }
        if let Some(dir) = &self.kubeconfig_dir {
            list.push(Source {
                kind: SourceKind::Kubeconfig,
                name: dir.display().to_string(),
                shape: Shape::Layout(kubepki_cluster::kubeconfig_files(dir)),
            });
        }
        for file in &self.watch_files {
            list.push(Source {
                kind: SourceKind::File,
                name: file.display().to_string(),
                shape: Shape::File(file.clone()),
            });
        }
        for dir in &self.watch_dirs {
            list.push(Source {
                kind: SourceKind::File,
                name: dir.display().to_string(),
                shape: Shape::Dir(dir.clone()),
            });
        }
        list
    }

    /// The folders whose changes call for a new read: the cert dir (with `etcd/` below it),
    /// the kubeconfig dir, the watched folders and the folders of the watched files.
    pub(crate) fn folders(&self) -> Vec<(PathBuf, bool)> {
        let mut folders = Vec::new();
        if let Some(dir) = &self.cert_dir {
            folders.push((dir.clone(), true));
        }
        if let Some(dir) = &self.kubeconfig_dir {
            folders.push((dir.clone(), false));
        }
        for file in &self.watch_files {
            if let Some(parent) = file.parent() {
                let parent = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
                folders.push((parent, false));
            }
        }
        for dir in &self.watch_dirs {
            folders.push((dir.clone(), false));
        }
        folders
    }
}
