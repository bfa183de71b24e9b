//! What an operator does on a running control plane, shared by the signer, attack and
//! kubelet tests: kubeconfigs for a token, the controller's ServiceAccount and a node, and
//! Nodes registered as a kubelet would.

use std::path::{Path, PathBuf};

use crate::common::{kubepki, succeeded};
use crate::harness::ControlPlane;

/// A kubeconfig at `conf` for `user` authenticating to the cluster with bearer `token`.
pub(crate) fn token_kubeconfig(cp: &ControlPlane, conf: &Path, user: &str, token: &str) {
    let yaml = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster: {{server: '{server}', certificate-authority: '{ca}'}}
users:
- name: {user}
  user: {{token: '{token}'}}
contexts:
- name: {user}@kubernetes
  context: {{cluster: kubernetes, user: {user}}}
current-context: {user}@kubernetes
",
        server = cp.server(),
        ca = cp.tree.pki("ca.crt"),
    );
    std::fs::write(conf, yaml).unwrap();
}

/// A kubeconfig for the ServiceAccount of `deploy/rbac.yaml` (applied here), with a token
/// from the TokenRequest API, as an operator would deploy the controller: it gets exactly
/// the manifest's permissions.
pub(crate) fn service_account_kubeconfig(cp: &ControlPlane, dir: &Path) -> PathBuf {
    let rbac = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rbac.yaml");
    succeeded(
        "kubectl apply -f deploy/rbac.yaml",
        cp.kubectl(
            "super-admin.conf",
            &["apply", "-f", &rbac.display().to_string()],
        ),
    );
    let token = succeeded(
        "kubectl create token",
        cp.kubectl(
            "super-admin.conf",
            &[
                "-n",
                "kube-system",
                "create",
                "token",
                "kubepki-controller",
                "--duration=2h",
            ],
        ),
    );
    let conf = dir.join("kubepki-controller.conf");
    token_kubeconfig(cp, &conf, "kubepki-controller", token.trim());
    // The Warning Events of requests it cannot sign: in the default namespace (where a
    // cluster-scoped object's Events go), and nowhere else.
    for (namespace, want) in [("default", "yes"), ("kube-system", "no")] {
        let out = cp
            .command("kubectl")
            .arg("--kubeconfig")
            .arg(&conf)
            .args([
                "auth",
                "can-i",
                "create",
                "events.events.k8s.io",
                "-n",
                namespace,
            ])
            .output()
            .expect("run kubectl");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            want,
            "may the controller create events in {namespace}? {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    conf
}

/// A kubeconfig for node `node` (`system:node:<node>` in `system:nodes`, signed by the
/// cluster CA of the tree in `dir`), made by kubepki as a kubelet's would be.
pub(crate) fn node_kubeconfig(cp: &ControlPlane, dir: &Path, node: &str) -> PathBuf {
    let file = format!("{node}.conf");
    succeeded(
        "kubepki kubeconfig user (a node)",
        kubepki(
            dir,
            &[
                "kubeconfig",
                "user",
                "--client-name",
                &format!("system:node:{node}"),
                "--org",
                "system:nodes",
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
                "--server",
                &cp.server(),
                "-o",
                &file,
            ],
        ),
    );
    dir.join(file)
}

/// Node `name` with a Hostname and an InternalIP, registered as a kubelet would.
pub(crate) fn register_node(cp: &ControlPlane, dir: &Path, name: &str, ip: &str) {
    let admin = |args: &[&str]| cp.kubectl("super-admin.conf", args);
    let node = dir.join(format!("node-{name}.json"));
    std::fs::write(
        &node,
        serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
            .to_string(),
    )
    .unwrap();
    succeeded(
        "kubectl create node",
        admin(&["create", "-f", &node.display().to_string()]),
    );
    let status = serde_json::json!({"status": {"addresses": [
        {"type": "Hostname", "address": name},
        {"type": "InternalIP", "address": ip},
    ]}})
    .to_string();
    succeeded(
        "kubectl patch node status",
        admin(&[
            "patch",
            "node",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
        ]),
    );
}
