//! Go's crypto/x509 verifies every leaf of the tree against its CA, with the right
//! ExtKeyUsage and host names (tests/go, Go 1.19, no external modules).
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Write as _;
use std::process::Command;
use std::time::SystemTime;

use common::{extract_kubeconfig, have, tree_at};

/// Go's caches under the test target folder, so that the test needs no HOME and no network.
fn go_env() -> Vec<(&'static str, String)> {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    vec![
        ("GOCACHE", tmp.join("go-cache").display().to_string()),
        ("GOPATH", tmp.join("go-path").display().to_string()),
        ("GOPROXY", "off".to_owned()),
        ("GOFLAGS", "-mod=mod".to_owned()),
    ]
}

#[test]
fn go_crypto_x509_verifies_every_leaf() {
    if !have("go") {
        return;
    }
    // Go checks validity against the real clock.
    let tree = tree_at(SystemTime::now());
    let pki = tree.pki();
    let p = |f: &str| pki.join(f).display().to_string();
    let mut spec = String::new();
    let api_hosts = "cp-1 kubernetes kubernetes.default kubernetes.default.svc \
                     kubernetes.default.svc.cluster.local 10.96.0.1 127.0.0.1 api.example.test 10.0.0.7";
    writeln!(
        spec,
        "{} {} server {api_hosts}",
        p("apiserver.crt"),
        p("ca.crt")
    )
    .unwrap();
    writeln!(
        spec,
        "{} {} client",
        p("apiserver-kubelet-client.crt"),
        p("ca.crt")
    )
    .unwrap();
    writeln!(
        spec,
        "{} {} client",
        p("apiserver-etcd-client.crt"),
        p("etcd/ca.crt")
    )
    .unwrap();
    writeln!(
        spec,
        "{} {} client",
        p("front-proxy-client.crt"),
        p("front-proxy-ca.crt")
    )
    .unwrap();
    for member in ["etcd/server.crt", "etcd/peer.crt"] {
        for eku in ["server", "client"] {
            writeln!(
                spec,
                "{} {} {eku} cp-1 localhost 127.0.0.1 ::1",
                p(member),
                p("etcd/ca.crt")
            )
            .unwrap();
        }
    }
    writeln!(
        spec,
        "{} {} client",
        p("etcd/healthcheck-client.crt"),
        p("etcd/ca.crt")
    )
    .unwrap();
    for conf in [
        "admin.conf",
        "super-admin.conf",
        "controller-manager.conf",
        "scheduler.conf",
        "kubelet.conf",
    ] {
        let out = tree.dir.path().join(conf.replace(".conf", ""));
        std::fs::create_dir_all(&out).unwrap();
        let (cert, _, _) = extract_kubeconfig(&tree.conf(conf), &out);
        writeln!(spec, "{} {} client", cert.display(), p("ca.crt")).unwrap();
    }
    let spec_path = tree.dir.path().join("spec.txt");
    std::fs::write(&spec_path, spec).unwrap();
    let go_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go");
    let out = Command::new("go")
        .args(["run", "."])
        .arg(&spec_path)
        .current_dir(&go_dir)
        .envs(go_env())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("14 verified, 0 failed"), "{stdout}");
}

#[test]
fn go_refuses_a_wrong_host_and_usage() {
    if !have("go") {
        return;
    }
    let tree = tree_at(SystemTime::now());
    let pki = tree.pki();
    let spec = format!(
        "{} {} server wrong.example.test\n{} {} server\n",
        pki.join("apiserver.crt").display(),
        pki.join("ca.crt").display(),
        pki.join("apiserver-etcd-client.crt").display(),
        pki.join("etcd/ca.crt").display(),
    );
    let spec_path = tree.dir.path().join("spec.txt");
    std::fs::write(&spec_path, spec).unwrap();
    let go_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go");
    let out = Command::new("go")
        .args(["run", "."])
        .arg(&spec_path)
        .current_dir(&go_dir)
        .envs(go_env())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("0 verified, 2 failed"), "{stdout}");
}
