//! Reading inputs and refusing outputs, shared by the commands. A leaf: it imports no
//! command.

use std::fs;
use std::path::{Path, PathBuf};

use kubepki::{Ca, KeyPair};
use kubepki_fs::Overwrite;

use crate::error::{CliError, CliResult, in_file};

/// Reads a whole file, naming it when it cannot.
pub(crate) fn read_file(path: &Path) -> CliResult<Vec<u8>> {
    fs::read(path).map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))
}

pub(crate) fn read_passphrase(path: Option<&PathBuf>) -> CliResult<Option<Vec<u8>>> {
    let Some(path) = path else { return Ok(None) };
    let text = read_file(path)?;
    let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(CliError(format!(
            "{}: the passphrase is empty",
            path.display()
        )));
    }
    Ok(Some(line.to_vec()))
}

pub(crate) fn load_key(path: &Path, passphrase: Option<&PathBuf>) -> CliResult<KeyPair> {
    let passphrase = read_passphrase(passphrase)?;
    KeyPair::from_bytes(&read_file(path)?, passphrase.as_deref())
        .map_err(|e| in_file(path)(e.into()))
}

/// Warns, as ssh does for private keys, when a key file can be read by group or others.
pub(crate) fn warn_if_key_readable(path: &Path) {
    if let Some(mode) = readable_by_others(path) {
        eprintln!(
            "warning: CA key {} has mode {mode:04o}: it is readable by group or others (run chmod 600 {})",
            path.display(),
            path.display()
        );
    }
}

/// The file's permission bits when group or others may read it (Unix permission bits; on
/// other systems nothing is said).
#[cfg(unix)]
fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o044 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> Option<u32> {
    None
}

/// Loads a CA from its certificate (`cert_bytes`, read by the caller from `cert`) and key
/// file, naming the file at fault: the key file for a truncated or unreadable key, the certificate file for a bad certificate or a key that
/// does not match it. Warns when the key is readable by group or others.
pub(crate) fn load_ca(
    cert: &Path,
    cert_bytes: &[u8],
    key: &Path,
    passphrase: Option<&[u8]>,
) -> CliResult<Ca> {
    let key_bytes = read_file(key)?;
    warn_if_key_readable(key);
    let pair = KeyPair::from_bytes(&key_bytes, passphrase)
        .map_err(|e| CliError(format!("loading CA key {}: {e}", key.display())))?;
    Ca::from_bundle(cert_bytes, Box::new(pair)).map_err(|e| {
        CliError(format!(
            "loading CA certificate {} with key {}: {e}",
            cert.display(),
            key.display()
        ))
    })
}

pub(crate) fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

/// The one rule for every output: an existing file is refused, naming it, unless `--force`.
/// Checked for all of a command's outputs before it writes any, so that nothing is half done.
pub(crate) fn refuse_existing<'a>(
    outputs: impl IntoIterator<Item = &'a PathBuf>,
    force: bool,
) -> CliResult<()> {
    if force {
        return Ok(());
    }
    match outputs
        .into_iter()
        .find(|p| std::fs::symlink_metadata(p).is_ok())
    {
        Some(path) => Err(kubepki_fs::FsError::Exists { path: path.clone() }.into()),
        None => Ok(()),
    }
}

/// Warns about each CA key of the tree that group or others can read.
pub(crate) fn warn_tree_ca_keys(cert_dir: &Path) {
    for key in ["ca.key", "front-proxy-ca.key", "etcd/ca.key"] {
        let path = cert_dir.join(key);
        if path.exists() {
            warn_if_key_readable(&path);
        }
    }
}
