//! kubepki against a real Kubernetes control plane: etcd, kube-apiserver and
//! kube-controller-manager (built by `scripts/peers.sh`) boot on the tree `kubepki init`
//! writes, every kubeconfig authenticates as the identity kubeadm gives it, the tutorials'
//! Certificates API flow runs end to end, renewal keeps the cluster working, an expired
//! serving certificate is seen as expired, and kubeadm's own tree matches ours. The Go
//! installer example's tree (written through the Go binding) boots the same control plane.
//! With kubepki as the only approver and signer, a real kubelet TLS-bootstraps through it, and
//! the attacks of `attacks.rs` (another node's identity, names nobody approved, a node's own
//! addresses, a custom signer minting system:masters) are played against it. The OCI image
//! of `scripts/image.sh` signs for the cluster with its own `kubepki`, and the Helm chart and
//! every manifest of `deploy/` pass the API server's server-side dry run. A tree whose
//! certificates expired is recovered offline by `certs recover` (`recover.rs`).
//!
//! Run alone with `bash scripts/test.sh control-plane`. Without the peers the tests print a
//! loud SKIP; with `CI` set they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks;
mod balancer;
mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod go_installer;
mod harness;
mod helm_chart;
mod image;
mod kubeadm;
mod kubelet;
mod recover;
mod rotate;
mod rotate_live;
mod setup;
mod signer;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{failed, kubepki, succeeded};
use harness::{ControlPlane, exclusive, passed};
use setup::{NODE, TEST_BUDGET, boot, kubepki_init};

/// The user and groups the API server sees for a kubectl (`kubectl auth whoami`).
fn whoami(kubectl: &dyn Fn(&[&str]) -> Output) -> (String, Vec<String>) {
    let json = succeeded(
        "kubectl auth whoami",
        kubectl(&["auth", "whoami", "-o", "json"]),
    );
    identity(&json)
}

/// Who the API server takes a kubectl for that has only `credentials` (kubectl's flags, such
/// as `--token T`): an empty kubeconfig, the server and the cluster CA.
fn whoami_with(cp: &ControlPlane, credentials: &[&str]) -> (String, Vec<String>) {
    let empty = cp.work.join("empty.conf");
    std::fs::write(&empty, "").unwrap();
    let (server, ca, empty) = (
        cp.server(),
        cp.tree.pki("ca.crt"),
        empty.display().to_string(),
    );
    let mut lead = vec![
        "--kubeconfig",
        &empty,
        "--server",
        &server,
        "--certificate-authority",
        &ca,
    ];
    lead.extend_from_slice(credentials);
    whoami(&cp.kubectl_with(&lead))
}

/// User and groups (sorted: a certificate issued by Go puts several O in one DER SET, whose
/// order is by encoding) from a `SelfSubjectReview` in JSON.
fn identity(json: &str) -> (String, Vec<String>) {
    let review: serde_json::Value = serde_json::from_str(json).expect("a SelfSubjectReview");
    let info = &review["status"]["userInfo"];
    let mut groups: Vec<String> = info["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    groups.sort();
    (
        info["username"].as_str().unwrap_or_default().to_owned(),
        groups,
    )
}

/// Groups as [`identity`] gives them: sorted.
fn strings(list: &[&str]) -> Vec<String> {
    let mut groups: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    groups.sort();
    groups
}

/// Item 2: each kubeconfig, the front proxy and a service-account token, as the API server
/// sees them.
fn identities_as_kubeadm_gives_them(cp: &ControlPlane) {
    let as_conf = |conf: &'static str| move |args: &[&str]| cp.kubectl(conf, args);
    assert_eq!(
        whoami(&as_conf("super-admin.conf")),
        (
            "kubernetes-super-admin".into(),
            strings(&["system:masters", "system:authenticated"])
        )
    );
    let admin = as_conf("admin.conf");
    assert_eq!(
        whoami(&admin),
        (
            "kubernetes-admin".into(),
            strings(&["kubeadm:cluster-admins", "system:authenticated"])
        )
    );
    // kubeadm binds kubeadm:cluster-admins to cluster-admin with super-admin.conf; until
    // then admin.conf is an ordinary user.
    let bound = cp.kubectl(
        "super-admin.conf",
        &[
            "get",
            "clusterrolebinding",
            "kubeadm:cluster-admins",
            "-o",
            "name",
        ],
    );
    if !bound.status.success() {
        let denied = failed(
            "admin lists nodes before the binding",
            admin(&["get", "nodes"]),
        );
        assert!(denied.contains("Forbidden"), "{denied}");
        succeeded(
            "create the kubeadm:cluster-admins binding",
            cp.kubectl(
                "super-admin.conf",
                &[
                    "create",
                    "clusterrolebinding",
                    "kubeadm:cluster-admins",
                    "--clusterrole=cluster-admin",
                    "--group=kubeadm:cluster-admins",
                ],
            ),
        );
    }
    cp.budget
        .wait_for("admin.conf to list nodes", Duration::from_secs(20), || {
            passed(&admin(&["get", "nodes"]), |_| true)
        });
    assert_eq!(
        whoami(&as_conf("controller-manager.conf")),
        (
            "system:kube-controller-manager".into(),
            strings(&["system:authenticated"])
        )
    );
    assert_eq!(
        whoami(&as_conf("scheduler.conf")),
        (
            "system:kube-scheduler".into(),
            strings(&["system:authenticated"])
        )
    );
    assert_eq!(
        whoami(&as_conf("kubelet.conf")),
        (
            format!("system:node:{NODE}"),
            strings(&["system:nodes", "system:authenticated"])
        )
    );

    // The front proxy: the API server believes X-Remote-* headers only over a client
    // certificate of front-proxy-ca named front-proxy-client.
    let review = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
    let url = format!(
        "{}/apis/authentication.k8s.io/v1/selfsubjectreviews",
        cp.server()
    );
    let curl = |cert: &str, key: &str| {
        Command::new("curl")
            .args(["-sS", "--fail-with-body", "--cacert"])
            .arg(cp.tree.pki("ca.crt"))
            .arg("--cert")
            .arg(cp.tree.pki(cert))
            .arg("--key")
            .arg(cp.tree.pki(key))
            .args([
                "-H",
                "X-Remote-User: alice",
                "-H",
                "X-Remote-Group: auditors",
            ])
            .args([
                "-H",
                "Content-Type: application/json",
                "-X",
                "POST",
                "-d",
                review,
            ])
            .arg(&url)
            .output()
            .expect("run curl")
    };
    let proxied = succeeded(
        "a front-proxy request",
        curl("front-proxy-client.crt", "front-proxy-client.key"),
    );
    assert_eq!(
        identity(&proxied),
        (
            "alice".into(),
            strings(&["auditors", "system:authenticated"])
        )
    );
    // The same headers over the API server's kubelet client certificate are ignored: it is
    // of the cluster CA, not front-proxy-ca.
    let direct = succeeded(
        "headers over another client certificate",
        curl(
            "apiserver-kubelet-client.crt",
            "apiserver-kubelet-client.key",
        ),
    );
    assert_eq!(identity(&direct).0, "kube-apiserver-kubelet-client");

    // A service-account token, signed with sa.key and checked with sa.pub.
    let _ = cp.kubectl(
        "super-admin.conf",
        &["create", "serviceaccount", "probe", "-n", "default"],
    );
    let token = succeeded(
        "kubectl create token",
        cp.kubectl(
            "super-admin.conf",
            &["create", "token", "probe", "-n", "default"],
        ),
    );
    let (user, groups) = whoami_with(cp, &["--token", token.trim()]);
    assert_eq!(user, "system:serviceaccount:default:probe");
    assert!(
        groups.contains(&"system:serviceaccounts:default".to_owned()),
        "{groups:?}"
    );
}

/// How a request of the tutorials is made.
enum Maker {
    Kubepki,
    Openssl,
}

/// Key and CSR for `subject` in `dir`, made as a user would: by kubepki or by openssl.
fn request(dir: &Path, name: &str, subject: &str, maker: Maker) -> String {
    let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
    match maker {
        Maker::Kubepki => {
            succeeded(
                "kubepki key generate",
                kubepki(
                    dir,
                    &[
                        "key",
                        "generate",
                        "--algorithm",
                        "ECDSA-P256",
                        "--out",
                        &key,
                    ],
                ),
            );
            succeeded(
                "kubepki csr create",
                kubepki(
                    dir,
                    &[
                        "csr",
                        "create",
                        "--key",
                        &key,
                        "--subject",
                        subject,
                        "--out",
                        &csr,
                    ],
                ),
            )
        }
        Maker::Openssl => succeeded(
            "openssl req",
            Command::new("openssl")
                .current_dir(dir)
                .args([
                    "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key,
                ])
                .args(["-subj", subject, "-out", &csr])
                .output()
                .expect("run openssl"),
        ),
    }
}

/// `kubepki csr manifest` for a request in `dir`; returns the manifest's path.
fn manifest(dir: &Path, name: &str) -> String {
    let out = format!("{name}.yaml");
    succeeded(
        "kubepki csr manifest",
        kubepki(
            dir,
            &[
                "csr",
                "manifest",
                "--csr",
                &format!("{name}.csr"),
                "--name",
                name,
                "--expiration",
                "24h",
                "--out",
                &out,
            ],
        ),
    );
    dir.join(out).display().to_string()
}

/// Item 3: the tutorials' flow on the real API server, signed by kube-controller-manager with
/// kubepki's CA. Returns the user's kubeconfig.
fn certificates_api_flow(
    cp: &ControlPlane,
    dir: &Path,
    name: &str,
    subject: &str,
    maker: Maker,
) -> String {
    let admin = |args: &[&str]| cp.kubectl("admin.conf", args);
    request(dir, name, subject, maker);
    let manifest = manifest(dir, name);
    succeeded("kubectl apply", admin(&["apply", "-f", &manifest]));
    let listed = succeeded("kubectl get csr", admin(&["get", "csr", name]));
    assert!(listed.contains("Pending"), "{listed}");
    succeeded(
        "kubectl certificate approve",
        admin(&["certificate", "approve", name]),
    );
    let issued = cp.budget.wait_for(
        "kube-controller-manager to sign",
        Duration::from_secs(60),
        || {
            let out = admin(&["get", "csr", name, "-o", "jsonpath={.status.certificate}"]);
            passed(&out, |text| !text.is_empty())
        },
    );
    let pem = kubepki::cluster::decode_data(&issued).expect("status.certificate is base64");
    let crt = format!("{name}.crt");
    std::fs::write(dir.join(&crt), pem).unwrap();
    let listed = succeeded("kubectl get csr", admin(&["get", "csr", name]));
    assert!(listed.contains("Approved,Issued"), "{listed}");

    let verified = succeeded(
        "kubepki verify --kubernetes",
        kubepki(
            dir,
            &[
                "verify",
                "--ca",
                &cp.tree.pki("ca.crt"),
                "--cert",
                &crt,
                "--usage",
                "client-auth",
                "--kubernetes",
            ],
        ),
    );
    assert!(verified.contains(name), "{verified}");

    // The tutorials' kubeconfig: cluster, credentials (embedded), context.
    let conf = dir.join(format!("{name}.conf")).display().to_string();
    let config = |args: &[&str]| cp.kubectl_with(&["--kubeconfig", &conf])(args);
    succeeded(
        "kubectl config set-cluster",
        config(&[
            "config",
            "set-cluster",
            "kubernetes",
            "--server",
            &cp.server(),
            "--certificate-authority",
            &cp.tree.pki("ca.crt"),
            "--embed-certs",
        ]),
    );
    let (key, crt) = (
        dir.join(format!("{name}.key")).display().to_string(),
        dir.join(&crt).display().to_string(),
    );
    succeeded(
        "kubectl config set-credentials",
        config(&[
            "config",
            "set-credentials",
            name,
            "--client-certificate",
            &crt,
            "--client-key",
            &key,
            "--embed-certs",
        ]),
    );
    succeeded(
        "kubectl config set-context",
        config(&[
            "config",
            "set-context",
            name,
            "--cluster",
            "kubernetes",
            "--user",
            name,
        ]),
    );
    succeeded(
        "kubectl config use-context",
        config(&["config", "use-context", name]),
    );
    conf
}

/// Item 3 in full: two users (kubepki's and openssl's requests), the tutorials' OU mistake,
/// and a system:masters request that the API server refuses.
fn tutorials_on_the_real_api_server(cp: &ControlPlane, dir: &Path) {
    let jane = certificates_api_flow(
        cp,
        dir,
        "jane",
        "/CN=jane/O=developers/O=oncall",
        Maker::Kubepki,
    );
    assert_eq!(
        whoami(&cp.kubectl_with(&["--kubeconfig", &jane])),
        (
            "jane".into(),
            strings(&["developers", "oncall", "system:authenticated"])
        )
    );
    let bob = certificates_api_flow(cp, dir, "bob", "/CN=bob/O=devops", Maker::Openssl);
    assert_eq!(
        whoami(&cp.kubectl_with(&["--kubeconfig", &bob])),
        ("bob".into(), strings(&["devops", "system:authenticated"]))
    );

    // The tutorials' `/CN=kube-admin/OU=system:masters`: kubepki warns that Kubernetes reads
    // groups from O only, and the API server bears it out.
    let warned = kubepki(
        dir,
        &[
            "key",
            "generate",
            "--algorithm",
            "ECDSA-P256",
            "--out",
            "ou.key",
        ],
    );
    succeeded("kubepki key generate", warned);
    let csr = kubepki(
        dir,
        &[
            "csr",
            "create",
            "--key",
            "ou.key",
            "--subject",
            "/CN=kube-admin/OU=system:masters",
            "--out",
            "ou.csr",
        ],
    );
    let warning = String::from_utf8_lossy(&csr.stderr).into_owned();
    succeeded("kubepki csr create (OU)", csr);
    assert!(warning.contains("OU"), "no warning about OU: {warning}");
    let ou = certificates_api_flow(
        cp,
        dir,
        "kube-admin",
        "/CN=kube-admin/OU=system:masters",
        Maker::Openssl,
    );
    let lead = ["--kubeconfig", ou.as_str()];
    let kube_admin = cp.kubectl_with(&lead);
    assert_eq!(
        whoami(&kube_admin),
        ("kube-admin".into(), strings(&["system:authenticated"]))
    );
    let denied = failed(
        "an OU=system:masters user lists nodes",
        kube_admin(&["get", "nodes"]),
    );
    assert!(denied.contains("Forbidden"), "{denied}");

    // O=system:masters through the Certificates API: refused at creation by the API server's
    // CertificateSubjectRestriction admission plugin.
    // kubepki refuses to write such a manifest, with the API server's words; the
    // tutorials' hand-written manifest (`base64 | tr -d '\n'`) shows the API server's.
    request(
        dir,
        "mallory",
        "/CN=mallory/O=system:masters",
        Maker::Openssl,
    );
    let ours = failed(
        "kubepki csr manifest for system:masters",
        kubepki(
            dir,
            &[
                "csr",
                "manifest",
                "--csr",
                "mallory.csr",
                "--name",
                "mallory",
            ],
        ),
    );
    assert!(
        ours.contains("system:masters group is not allowed"),
        "{ours}"
    );
    let encoded = succeeded(
        "base64",
        Command::new("sh")
            .current_dir(dir)
            .args(["-c", "base64 < mallory.csr | tr -d '\\n'"])
            .output()
            .expect("run base64"),
    );
    let manifest = dir.join("mallory.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: mallory\nspec:\n  request: {encoded}\n  signerName: kubernetes.io/kube-apiserver-client\n  usages:\n  - client auth\n"
        ),
    )
    .unwrap();
    let manifest = manifest.display().to_string();
    let refused = failed(
        "a system:masters CSR",
        cp.kubectl("admin.conf", &["apply", "-f", &manifest]),
    );
    assert!(
        refused.contains("system:masters group is not allowed"),
        "{refused}"
    );
}

/// A whole control plane on `kubepki init`'s tree with `algorithm`: boot, identities, the
/// tutorials' flow.
fn boot_and_prove(algorithm: &str) -> Option<(tempfile::TempDir, ControlPlane)> {
    let (dir, cp) = boot(algorithm, None, TEST_BUDGET)?;
    identities_as_kubeadm_gives_them(&cp);
    let users = dir.path().join("users");
    std::fs::create_dir(&users).unwrap();
    tutorials_on_the_real_api_server(&cp, &users);
    Some((dir, cp))
}

#[test]
fn ecdsa_p256_tree_runs_a_control_plane_and_renews() {
    let _machine = exclusive();
    let Some((dir, mut cp)) = boot_and_prove("ECDSA-P256") else {
        return;
    };

    // Item 4: renew everything, restart the three, and everything above still works.
    let before = std::fs::read(cp.tree.pki.join("apiserver.crt")).unwrap();
    let renewed = succeeded(
        "kubepki certs renew all",
        kubepki(
            dir.path(),
            &[
                "certs",
                "renew",
                "all",
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
            ],
        ),
    );
    assert!(renewed.contains("apiserver"), "{renewed}");
    assert_ne!(
        before,
        std::fs::read(cp.tree.pki.join("apiserver.crt")).unwrap()
    );
    cp.restart();
    identities_as_kubeadm_gives_them(&cp);
    let jane = dir.path().join("users/jane.conf").display().to_string();
    assert_eq!(whoami(&cp.kubectl_with(&["--kubeconfig", &jane])).0, "jane");

    // An API server certificate that has expired: kubectl refuses it, and check-expiration
    // says so with its exit status.
    succeeded(
        "kubepki certs renew apiserver with 1s of validity",
        kubepki(
            dir.path(),
            &[
                "certs",
                "renew",
                "apiserver",
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
                "--cert-validity",
                "1s",
            ],
        ),
    );
    std::thread::sleep(Duration::from_secs(2));
    cp.restart_apiserver_unverified();
    let refused = failed(
        "kubectl against an expired serving certificate",
        cp.kubectl("admin.conf", &["get", "nodes"]),
    );
    assert!(refused.contains("certificate has expired"), "{refused}");
    let check = kubepki(
        dir.path(),
        &[
            "certs",
            "check-expiration",
            "--cert-dir",
            "pki",
            "--kubeconfig-dir",
            ".",
        ],
    );
    let report = failed("check-expiration over an expired tree", check);
    assert!(report.contains("apiserver"), "{report}");
    cp.stop_and_check();
}

#[test]
fn rsa_2048_tree_runs_a_control_plane() {
    let _machine = exclusive();
    let Some((_dir, mut cp)) = boot_and_prove("RSA-2048") else {
        return;
    };
    cp.stop_and_check();
}
