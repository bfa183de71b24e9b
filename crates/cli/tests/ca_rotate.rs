//! `kubepki ca rotate` on a tree `kubepki init` made: each phase checked with openssl (every
//! leaf and kubeconfig client certificate chains to every trust bundle at every phase; after
//! promote the new CA signed them; after finish the old CA is in no trust file and what it
//! signed is refused), status JSON at each phase, phases that cannot be skipped, idempotent
//! reruns, a dry run that writes nothing, rollback of a start, and kill -9 at random moments
//! of each phase completed by the next run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Encoding};
use common::{ok, openssl_available};
use kubepki_test_support::{openssl_public_key, openssl_verifies};

const DIRS: [&str; 4] = ["--cert-dir", "pki", "--kubeconfig-dir", "."];
const T0: &str = "2026-12-01T10:00:00Z";
const T_PROMOTE: &str = "2026-12-01T11:00:00Z";
/// 30 minutes after promote: before the default token lifetime (3607 s) has passed.
const T_EARLY: &str = "2026-12-01T11:30:00Z";
/// Two hours after promote.
const T_LATE: &str = "2026-12-01T13:00:00Z";

/// (leaf certificate under pki, its CA's trust file under pki).
const LEAVES: &[(&str, &str)] = &[
    ("apiserver", "ca"),
    ("apiserver-kubelet-client", "ca"),
    ("front-proxy-client", "front-proxy-ca"),
    ("etcd/server", "etcd/ca"),
    ("etcd/peer", "etcd/ca"),
    ("etcd/healthcheck-client", "etcd/ca"),
    ("apiserver-etcd-client", "etcd/ca"),
];
const KUBECONFIGS: &[&str] = &[
    "admin.conf",
    "super-admin.conf",
    "kubelet.conf",
    "controller-manager.conf",
    "scheduler.conf",
];

fn at(dir: &Path, now: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubepki"))
        .current_dir(dir)
        .env("KUBEPKI_NOW", now)
        .args(args)
        .args(DIRS)
        .output()
        .expect("run kubepki")
}

fn rotate(dir: &Path, now: &str, args: &[&str]) -> Output {
    at(dir, now, &[&["ca", "rotate"][..], args].concat())
}

fn fails_with(output: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "expected a failure, got success");
    assert!(
        stderr.contains(needle),
        "stderr {stderr:?} lacks {needle:?}"
    );
}

/// A tree made by `kubepki init` in a temporary folder.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(at(
        dir.path(),
        T0,
        &["init", "--node-name", "cp-1", "--algorithm", "ECDSA-P256"],
    ));
    dir
}

/// Every file of the tree (the cert folder, the kubeconfig files) and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&dir.join("pki"), &mut out);
    for file in KUBECONFIGS {
        out.insert(dir.join(file), std::fs::read(dir.join(file)).unwrap());
    }
    out
}

/// Asserts that the tree is as `before`, naming the files that differ. With `lock_taken`,
/// the lock file (which names its last holder's process id) is left out.
fn assert_unchanged(dir: &Path, before: &BTreeMap<PathBuf, Vec<u8>>, what: &str, lock_taken: bool) {
    let after = snapshot(dir);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| !(lock_taken && p.ends_with(".kubepki.lock")))
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(changed.is_empty(), "{what} changed {changed:?}");
}

/// The phase of each CA, from `status -o json`, and whether the files are consistent.
fn phases(dir: &Path, now: &str) -> (BTreeMap<String, String>, serde_json::Value) {
    let output = rotate(dir, now, &["status", "-o", "json"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for ca in value["cas"].as_array().unwrap() {
        assert!(
            ca["inconsistencies"].as_array().unwrap().is_empty(),
            "inconsistent: {ca:#}"
        );
    }
    assert!(output.status.success(), "status exit {:?}", output.status);
    let map = value["cas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ca| {
            (
                ca["ca"].as_str().unwrap().to_owned(),
                ca["phase"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (map, value)
}

fn all_in(dir: &Path, now: &str, phase: &str) {
    let (map, _) = phases(dir, now);
    assert_eq!(map.len(), 4, "{map:?}");
    assert!(map.values().all(|p| p == phase), "{map:?} not all {phase}");
}

/// A kubeconfig's field (`certificate-authority-data`, `client-certificate-data`, ...),
/// decoded, written next to it as `<file>.<field>.pem`; returns that path.
fn kubeconfig_field(dir: &Path, file: &str, field: &str) -> PathBuf {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{file} has no {field}"));
    let value = line.split_once(':').unwrap().1.trim();
    let pem = Base64::decode_vec(value).unwrap();
    let out = dir.join("scratch").join(format!("{file}.{field}.pem"));
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, pem).unwrap();
    out
}

/// The trust files of the tree: (trust file, CA it belongs to), kubeconfig CA data included.
fn trust_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut out = vec![
        (dir.join("pki/ca.crt"), "ca"),
        (dir.join("pki/front-proxy-ca.crt"), "front-proxy-ca"),
        (dir.join("pki/etcd/ca.crt"), "etcd/ca"),
    ];
    for file in KUBECONFIGS {
        out.push((
            kubeconfig_field(dir, file, "certificate-authority-data"),
            "ca",
        ));
    }
    out
}

/// Every leaf and kubeconfig client certificate chains (openssl verify) to every trust file
/// of its CA, and every key is its certificate's.
fn assert_everything_chains(dir: &Path) {
    let trust = trust_files(dir);
    let mut certs: Vec<(PathBuf, Option<PathBuf>, &str)> = LEAVES
        .iter()
        .map(|(leaf, ca)| {
            (
                dir.join(format!("pki/{leaf}.crt")),
                Some(dir.join(format!("pki/{leaf}.key"))),
                *ca,
            )
        })
        .collect();
    for file in KUBECONFIGS {
        certs.push((
            kubeconfig_field(dir, file, "client-certificate-data"),
            Some(kubeconfig_field(dir, file, "client-key-data")),
            "ca",
        ));
    }
    for (cert, key, ca) in &certs {
        for (bundle, of) in &trust {
            if of == ca {
                assert!(
                    openssl_verifies(bundle, cert, &[]),
                    "{} does not chain to {}",
                    cert.display(),
                    bundle.display()
                );
            }
        }
        if let Some(key) = key {
            assert_eq!(
                openssl_public_key(cert, true),
                openssl_public_key(key, false),
                "{} is not the key of {}",
                key.display(),
                cert.display()
            );
        }
    }
}

fn certificates_in(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .matches("BEGIN CERTIFICATE")
        .count()
}

#[test]
fn a_rotation_of_all_keeps_every_leaf_trusted_then_drops_the_old_cas() {
    if !openssl_available() {
        return;
    }
    let tree = tree();
    let dir = tree.path();
    all_in(dir, T0, "idle");
    assert_everything_chains(dir);
    // Phases cannot be skipped.
    fails_with(rotate(dir, T0, &["promote"]), "it is idle; run start first");
    fails_with(rotate(dir, T0, &["finish"]), "it is idle; run start first");

    // A dry run writes nothing and says what it would write.
    let before = snapshot(dir);
    let dry = ok(rotate(dir, T0, &["start", "--dry-run", "-o", "json"]));
    let dry: serde_json::Value = serde_json::from_str(&dry).unwrap();
    assert_eq!(dry["dry_run"], true);
    assert!(dry["files"].as_array().unwrap().len() >= 14, "{dry:#}");
    assert_unchanged(dir, &before, "a dry run", false);

    // start: old and new trusted everywhere, the old one still signs.
    let old_apiserver = std::fs::read(dir.join("pki/apiserver.crt")).unwrap();
    let old_etcd_client = std::fs::read(dir.join("pki/apiserver-etcd-client.crt")).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&ok(rotate(dir, T0, &["start", "-o", "json"]))).unwrap();
    let steps: Vec<&str> = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["component"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kubelet"
        ]
    );
    let kcm = &report["plan"]["steps"][2]["flags"][0];
    assert_eq!(kcm["flag"], "--cluster-signing-cert-file");
    assert!(
        kcm["value"]
            .as_str()
            .unwrap()
            .ends_with("rotation/ca/signing.crt")
    );
    assert_eq!(certificates_in(&dir.join("pki/rotation/ca/signing.crt")), 1);
    assert!(
        report["rollback"]
            .as_str()
            .unwrap()
            .starts_with("available")
    );
    all_in(dir, T0, "started");
    for (trust, _) in trust_files(dir) {
        assert_eq!(certificates_in(&trust), 2, "{}", trust.display());
    }
    let sa_pub = std::fs::read_to_string(dir.join("pki/sa.pub")).unwrap();
    assert_eq!(sa_pub.matches("BEGIN PUBLIC KEY").count(), 2);
    assert_eq!(
        std::fs::read(dir.join("pki/apiserver.crt")).unwrap(),
        old_apiserver
    );
    assert_everything_chains(dir);
    // A rerun changes nothing.
    let started = snapshot(dir);
    let again: serde_json::Value =
        serde_json::from_str(&ok(rotate(dir, T0, &["start", "-o", "json"]))).unwrap();
    assert!(again["files"].as_array().unwrap().is_empty(), "{again:#}");
    assert_unchanged(dir, &started, "a rerun of start", true);
    fails_with(
        rotate(dir, T0, &["finish"]),
        "it is started; run promote first",
    );

    // promote: everything reissued by the new CA, which signs; both still trusted.
    std::fs::write(dir.join("old-apiserver.crt"), &old_apiserver).unwrap();
    let keys_before: std::collections::HashMap<String, Vec<u8>> = LEAVES
        .iter()
        .map(|(leaf, _)| {
            let key = format!("pki/{leaf}.key");
            let bytes = std::fs::read(dir.join(&key)).unwrap();
            (key, bytes)
        })
        .collect();
    std::fs::write(dir.join("old-apiserver-etcd-client.crt"), &old_etcd_client).unwrap();
    let promoted: serde_json::Value =
        serde_json::from_str(&ok(rotate(dir, T_PROMOTE, &["promote", "-o", "json"]))).unwrap();
    assert!(
        promoted["rollback"]
            .as_str()
            .unwrap()
            .starts_with("not available")
    );
    all_in(dir, T_PROMOTE, "promoted");
    assert_everything_chains(dir);
    let new_cluster_ca = dir.join("pki/rotation/ca/signing.crt");
    for (leaf, ca) in LEAVES {
        let leaf = dir.join(format!("pki/{leaf}.crt"));
        let folder = match *ca {
            "ca" => "ca",
            "front-proxy-ca" => "front-proxy-ca",
            _ => "etcd-ca",
        };
        // Signed by the new CA: refused by the old one alone...
        let old_ca = dir.join(format!("pki/rotation/{folder}/old.crt"));
        assert!(!openssl_verifies(&old_ca, &leaf, &[]), "{}", leaf.display());
        // ...but the file carries the new CA signed by the old one, so a client that trusts
        // only the old CA (a kubeconfig copied before start) still finds a path.
        assert_eq!(certificates_in(&leaf), 2, "{}", leaf.display());
        let chain = leaf.display().to_string();
        assert!(
            openssl_verifies(&old_ca, &leaf, &["-untrusted", &chain]),
            "{} with its chain, by the old CA alone",
            leaf.display()
        );
    }
    // Each leaf kept its key: only the certificate file changed.
    for (leaf, _) in LEAVES {
        let key = format!("pki/{leaf}.key");
        assert_eq!(
            std::fs::read(dir.join(&key)).unwrap(),
            keys_before[&key],
            "{key} changed at promote"
        );
    }
    for leaf in ["apiserver", "apiserver-kubelet-client"] {
        let leaf = dir.join(format!("pki/{leaf}.crt"));
        assert!(openssl_verifies(&new_cluster_ca, &leaf, &[]));
    }
    let admin = kubeconfig_field(dir, "admin.conf", "client-certificate-data");
    assert!(openssl_verifies(&new_cluster_ca, &admin, &[]));
    assert!(!openssl_verifies(
        &dir.join("pki/rotation/ca/old.crt"),
        &admin,
        &[]
    ));
    // The old leaves are still trusted until finish.
    assert!(openssl_verifies(
        &dir.join("pki/ca.crt"),
        &dir.join("old-apiserver.crt"),
        &[]
    ));
    let promoted_tree = snapshot(dir);
    ok(rotate(dir, T_PROMOTE, &["promote"]));
    assert_unchanged(dir, &promoted_tree, "a rerun of promote", true);
    fails_with(rotate(dir, T_PROMOTE, &["start"]), "run finish first");
    fails_with(
        rotate(dir, T_PROMOTE, &["rollback"]),
        "cannot be rolled back",
    );

    // finish: refused while old-key tokens may live, then the old CAs leave every trust file.
    fails_with(
        rotate(dir, T_EARLY, &["finish"]),
        "cannot finish the rotation of sa yet",
    );
    ok(rotate(dir, T_LATE, &["finish"]));
    all_in(dir, T_LATE, "finished");
    assert_everything_chains(dir);
    for (trust, _) in trust_files(dir) {
        assert_eq!(certificates_in(&trust), 1, "{}", trust.display());
    }
    // The cross-signed certificate left every leaf with the old CA.
    for (leaf, _) in LEAVES {
        let leaf = dir.join(format!("pki/{leaf}.crt"));
        assert_eq!(certificates_in(&leaf), 1, "{}", leaf.display());
    }
    for folder in ["ca", "front-proxy-ca", "etcd-ca"] {
        assert!(
            !dir.join(format!("pki/rotation/{folder}/cross.crt"))
                .exists()
        );
    }
    for (trust, old) in [
        ("pki/ca.crt", "pki/rotation/ca/old.crt"),
        (
            "pki/front-proxy-ca.crt",
            "pki/rotation/front-proxy-ca/old.crt",
        ),
        ("pki/etcd/ca.crt", "pki/rotation/etcd-ca/old.crt"),
        ("pki/sa.pub", "pki/rotation/sa/old.pub"),
    ] {
        let old = std::fs::read_to_string(dir.join(old)).unwrap();
        let trust = std::fs::read_to_string(dir.join(trust)).unwrap();
        assert!(!trust.contains(old.trim()), "the old CA is still trusted");
    }
    for file in KUBECONFIGS {
        let data = kubeconfig_field(dir, file, "certificate-authority-data");
        assert_eq!(
            std::fs::read(&data).unwrap(),
            std::fs::read(dir.join("pki/ca.crt")).unwrap()
        );
    }
    // What the old CAs signed is refused now.
    assert!(!openssl_verifies(
        &dir.join("pki/ca.crt"),
        &dir.join("old-apiserver.crt"),
        &[]
    ));
    assert!(!openssl_verifies(
        &dir.join("pki/etcd/ca.crt"),
        &dir.join("old-apiserver-etcd-client.crt"),
        &[]
    ));
    // The old keys are kept aside (0600) unless shredded; a rerun with --shred removes them.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("pki/rotation/ca/old.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    ok(rotate(dir, T_LATE, &["finish", "--shred"]));
    for folder in ["ca", "front-proxy-ca", "etcd-ca", "sa"] {
        assert!(!dir.join(format!("pki/rotation/{folder}/old.key")).exists());
    }
    all_in(dir, T_LATE, "finished");

    // The tree is an ordinary kubeadm tree again.
    ok(at(dir, T_LATE, &["certs", "check-expiration"]));
    ok(at(dir, T_LATE, &["certs", "renew", "all"]));
    assert_everything_chains(dir);
    all_in(dir, T_LATE, "finished");
}

#[test]
fn a_started_rotation_rolls_back_and_a_given_ca_is_used() {
    if !openssl_available() {
        return;
    }
    let tree = tree();
    let dir = tree.path();
    let before = std::fs::read(dir.join("pki/etcd/ca.crt")).unwrap();
    ok(rotate(dir, T0, &["start", "--ca", "etcd"]));
    let (map, _) = phases(dir, T0);
    assert_eq!(map["etcd"], "started");
    assert_eq!(map["cluster"], "idle");
    ok(rotate(dir, T0, &["rollback", "--ca", "etcd"]));
    assert_eq!(std::fs::read(dir.join("pki/etcd/ca.crt")).unwrap(), before);
    assert!(!dir.join("pki/rotation/etcd-ca/new.key").exists());
    all_in(dir, T0, "idle");

    // A CA made elsewhere (here the front-proxy CA of another tree) is used as the new one.
    let other = self::tree();
    for ext in ["crt", "key"] {
        std::fs::copy(
            other.path().join(format!("pki/front-proxy-ca.{ext}")),
            dir.join(format!("given.{ext}")),
        )
        .unwrap();
    }
    let given = std::fs::read_to_string(dir.join("given.crt")).unwrap();
    ok(rotate(
        dir,
        T0,
        &[
            "start",
            "--ca",
            "front-proxy",
            "--new-ca-cert",
            "given.crt",
            "--new-ca-key",
            "given.key",
        ],
    ));
    let trust = std::fs::read_to_string(dir.join("pki/front-proxy-ca.crt")).unwrap();
    assert!(
        trust.ends_with(&given),
        "the given CA is not the second of the bundle"
    );
    ok(rotate(dir, T_PROMOTE, &["promote", "--ca", "front-proxy"]));
    assert!(openssl_verifies(
        &dir.join("given.crt"),
        &dir.join("pki/front-proxy-client.crt"),
        &[]
    ));
    // The service-account key alone may be finished early with --force.
    ok(rotate(dir, T0, &["start", "--ca", "sa"]));
    ok(rotate(dir, T_PROMOTE, &["promote", "--ca", "sa"]));
    fails_with(rotate(dir, T_EARLY, &["finish", "--ca", "sa"]), "--force");
    ok(rotate(dir, T_EARLY, &["finish", "--ca", "sa", "--force"]));
    let (map, _) = phases(dir, T_EARLY);
    assert_eq!(map["sa"], "finished");
    assert_eq!(map["front-proxy"], "promoted");
    assert_everything_chains(dir);
}

#[test]
fn certs_renew_during_a_rotation_keeps_both_cas_trusted() {
    if !openssl_available() {
        return;
    }
    let tree = tree();
    let dir = tree.path();
    for (phase, now, want) in [("start", T0, "started"), ("promote", T_PROMOTE, "promoted")] {
        ok(rotate(dir, now, &[phase]));
        // renew signs with the first CA of each bundle (the one of the signing key) and
        // keeps the whole bundle in the kubeconfig files.
        ok(at(dir, now, &["certs", "renew", "all"]));
        all_in(dir, now, want);
        assert_everything_chains(dir);
        for (trust, _) in trust_files(dir) {
            assert_eq!(certificates_in(&trust), 2, "{}", trust.display());
        }
    }
}

#[test]
fn status_names_a_file_that_disagrees_with_the_phase() {
    let tree = tree();
    let dir = tree.path();
    let old_admin = std::fs::read(dir.join("admin.conf")).unwrap();
    ok(rotate(dir, T0, &["start"]));
    // admin.conf put back as it was: it trusts the old CA only.
    std::fs::write(dir.join("admin.conf"), old_admin).unwrap();
    let output = rotate(dir, T0, &["status", "-o", "json"]);
    assert_eq!(output.status.code(), Some(3), "status exit");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let cluster = &value["cas"][0];
    assert_eq!(cluster["ca"], "cluster");
    assert_eq!(cluster["phase"], "started");
    let problems = cluster["inconsistencies"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .contains("admin.conf's certificate-authority-data"),
        "{problems:?}"
    );
    // The text form says it too.
    let text = String::from_utf8_lossy(&rotate(dir, T0, &["status"]).stdout).into_owned();
    assert!(
        text.contains("inconsistent: ") && text.contains("admin.conf"),
        "{text}"
    );
    // The next start is a rerun (the state file says started): it does not repair a file
    // edited by hand, and says nothing is to do; status keeps naming it.
    let rerun: serde_json::Value =
        serde_json::from_str(&ok(rotate(dir, T0, &["start", "-o", "json"]))).unwrap();
    assert_eq!(rerun["cas"][0]["changed"], false);
}

fn spawn(dir: &Path, now: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kubepki"))
        .current_dir(dir)
        .env("KUBEPKI_NOW", now)
        .args(["ca", "rotate"])
        .args(args)
        .args(DIRS)
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
            .map_or(1, |d| u64::from(d.subsec_nanos()) | 1);
        eprintln!("jitter seed {seed}");
        Self(seed)
    }

    fn below(&mut self, high: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let span = u64::try_from(high.as_micros().max(1)).unwrap_or(u64::MAX);
        Duration::from_micros(self.0 % span)
    }
}

/// Copies the tree of `from` (the cert folder and the kubeconfig files) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy_dir(&path, &target);
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    copy_dir(&from.join("pki"), &to.join("pki"));
    for file in KUBECONFIGS {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
}

#[test]
fn phases_killed_at_random_moments_are_completed_by_the_next_run() {
    if !openssl_available() {
        return;
    }
    let tree = tree();
    let dir = tree.path();
    let mut jitter = Jitter::new();
    // How long a whole phase takes here, measured on a tree of its own.
    const PHASES: [(&str, &str); 3] = [("start", T0), ("promote", T_PROMOTE), ("finish", T_LATE)];
    // How long each whole phase (process start included) takes here, measured on a tree of
    // its own: the kills land anywhere in it.
    let probe = self::tree();
    let took: Vec<Duration> = PHASES
        .iter()
        .map(|(phase, now)| {
            let begun = Instant::now();
            ok(rotate(probe.path(), now, &[phase]));
            begun.elapsed()
        })
        .collect();
    let (mut interrupted, mut mid_change) = (0, 0);
    for ((phase, now), whole) in PHASES.iter().zip(&took) {
        let want = match *phase {
            "start" => "started",
            "promote" => "promoted",
            _ => "finished",
        };
        // Each kill on a copy of the tree as it is before the phase, so that every run has
        // the whole phase to do.
        for round in 0..5 {
            let copy = tempfile::tempdir().unwrap();
            copy_tree(dir, copy.path());
            let at = copy.path();
            let mut child = spawn(at, now, &[phase]);
            let journal = at.join("pki/.kubepki.journal");
            if round % 2 == 0 {
                // Anywhere in the run.
                std::thread::sleep(jitter.below(*whole));
            } else {
                // While the files are written: once the journal is there, within 2 ms.
                let end = Instant::now() + *whole * 3;
                while !journal.exists() && Instant::now() < end {
                    std::thread::sleep(Duration::from_micros(100));
                }
                std::thread::sleep(jitter.below(Duration::from_millis(2)));
            }
            let _ = child.kill();
            if !child.wait().unwrap().success() {
                interrupted += 1;
            }
            // The tree is whole (every leaf chains, every key is its certificate's, the
            // files agree with one phase per CA), or a journal is there that the next run
            // rolls back (or, once the change is kept, tidies) first.
            if journal.exists() {
                mid_change += 1;
            } else {
                let _ = phases(at, now);
                assert_everything_chains(at);
            }
            // The next run completes the phase.
            ok(rotate(at, now, &[phase]));
            all_in(at, now, want);
            assert_everything_chains(at);
            assert!(!journal.exists());
        }
        ok(rotate(dir, now, &[phase]));
        all_in(dir, now, want);
    }
    eprintln!(
        "{interrupted} of 15 runs killed before they ended, {mid_change} of them in the middle of \
         the journaled change (phases took {took:?})"
    );
}
