//! The Go installer example (`ffi/go/examples/installer`), built with `go build` against the
//! static library through the Go binding, writes the tree; etcd, kube-apiserver and
//! kube-controller-manager boot on it, and every kubeconfig is the identity kubeadm gives it.

use std::process::Command;

use kubepki_test_support::go_binding;

use crate::common::succeeded;
use crate::harness::{Budget, ControlPlane, Ports, Tree, exclusive, peers};
use crate::{NODE, TEST_BUDGET, identities_as_kubeadm_gives_them};

#[test]
fn go_installer_tree_runs_a_control_plane() {
    let _machine = exclusive();
    let Some(bin) = peers() else {
        return;
    };
    let Some(go) = go_binding() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let installer = dir.path().join("installer");
    succeeded(
        "go build ./examples/installer",
        go.command("build")
            .arg("-o")
            .arg(&installer)
            .arg("./examples/installer")
            .output()
            .expect("run go"),
    );

    // As `kubepki init` in the other tests: cp-1 on loopback, the endpoint on the API
    // server's port, which the local kubeconfig files name too.
    let ports = Ports::pick();
    let tree = Tree {
        pki: dir.path().join("pki"),
        confs: dir.path().to_path_buf(),
    };
    let port = ports.apiserver.to_string();
    let written = succeeded(
        "the Go installer",
        Command::new(&installer)
            .args(["-node-name", NODE, "-advertise-address", "127.0.0.1"])
            .args(["-apiserver-bind-port", &port])
            .args(["-control-plane-endpoint", &format!("127.0.0.1:{port}")])
            .args(["-algorithm", "ECDSA-P256"])
            .arg("-cert-dir")
            .arg(&tree.pki)
            .arg("-kubeconfig-dir")
            .arg(&tree.confs)
            .output()
            .expect("run the installer"),
    );
    // 3 CAs, 7 leaves, the service-account key pair, 5 kubeconfig files.
    assert_eq!(written.matches("written").count(), 16, "{written}");

    let work = dir.path().join("run");
    std::fs::create_dir(&work).unwrap();
    let mut cp = ControlPlane::new(&bin, tree, ports, &work, NODE, Budget::of(TEST_BUDGET));
    cp.start();
    identities_as_kubeadm_gives_them(&cp);
    cp.stop_and_check();
}
