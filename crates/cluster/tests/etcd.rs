//! etcd, as a kubeadm static pod runs it, with the generated etcd certificates: a client
//! with `apiserver-etcd-client` puts and gets, `healthcheck-client` checks health, and a
//! client certificate from another CA is refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{KillOnDrop, free_port, have, tree_at};

fn etcdctl(endpoint: &str, ca: &Path, cert: &Path, key: &Path, args: &[&str]) -> Output {
    Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .arg(format!("--cacert={}", ca.display()))
        .arg(format!("--cert={}", cert.display()))
        .arg(format!("--key={}", key.display()))
        .args(["--dial-timeout=3s", "--command-timeout=5s"])
        .args(args)
        .output()
        .unwrap()
}

/// Starts etcd with the tree's certificates; returns the guard and the client URL.
pub(crate) fn start_etcd(pki: &Path, data: &Path) -> (KillOnDrop, String) {
    let (client, peer, metrics) = (free_port(), free_port(), free_port());
    let client_url = format!("https://127.0.0.1:{client}");
    let peer_url = format!("https://127.0.0.1:{peer}");
    let p = |f: &str| pki.join(f).display().to_string();
    let log = std::fs::File::create(data.with_extension("log")).unwrap();
    let child = Command::new("etcd")
        .args(["--name", "cp-1"])
        .arg(format!("--data-dir={}", data.display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=cp-1={peer_url}"))
        .arg(format!("--listen-metrics-urls=http://127.0.0.1:{metrics}"))
        .arg(format!("--cert-file={}", p("etcd/server.crt")))
        .arg(format!("--key-file={}", p("etcd/server.key")))
        .arg("--client-cert-auth")
        .arg(format!("--trusted-ca-file={}", p("etcd/ca.crt")))
        .arg(format!("--peer-cert-file={}", p("etcd/peer.crt")))
        .arg(format!("--peer-key-file={}", p("etcd/peer.key")))
        .arg("--peer-client-cert-auth")
        .arg(format!("--peer-trusted-ca-file={}", p("etcd/ca.crt")))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    (KillOnDrop(child), client_url)
}

/// Checks the running etcd with the tree's clients: put/get, health, and a foreign client.
pub(crate) fn exercise_etcd(pki: &Path, endpoint: &str, foreign_pki: &Path) {
    let ca = pki.join("etcd/ca.crt");
    let health = |pki: &Path| {
        etcdctl(
            endpoint,
            &ca,
            &pki.join("etcd/healthcheck-client.crt"),
            &pki.join("etcd/healthcheck-client.key"),
            &["endpoint", "health"],
        )
    };
    let start = Instant::now();
    let mut out = health(pki);
    while !out.status.success() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
        out = health(pki);
    }
    assert!(
        out.status.success(),
        "healthcheck-client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (cert, key) = (
        pki.join("apiserver-etcd-client.crt"),
        pki.join("apiserver-etcd-client.key"),
    );
    let put = etcdctl(
        endpoint,
        &ca,
        &cert,
        &key,
        &["put", "/registry/kubepki", "works"],
    );
    assert!(
        put.status.success(),
        "put: {}",
        String::from_utf8_lossy(&put.stderr)
    );
    let get = etcdctl(endpoint, &ca, &cert, &key, &["get", "/registry/kubepki"]);
    assert!(
        get.status.success(),
        "get: {}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&get.stdout),
        "/registry/kubepki\nworks\n"
    );
    let foreign = etcdctl(
        endpoint,
        &ca,
        &foreign_pki.join("apiserver-etcd-client.crt"),
        &foreign_pki.join("apiserver-etcd-client.key"),
        &["get", "/registry/kubepki"],
    );
    assert!(
        !foreign.status.success(),
        "a client of another CA was let in"
    );
}

#[test]
fn etcd_runs_with_the_generated_certificates() {
    if !have("etcd") || !have("etcdctl") {
        return;
    }
    // etcd checks against the real clock.
    let tree = tree_at(SystemTime::now());
    let foreign = tree_at(SystemTime::now());
    let (guard, endpoint) = start_etcd(&tree.pki(), &tree.dir.path().join("etcd-data"));
    exercise_etcd(&tree.pki(), &endpoint, &foreign.pki());
    drop(guard);
}
