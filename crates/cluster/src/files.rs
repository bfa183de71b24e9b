//! Reading and writing the tree's files: certificates, keys and kubeconfig files read back
//! (naming the file and field at fault), folders, the lock, and the journaled set of new files.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kubepki_fs::{
    Discard, FileKind, FileWrite, Journal, Overwrite, TreeLock, Undo, recover, write_atomic,
    write_atomic_all,
};
use kubepki_keys::pem::{pem_blocks, pem_encode};
use kubepki_keys::{KeyFormat, KeyPair, KeyPem};
use kubepki_sign::{SignError, certificates_from_bytes, parse_certificate};

use crate::kubeconfig::{Kubeconfig, decode_data};
use crate::{ClusterError, Misfit};

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, ClusterError> {
    fs::read(path).map_err(|source| ClusterError::Read {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn load_key(path: &Path) -> Result<KeyPair, ClusterError> {
    KeyPair::from_bytes(&read(path)?, None).map_err(|source| ClusterError::Key {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn load_cert(path: &Path) -> Result<Vec<u8>, ClusterError> {
    let sign = |source| ClusterError::Sign {
        name: path.display().to_string(),
        source,
    };
    let mut certs = certificates_from_bytes(&read(path)?).map_err(sign)?;
    if certs.is_empty() {
        return Err(sign(SignError::MalformedCertificate(
            "no certificate".to_owned(),
        )));
    }
    Ok(certs.remove(0))
}

/// Where `certs generate-csr` puts the request for `path`: `apiserver.crt` ->
/// `apiserver.csr`, `admin.conf` -> `admin.conf.csr`.
pub(crate) fn pending_csr(path: &Path) -> PathBuf {
    if path.extension().is_some_and(|e| e == "crt") {
        path.with_extension("csr")
    } else {
        let mut name = path.as_os_str().to_owned();
        name.push(".csr");
        PathBuf::from(name)
    }
}

/// Creates a folder (and its parents), if it does not exist. On Unix its mode is 0755, as
/// kubeadm (client-go's `keyutil` and `cert` writers) makes it: the keys in it are 0600
/// themselves. Elsewhere the folder gets the platform's default permissions (on Windows,
/// those inherited from its parent), and the files in it are not restricted further.
pub(crate) fn ensure_dir(path: &Path) -> Result<(), ClusterError> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder
        .create(path)
        .map_err(|source| ClusterError::CreateDir {
            path: path.to_path_buf(),
            source,
        })
}

/// The files `init` writes, collected so that they are written (and made durable) together
/// once everything has been issued: a failure while issuing leaves nothing half-written.
#[derive(Default)]
pub(crate) struct Writes {
    /// New files, never written over an existing one.
    new: Vec<(PathBuf, KeyPem, FileKind)>,
    /// Files that replace an existing one (a record such as `ca.key.uri`).
    replacing: Vec<(PathBuf, KeyPem, FileKind)>,
}

impl Writes {
    pub(crate) fn file(&mut self, path: &Path, text: String, kind: FileKind) {
        self.new.push((path.to_path_buf(), KeyPem::new(text), kind));
    }

    /// A file made elsewhere (its path, content and kind), new.
    pub(crate) fn push(&mut self, file: (PathBuf, KeyPem, FileKind)) {
        self.new.push(file);
    }

    /// Files made elsewhere, new, in their order.
    pub(crate) fn extend(&mut self, files: impl IntoIterator<Item = (PathBuf, KeyPem, FileKind)>) {
        self.new.extend(files);
    }

    /// `text` as `path`, which exists and is replaced.
    pub(crate) fn replace(&mut self, path: &Path, text: String, kind: FileKind) {
        self.replacing
            .push((path.to_path_buf(), KeyPem::new(text), kind));
    }

    /// The new files, in the order they were added (a tree made in memory).
    pub(crate) fn into_new_files(self) -> Vec<(PathBuf, KeyPem, FileKind)> {
        self.new
    }

    /// Writes every file as one change of the locked tree: backups of the files replaced and
    /// the journal first (so that a process killed half-way is rolled back by the next run),
    /// then every new file in one durability pass (all contents written, made durable at
    /// once, then put in place keys first, so that no certificate is ever on disk without its
    /// key, and the names made durable), then the replacements, then the commit.
    pub(crate) fn flush(self, lock: &TreeLock) -> Result<(), ClusterError> {
        if self.new.is_empty() && self.replacing.is_empty() {
            return Ok(());
        }
        let mut undo: Vec<Undo> = self
            .new
            .iter()
            .map(|(p, _, _)| Undo::Remove(p.clone()))
            .collect();
        let mut discard = Vec::new();
        for (path, _, kind) in &self.replacing {
            let copy = backup(path, *kind)?;
            undo.push(Undo::Restore {
                path: path.clone(),
                backup: copy.clone(),
            });
            discard.push(Discard::Remove(copy));
        }
        let journal = Journal::begin(lock, &undo)?;
        let (keys, others): (Vec<_>, Vec<_>) =
            self.new.iter().partition(|(path, _, _)| is_key_file(path));
        write_atomic_all(
            &file_writes(keys.into_iter().chain(others)),
            Overwrite::Refuse,
        )?;
        if discard.is_empty() {
            return Ok(journal.commit()?);
        }
        write_atomic_all(&file_writes(self.replacing.iter()), Overwrite::Replace)?;
        Ok(journal.commit_discarding(&discard)?)
    }
}

fn file_writes<'a>(
    files: impl Iterator<Item = &'a (PathBuf, KeyPem, FileKind)>,
) -> Vec<FileWrite<'a>> {
    files
        .map(|(path, bytes, kind)| FileWrite {
            path,
            bytes: bytes.as_bytes(),
            kind: *kind,
        })
        .collect()
}

/// Keeps a complete copy of `path` as `path.bak` for the journal, which restores it if the
/// change dies half-way and disposes of it once the change is kept; returns the copy's path.
pub(crate) fn backup(path: &Path, kind: FileKind) -> Result<PathBuf, ClusterError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    let copy = PathBuf::from(name);
    write_atomic(&copy, &read(path)?, kind, Overwrite::Replace)?;
    Ok(copy)
}

/// Whether a file of the tree is a private key (`*.key`).
fn is_key_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "key")
}

/// How long `init`, `certs renew`, `certs generate-csr` and `kubeconfig user` wait for
/// another kubepki working on the same tree.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Locks the tree (its certificate folder) and rolls back what a killed run left half-done.
/// Returns the lock and a warning line when something was recovered.
pub(crate) fn lock_tree(
    cert_dir: &Path,
    kubeconfig_dir: &Path,
) -> Result<(TreeLock, Option<String>), ClusterError> {
    lock_tree_with(cert_dir, kubeconfig_dir, &[])
}

/// As [`lock_tree`], also removing killed writers' temporary files in the folders `extra`.
pub(crate) fn lock_tree_with(
    cert_dir: &Path,
    kubeconfig_dir: &Path,
    extra: &[&Path],
) -> Result<(TreeLock, Option<String>), ClusterError> {
    let lock = TreeLock::acquire(cert_dir, LOCK_WAIT)?;
    let etcd = cert_dir.join("etcd");
    let mut folders = vec![cert_dir, &etcd, kubeconfig_dir];
    folders.extend(extra.iter().copied().filter(|f| f.is_dir()));
    let recovered = recover(&lock, &folders)?;
    let note = (!recovered.is_empty()).then(|| {
        let names = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !recovered.removed.is_empty() {
            parts.push(format!(
                "removed the half-written {}",
                names(&recovered.removed)
            ));
        }
        if !recovered.restored.is_empty() {
            parts.push(format!(
                "restored {} from its backup",
                names(&recovered.restored)
            ));
        }
        if !recovered.temp_files.is_empty() {
            parts.push(format!(
                "removed {} stale temporary file(s)",
                recovered.temp_files.len()
            ));
        }
        if !recovered.discarded.is_empty() {
            parts.push(format!(
                "disposed of the old files {} of a renewal that was kept",
                names(&recovered.discarded)
            ));
        }
        format!("an earlier run was interrupted: {}", parts.join("; "))
    });
    Ok((lock, note))
}

/// A kubeconfig file's text.
pub(crate) fn read_kubeconfig_text(path: &Path) -> Result<String, ClusterError> {
    String::from_utf8(read(path)?).map_err(|_| ClusterError::Kubeconfig {
        path: path.to_path_buf(),
        reason: "not UTF-8 text".to_owned(),
    })
}

/// A kubeconfig file parsed, naming the file when it does not read.
pub(crate) fn load_kubeconfig(path: &Path) -> Result<Kubeconfig, ClusterError> {
    let text = read_kubeconfig_text(path)?;
    Kubeconfig::from_yaml(&text).map_err(|reason| ClusterError::Kubeconfig {
        path: path.to_path_buf(),
        reason,
    })
}

/// A kubeconfig file read back: the file, its client certificate DER and its key.
pub(crate) type KubeconfigParts = (Kubeconfig, Option<Vec<u8>>, Option<KeyPair>);

/// Reads a kubeconfig file: the parsed file, its client certificate DER and key. An absent
/// `client-certificate-data` or `client-key-data` reads as `None`; a present one that does not
/// decode is an error naming the file and the field.
pub(crate) fn read_kubeconfig(path: &Path) -> Result<KubeconfigParts, ClusterError> {
    let config = load_kubeconfig(path)?;
    let (_, user) = config.current().ok_or_else(|| ClusterError::Misfit {
        path: path.to_path_buf(),
        reason: Misfit::KubeconfigIncomplete("current context"),
    })?;
    let cert = data_field(
        path,
        "client-certificate-data",
        &user.client_certificate_data,
    )?
    .map(|pem| first_certificate(path, "client-certificate-data", &pem))
    .transpose()?;
    let key = data_field(path, "client-key-data", &user.client_key_data)?
        .map(|pem| {
            KeyPair::from_bytes(&pem, None).map_err(|e| ClusterError::KubeconfigField {
                path: path.to_path_buf(),
                field: "client-key-data",
                reason: e.to_string(),
            })
        })
        .transpose()?;
    Ok((config, cert, key))
}

/// The bytes of the `*-data` field `field` of the kubeconfig file `path`: `None` when the
/// field is absent or empty, an error naming file and field when it is not base64.
pub(crate) fn data_field(
    path: &Path,
    field: &'static str,
    value: &str,
) -> Result<Option<Vec<u8>>, ClusterError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let bytes = decode_data(value).ok_or_else(|| ClusterError::KubeconfigField {
        path: path.to_path_buf(),
        field,
        reason: "not base64".to_owned(),
    })?;
    Ok((!bytes.is_empty()).then_some(bytes))
}

/// The DER of the first certificate in `bytes` (PEM or DER), checked to parse; an error
/// naming the file and the field (or file) it came from otherwise.
pub(crate) fn first_certificate(
    path: &Path,
    field: &'static str,
    bytes: &[u8],
) -> Result<Vec<u8>, ClusterError> {
    let broken = |reason: String| ClusterError::KubeconfigField {
        path: path.to_path_buf(),
        field,
        reason,
    };
    let der = certificates_from_bytes(bytes)
        .map_err(|e| broken(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| broken("no certificate".to_owned()))?;
    parse_certificate(&der).map_err(|e| broken(e.to_string()))?;
    Ok(der)
}

/// The first PEM block of `text` whose label ends with `label` (`CERTIFICATE`, or
/// `PRIVATE KEY` for any kind of private key), as its own PEM text. `None` when there is none
/// or `text` is not PEM ([`kubepki_keys::pem_blocks`] splits it).
pub(crate) fn pem_blocks_labelled(text: &str, label: &str) -> Option<String> {
    pem_blocks(text)
        .ok()?
        .into_iter()
        .find(|block| block.label.ends_with(label))
        .map(|block| pem_encode(&block.label, &block.der))
}

/// `key` as PEM for the file `path` (named in the error).
pub(crate) fn key_pem(path: &Path, key: &KeyPair) -> Result<KeyPem, ClusterError> {
    key.to_pem(KeyFormat::Traditional)
        .map_err(|source| ClusterError::Key {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubelet_s_pem_file_gives_its_certificate_and_its_key_by_label() {
        let key = KeyPair::generate(kubepki_keys::KeyAlgorithm::EcdsaP256).expect("key");
        let key_pem = key.to_pem(KeyFormat::Traditional).expect("pem");
        let cert_pem = pem_encode("CERTIFICATE", b"not DER, not looked at");
        let text = format!(
            "Certificate:\n  text before\n{cert_pem}{}",
            key_pem.as_str()
        );
        assert_eq!(
            pem_blocks_labelled(&text, "CERTIFICATE").as_deref(),
            Some(cert_pem.as_str())
        );
        let found = pem_blocks_labelled(&text, "PRIVATE KEY").expect("the EC key");
        assert!(
            found.starts_with("-----BEGIN EC PRIVATE KEY-----"),
            "{found}"
        );
        assert_eq!(pem_blocks_labelled("no PEM here", "CERTIFICATE"), None);
    }
}
