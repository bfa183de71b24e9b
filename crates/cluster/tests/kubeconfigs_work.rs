//! kubectl reads every generated kubeconfig file and finds its context.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{have, pinned, tree_at};

#[test]
fn kubectl_reads_every_kubeconfig() {
    if !have("kubectl") {
        return;
    }
    let tree = tree_at(pinned());
    for (file, context) in [
        ("admin.conf", "kubernetes-admin@kubernetes"),
        ("super-admin.conf", "kubernetes-super-admin@kubernetes"),
        (
            "controller-manager.conf",
            "system:kube-controller-manager@kubernetes",
        ),
        ("scheduler.conf", "system:kube-scheduler@kubernetes"),
        ("kubelet.conf", "system:node:cp-1@kubernetes"),
    ] {
        let conf = tree.conf(file);
        let kubectl = |args: &[&str]| {
            let out = Command::new("kubectl")
                .args(args)
                .arg("--kubeconfig")
                .arg(&conf)
                .env("HOME", tree.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let current = kubectl(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.current-context}",
        ]);
        assert_eq!(current, context, "{file}");
        let server = kubectl(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ]);
        assert_eq!(server, "https://127.0.0.1:6443", "{file}");
        let raw = kubectl(&["config", "view", "--raw"]);
        assert!(raw.contains("client-certificate-data: "), "{file}");
        assert!(raw.contains("client-key-data: "), "{file}");
        let contexts = kubectl(&["config", "get-contexts", "-o", "name"]);
        assert_eq!(contexts.trim(), context, "{file}");
        let table = kubectl(&["config", "get-contexts"]);
        assert!(
            table
                .lines()
                .any(|l| l.starts_with('*') && l.contains(context)),
            "{file}: {table}"
        );
    }
}
