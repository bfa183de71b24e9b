//! One read of every source: the certificates found, and what did not read.

use std::path::{Path, PathBuf};

use kubepki_cluster::{Kubeconfig, Phase, RotatedCa, decode_data, rotation_status};

use crate::labels::{CertSeries, Origin, series};
use crate::read::{Reason, certificates, read_bytes};
use crate::sources::{Shape, Source, SourceKind, Sources};

/// A read that failed: which source, why, and the file (for the log; the metric carries
/// only the source and the reason). `detail` names the problem, never file contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// enix's `source_kind`.
    pub source_kind: SourceKind,
    /// enix's `source_name`: the path the operator configured.
    pub source_name: String,
    /// enix's reason code.
    pub reason: Reason,
    /// The file that did not read.
    pub path: PathBuf,
    /// What went wrong.
    pub detail: String,
}

/// What one read of every source found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collection {
    /// The certificates, source by source, file by file, in file order.
    pub certificates: Vec<CertSeries>,
    /// The reads that failed.
    pub errors: Vec<SourceError>,
    /// Folders outside the sources' own that hold files read (the folder of kubelet.conf's
    /// `client-certificate`): watched too.
    pub referenced_folders: Vec<PathBuf>,
    /// Where each CA's rotation stands, as `kubepki ca rotate status` reads it from the tree
    /// (only with both a cert dir and a kubeconfig dir; empty when the status does not read:
    /// the files' own errors are counted above).
    pub rotation: Vec<(RotatedCa, Phase)>,
}

/// Reads every source once.
pub fn collect(sources: &Sources) -> Collection {
    let mut collection = Collection::default();
    for source in sources.list() {
        match &source.shape {
            Shape::Layout(paths) => {
                for path in paths {
                    // A file the layout names but this tree does not have (external etcd,
                    // no super-admin.conf) is not an error; a dangling symlink is.
                    if path.symlink_metadata().is_ok() {
                        read_into(&source, path, &mut collection);
                    }
                }
            }
            Shape::File(path) => read_into(&source, path, &mut collection),
            Shape::Dir(dir) => match dir_files(dir) {
                Ok(paths) => {
                    for path in paths {
                        read_into(&source, &path, &mut collection);
                    }
                }
                Err((reason, detail)) => collection.fail(&source, dir, reason, detail),
            },
        }
    }
    if let (Some(cert_dir), Some(kubeconfig_dir)) = (&sources.cert_dir, &sources.kubeconfig_dir)
        && let Ok(status) = rotation_status(cert_dir, kubeconfig_dir, &RotatedCa::ALL)
    {
        collection.rotation = status.cas.iter().map(|ca| (ca.ca, ca.phase)).collect();
    }
    collection
}

/// The `*.crt` and `*.pem` entries of a folder (files or symlinks), sorted.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, (Reason, String)> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        let reason = match Reason::of_io(dir, &e) {
            Reason::ReadFailed => Reason::WalkError,
            reason => reason,
        };
        (reason, e.to_string())
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let wanted = path
                .extension()
                .is_some_and(|ext| ext == "crt" || ext == "pem");
            // Folders named *.pem are passed over; symlinks are followed when read.
            wanted && !path.is_dir()
        })
        .collect();
    paths.sort();
    Ok(paths)
}

impl Collection {
    fn fail(&mut self, source: &Source, path: &Path, reason: Reason, detail: String) {
        self.errors.push(SourceError {
            source_kind: source.kind,
            source_name: source.name.clone(),
            reason,
            path: path.to_path_buf(),
            detail,
        });
    }

    fn add(&mut self, source: &Source, path: &Path, der: &[u8], origin: &Origin) {
        match series(der, origin) {
            Ok(series) => self.certificates.push(series),
            Err((reason, detail)) => self.fail(source, path, reason, detail),
        }
    }
}

fn read_into(source: &Source, path: &Path, collection: &mut Collection) {
    match source.kind {
        SourceKind::File => read_certificate_file(source, path, collection),
        SourceKind::Kubeconfig => read_kubeconfig(source, path, collection),
    }
}

fn read_certificate_file(source: &Source, path: &Path, collection: &mut Collection) {
    let ders = match read_bytes(path).and_then(|bytes| certificates(&bytes)) {
        Ok(ders) => ders,
        Err((reason, detail)) => return collection.fail(source, path, reason, detail),
    };
    let origin = Origin {
        path: path.display().to_string(),
        embedded: None,
    };
    for der in ders {
        collection.add(source, path, &der, &origin);
    }
}

/// A kubeconfig file's clusters' `certificate-authority-data` and users'
/// `client-certificate-data` (or `client-certificate`, a path relative to the file's folder).
fn read_kubeconfig(source: &Source, path: &Path, collection: &mut Collection) {
    let bytes = match read_bytes(path) {
        Ok(bytes) => bytes,
        Err((reason, detail)) => return collection.fail(source, path, reason, detail),
    };
    // The parser's message may quote the file, which holds keys: it is not passed on.
    let Some(kubeconfig) = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| Kubeconfig::from_yaml(text).ok())
    else {
        let detail = "not a kubeconfig file (YAML of the kubeconfig shape)".to_owned();
        return collection.fail(source, path, Reason::DecodeFailed, detail);
    };
    let label = path.display().to_string();
    let origin = |kind: &'static str, key: &str| Origin {
        path: label.clone(),
        embedded: Some((kind, key.to_owned())),
    };
    for cluster in &kubeconfig.clusters {
        let data = &cluster.cluster.certificate_authority_data;
        if !data.is_empty() {
            let origin = origin("cluster", &cluster.name);
            embedded(source, path, data, &origin, collection);
        }
    }
    for user in &kubeconfig.users {
        let origin = origin("user", &user.name);
        if !user.user.client_certificate_data.is_empty() {
            embedded(
                source,
                path,
                &user.user.client_certificate_data,
                &origin,
                collection,
            );
        } else if !user.user.client_certificate.is_empty() {
            let folder = path.parent().unwrap_or(Path::new("."));
            let file = folder.join(&user.user.client_certificate);
            if let Some(parent) = file.parent() {
                collection.referenced_folders.push(parent.to_path_buf());
            }
            match read_bytes(&file).and_then(|bytes| certificates(&bytes)) {
                Ok(ders) => {
                    for der in ders {
                        collection.add(source, &file, &der, &origin);
                    }
                }
                Err((reason, detail)) => collection.fail(source, &file, reason, detail),
            }
        }
    }
}

fn embedded(
    source: &Source,
    path: &Path,
    data: &str,
    origin: &Origin,
    collection: &mut Collection,
) {
    let Some(bytes) = decode_data(data) else {
        let detail = format!(
            "{} {:?}: embedded data is not base64",
            origin.embedded.as_ref().map_or("", |(kind, _)| kind),
            origin.embedded.as_ref().map_or("", |(_, key)| key.as_str()),
        );
        return collection.fail(source, path, Reason::DecodeFailed, detail);
    };
    match certificates(&bytes) {
        Ok(ders) => {
            for der in ders {
                collection.add(source, path, &der, origin);
            }
        }
        Err((reason, detail)) => collection.fail(source, path, reason, detail),
    }
}
