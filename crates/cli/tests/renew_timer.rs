//! The timer's path: `kubepki certs renew --if-expiring-within` on a tree made with a pinned
//! clock (`KUBEPKI_NOW`) renews exactly what is due, then nothing; its exit codes; no old
//! file left; and `certs recover`'s refusal of an expired CA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::ok;

const DIRS: [&str; 4] = ["--cert-dir", "pki", "--kubeconfig-dir", "."];

/// Runs kubepki in `dir` with the clock at `now`.
fn at(dir: &Path, now: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubepki"))
        .current_dir(dir)
        .env("KUBEPKI_NOW", now)
        .args(args)
        .args(DIRS)
        .output()
        .expect("run kubepki")
}

fn json(output: Output) -> serde_json::Value {
    serde_json::from_str(&ok(output)).unwrap()
}

fn list(value: &serde_json::Value, field: &str) -> Vec<String> {
    let mut names: Vec<String> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            if field.is_empty() {
                v.as_str().unwrap().to_owned()
            } else {
                v[field].as_str().unwrap().to_owned()
            }
        })
        .collect();
    names.sort_unstable();
    names
}

/// Every `*.bak` file under `dir`.
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

#[test]
fn renew_if_expiring_within_renews_exactly_what_is_due_then_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let init = ["init", "--node-name", "cp-1", "--algorithm", "ECDSA-P256"];
    ok(at(dir, "2026-01-01T00:00:00Z", &init));
    // 300 days in, two are renewed early (they now end 665 days in).
    for name in ["apiserver", "admin.conf"] {
        ok(at(dir, "2026-10-28T00:00:00Z", &["certs", "renew", name]));
    }
    let ca = std::fs::read(dir.join("pki/ca.crt")).unwrap();
    // 340 days in, with 30 days' margin: the other nine end within it.
    let timer = [
        "certs",
        "renew",
        "--if-expiring-within",
        "720h",
        "-o",
        "json",
    ];
    let first = at(dir, "2026-12-07T00:00:00Z", &timer);
    assert_eq!(first.status.code(), Some(0));
    let report = json(first);
    assert_eq!(
        list(&report["renewed"], "name"),
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
        list(&report["restart"], ""),
        [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler"
        ]
    );
    assert_eq!(std::fs::read(dir.join("pki/ca.crt")).unwrap(), ca);
    assert_eq!(backups(dir), Vec::<PathBuf>::new());
    // The second run renews nothing, and says so; exit 0.
    let second = at(dir, "2026-12-07T00:00:00Z", &timer[..4]);
    assert_eq!(second.status.code(), Some(0));
    let text = ok(second);
    assert!(text.contains("nothing was due"), "{text}");
    // Once everything expired, with the etcd CA's key elsewhere: the rest is renewed, the
    // etcd certificates are skipped, and the exit code says not all due were renewed.
    std::fs::rename(dir.join("pki/etcd/ca.key"), dir.join("etcd-ca.key")).unwrap();
    let external = at(dir, "2028-06-01T00:00:00Z", &timer);
    assert_eq!(external.status.code(), Some(3));
    let report: serde_json::Value =
        serde_json::from_slice(&external.stdout).expect("the JSON report");
    assert_eq!(
        list(&report["skipped"], "name"),
        [
            "apiserver-etcd-client",
            "etcd-healthcheck-client",
            "etcd-peer",
            "etcd-server",
        ]
    );
    assert_eq!(report["renewed"].as_array().unwrap().len(), 7);
    // A bad duration is an error naming it (exit 1); a name with the flag is a usage error.
    let bad = at(
        dir,
        "2026-12-07T00:00:00Z",
        &["certs", "renew", "--if-expiring-within", "30x"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("30x"));
    let both = at(
        dir,
        "2026-12-07T00:00:00Z",
        &["certs", "renew", "all", "--if-expiring-within", "720h"],
    );
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn recover_refuses_an_expired_ca_and_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(at(
        dir,
        "2026-01-01T00:00:00Z",
        &[
            "init",
            "--node-name",
            "cp-1",
            "--algorithm",
            "ECDSA-P256",
            "--ca-validity",
            "48h",
            "--cert-validity",
            "24h",
        ],
    ));
    let before = std::fs::read(dir.join("pki/apiserver.crt")).unwrap();
    let out = at(
        dir,
        "2026-01-05T00:00:00Z",
        &["certs", "recover", "--no-check"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CA ca (pki/ca.crt) expired at"), "{err}");
    assert!(err.contains("run `kubepki init`"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("pki/apiserver.crt")).unwrap(),
        before
    );
}
