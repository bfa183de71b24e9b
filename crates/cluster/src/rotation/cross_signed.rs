//! The new CA cross-signed by the old one, which every leaf carries from promote to finish.

use std::time::SystemTime;

use kubepki_fs::FileKind;
use kubepki_keys::pem::pem_encode;
use kubepki_keys::{PublicKey, Signer};
use kubepki_profile::ca_profile;
use kubepki_sign::{Ca, CertificateInfo, IssueOptions, certificates_from_bytes};

use super::RotateOptions;
use super::change::ChangeSet;
use super::state::{Anchor, Paths};
use crate::ClusterError;
use crate::files::read;
use crate::tree::{CaName, LEAVES, crt};

/// The new CA's certificate signed by the old CA (PEM): the same subject, key and CA
/// extensions as the new CA, valid no longer than the old CA. Appended to every leaf from
/// promote to finish, it lets a client that still trusts only the old CA (a kubeconfig or a
/// pod's `ca.crt` copied before start) build the path leaf -> new CA -> old CA, so no client
/// loses trust before finish. kube-apiserver and etcd send it with their serving
/// certificates; clients send it with theirs.
pub(super) fn cross_signed(
    paths: &Paths,
    name: CaName,
    old_key: Box<dyn Signer>,
    old: &Anchor,
    new: &Anchor,
    new_key: &PublicKey,
    now: SystemTime,
) -> Result<String, ClusterError> {
    let sign = |source| ClusterError::Sign {
        name: paths.cross.display().to_string(),
        source,
    };
    let info = CertificateInfo::from_der(&new.cert_der).map_err(sign)?;
    let cn = info
        .subject
        .common_name()
        .unwrap_or("kubernetes")
        .to_owned();
    let old_ca = Ca::from_der(&old.cert_der, old_key, Vec::new()).map_err(sign)?;
    let issued = old_ca
        .issue_for_key(
            new_key,
            &info.subject,
            &[],
            &ca_profile(name.name(), &cn),
            &IssueOptions::at(now),
        )
        .map_err(sign)?;
    Ok(issued.pem())
}

/// Finish's leaves: each leaf of `name` that still carries the cross-signed certificate
/// after its own is written back as its own certificate alone.
pub(super) fn without_cross_signed(
    options: &RotateOptions,
    name: CaName,
    changes: &mut ChangeSet,
) -> Result<(), ClusterError> {
    for leaf in LEAVES.iter().filter(|l| l.ca == name) {
        let path = crt(&options.cert_dir, leaf.base);
        if !path.exists() {
            continue;
        }
        let certs =
            certificates_from_bytes(&read(&path)?).map_err(|source| ClusterError::Sign {
                name: path.display().to_string(),
                source,
            })?;
        if let [own, _, ..] = certs.as_slice() {
            changes.write(&path, pem_encode("CERTIFICATE", own), FileKind::Public);
        }
    }
    Ok(())
}
