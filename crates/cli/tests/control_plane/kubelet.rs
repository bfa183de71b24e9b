//! A real kubelet (1.37.2, from `scripts/peers.sh`) joins the cluster through kubepki: it
//! TLS-bootstraps with a kubeadm bootstrap token, `kubepki controller --approve
//! kubelet-client` is the only approver and signer (kube-controller-manager runs without
//! csrsigning and csrapproving), and kube-apiserver takes the certificate the kubelet wrote
//! for `system:node:<name>` in `system:nodes`. There is no container runtime here: the
//! kubelet stops later, which is fine, since TLS bootstrap comes first.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::attacks::Plane;
use crate::cluster::token_kubeconfig;
use crate::common::succeeded;
use crate::harness::{Process, exclusive, free_port};
use crate::{TEST_BUDGET, strings};

/// The kubelet's node name.
const NAME: &str = "kubelet-1";

/// A kubeadm bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`).
const TOKEN_ID: &str = "kpk1ab";
const TOKEN_SECRET: &str = "0123456789abcdef";

/// How long the kubelet gets from start to a signed client certificate.
const BOOTSTRAP: Duration = Duration::from_secs(90);

/// kubeadm's bootstrap token Secret (`kubeadm token create`): authentication and the
/// group kubeadm's bindings name.
fn bootstrap_token() -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": format!("bootstrap-token-{TOKEN_ID}"), "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "stringData": {
            "token-id": TOKEN_ID,
            "token-secret": TOKEN_SECRET,
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
            "description": "kubepki control-plane test",
        },
    })
    .to_string()
}

/// The kubelet's configuration: enough to reach TLS bootstrap on a loopback-only machine
/// without a container runtime (cgroup v1 allowed, no QoS cgroups, no swap check).
fn kubelet_config(dir: &Path, ca: &str, port: u16) -> String {
    let cgroup_v1 = !Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    format!(
        "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: {port}
readOnlyPort: 0
healthzPort: 0
rotateCertificates: true
serverTLSBootstrap: false
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: '{ca}'}}
authorization: {{mode: Webhook}}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: {fail_v1}
clusterDomain: cluster.local
clusterDNS: [10.96.0.10]
containerRuntimeEndpoint: 'unix://{socket}'
",
        fail_v1 = !cgroup_v1,
        socket = dir.join("cri.sock").display(),
    )
}

#[test]
fn a_real_kubelet_joins_through_kubepki() {
    let _machine = exclusive();
    let Some(plane) = Plane::boot(TEST_BUDGET) else {
        return;
    };
    let kubelet = plane.cp.bin.join("kubelet");
    if !kubelet.is_file() {
        kubepki_test_support::skip_unless(
            false,
            &format!(
                "{} is missing: run `bash scripts/peers.sh`",
                kubelet.display()
            ),
        );
        return;
    }
    let dir = plane.dir().join("kubelet");
    std::fs::create_dir_all(dir.join("pki")).unwrap();
    std::fs::create_dir_all(dir.join("root")).unwrap();

    let token = dir.join("bootstrap-token.json");
    std::fs::write(&token, bootstrap_token()).unwrap();
    succeeded(
        "kubectl create the bootstrap token",
        plane.admin(&["create", "-f", &token.display().to_string()]),
    );
    let ca = plane.cp.tree.pki("ca.crt");
    let bootstrap = dir.join("bootstrap-kubelet.conf");
    token_kubeconfig(
        &plane.cp,
        &bootstrap,
        "tls-bootstrap-token-user",
        &format!("{TOKEN_ID}.{TOKEN_SECRET}"),
    );
    // The token authenticates as kubeadm's bootstrapper, before the kubelet relies on it.
    let review = succeeded(
        "kubectl auth whoami (the bootstrap token)",
        plane.kubectl_as(&bootstrap, &["auth", "whoami", "-o", "json"]),
    );
    assert_eq!(
        crate::identity(&review),
        (
            format!("system:bootstrap:{TOKEN_ID}"),
            strings(&[
                "system:authenticated",
                "system:bootstrappers",
                "system:bootstrappers:kubeadm:default-node-token"
            ])
        )
    );

    let controller = plane.controller("controller-kubelet", &["--approve", "kubelet-client"]);

    // A socket where the runtime would be: it accepts and says nothing, so that the kubelet
    // waits there instead of exiting at once; TLS bootstrap runs meanwhile.
    let cri = UnixListener::bind(dir.join("cri.sock")).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in cri.incoming().map_while(Result::ok) {
            held.push(stream);
        }
    });

    let config = dir.join("config.yaml");
    std::fs::write(&config, kubelet_config(&dir, &ca, free_port())).unwrap();
    let mut command = Command::new(&kubelet);
    command
        .env_remove("KUBECONFIG")
        .arg(format!("--bootstrap-kubeconfig={}", bootstrap.display()))
        .arg(format!(
            "--kubeconfig={}",
            dir.join("kubelet.conf").display()
        ))
        .arg(format!("--cert-dir={}", dir.join("pki").display()))
        .arg(format!("--root-dir={}", dir.join("root").display()))
        .arg(format!("--config={}", config.display()))
        .arg(format!("--hostname-override={NAME}"))
        .arg("--node-ip=127.0.0.1")
        .arg("--v=2");
    let mut process = Process::spawn("kubelet", command, dir.join("kubelet.log"));
    let current = dir.join("pki/kubelet-client-current.pem");
    let started = std::time::Instant::now();
    plane.cp.budget.wait_for(
        "the kubelet's kubelet-client-current.pem",
        BOOTSTRAP,
        || {
            if current.exists() {
                return Ok(());
            }
            if let Some(status) = process.exit_status() {
                panic!(
                    "kubelet exited ({status}) before TLS bootstrap:\n{}\ncontroller:\n{}",
                    std::fs::read_to_string(process.log()).unwrap_or_default(),
                    controller.log()
                );
            }
            Err(format!(
                "csr: {}",
                String::from_utf8_lossy(&plane.admin(&["get", "csr"]).stdout)
            ))
        },
    );
    eprintln!(
        "kubelet bootstrapped in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let pem = std::fs::read(&current).unwrap();
    let key = String::from_utf8(pem.clone()).unwrap();
    assert_eq!(
        plane.whoami_with("kubelet-1", &pem, &key),
        (
            format!("system:node:{NAME}"),
            strings(&["system:nodes", "system:authenticated"])
        )
    );

    // The kubelet's own kubeconfig now points at the rotated certificate, which is a client
    // certificate of the cluster CA.
    let conf = std::fs::read_to_string(dir.join("kubelet.conf")).unwrap_or_default();
    assert!(
        conf.contains("kubelet-client-current.pem"),
        "kubelet.conf: {conf}"
    );
    succeeded(
        "openssl verify -purpose sslclient",
        Command::new("openssl")
            .args(["verify", "-purpose", "sslclient", "-CAfile", &ca])
            .arg(&current)
            .output()
            .expect("run openssl verify"),
    );
    let log = std::fs::read_to_string(process.log()).unwrap_or_default();
    for line in log.lines().filter(|l| {
        l.contains("certificate_manager") || l.contains("bootstrap") || l.contains("csr")
    }) {
        eprintln!("kubelet: {line}");
    }

    // kubepki approved it (nodeclient, for the bootstrap token) and issued it.
    let list: serde_json::Value = serde_json::from_str(&succeeded(
        "kubectl get csr",
        plane.admin(&["get", "csr", "-o", "json"]),
    ))
    .unwrap();
    let requests: Vec<&serde_json::Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["spec"]["username"] == format!("system:bootstrap:{TOKEN_ID}"))
        .collect();
    assert_eq!(requests.len(), 1, "one bootstrap request: {list}");
    let name = requests[0]["metadata"]["name"].as_str().unwrap();
    let lines = controller.lines_about(name);
    assert!(
        lines.iter().any(|l| l.contains(
            "approved: Auto approving kubelet client certificate after SubjectAccessReview"
        )),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("issued")), "{lines:?}");
    drop(process);
}
