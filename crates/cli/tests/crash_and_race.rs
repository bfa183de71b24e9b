//! kill -9 at random moments and concurrent processes on one tree: `init` and `certs renew`
//! leave the old state or the new one, never a certificate without its key or a key that
//! is not its certificate's, and the next run repairs what a killed one left.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)] // the jitter's seed and span

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{kubepki, ok, openssl_available};
use kubepki_test_support::{openssl_public_key, openssl_verifies};

const TREE: [&str; 8] = [
    "init",
    "--cert-dir",
    "pki",
    "--kubeconfig-dir",
    ".",
    "--node-name",
    "cp-1",
    "--algorithm",
];

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kubepki"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubepki")
}

/// A small xorshift generator seeded from the clock (the seed is printed, to replay a run).
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 | 1);
        eprintln!("jitter seed {seed}");
        Self(seed)
    }
    /// A duration in `[low, high)`.
    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let span = (high - low).as_micros().max(1) as u64;
        low + Duration::from_micros(self.0 % span)
    }
}

/// Every `*.crt` of the tree with its `*.key` next to it.
fn pairs(pki: &Path) -> Vec<(std::path::PathBuf, std::path::PathBuf)> {
    let mut found = Vec::new();
    for dir in [pki.to_path_buf(), pki.join("etcd")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "crt") {
                found.push((path.clone(), path.with_extension("key")));
            }
        }
    }
    found
}

/// Pairs whose key is not their certificate's, as openssl sees them.
fn mismatched(pki: &Path) -> Vec<String> {
    pairs(pki)
        .into_iter()
        .filter(|(crt, key)| {
            key.exists() && openssl_public_key(crt, true) != openssl_public_key(key, false)
        })
        .map(|(crt, _)| crt.display().to_string())
        .collect()
}

/// The tree is whole and consistent: check-expiration passes with nothing missing, every
/// key is its certificate's, every leaf verifies against its CA (openssl), no temp file or
/// journal is left.
fn assert_whole(dir: &Path) {
    let pki = dir.join("pki");
    let table = ok(kubepki(
        dir,
        &[
            "certs",
            "check-expiration",
            "--cert-dir",
            "pki",
            "--kubeconfig-dir",
            ".",
        ],
    ));
    assert!(!table.contains("MISSING"), "{table}");
    assert_eq!(mismatched(&pki), Vec::<String>::new());
    for (leaf, ca) in [
        ("apiserver.crt", "ca.crt"),
        ("apiserver-kubelet-client.crt", "ca.crt"),
        ("front-proxy-client.crt", "front-proxy-ca.crt"),
        ("etcd/server.crt", "etcd/ca.crt"),
        ("etcd/peer.crt", "etcd/ca.crt"),
        ("apiserver-etcd-client.crt", "etcd/ca.crt"),
    ] {
        assert!(
            openssl_verifies(&pki.join(ca), &pki.join(leaf), &[]),
            "{leaf} is not signed by {ca} on disk"
        );
    }
    let sa_pub = std::fs::read_to_string(pki.join("sa.pub")).unwrap();
    assert_eq!(
        openssl_public_key(&pki.join("sa.key"), false),
        sa_pub,
        "sa.key and sa.pub differ"
    );
    for folder in [dir.to_path_buf(), pki.clone(), pki.join("etcd")] {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                !name.contains(".tmp.") && name != ".kubepki.journal",
                "{name} left in {}",
                folder.display()
            );
        }
    }
}

/// Whether a run has begun to write the tree (a file other than the lock is in `pki/`).
fn writing_started(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("pki")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name() != ".kubepki.lock" && e.file_name() != "etcd")
    })
}

#[test]
fn init_killed_at_random_moments_is_repaired_by_the_next_run() {
    if !openssl_available() {
        return;
    }
    let mut jitter = Jitter::new();
    let (mut killed_while_writing, rounds) = (0, 24);
    for _ in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn(dir.path(), &[&TREE[..], &["RSA-2048"]].concat());
        // Key generation takes most of the run and writes nothing: wait for the first file
        // to appear, then kill within the next few milliseconds, while the tree is written.
        let first_file = Instant::now();
        while first_file.elapsed() < Duration::from_secs(20) && !writing_started(dir.path()) {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(jitter.between(Duration::ZERO, Duration::from_millis(4)));
        let _ = child.kill();
        let _ = child.wait();
        let pki = dir.path().join("pki");
        // Never a certificate without its key, whatever the moment.
        for (crt, key) in pairs(&pki) {
            assert!(key.exists(), "{} without its key", crt.display());
        }
        if pki.join(".kubepki.journal").exists()
            || pki.join("ca.key").exists() && !pki.join("sa.pub").exists()
        {
            killed_while_writing += 1;
        }
        // The next run rolls back what the killed one wrote and completes the tree: it is
        // not mistaken for an external CA.
        let rerun = ok(kubepki(dir.path(), &[&TREE[..], &["RSA-2048"]].concat()));
        assert!(!rerun.contains("external CA"), "{rerun}");
        assert_whole(dir.path());
    }
    eprintln!("{killed_while_writing} of {rounds} kills landed while files were being written");
}

#[test]
fn concurrent_inits_on_one_tree_do_not_mix_it() {
    if !openssl_available() {
        return;
    }
    for _ in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let children: Vec<Child> = (0..4)
            .map(|_| spawn(dir.path(), &[&TREE[..], &["RSA-2048"]].concat()))
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success(), "a concurrent init failed");
        }
        assert_whole(dir.path());
    }
}

#[test]
fn renew_killed_at_random_moments_never_leaves_a_mismatched_pair_unreported() {
    if !openssl_available() {
        return;
    }
    let mut jitter = Jitter::new();
    let dir = tempfile::tempdir().unwrap();
    ok(kubepki(dir.path(), &[&TREE[..], &["ECDSA-P256"]].concat()));
    let renew = [
        "certs",
        "renew",
        "all",
        "--cert-dir",
        "pki",
        "--kubeconfig-dir",
        ".",
    ];
    let start = Instant::now();
    ok(kubepki(dir.path(), &renew));
    let whole = start.elapsed();
    for _ in 0..20 {
        // The keys of this moment are old once the round's renewals are done.
        let old_secrets = secrets(dir.path());
        let mut child = spawn(dir.path(), &renew);
        std::thread::sleep(jitter.between(Duration::ZERO, whole));
        let _ = child.kill();
        let _ = child.wait();
        // check-expiration (which changes nothing) says so when a pair is mismatched.
        let check = kubepki(
            dir.path(),
            &[
                "certs",
                "check-expiration",
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
            ],
        );
        if !mismatched(&dir.path().join("pki")).is_empty() {
            assert_eq!(check.status.code(), Some(2));
            assert!(
                String::from_utf8_lossy(&check.stderr).contains("does not hold the key of"),
                "{}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
        // Never a key without its certificate, whatever the moment.
        for (crt, key) in pairs(&dir.path().join("pki")) {
            assert!(key.exists(), "{} without its key", crt.display());
        }
        // The next renewal restores the pair it left half-done (or finishes disposing of
        // the old one), then renews.
        ok(kubepki(dir.path(), &renew));
        assert_whole(dir.path());
        assert_no_old_secret(dir.path(), &old_secrets);
    }
}

/// Every private key of the tree: the PEM of each `*.key` and the `client-key-data` of each
/// kubeconfig file.
fn secrets(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for folder in [dir.to_path_buf(), dir.join("pki"), dir.join("pki/etcd")] {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            // The CAs' keys and sa.key are not renewed: renewal keeps them.
            let kept = ["ca.key", "front-proxy-ca.key", "sa.key"].contains(&name.as_str());
            if name.ends_with(".key") && !kept {
                found.push(text);
            } else if name.ends_with(".conf") && name != "kubelet.conf" {
                // (kubelet.conf is left to the kubelet's rotation: renewal keeps its key.)
                found.extend(
                    text.lines()
                        .filter_map(|l| l.trim().strip_prefix("client-key-data: "))
                        .map(str::to_owned),
                );
            }
        }
    }
    found.retain(|s| !s.trim().is_empty());
    // 7 leaf keys, 4 kubeconfig keys.
    assert_eq!(found.len(), 11, "{} secrets found", found.len());
    found
}

/// After `renew all`, no file of the tree (a `.bak`, a temporary file, a kubeconfig) holds any
/// of `old` keys.
fn assert_no_old_secret(dir: &Path, old: &[String]) {
    for folder in [dir.to_path_buf(), dir.join("pki"), dir.join("pki/etcd")] {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                !name.ends_with(".bak"),
                "{name} left in {}",
                folder.display()
            );
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            for secret in old {
                assert!(
                    !text.contains(secret.as_str()),
                    "an old key is still in {}",
                    entry.path().display()
                );
            }
        }
    }
}

/// Every request of the embedded store in `dir` and its certificate (PEM), if any.
fn stored_certificates(dir: &Path) -> std::collections::BTreeMap<String, Option<String>> {
    let out = kubepki(dir, &["get", "csr", "-o", "json", "--store", "store"]);
    assert!(
        out.stderr.is_empty(),
        "the store has an unreadable object: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_str(&ok(out)).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["metadata"]["name"].as_str().unwrap().to_owned(),
                c["status"]["certificate"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn the_embedded_controller_killed_at_random_moments_issues_each_request_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(kubepki(
        dir,
        &[
            "ca",
            "init",
            "--cert",
            "ca.crt",
            "--key",
            "ca.key",
            "--subject",
            "/CN=test-ca",
        ],
    ));
    let names: Vec<String> = (0..30).map(|i| format!("user-{i:02}")).collect();
    for name in &names {
        ok(kubepki(
            dir,
            &[
                "csr",
                "create",
                "--generate-key",
                "ECDSA-P256",
                "-k",
                &format!("{name}.key"),
                "--cn",
                name,
                "-o",
                &format!("{name}.csr"),
            ],
        ));
        let manifest = ok(kubepki(
            dir,
            &[
                "csr",
                "manifest",
                "--csr",
                &format!("{name}.csr"),
                "--name",
                name,
            ],
        ));
        std::fs::write(dir.join(format!("{name}.yaml")), manifest).unwrap();
        ok(kubepki(
            dir,
            &["create", "-f", &format!("{name}.yaml"), "--store", "store"],
        ));
    }
    let mut approve = vec!["certificate", "approve", "--store", "store"];
    approve.extend(names.iter().map(String::as_str));
    ok(kubepki(dir, &approve));

    let controller = [
        "controller",
        "embedded",
        "--cluster-signing-cert-file",
        "ca.crt",
        "--cluster-signing-key-file",
        "ca.key",
        "--store",
        "store",
        "--interval",
        "1",
    ];
    let mut jitter = Jitter::new();
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for _ in 0..20 {
        let mut child = spawn(dir, &controller);
        std::thread::sleep(jitter.between(Duration::from_millis(0), Duration::from_millis(60)));
        child.kill().unwrap();
        child.wait().unwrap();
        // A certificate, once stored, is never replaced: each request is issued once.
        for (name, cert) in stored_certificates(dir) {
            if let Some(cert) = cert {
                let before = seen.entry(name.clone()).or_insert_with(|| cert.clone());
                assert_eq!(*before, cert, "{name} was issued twice");
            }
        }
    }
    let killed_midway = seen.len();
    ok(kubepki(dir, &[&controller[..8], &["--once"]].concat()));
    let last = stored_certificates(dir);
    assert_eq!(last.len(), names.len());
    for (name, cert) in &last {
        let cert = cert
            .as_ref()
            .unwrap_or_else(|| panic!("{name} was never issued"));
        if let Some(before) = seen.get(name) {
            assert_eq!(before, cert, "{name} was issued twice");
        }
    }
    // The temporary files of killed writers are gone after the next run.
    let leftovers: Vec<String> = std::fs::read_dir(dir.join("store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "stale temporary files: {leftovers:?}");
    eprintln!("{killed_midway} of 30 issued across 20 killed runs, the rest by the last run");
    if !openssl_available() {
        return;
    }
    use base64ct::Encoding;
    for (name, cert) in last {
        let pem = base64ct::Base64::decode_vec(&cert.unwrap()).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), pem).unwrap();
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(["verify", "-CAfile", "ca.crt", &format!("{name}.crt")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
