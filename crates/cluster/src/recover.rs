//! `certs recover`: a cluster whose certificates expired, brought back offline from the tree
//! alone (its API server cannot be asked for anything).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kubepki_fs::{FileKind, Overwrite, write_atomic};
use kubepki_keys::KeyPair;
use kubepki_sign::{Ca, CertificateInfo, Timestamp, format_rfc3339};

use crate::ca_source::ca_for;
use crate::files::{
    first_certificate, key_pem, load_cert, load_kubeconfig, lock_tree, pem_blocks_labelled, read,
};
use crate::renew::{
    RenewOptions, RenewReport, Renewed, reissue, renew_due_locked, renew_embedded_kubeconfig,
    restart_for,
};
use crate::tree::{CaName, crt};
use crate::{ClusterError, due_for_renewal};

/// The kubelet's kubeconfig, which `certs renew` leaves to the kubelet's own rotation and
/// `certs recover` renews (an expired kubelet cannot rotate: it can no longer reach the API).
pub const KUBELET_CONF: &str = "kubelet.conf";

/// The symlink the kubelet reads its client certificate and key through.
const KUBELET_CURRENT: &str = "kubelet-client-current.pem";

/// What `certs recover` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoverOptions {
    /// The tree, and what becomes of the old files, as for `certs renew`.
    pub renew: RenewOptions,
    /// The margin: a certificate ending within it is renewed with the expired ones.
    pub within: Duration,
    /// The kubelet's certificate folder, when the client certificate file `kubelet.conf`
    /// names is to be found there rather than at the path written in it (a node's disk
    /// mounted elsewhere): `<kubelet_dir>/<file name>`.
    pub kubelet_dir: Option<PathBuf>,
}

/// Refuses an expired CA: nothing it signs would be trusted, and recover keeps the CAs.
fn check_cas(cert_dir: &Path, now: SystemTime) -> Result<(), ClusterError> {
    for ca in CaName::ALL {
        let path = crt(cert_dir, ca.base());
        if !path.exists() {
            continue;
        }
        let info =
            CertificateInfo::from_der(&load_cert(&path)?).map_err(|source| ClusterError::Sign {
                name: path.display().to_string(),
                source,
            })?;
        if due_for_renewal(info.not_after, Duration::ZERO, now) {
            return Err(ClusterError::CaExpired {
                name: ca.name().to_owned(),
                path,
                not_after: Timestamp(info.not_after),
            });
        }
    }
    Ok(())
}

/// Renews, offline, every leaf certificate and kubeconfig client certificate of the tree that
/// has expired or ends within `options.within`, `kubelet.conf` included: embedded, it is edited
/// in place; pointing at a file (`/var/lib/kubelet/pki/kubelet-client-current.pem`), a new
/// dated `kubelet-client-<YYYY-MM-DD-HH-MM-SS>.pem` (certificate and key, 0600) is written
/// next to it and the `-current.pem` symlink moved to it atomically, as the kubelet's own
/// rotation does. The CAs are kept: an expired CA is refused before anything is written.
///
/// # Errors
/// [`ClusterError::CaExpired`] for an expired CA; [`ClusterError::ClientCertificateFile`] for
/// a kubelet client certificate file that does not read; as [`crate::renew_due`] otherwise.
pub fn recover(
    options: &RecoverOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<RenewReport, ClusterError> {
    let renew = &options.renew;
    let (lock, recovered) = lock_tree(&renew.cert_dir, &renew.kubeconfig_dir)?;
    let mut report = RenewReport {
        warnings: recovered.into_iter().collect(),
        ..RenewReport::default()
    };
    check_cas(&renew.cert_dir, now)?;
    renew_due_locked(&lock, renew, options.within, now, cluster_ca, &mut report)?;
    if renew.kubeconfig_dir.join(KUBELET_CONF).exists()
        && let Some(done) = recover_kubelet_conf(options, now, cluster_ca)?
    {
        report.renewed.push(done);
    }
    Ok(report)
}

/// Renews kubelet.conf's client certificate when it is due; `None` when it is not.
fn recover_kubelet_conf(
    options: &RecoverOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<Option<Renewed>, ClusterError> {
    let path = options.renew.kubeconfig_dir.join(KUBELET_CONF);
    let config = load_kubeconfig(&path)?;
    let (_, user) = config.current().ok_or_else(|| ClusterError::Misfit {
        path: path.clone(),
        reason: crate::Misfit::KubeconfigIncomplete("current context"),
    })?;
    if !user.client_certificate_data.trim().is_empty() {
        let (_, der, _) = crate::files::read_kubeconfig(&path)?;
        let due = der.is_some_and(|der| is_due(&der, options.within, now));
        return if due {
            renew_embedded_kubeconfig(KUBELET_CONF, &options.renew, now, cluster_ca).map(Some)
        } else {
            Ok(None)
        };
    }
    let file = kubelet_client_path(
        &path,
        &user.client_certificate,
        options.kubelet_dir.as_deref(),
    )?;
    renew_kubelet_client_file(&file, options, now, cluster_ca)
}

/// The kubelet's client pair file that kubelet.conf (`conf`) names in `client_certificate`:
/// relative to the kubeconfig's folder, or in `kubelet_dir` when that is given (a node's disk
/// mounted elsewhere).
fn kubelet_client_path(
    conf: &Path,
    client_certificate: &str,
    kubelet_dir: Option<&Path>,
) -> Result<PathBuf, ClusterError> {
    if client_certificate.is_empty() {
        return Err(ClusterError::Misfit {
            path: conf.to_path_buf(),
            reason: crate::Misfit::KubeconfigIncomplete("client certificate"),
        });
    }
    // A relative path in a kubeconfig is relative to the kubeconfig's folder.
    let named = conf
        .parent()
        .unwrap_or(Path::new("."))
        .join(client_certificate);
    Ok(match (kubelet_dir, named.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => named,
    })
}

/// The kubelet's client pair file of the tree's kubelet.conf, when kubelet.conf names one
/// (after kubeadm's kubelet-finalize) rather than embedding its certificate; `None` when
/// there is no kubelet.conf or its certificate is embedded.
///
/// # Errors
/// [`ClusterError::Kubeconfig`], [`ClusterError::Misfit`] for a kubelet.conf that does not
/// read or names no client certificate.
pub(crate) fn kubelet_client_file(
    kubeconfig_dir: &Path,
    kubelet_dir: Option<&Path>,
) -> Result<Option<PathBuf>, ClusterError> {
    let path = kubeconfig_dir.join(KUBELET_CONF);
    if !path.exists() {
        return Ok(None);
    }
    let config = load_kubeconfig(&path)?;
    let Some((_, user)) = config.current() else {
        return Ok(None);
    };
    if !user.client_certificate_data.trim().is_empty() {
        return Ok(None);
    }
    kubelet_client_path(&path, &user.client_certificate, kubelet_dir).map(Some)
}

/// Whether a certificate DER is due (one that does not parse is due: it
/// cannot be working).
fn is_due(der: &[u8], within: Duration, now: SystemTime) -> bool {
    CertificateInfo::from_der(der).map_or(true, |info| due_for_renewal(info.not_after, within, now))
}

/// The kubelet's name for a rotated pair: `kubelet-client-2006-01-02-15-04-05.pem`.
fn dated_name(now: SystemTime) -> String {
    let stamp = format_rfc3339(now);
    let stamp = stamp.trim_end_matches('Z').replace(['T', ':'], "-");
    format!("kubelet-client-{stamp}.pem")
}

/// Renews the kubelet client pair in `file` (certificate and key in one PEM file, usually the
/// `kubelet-client-current.pem` symlink) when it is due.
fn renew_kubelet_client_file(
    file: &Path,
    options: &RecoverOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<Option<Renewed>, ClusterError> {
    let (der, old_key) = kubelet_client_parts(file)?;
    if !is_due(&der, options.within, now) {
        return Ok(None);
    }
    let ca = ca_for(
        &options.renew.cert_dir,
        CaName::Ca,
        KUBELET_CONF,
        cluster_ca,
    )?;
    let (cert_pem, new_key) = reissue(
        &ca,
        KUBELET_CONF,
        &der,
        old_key.as_ref(),
        &options.renew,
        now,
    )?;
    let written = write_kubelet_client_file(file, &cert_pem, &new_key, &options.renew, now)?;
    Ok(Some(Renewed {
        name: KUBELET_CONF.to_owned(),
        path: written,
        restart: restart_for(KUBELET_CONF),
    }))
}

/// The kubelet's client pair file `file` read: its certificate (DER) and key.
///
/// # Errors
/// [`ClusterError::ClientCertificateFile`] when it holds no certificate or no key that reads.
pub(crate) fn read_kubelet_client_file(file: &Path) -> Result<(Vec<u8>, KeyPair), ClusterError> {
    let (der, key) = kubelet_client_parts(file)?;
    let key = key.ok_or_else(|| ClusterError::ClientCertificateFile {
        path: file.to_path_buf(),
        reason: "no PRIVATE KEY block that reads",
    })?;
    Ok((der, key))
}

/// The kubelet's client pair file `file` read: its certificate (DER), and its key when one
/// reads.
///
/// # Errors
/// [`ClusterError::ClientCertificateFile`] when it holds no certificate.
fn kubelet_client_parts(file: &Path) -> Result<(Vec<u8>, Option<KeyPair>), ClusterError> {
    let unreadable = |reason| ClusterError::ClientCertificateFile {
        path: file.to_path_buf(),
        reason,
    };
    let text = String::from_utf8(read(file)?).map_err(|_| unreadable("not PEM text"))?;
    // The kubelet's file holds the certificate and its key, in this order.
    let cert = pem_blocks_labelled(&text, "CERTIFICATE")
        .ok_or_else(|| unreadable("no CERTIFICATE block"))?;
    let der = first_certificate(file, "client-certificate", cert.as_bytes())?;
    let key = pem_blocks_labelled(&text, "PRIVATE KEY")
        .and_then(|pem| KeyPair::from_bytes(pem.as_bytes(), None).ok());
    Ok((der, key))
}

/// Writes the kubelet's client pair (`cert_pem`, then `key`) for `file`: when `file` is a
/// symlink (`kubelet-client-current.pem`), as the kubelet rotates, a new dated file and the
/// symlink moved to it in one rename (a kill before the rename leaves the old link and an
/// unused new file); otherwise `file` replaced atomically, its old copy kept as `renew` says.
/// Returns the file written.
pub(crate) fn write_kubelet_client_file(
    file: &Path,
    cert_pem: &str,
    key: &KeyPair,
    renew: &RenewOptions,
    now: SystemTime,
) -> Result<PathBuf, ClusterError> {
    // The kubelet's file: certificate, then key. Zeroized when dropped, as the key's PEM is.
    let mut pair = kubepki_keys::KeyPem::new(cert_pem.to_owned());
    pair.push_str(&key_pem(file, key)?);
    let folder = file.parent().unwrap_or(Path::new("."));
    let is_link = std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        let dated = folder.join(dated_name(now));
        write_atomic(&dated, pair.as_bytes(), FileKind::Secret, Overwrite::Refuse)?;
        let target = dated.file_name().map(PathBuf::from).ok_or_else(|| {
            ClusterError::ClientCertificateFile {
                path: file.to_path_buf(),
                reason: "no file name",
            }
        })?;
        replace_symlink(file, &target)?;
        Ok(dated)
    } else {
        crate::renew::keep_old_copy(renew, file, now)?;
        write_atomic(file, pair.as_bytes(), FileKind::Secret, Overwrite::Replace)?;
        Ok(file.to_path_buf())
    }
}

/// Points the symlink `link` at `target` atomically: a new link beside it, renamed over it,
/// the folder synced.
fn replace_symlink(link: &Path, target: &Path) -> Result<(), ClusterError> {
    let folder = link.parent().unwrap_or(Path::new("."));
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| KUBELET_CURRENT.to_owned());
    let temp = folder.join(format!(".{name}.tmp.{}.0", std::process::id()));
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| {
            ClusterError::Fs(kubepki_fs::FsError::Io {
                action,
                path,
                source,
            })
        }
    };
    let _ = std::fs::remove_file(&temp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &temp).map_err(io("create the symlink", &temp))?;
    #[cfg(not(unix))]
    std::fs::copy(folder.join(target), &temp).map_err(io("copy", &temp))?;
    std::fs::rename(&temp, link).map_err(io("rename onto", link))?;
    std::fs::File::open(folder)
        .and_then(|d| d.sync_all())
        .map_err(io("sync folder", folder))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dated_name_is_the_kubelets() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_322_245);
        assert_eq!(dated_name(t), "kubelet-client-2026-01-02-02-50-45.pem");
    }
}
