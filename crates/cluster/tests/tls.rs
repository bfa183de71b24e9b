//! TLS as the API server uses it: `openssl s_server` serves apiserver.crt and asks for a
//! client certificate from ca.crt; curl with the admin kubeconfig's certificate reaches it
//! under each DNS SAN; `openssl verify` checks the IP SANs; a wrong name fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use common::{KillOnDrop, extract_kubeconfig, free_port, have, tree_at, wait_port};
use kubepki_csr::San;
use kubepki_sign::{CertificateInfo, certificates_from_bytes};
use kubepki_test_support::openssl_verifies;

#[test]
fn curl_reaches_openssl_s_server_under_every_dns_san() {
    if !have("openssl") || !have("curl") {
        return;
    }
    let tree = tree_at(SystemTime::now());
    let pki = tree.pki();
    let p = |f: &str| pki.join(f).display().to_string();
    let port = free_port();
    let server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(port.to_string())
        .args(["-cert", &p("apiserver.crt"), "-key", &p("apiserver.key")])
        .args(["-CAfile", &p("ca.crt"), "-Verify", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(server);
    assert!(
        wait_port(port, Duration::from_secs(10)),
        "s_server did not start"
    );

    let (cert, key, kc_ca) = extract_kubeconfig(&tree.conf("admin.conf"), tree.dir.path());
    assert_eq!(
        std::fs::read(&kc_ca).unwrap(),
        std::fs::read(pki.join("ca.crt")).unwrap()
    );
    let curl = |name: &str, with_cert: bool| {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "-o",
            "/dev/null",
            "--max-time",
            "10",
            "--cacert",
            &p("ca.crt"),
        ])
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"));
        if with_cert {
            cmd.arg("--cert").arg(&cert).arg("--key").arg(&key);
        }
        cmd.arg(format!("https://{name}:{port}/"))
            .status()
            .unwrap()
            .success()
    };
    let der = certificates_from_bytes(&std::fs::read(pki.join("apiserver.crt")).unwrap())
        .unwrap()
        .remove(0);
    let info = CertificateInfo::from_der(&der).unwrap();
    let names: Vec<String> = info
        .sans
        .iter()
        .filter_map(|s| match s {
            San::Dns(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert!(names.len() >= 6, "{names:?}");
    for name in &names {
        assert!(curl(name, true), "curl to {name} failed");
    }
    assert!(
        !curl("wrong.example.test", true),
        "a name not in the SANs was accepted"
    );
    assert!(
        !curl("kubernetes", false),
        "no client certificate, yet accepted"
    );
}

#[test]
fn openssl_verifies_hosts_and_ips_of_apiserver() {
    if !have("openssl") {
        return;
    }
    let tree = tree_at(SystemTime::now());
    let pki = tree.pki();
    let verify = |flag: &str, value: &str| {
        openssl_verifies(
            &pki.join("ca.crt"),
            &pki.join("apiserver.crt"),
            &["-purpose", "sslserver", flag, value],
        )
    };
    assert!(verify("-verify_ip", "10.96.0.1"), "service IP");
    assert!(verify("-verify_ip", "127.0.0.1"), "advertise address");
    assert!(verify("-verify_ip", "10.0.0.7"), "extra IP SAN");
    assert!(verify(
        "-verify_hostname",
        "kubernetes.default.svc.cluster.local"
    ));
    assert!(verify("-verify_hostname", "cp-1"));
    assert!(!verify("-verify_ip", "10.96.0.2"), "a wrong IP passed");
    assert!(
        !verify("-verify_hostname", "kubernetes.example"),
        "a wrong name passed"
    );
    for (cert, ca, purpose) in [
        ("etcd/server.crt", "etcd/ca.crt", "sslserver"),
        ("etcd/peer.crt", "etcd/ca.crt", "sslclient"),
        ("apiserver-etcd-client.crt", "etcd/ca.crt", "sslclient"),
        ("front-proxy-client.crt", "front-proxy-ca.crt", "sslclient"),
        ("apiserver-kubelet-client.crt", "ca.crt", "sslclient"),
    ] {
        let ok = openssl_verifies(&pki.join(ca), &pki.join(cert), &["-purpose", purpose]);
        assert!(ok, "{cert} under {ca} as {purpose}");
    }
}
