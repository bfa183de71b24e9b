//! kubelet-serving approval against the Node's addresses: a node's request for its own
//! addresses is approved and signed; a foreign name, or a request as another node, is left
//! Pending.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::fixture::{
    Kind, Replica, Request, SERVING_NODE, SERVING_NODE_IP, certificate, csrs, manifest, openssl_csr,
};
use crate::cluster::{node_kubeconfig, register_node};
use crate::common::succeeded;
use crate::harness::ControlPlane;

/// Nodes `n1` (and `n2`, 192.0.2.22) with a hostname and an internal IP, as a kubelet would
/// register them.
pub(crate) fn register_serving_node(cp: &ControlPlane, dir: &Path) {
    register_node(cp, dir, SERVING_NODE, SERVING_NODE_IP);
    register_node(cp, dir, "n2", "192.0.2.22");
}

/// A node asks for a serving certificate for its own addresses: approved and signed. One
/// that adds a foreign name, or that asks as another node, is left Pending.
pub(crate) fn kubelet_serving_approval(cp: &ControlPlane, dir: &Path, replica: &Replica) {
    let node_conf = node_kubeconfig(cp, dir, SERVING_NODE);
    let as_node =
        |args: &[&str]| cp.kubectl_with(&["--kubeconfig", &node_conf.display().to_string()])(args);
    let own = openssl_csr(dir, "serving-own", Kind::KubeletServing);
    let foreign = {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args([
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-keyout", "/dev/null"])
            .args([
                "-subj",
                &format!("/O=system:nodes/CN=system:node:{SERVING_NODE}"),
            ])
            .args([
                "-addext",
                &format!("subjectAltName=DNS:{SERVING_NODE},DNS:evil.example.com"),
            ])
            .output()
            .unwrap();
        Request {
            name: "serving-foreign-san".into(),
            kind: Kind::KubeletServing,
            csr: succeeded("openssl req", out).into_bytes(),
        }
    };
    let file = dir.join("serving.json");
    std::fs::write(&file, manifest(&[&own, &foreign])).unwrap();
    succeeded(
        "create as node n1",
        as_node(&["create", "-f", &file.display().to_string()]),
    );
    // Node n2 asks for n1's names: its request is its own (NodeRestriction refuses a node's
    // request for another node's CN), but the names are not its addresses.
    let n2 = node_kubeconfig(cp, dir, "n2");
    let other = {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args([
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-keyout", "/dev/null"])
            .args(["-subj", "/O=system:nodes/CN=system:node:n2"])
            .args([
                "-addext",
                &format!("subjectAltName=DNS:{SERVING_NODE},IP:{SERVING_NODE_IP}"),
            ])
            .output()
            .unwrap();
        Request {
            name: "serving-other-node".into(),
            kind: Kind::KubeletServing,
            csr: succeeded("openssl req", out).into_bytes(),
        }
    };
    let file = dir.join("serving-n2.json");
    std::fs::write(&file, manifest(&[&other])).unwrap();
    succeeded(
        "create as node n2",
        cp.kubectl_with(&["--kubeconfig", &n2.display().to_string()])(&[
            "create",
            "-f",
            &file.display().to_string(),
        ]),
    );
    cp.budget.wait_for(
        "n1's own serving certificate",
        Duration::from_secs(30),
        || {
            let now = csrs(cp);
            if now.get("serving-own").and_then(certificate).is_some() {
                Ok(())
            } else {
                Err("not yet".into())
            }
        },
    );
    let now = csrs(cp);
    let approved = &now["serving-own"]["status"]["conditions"][0];
    assert_eq!(approved["type"], "Approved", "{approved}");
    assert_eq!(approved["reason"], "AutoApproved", "{approved}");
    for pending in ["serving-foreign-san", "serving-other-node"] {
        assert!(
            now[pending]["status"]["conditions"].is_null(),
            "{pending}: {}",
            now[pending]
        );
    }
    let log = replica.log();
    assert!(
        log.contains("DNS:evil.example.com is not an address of node n1"),
        "{log}"
    );
    assert!(log.contains("DNS:n1 is not an address of node n2"), "{log}");
}
