//! The kubelet's own client pair at promote: outside the tree, reissued after the tree's
//! journaled change, as the kubelet's own rotation writes it.

use std::time::SystemTime;

use kubepki_sign::CertificateInfo;

use super::state::Paths;
use super::{FileChange, RotateOptions, RotatedCa};
use crate::ca_source::ca_for;
use crate::files::load_cert;
use crate::recover::{
    KUBELET_CONF, kubelet_client_file, read_kubelet_client_file, write_kubelet_client_file,
};
use crate::renew::reissue_for_key;
use crate::tree::CaName;
use crate::{ClusterError, RenewOptions};

/// The kubelet's client pair that kubelet.conf names (after kubeadm's kubelet-finalize,
/// `/var/lib/kubelet/pki/kubelet-client-current.pem`), reissued under the cluster CA that
/// signs now, with its key, as the kubelet's own rotation writes it: a new dated file and the
/// symlink moved to it in one rename. Nothing when kubelet.conf embeds its certificate (then
/// it was reissued with the tree), when the file is already the new CA's, or when the file
/// is not on this machine (a warning then: run promote again on its node with
/// `--kubelet-dir`).
pub(super) fn promote_kubelet_client(
    options: &RotateOptions,
    now: SystemTime,
    warnings: &mut Vec<String>,
) -> Result<Option<FileChange>, ClusterError> {
    let Some(file) = kubelet_client_file(&options.kubeconfig_dir, options.kubelet_dir.as_deref())?
    else {
        return Ok(None);
    };
    if !file.exists() {
        warnings.push(format!(
            "kubelet.conf names {}, which is not here: its kubelet rotates it through the Certificates API, or run promote again where it is (--kubelet-dir)",
            file.display()
        ));
        return Ok(None);
    }
    let (der, key) = read_kubelet_client_file(&file)?;
    let paths = Paths::of(&options.cert_dir, RotatedCa::Cluster);
    // A dry run has not promoted: the CA to compare with is the one set aside by start.
    let signing = if options.dry_run && paths.new_anchor.exists() {
        &paths.new_anchor
    } else {
        &paths.trust
    };
    let info = |der: &[u8], name: &std::path::Path| {
        CertificateInfo::from_der(der).map_err(|source| ClusterError::Sign {
            name: name.display().to_string(),
            source,
        })
    };
    let ca_info = info(&load_cert(signing)?, signing)?;
    let leaf = info(&der, &file)?;
    if leaf.authority_key_id.is_some() && leaf.authority_key_id == ca_info.subject_key_id {
        return Ok(None);
    }
    if options.dry_run {
        return Ok(Some(FileChange {
            path: file,
            action: "write",
        }));
    }
    let ca = ca_for(&options.cert_dir, CaName::Ca, KUBELET_CONF, None)?;
    let renew = RenewOptions::defaults(&options.cert_dir, &options.kubeconfig_dir);
    let cert_pem = reissue_for_key(&ca, KUBELET_CONF, &der, &key, &renew, now)?;
    let written = write_kubelet_client_file(&file, &cert_pem, &key, &renew, now)?;
    Ok(Some(FileChange {
        path: written,
        action: "write",
    }))
}
