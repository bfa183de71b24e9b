//! Replacing one renewed file of the tree: a certificate and key pair under a journal, or a
//! kubeconfig file edited in place; the old files removed or kept under `--keep-old`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kubepki_fs::{Discard, FileKind, Journal, Overwrite, TreeLock, Undo, write_atomic};
use kubepki_keys::KeyPair;
use kubepki_sign::Ca;

use super::options::{RENEWABLE_KUBECONFIGS, RenewOptions, Renewed, renewable_names, restart_for};
use super::reissue::reissue;
use crate::ClusterError;
use crate::ca_source::ca_for;
use crate::files::{backup, key_pem, load_cert, read, read_kubeconfig, read_kubeconfig_text};
use crate::kubeconfig_edit::replace_credentials;
use crate::tree::{CaName, LEAVES, crt, key};

/// Where an old file of the tree goes under `--keep-old DIR`: `DIR/<now, RFC 3339 without
/// colons>/pki/<path in the cert dir>` for certificates and keys, `.../<file name>` for
/// kubeconfig files.
fn kept_path(options: &RenewOptions, keep: &Path, original: &Path, now: SystemTime) -> PathBuf {
    let stamp = kubepki_sign::format_rfc3339(now).replace(':', "");
    let folder = keep.join(stamp);
    match original.strip_prefix(&options.cert_dir) {
        Ok(inside) => folder.join("pki").join(inside),
        Err(_) => folder.join(original.file_name().unwrap_or(original.as_os_str())),
    }
}

/// What becomes of the backup of `original` once its renewal is kept: moved under
/// `keep_old`, else removed.
fn disposal(options: &RenewOptions, original: &Path, backup: PathBuf, now: SystemTime) -> Discard {
    match &options.keep_old {
        Some(keep) => Discard::MoveTo {
            backup,
            to: kept_path(options, keep, original, now),
        },
        None => Discard::Remove(backup),
    }
}

pub(super) fn renew_with_key(
    lock: &TreeLock,
    name: &str,
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<Renewed, ClusterError> {
    if let Some(leaf) = LEAVES.iter().find(|l| l.name == name) {
        let (crt_path, key_path) = (
            crt(&options.cert_dir, leaf.base),
            key(&options.cert_dir, leaf.base),
        );
        let ca = ca_for(&options.cert_dir, leaf.ca, name, cluster_ca)?;
        let der = load_cert(&crt_path)?;
        let old_key = KeyPair::from_bytes(&read(&key_path)?, None).ok();
        let (cert_pem, new_key) = reissue(&ca, name, &der, old_key.as_ref(), options, now)?;
        let new_key_pem = key_pem(&key_path, &new_key)?;
        // The pair changes as one: backups first, then the journal that restores them if
        // this process dies between the key and the certificate, then key and certificate.
        // Once both are written, the journal is swapped for the list of backups to dispose
        // of: a kill before that swap restores the old pair, after it keeps the new pair and
        // the next run finishes removing (or moving) the old one.
        let crt_backup = backup(&crt_path, FileKind::Public)?;
        let mut undo = vec![Undo::Restore {
            path: crt_path.clone(),
            backup: crt_backup.clone(),
        }];
        let mut discard = vec![disposal(options, &crt_path, crt_backup, now)];
        undo.push(if key_path.exists() {
            let key_backup = backup(&key_path, FileKind::Secret)?;
            discard.push(disposal(options, &key_path, key_backup.clone(), now));
            Undo::Restore {
                path: key_path.clone(),
                backup: key_backup,
            }
        } else {
            Undo::Remove(key_path.clone())
        });
        let journal = Journal::begin(lock, &undo)?;
        write_atomic(
            &key_path,
            new_key_pem.as_bytes(),
            FileKind::Secret,
            Overwrite::Replace,
        )?;
        write_atomic(
            &crt_path,
            cert_pem.as_bytes(),
            FileKind::Public,
            Overwrite::Replace,
        )?;
        journal.commit_discarding(&discard)?;
        return Ok(Renewed {
            name: name.to_owned(),
            path: crt_path,
            restart: restart_for(name),
        });
    }
    if RENEWABLE_KUBECONFIGS.contains(&name) {
        return renew_embedded_kubeconfig(name, options, now, cluster_ca);
    }
    if CaName::ALL.iter().any(|c| c.name() == name) {
        return Err(ClusterError::CaNotRenewed {
            name: name.to_owned(),
        });
    }
    Err(ClusterError::UnknownCertificate {
        name: name.to_owned(),
        known: renewable_names().join(", "),
    })
}

/// Renews the kubeconfig file `name` of the kubeconfig folder whose client certificate and
/// key are embedded: edited in place (see [`replace_credentials`]).
pub(crate) fn renew_embedded_kubeconfig(
    name: &str,
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<Renewed, ClusterError> {
    let path = options.kubeconfig_dir.join(name);
    let ca = ca_for(&options.cert_dir, CaName::Ca, name, cluster_ca)?;
    let (_, der, old_key) = read_kubeconfig(&path)?;
    let der = der.ok_or_else(|| ClusterError::Misfit {
        path: path.clone(),
        reason: crate::Misfit::KubeconfigIncomplete("client certificate"),
    })?;
    let (cert_pem, new_key) = reissue(&ca, name, &der, old_key.as_ref(), options, now)?;
    let new_key_pem = key_pem(&path, &new_key)?;
    let text = read_kubeconfig_text(&path)?;
    // The trust the file carries is the whole of ca.crt: during a CA rotation that is the
    // old and the new CA, and a renewal must not drop either.
    let ca_crt = crt(&options.cert_dir, CaName::Ca.base());
    let ca_pem = match ca_crt.exists() {
        true => String::from_utf8_lossy(&read(&ca_crt)?).into_owned(),
        false => ca.certificate_pem(),
    };
    let text = replace_credentials(&text, &ca_pem, &cert_pem, &new_key_pem).map_err(|reason| {
        ClusterError::Kubeconfig {
            path: path.clone(),
            reason,
        }
    })?;
    // One file replaced atomically needs no journal; the old one is kept only when asked.
    keep_old_copy(options, &path, now)?;
    write_atomic(&path, text.as_bytes(), FileKind::Secret, Overwrite::Replace)?;
    Ok(Renewed {
        name: name.to_owned(),
        path,
        restart: restart_for(name),
    })
}

/// Under `--keep-old`, a copy of the file about to be replaced (mode 0600: a kubeconfig holds
/// a key) in the keep folder.
pub(crate) fn keep_old_copy(
    options: &RenewOptions,
    path: &Path,
    now: SystemTime,
) -> Result<(), ClusterError> {
    if let Some(keep) = &options.keep_old {
        let to = kept_path(options, keep, path, now);
        write_atomic(&to, &read(path)?, FileKind::Secret, Overwrite::Replace)?;
    }
    Ok(())
}
