//! `ca rotate promote` and the kubelet's own client pair: when kubelet.conf names
//! `/var/lib/kubelet/pki/kubelet-client-current.pem` (after kubeadm's kubelet-finalize),
//! promote reissues it under the new cluster CA with its key, as the kubelet rotates (a new
//! dated file, the symlink moved to it), and a rerun changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{pinned, tree_at};
use kubepki_cluster::{RotateOptions, RotatedCa, rotate_promote, rotate_start};
use kubepki_sign::{CertificateInfo, certificates_from_bytes};

/// The first certificate of a PEM file (the kubelet's holds its key after it).
fn first_certificate(pem: &[u8]) -> CertificateInfo {
    let text = String::from_utf8_lossy(pem);
    let end = "-----END CERTIFICATE-----";
    let first = &text[..text.find(end).unwrap() + end.len()];
    let ders = certificates_from_bytes(first.as_bytes()).unwrap();
    CertificateInfo::from_der(&ders[0]).unwrap()
}

#[test]
fn promote_reissues_the_kubelets_client_pair_under_the_new_ca_with_its_key() {
    let tree = tree_at(pinned());
    let kubelet = common::kubelet_finalized(&tree);
    let options = RotateOptions::new(
        tree.pki(),
        tree.dir.path().to_path_buf(),
        vec![RotatedCa::Cluster],
    );
    rotate_start(&options, pinned()).unwrap();
    // start trusts both and leaves the kubelet's pair alone.
    assert_eq!(std::fs::read(&kubelet.current).unwrap(), kubelet.pair);

    let later = pinned() + Duration::from_secs(60);
    let mut dry = options.clone();
    dry.dry_run = true;
    let planned = rotate_promote(&dry, later).unwrap();
    assert!(
        planned.files.iter().any(|f| f.path == kubelet.current),
        "{:?}",
        planned.files
    );
    assert_eq!(std::fs::read(&kubelet.current).unwrap(), kubelet.pair);

    let report = rotate_promote(&options, later).unwrap();
    let dated = tree
        .dir
        .path()
        .join("var/lib/kubelet/pki/kubelet-client-2026-01-01-00-01-00.pem");
    assert!(
        report.files.iter().any(|f| f.path == dated),
        "{:?}",
        report.files
    );
    assert_eq!(
        std::fs::read_link(&kubelet.current).unwrap(),
        PathBuf::from("kubelet-client-2026-01-01-00-01-00.pem")
    );
    // The old dated file is as it was; kubelet.conf is unchanged but for its CA data.
    assert_eq!(std::fs::read(&kubelet.old_file).unwrap(), kubelet.pair);
    let renewed = std::fs::read(&kubelet.current).unwrap();
    let (old, new) = (
        first_certificate(&kubelet.pair),
        first_certificate(&renewed),
    );
    let signing = first_certificate(&std::fs::read(tree.path("ca.crt")).unwrap());
    assert_eq!(new.authority_key_id, signing.subject_key_id);
    assert_ne!(old.authority_key_id, new.authority_key_id);
    assert_eq!(new.subject, old.subject);
    assert_eq!(new.public_key, old.public_key, "the kubelet's key changed");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kubelet.current)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A rerun finds it done.
    let again = rotate_promote(&options, later + Duration::from_secs(60)).unwrap();
    assert!(
        !again
            .files
            .iter()
            .any(|f| f.path.starts_with(tree.dir.path().join("var"))),
        "{:?}",
        again.files
    );
    assert_eq!(std::fs::read(&kubelet.current).unwrap(), renewed);
}

#[test]
fn a_kubelet_pair_not_on_this_machine_is_a_warning_not_an_error() {
    let tree = tree_at(pinned());
    let kubelet = common::kubelet_finalized(&tree);
    std::fs::remove_file(&kubelet.current).unwrap();
    let options = RotateOptions::new(
        tree.pki(),
        tree.dir.path().to_path_buf(),
        vec![RotatedCa::Cluster],
    );
    rotate_start(&options, pinned()).unwrap();
    let report = rotate_promote(&options, pinned() + Duration::from_secs(60)).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("kubelet-client-current.pem") && w.contains("--kubelet-dir")),
        "{:?}",
        report.warnings
    );
}
