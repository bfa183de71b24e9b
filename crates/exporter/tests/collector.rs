//! The collector on a real `kubepki init` tree: kubeconfig-embedded labels, failed reads
//! counted, replaced files and re-pointed symlinks read again.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use kubepki_cluster::{InitOptions, Kubeconfig, init};
use kubepki_exporter::{Exporter, ExporterOptions, Reason, Sources, collect};
use kubepki_keys::KeyAlgorithm;

/// 2027-01-15: the tree is made and read at this time, never today's.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut options = InitOptions::new(
            dir.path().join("pki"),
            dir.path(),
            "cp-1",
            "127.0.0.1".parse().unwrap(),
        );
        options.algorithm = KeyAlgorithm::EcdsaP256;
        init(&options, now()).unwrap();
        Tree { dir }
    }

    fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Writes `bytes` to `path` as kubepki and kubeadm do: a temporary file, then a rename.
fn replace_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Scrapes until `wanted` is in the text (inotify is asynchronous), for at most 10 s.
fn scrape_until(exporter: &Exporter, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = exporter.scrape(now()).text;
        if text.contains(wanted) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{wanted} not seen within 10 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kubeconfig_embedded_certificates_carry_enixs_labels() {
    let tree = Tree::new();
    let sources = Sources {
        cert_dir: Some(tree.pki()),
        kubeconfig_dir: Some(tree.dir.path().to_path_buf()),
        ..Sources::default()
    };
    let collection = collect(&sources);
    assert!(collection.errors.is_empty(), "{:?}", collection.errors);
    // Three CAs and seven leaves; five kubeconfig files, each a CA and a client certificate.
    assert_eq!(collection.certificates.len(), 10 + 5 * 2);

    let admin = tree.path("admin.conf");
    let kubeconfig = Kubeconfig::from_yaml(&std::fs::read_to_string(&admin).unwrap()).unwrap();
    let user = &kubeconfig.users[0].name;
    let cluster = &kubeconfig.clusters[0].name;
    let in_admin: Vec<_> = collection
        .certificates
        .iter()
        .filter(|c| c.label("filepath") == Some(admin.to_str().unwrap()))
        .collect();
    assert_eq!(in_admin.len(), 2, "{in_admin:?}");
    let client = in_admin
        .iter()
        .find(|c| c.label("embedded_kind") == Some("user"))
        .unwrap();
    assert_eq!(client.label("embedded_key"), Some(user.as_str()));
    assert_eq!(client.label("filename"), Some("admin.conf"));
    assert_eq!(client.label("subject_CN"), Some("kubernetes-admin"));
    assert_eq!(client.label("subject_O"), Some("kubeadm:cluster-admins"));
    assert_eq!(client.label("issuer_CN"), Some("kubernetes"));
    let serial = client.label("serial_number").unwrap();
    assert!(serial.bytes().all(|b| b.is_ascii_digit()), "{serial}");
    let ca = in_admin
        .iter()
        .find(|c| c.label("embedded_kind") == Some("cluster"))
        .unwrap();
    assert_eq!(ca.label("embedded_key"), Some(cluster.as_str()));
    assert_eq!(ca.label("subject_CN"), Some("kubernetes"));

    // A tree file: no embedded labels, and the path as configured.
    let apiserver = tree.pki().join("apiserver.crt");
    let leaf = collection
        .certificates
        .iter()
        .find(|c| c.label("filepath") == Some(apiserver.to_str().unwrap()))
        .unwrap();
    assert_eq!(leaf.label("filename"), Some("apiserver.crt"));
    assert_eq!(leaf.label("subject_CN"), Some("kube-apiserver"));
    assert_eq!(leaf.label("embedded_kind"), None);
    assert!(leaf.not_after > now() && leaf.not_before <= now());
}

#[test]
fn a_file_that_does_not_read_is_counted_at_each_read_and_never_stops_the_rest() {
    let tree = Tree::new();
    let watched = tempfile::tempdir().unwrap();
    std::fs::write(
        watched.path().join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(watched.path().join("empty.crt"), "").unwrap();
    std::fs::copy(
        tree.pki().join("apiserver.crt"),
        watched.path().join("good.crt"),
    )
    .unwrap();
    let missing = watched.path().join("gone.crt");
    let kubeconfigs = tempfile::tempdir().unwrap();
    std::fs::write(kubeconfigs.path().join("admin.conf"), "users: [[[\n").unwrap();
    let sources = Sources {
        kubeconfig_dir: Some(kubeconfigs.path().to_path_buf()),
        watch_files: vec![missing.clone()],
        watch_dirs: vec![watched.path().to_path_buf()],
        ..Sources::default()
    };

    let collection = collect(&sources);
    let reasons: Vec<Reason> = collection.errors.iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        [
            Reason::DecodeFailed,
            Reason::NotFound,
            Reason::BadPem,
            Reason::NoCertificateFound
        ],
        "{:?}",
        collection.errors
    );
    assert_eq!(collection.errors[1].path, missing);
    assert_eq!(collection.certificates.len(), 1);

    let exporter = Exporter::new(ExporterOptions::new(sources));
    let dir = watched.path().display();
    for count in 1..=3 {
        let scrape = exporter.scrape(now());
        assert_eq!(scrape.errors.len(), 4, "each scrape reads again");
        for line in [
            format!(
                "x509_source_errors_total{{source_kind=\"file\",source_name=\"{dir}\",reason=\"bad_pem\"}} {count}\n"
            ),
            format!(
                "x509_source_errors_total{{source_kind=\"file\",source_name=\"{}\",reason=\"not_found\"}} {count}\n",
                missing.display()
            ),
            format!(
                "x509_source_errors_total{{source_kind=\"kubeconfig\",source_name=\"{}\",reason=\"decode_failed\"}} {count}\n",
                kubeconfigs.path().display()
            ),
        ] {
            assert!(
                scrape.text.contains(&line),
                "{line} missing from\n{}",
                scrape.text
            );
        }
        assert!(scrape.text.contains("filename=\"good.crt\""));
    }
    // Fixed: no new error, the count stays.
    std::fs::remove_file(watched.path().join("broken.pem")).unwrap();
    std::fs::remove_file(watched.path().join("empty.crt")).unwrap();
    std::fs::copy(tree.pki().join("ca.crt"), &missing).unwrap();
    std::fs::copy(
        tree.path("admin.conf"),
        kubeconfigs.path().join("admin.conf"),
    )
    .unwrap();
    let scrape = exporter.scrape(now());
    assert!(scrape.errors.is_empty(), "{:?}", scrape.errors);
    assert!(scrape.text.contains("reason=\"bad_pem\"} 3\n"));
    assert!(scrape.text.contains("filename=\"gone.crt\""));
}

#[test]
fn a_file_replaced_by_a_rename_is_read_again() {
    let tree = Tree::new();
    let watched = tempfile::tempdir().unwrap();
    let file = watched.path().join("serving.crt");
    std::fs::copy(tree.pki().join("apiserver.crt"), &file).unwrap();
    let exporter = Exporter::new(ExporterOptions::new(Sources {
        watch_dirs: vec![watched.path().to_path_buf()],
        ..Sources::default()
    }));
    assert!(exporter.watch_unavailable().is_none());
    scrape_until(&exporter, "subject_CN=\"kube-apiserver\"");
    // Settle: the watch's own first event is consumed, then a scrape reuses the read.
    let settled = exporter.scrape(now());
    assert!(settled.errors.is_empty());

    let replacement = std::fs::read(tree.pki().join("front-proxy-client.crt")).unwrap();
    replace_atomically(&file, &replacement);
    let text = scrape_until(&exporter, "subject_CN=\"front-proxy-client\"");
    assert!(!text.contains("kube-apiserver"), "{text}");
}

#[test]
fn a_symlink_is_followed_labelled_with_its_own_path_and_seen_when_repointed() {
    let tree = Tree::new();
    let kubelet_pki = tempfile::tempdir().unwrap();
    // kubelet's layout: dated files holding certificate and key, and a "current" link.
    let first = kubelet_pki
        .path()
        .join("kubelet-client-2027-01-15-00-00-00.pem");
    let mut pem = std::fs::read(tree.pki().join("apiserver-kubelet-client.crt")).unwrap();
    pem.extend(std::fs::read(tree.pki().join("apiserver-kubelet-client.key")).unwrap());
    std::fs::write(&first, &pem).unwrap();
    let current = kubelet_pki.path().join("kubelet-client-current.pem");
    std::os::unix::fs::symlink(&first, &current).unwrap();
    let exporter = Exporter::new(ExporterOptions::new(Sources {
        watch_files: vec![current.clone()],
        ..Sources::default()
    }));
    let label = format!("filepath=\"{}\"", current.display());
    let text = scrape_until(&exporter, "subject_CN=\"kube-apiserver-kubelet-client\"");
    assert!(text.contains(&label), "{text}");

    // kubelet rotates: a new dated file, the link replaced by a rename.
    let second = kubelet_pki
        .path()
        .join("kubelet-client-2027-06-01-00-00-00.pem");
    std::fs::copy(tree.pki().join("apiserver-etcd-client.crt"), &second).unwrap();
    let tmp_link = kubelet_pki.path().join("kubelet-client-current.pem.tmp");
    std::os::unix::fs::symlink(&second, &tmp_link).unwrap();
    std::fs::rename(&tmp_link, &current).unwrap();
    let text = scrape_until(&exporter, "subject_CN=\"kube-apiserver-etcd-client\"");
    assert!(text.contains(&label), "{text}");

    // A dangling link is an error, not a crash.
    std::fs::remove_file(&second).unwrap();
    let text = scrape_until(&exporter, "reason=\"broken_symlink\"} 1\n");
    assert!(!text.contains("subject_CN="), "{text}");
}

#[test]
fn each_cas_rotation_phase_is_read_from_the_tree() {
    use kubepki_cluster::{Phase, RotateOptions, RotatedCa, rotate_start};
    let tree = Tree::new();
    let sources = Sources {
        cert_dir: Some(tree.pki()),
        kubeconfig_dir: Some(tree.dir.path().to_path_buf()),
        ..Sources::default()
    };
    let phases = |phase| RotatedCa::ALL.map(|ca| (ca, phase)).to_vec();
    assert_eq!(collect(&sources).rotation, phases(Phase::Idle));
    let options = RotateOptions::new(
        tree.pki(),
        tree.dir.path().to_path_buf(),
        RotatedCa::ALL.to_vec(),
    );
    rotate_start(&options, now()).unwrap();
    let collection = collect(&sources);
    assert_eq!(collection.rotation, phases(Phase::Started));
    assert!(collection.errors.is_empty(), "{:?}", collection.errors);
    // Without a kubeconfig dir there is no tree to read a rotation from.
    let certs_only = Sources {
        cert_dir: Some(tree.pki()),
        ..Sources::default()
    };
    assert!(collect(&certs_only).rotation.is_empty());
}
