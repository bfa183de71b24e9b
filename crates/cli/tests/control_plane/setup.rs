//! A control plane on a `kubepki init` tree: the node, the time budget, the tree, the boot.
//! Shared by the tests of this folder and by the `csr_signing_vs_kcm` benchmark
//! (`crates/cli/benches/`), which includes this file.

use std::path::Path;
use std::time::Duration;

use crate::common::{kubepki, succeeded};
use crate::harness::{Budget, ControlPlane, Ports, Tree, peers};

/// The node of every tree.
pub(crate) const NODE: &str = "cp-1";

/// Time for one whole test, waits included (a cold kube-apiserver takes 10-30 s here).
pub(crate) const TEST_BUDGET: Duration = Duration::from_secs(600);

/// `kubepki init` with the test's API server port and the control-plane endpoint on
/// loopback; returns the tree.
pub(crate) fn kubepki_init(dir: &Path, algorithm: &str, ports: Ports, advertise: &str) -> Tree {
    let tree = Tree {
        pki: dir.join("pki"),
        confs: dir.to_path_buf(),
    };
    let (endpoint, port) = (
        format!("127.0.0.1:{}", ports.apiserver),
        ports.apiserver.to_string(),
    );
    succeeded(
        "kubepki init",
        kubepki(
            dir,
            &[
                "init",
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
                "--node-name",
                NODE,
                "--advertise-address",
                advertise,
                "--apiserver-bind-port",
                &port,
                "--control-plane-endpoint",
                &endpoint,
                "--algorithm",
                algorithm,
            ],
        ),
    );
    tree
}

/// A started control plane on a `kubepki init` tree with `algorithm` in a new temporary
/// directory, with kube-controller-manager's `--controllers` if given; `None` without the
/// peers.
pub(crate) fn boot(
    algorithm: &str,
    controllers: Option<&str>,
    budget: Duration,
) -> Option<(tempfile::TempDir, ControlPlane)> {
    let bin = peers()?;
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::pick();
    let tree = kubepki_init(dir.path(), algorithm, ports, "127.0.0.1");
    let work = dir.path().join("run");
    std::fs::create_dir(&work).unwrap();
    let mut cp = ControlPlane::new(&bin, tree, ports, &work, NODE, Budget::of(budget));
    if let Some(controllers) = controllers {
        cp.controllers = controllers.to_owned();
    }
    cp.start();
    Some((dir, cp))
}
