//! Renewal on a timer (`renew_due`), old files disposed of or kept, and the offline recovery
//! of an expired tree (`recover`), on trees made with a pinned clock.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{pinned, tree_at};
use kubepki_cluster::{ClusterError, RecoverOptions, RenewOptions, recover, renew, renew_due};
use kubepki_sign::{CertificateInfo, certificates_from_bytes};

const DAY: u64 = 86_400;

fn options(tree: &common::Tree) -> RenewOptions {
    RenewOptions {
        cert_dir: tree.pki(),
        kubeconfig_dir: tree.dir.path().to_path_buf(),
        algorithm: None,
        validity: None,
        add_sans: Vec::new(),
        keep_old: None,
    }
}

/// The NotAfter of the first certificate of `pem` (which may go on with a key, as the
/// kubelet's file does).
fn not_after(pem: &[u8]) -> SystemTime {
    let text = String::from_utf8_lossy(pem);
    let end = text.find("-----END CERTIFICATE-----").unwrap() + 25;
    let der = certificates_from_bytes(&pem[..end]).unwrap().remove(0);
    CertificateInfo::from_der(&der).unwrap().not_after
}

/// Every file under `dir` whose name ends with `.bak`.
fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(backups(&path));
        } else if path.to_string_lossy().ends_with(".bak") {
            found.push(path);
        }
    }
    found
}

fn names(report: &kubepki_cluster::RenewReport) -> Vec<&str> {
    report.renewed.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn renew_due_renews_exactly_what_is_due_and_then_nothing() {
    let tree = tree_at(pinned());
    // 300 days in, apiserver and admin.conf are renewed early: they now end 665 days in.
    let early = pinned() + Duration::from_secs(300 * DAY);
    renew(&options(&tree), "apiserver", early).unwrap();
    renew(&options(&tree), "admin.conf", early).unwrap();
    let ca = std::fs::read(tree.path("ca.crt")).unwrap();
    // 340 days in with 30 days' margin: everything else ends at 365 days, so it is due.
    let now = pinned() + Duration::from_secs(340 * DAY);
    let within = Duration::from_secs(30 * DAY);
    let report = renew_due(&options(&tree), within, now, None).unwrap();
    let mut renewed = names(&report);
    renewed.sort_unstable();
    assert_eq!(
        renewed,
        [
            "apiserver-etcd-client",
            "apiserver-kubelet-client",
            "controller-manager.conf",
            "etcd-healthcheck-client",
            "etcd-peer",
            "etcd-server",
            "front-proxy-client",
            "scheduler.conf",
            "super-admin.conf",
        ]
    );
    assert_eq!(
        not_after(&std::fs::read(tree.path("apiserver.crt")).unwrap()),
        early + Duration::from_secs(365 * DAY),
        "apiserver was not due and must not be touched"
    );
    assert_eq!(std::fs::read(tree.path("ca.crt")).unwrap(), ca);
    // Only those that need it are to be restarted; the rest reload by themselves.
    let mut restart: Vec<&str> = report
        .renewed
        .iter()
        .filter_map(|r| r.restart_needed())
        .collect();
    restart.sort_unstable();
    restart.dedup();
    assert_eq!(
        restart,
        [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler"
        ]
    );
    // A second run renews nothing, and no old file is left anywhere in the tree.
    let again = renew_due(&options(&tree), within, now, None).unwrap();
    assert!(again.renewed.is_empty(), "{:?}", names(&again));
    assert_eq!(backups(tree.dir.path()), Vec::<PathBuf>::new());
    // An expired certificate is due with no margin at all.
    let expired = pinned() + Duration::from_secs(700 * DAY);
    let report = renew_due(&options(&tree), Duration::ZERO, expired, None).unwrap();
    assert!(
        names(&report).contains(&"apiserver"),
        "{:?}",
        names(&report)
    );
}

#[test]
fn keep_old_moves_the_old_pair_out_of_the_tree_with_its_modes() {
    use std::os::unix::fs::PermissionsExt;
    let tree = tree_at(pinned());
    let keep = tree.dir.path().join("kept");
    let old_key = std::fs::read(tree.path("etcd/server.key")).unwrap();
    let old_admin = std::fs::read(tree.conf("admin.conf")).unwrap();
    let mut options = options(&tree);
    options.keep_old = Some(keep.clone());
    renew(&options, "all", pinned()).unwrap();
    let stamp = keep.join("2026-01-01T000000Z");
    assert_eq!(
        std::fs::read(stamp.join("pki/etcd/server.key")).unwrap(),
        old_key
    );
    assert!(stamp.join("pki/etcd/server.crt").exists());
    assert_eq!(std::fs::read(stamp.join("admin.conf")).unwrap(), old_admin);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&stamp.join("pki/etcd/server.key")), 0o600);
    assert_eq!(mode(&stamp.join("admin.conf")), 0o600);
    assert_eq!(mode(&keep), 0o700);
    assert_eq!(mode(&stamp.join("pki/etcd")), 0o700);
    assert_eq!(backups(&tree.pki()), Vec::<PathBuf>::new());
}

#[test]
fn recover_renews_expired_leaves_and_the_kubelets_file_keeping_the_cas() {
    let tree = tree_at(pinned());
    let cas: Vec<Vec<u8>> = ["ca.crt", "ca.key", "front-proxy-ca.crt", "etcd/ca.crt"]
        .iter()
        .map(|f| std::fs::read(tree.path(f)).unwrap())
        .collect();
    let common::KubeletFinalized {
        current,
        old_file,
        pair,
        kubelet_conf: pointing,
    } = common::kubelet_finalized(&tree);

    // An hour after every leaf expired.
    let now = pinned() + Duration::from_secs(365 * DAY + 3600);
    let options = RecoverOptions {
        renew: options(&tree),
        within: Duration::from_secs(DAY),
        kubelet_dir: None,
    };
    let report = recover(&options, now, None).unwrap();
    assert_eq!(report.renewed.len(), 12, "{:?}", names(&report));
    assert!(names(&report).contains(&"kubelet.conf"));
    // The CAs are the same bytes.
    for (file, before) in ["ca.crt", "ca.key", "front-proxy-ca.crt", "etcd/ca.crt"]
        .iter()
        .zip(&cas)
    {
        assert_eq!(&std::fs::read(tree.path(file)).unwrap(), before, "{file}");
    }
    // The link moved to a new dated file, the old file is as it was, kubelet.conf unchanged.
    let target = std::fs::read_link(&current).unwrap();
    assert_eq!(
        target,
        PathBuf::from("kubelet-client-2027-01-01-01-00-00.pem")
    );
    assert_eq!(std::fs::read(&old_file).unwrap(), pair);
    let renewed = std::fs::read(&current).unwrap();
    assert!(not_after(&renewed) > now + Duration::from_secs(300 * DAY));
    assert!(String::from_utf8_lossy(&renewed).contains("PRIVATE KEY"));
    assert_eq!(
        std::fs::read_to_string(tree.conf("kubelet.conf")).unwrap(),
        pointing
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&current).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Nothing is due any more.
    let again = recover(&options, now, None).unwrap();
    assert!(again.renewed.is_empty(), "{:?}", names(&again));
}

#[test]
fn recover_refuses_an_expired_ca_and_writes_nothing() {
    let tree = tree_at(pinned());
    let before = std::fs::read(tree.path("apiserver.crt")).unwrap();
    let options = RecoverOptions {
        renew: options(&tree),
        within: Duration::from_secs(DAY),
        kubelet_dir: None,
    };
    // Past the CAs' ten years.
    let now = pinned() + Duration::from_secs(3651 * DAY);
    let err = recover(&options, now, None).unwrap_err();
    assert!(
        matches!(&err, ClusterError::CaExpired { name, .. } if name == "ca"),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("kubepki init"), "{text}");
    assert_eq!(std::fs::read(tree.path("apiserver.crt")).unwrap(), before);
}
