//! An expired cluster brought back by `kubepki certs recover`: a tree whose leaf certificates
//! expired an hour ago (the clock pinned at init), a control plane that cannot serve on it,
//! recovery offline from the tree, a restart, and every kubeconfig identity working again
//! with the same CA files. The control-plane node's kubelet.conf points at an expired
//! `kubelet-client-current.pem`, as kubeadm leaves it after kubelet-finalize.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use crate::common::succeeded;
use crate::harness::{Budget, ControlPlane, Ports, Tree, exclusive, peers};
use crate::{NODE, TEST_BUDGET, whoami};

/// The CA files recover must keep byte for byte.
const CA_FILES: [&str; 6] = [
    "ca.crt",
    "ca.key",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
    "etcd/ca.crt",
    "etcd/ca.key",
];

/// `kubepki ARGS` in `dir` with the clock at `now` (`KUBEPKI_NOW`).
fn kubepki_at(dir: &Path, now: SystemTime, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubepki"))
        .current_dir(dir)
        .env("KUBEPKI_NOW", kubepki::sign::format_rfc3339(now))
        .args(args)
        .output()
        .expect("run kubepki")
}

/// Moves kubelet.conf's embedded client pair into `kubelet_pki` as the kubelet keeps it (a
/// dated file and the `kubelet-client-current.pem` link) and points kubelet.conf at
/// `/var/lib/kubelet/pki/kubelet-client-current.pem`, where a node has it: the test's folder
/// is given to recover with `--kubelet-dir`.
fn kubelet_conf_on_files(conf: &Path, kubelet_pki: &Path) {
    std::fs::create_dir_all(kubelet_pki).unwrap();
    let text = std::fs::read_to_string(conf).unwrap();
    let config = kubepki::cluster::Kubeconfig::from_yaml(&text).unwrap();
    let (_, user) = config.current().unwrap();
    let decode = |b64: &str| kubepki::cluster::decode_data(b64).unwrap();
    let mut pair = decode(&user.client_certificate_data);
    pair.extend(decode(&user.client_key_data));
    let dated = "kubelet-client-2026-01-01-00-00-00.pem";
    std::fs::write(kubelet_pki.join(dated), pair).unwrap();
    std::os::unix::fs::symlink(dated, kubelet_pki.join("kubelet-client-current.pem")).unwrap();
    let current = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    let text = text
        .replace(
            &format!("client-certificate-data: {}", user.client_certificate_data),
            &format!("client-certificate: {current}"),
        )
        .replace(
            &format!("client-key-data: {}", user.client_key_data),
            &format!("client-key: {current}"),
        );
    assert!(text.contains("client-key: /var/lib"), "{text}");
    std::fs::write(conf, text).unwrap();
}

#[test]
fn an_expired_cluster_is_recovered_offline_and_every_identity_works_again() {
    let _machine = exclusive();
    let Some(bin) = peers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::pick();
    // Made two hours ago with one hour of validity: every leaf expired an hour ago; the CAs
    // (ten years) are fine.
    let made = SystemTime::now() - Duration::from_secs(2 * 3600);
    let (endpoint, port) = (
        format!("127.0.0.1:{}", ports.apiserver),
        ports.apiserver.to_string(),
    );
    succeeded(
        "kubepki init (clock pinned two hours back, one hour of validity)",
        kubepki_at(
            dir.path(),
            made,
            &[
                "init",
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
                "--node-name",
                NODE,
                "--apiserver-bind-port",
                &port,
                "--control-plane-endpoint",
                &endpoint,
                "--algorithm",
                "ECDSA-P256",
                "--cert-validity",
                "1h",
            ],
        ),
    );
    let tree = Tree {
        pki: dir.path().join("pki"),
        confs: dir.path().to_path_buf(),
    };
    let kubelet_pki = dir.path().join("kubelet/pki");
    kubelet_conf_on_files(&tree.conf("kubelet.conf"), &kubelet_pki);
    let cas: Vec<Vec<u8>> = CA_FILES
        .iter()
        .map(|f| std::fs::read(tree.pki.join(f)).unwrap())
        .collect();
    let work = dir.path().join("run");
    std::fs::create_dir(&work).unwrap();
    let mut cp = ControlPlane::new(&bin, tree, ports, &work, NODE, Budget::of(TEST_BUDGET));

    // The expired control plane: kubectl refuses the API server's expired certificate, or
    // kube-apiserver does not come up at all and its log says why. Whichever happens is
    // printed and accepted; with kube-apiserver 1.37.2 and etcd 3.6.16 it is the second:
    // kube-apiserver rejects etcd's expired serving certificate ("x509: certificate has
    // expired") and exits.
    cp.spawn_unready();
    let budget = cp.budget;
    let seen = budget.wait_for(
        "kube-apiserver to answer (or exit) on the expired tree",
        Duration::from_secs(120),
        || {
            if let Some(log) = cp.apiserver_exited() {
                return Ok(format!("kube-apiserver exited:\n{log}"));
            }
            let out = cp.kubectl("admin.conf", &["get", "nodes"]);
            let said = String::from_utf8_lossy(&out.stderr).into_owned();
            if out.status.success() {
                return Ok("kubectl succeeded on an expired tree".to_owned());
            }
            if said.contains("certificate has expired") {
                Ok(said)
            } else {
                Err(said)
            }
        },
    );
    eprintln!("the expired control plane: {seen}");
    assert!(
        seen.contains("certificate has expired"),
        "neither kubectl nor kube-apiserver said the certificates expired: {seen}"
    );
    let check = kubepki_at(
        dir.path(),
        SystemTime::now(),
        &[
            "certs",
            "check-expiration",
            "--cert-dir",
            "pki",
            "--kubeconfig-dir",
            ".",
        ],
    );
    assert_eq!(check.status.code(), Some(2));
    cp.stop();

    // Offline, from the tree alone: every API server is down, as the checks say.
    let kubelet_dir = kubelet_pki.display().to_string();
    let recover = [
        "certs",
        "recover",
        "--cert-dir",
        "pki",
        "--kubeconfig-dir",
        ".",
        "--kubelet-dir",
        &kubelet_dir,
    ];
    let said = succeeded(
        "kubepki certs recover",
        kubepki_at(dir.path(), SystemTime::now(), &recover),
    );
    eprintln!("{said}");
    for name in [
        "apiserver",
        "apiserver-etcd-client",
        "etcd-server",
        "front-proxy-client",
        "admin.conf",
        "super-admin.conf",
        "controller-manager.conf",
        "scheduler.conf",
        "kubelet.conf",
    ] {
        assert!(said.contains(&format!("renewed {name} ")), "{name}: {said}");
    }
    assert!(said.contains("not running (connection refused)"), "{said}");
    assert!(
        said.contains("restart so they use the new certificates: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet"),
        "{said}"
    );
    for (file, before) in CA_FILES.iter().zip(&cas) {
        assert_eq!(
            &std::fs::read(cp.tree.pki.join(file)).unwrap(),
            before,
            "{file} changed"
        );
    }
    let current = kubelet_pki.join("kubelet-client-current.pem");
    let target = std::fs::read_link(&current).unwrap();
    assert_ne!(
        target,
        Path::new("kubelet-client-2026-01-01-00-00-00.pem"),
        "the kubelet's link was not moved"
    );

    // Restarted as told: every identity works again.
    cp.start();
    for (conf, user) in [
        ("admin.conf", "kubernetes-admin"),
        ("super-admin.conf", "kubernetes-super-admin"),
        ("controller-manager.conf", "system:kube-controller-manager"),
        ("scheduler.conf", "system:kube-scheduler"),
    ] {
        assert_eq!(
            whoami(&|args: &[&str]| cp.kubectl(conf, args)).0,
            user,
            "{conf}"
        );
    }
    let kubelet_conf = cp.tree.conf("kubelet.conf").display().to_string();
    let current = current.display().to_string();
    let lead = [
        "--kubeconfig",
        kubelet_conf.as_str(),
        "--client-certificate",
        current.as_str(),
        "--client-key",
        current.as_str(),
    ];
    let (user, groups) = whoami(&cp.kubectl_with(&lead));
    assert_eq!(user, format!("system:node:{NODE}"));
    assert!(groups.contains(&"system:nodes".to_owned()), "{groups:?}");
    succeeded(
        "kubectl get nodes",
        cp.kubectl("super-admin.conf", &["get", "nodes"]),
    );

    // recover again: nothing is due, and its own TLS check sees every identity accepted.
    let again = succeeded(
        "kubepki certs recover (again)",
        kubepki_at(dir.path(), SystemTime::now(), &recover),
    );
    assert!(again.contains("nothing was due"), "{again}");
    for (conf, user) in [
        ("admin.conf", "kubernetes-admin"),
        ("super-admin.conf", "kubernetes-super-admin"),
        ("controller-manager.conf", "system:kube-controller-manager"),
        ("scheduler.conf", "system:kube-scheduler"),
        ("kubelet.conf", "system:node:cp-1"),
    ] {
        assert!(
            again.contains(&format!(
                "check   {conf:<26} {}: accepted as {user}",
                cp.server()
            )),
            "{conf}: {again}"
        );
    }
    cp.stop_and_check();
}
