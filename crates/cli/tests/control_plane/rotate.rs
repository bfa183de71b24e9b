//! `kubepki ca rotate` of `all` on a running control plane (one etcd, one kube-apiserver,
//! kube-controller-manager): after each phase the whole control plane is restarted with the
//! plan's flags (kube-controller-manager's `--cluster-signing-cert-file`, kubeadm#1350),
//! and etcd answers the healthcheck client, kube-apiserver serves `admin.conf` as the phase
//! rewrote it, kube-controller-manager leads and signs a CSR with the phase's signing CA
//! (the old one after start, the new one after promote and finish); the front-proxy client
//! makes kube-apiserver see `X-Remote-User`, and the old front-proxy client does until
//! finish, not after; etcd answers the old healthcheck client until finish, not after; the
//! real `kubeadm certs check-expiration` reads the finished tree as kubepki does;
//! `--kubeconfig` keeps kube-public/cluster-info's CA data equal to ca.crt at each phase. A
//! kubeconfig taken after start (old client
//! certificate, both CAs) and a ServiceAccount token issued before the rotation work until
//! finish and are refused after it; so is the kubeconfig from before the rotation, which
//! trusts only the old CA: the API server sends the new CA cross-signed by the old one
//! from promote to finish.
//! Restarts are of the whole control plane, not the zero-downtime rolling restart of two
//! API servers under load.

use std::path::Path;
use std::process::Output;

use base64ct::{Base64, Encoding};

use crate::cluster::token_kubeconfig;
use crate::common::{failed, kubepki, succeeded};
use crate::harness::{Budget, ControlPlane, Ports, exclusive, peers};
use crate::kubeadm::{kubeadm_config, run, same_expiration_report};
use crate::{Maker, NODE, TEST_BUDGET, kubepki_init, manifest, request, whoami};

pub(crate) fn rotate(dir: &Path, phase: &str, extra: &[&str]) -> serde_json::Value {
    let args = [
        &[
            "ca",
            "rotate",
            phase,
            "--cert-dir",
            "pki",
            "--kubeconfig-dir",
            ".",
        ][..],
        extra,
        &["-o", "json"],
    ]
    .concat();
    let out = succeeded(&format!("kubepki ca rotate {phase}"), kubepki(dir, &args));
    serde_json::from_str(&out).unwrap()
}

/// The `--cluster-signing-cert-file` the plan gives kube-controller-manager.
fn signing_cert(report: &serde_json::Value) -> Option<String> {
    report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["component"] == "kube-controller-manager")
        .flat_map(|s| s["flags"].as_array().unwrap().iter())
        .find(|f| f["flag"] == "--cluster-signing-cert-file")
        .map(|f| f["value"].as_str().unwrap().to_owned())
}

/// kubectl with the kubeconfig file `conf`.
fn as_conf<'a>(cp: &'a ControlPlane, conf: &Path) -> impl Fn(&[&str]) -> Output + 'a {
    let conf = conf.display().to_string();
    move |args| cp.kubectl_with(&["--kubeconfig", &conf])(args)
}

/// A CSR made, applied, approved and signed by kube-controller-manager; returns the path of
/// the certificate it issued.
pub(crate) fn signed_by_kcm(cp: &ControlPlane, dir: &Path, name: &str) -> std::path::PathBuf {
    let admin = |args: &[&str]| cp.kubectl("super-admin.conf", args);
    request(dir, name, &format!("/CN={name}/O=dev"), Maker::Kubepki);
    let manifest = manifest(dir, name);
    succeeded("kubectl apply", admin(&["apply", "-f", &manifest]));
    succeeded(
        "kubectl certificate approve",
        admin(&["certificate", "approve", name]),
    );
    let issued = cp.budget.wait_for(
        "kube-controller-manager to sign",
        std::time::Duration::from_secs(60),
        || {
            let out = admin(&["get", "csr", name, "-o", "jsonpath={.status.certificate}"]);
            crate::harness::passed(&out, |text| !text.is_empty())
        },
    );
    let pem = kubepki::cluster::decode_data(&issued).expect("status.certificate is base64");
    let crt = dir.join(format!("{name}.crt"));
    std::fs::write(&crt, pem).unwrap();
    crt
}

/// Asserts `cert` chains to `ca` and not to `not`, with openssl.
pub(crate) fn issued_by(cert: &Path, ca: &Path, not: &Path) {
    use kubepki_test_support::openssl_verifies;
    assert!(
        openssl_verifies(ca, cert, &[]),
        "{} not by {}",
        cert.display(),
        ca.display()
    );
    assert!(
        !openssl_verifies(not, cert, &[]),
        "{} by {}",
        cert.display(),
        not.display()
    );
}

/// The user kube-apiserver sees for a front-proxy request (client certificate `cert` and
/// `X-Remote-User: alice`), from a SelfSubjectReview through curl; `Err(body)` when the
/// response names no user.
fn front_proxy_review(cp: &ControlPlane, cert: &Path, key: &Path) -> Result<String, String> {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(cp.tree.pki.join("ca.crt"))
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .args(["-H", "X-Remote-User: alice", "-H", "X-Remote-Group: dev"])
        .args(["-H", "Content-Type: application/json", "-X", "POST", "-d"])
        .arg(r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#)
        .arg(format!(
            "{}/apis/authentication.k8s.io/v1/selfsubjectreviews",
            cp.server()
        ))
        .output()
        .expect("run curl");
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v["status"]["userInfo"]["username"]
                .as_str()
                .map(str::to_owned)
        })
        .ok_or(body)
}

/// etcd's answer to `endpoint health` with the client pair `cert`, `key` (under pki).
fn etcd_health(cp: &ControlPlane, cert: &str, key: &str) -> Output {
    let endpoint = format!("https://127.0.0.1:{}", cp.ports.etcd_client);
    cp.etcdctl(&endpoint, cert, key, &["endpoint", "health"])
}

/// The CA data of kube-public/cluster-info is the tree's ca.crt.
fn assert_cluster_info_is_ca_crt(cp: &ControlPlane) {
    let text = succeeded(
        "kubectl get configmap cluster-info",
        cp.kubectl(
            "super-admin.conf",
            &[
                "-n",
                "kube-public",
                "get",
                "configmap",
                "cluster-info",
                "-o",
                "jsonpath={.data.kubeconfig}",
            ],
        ),
    );
    let config: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let data = config["clusters"][0]["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap();
    assert_eq!(
        Base64::decode_vec(data).unwrap(),
        std::fs::read(cp.tree.pki.join("ca.crt")).unwrap(),
        "cluster-info's CA data is not ca.crt"
    );
    assert!(config["clusters"][0]["cluster"]["server"] == cp.server().as_str());
}

#[test]
fn a_rotation_of_all_keeps_a_restarted_control_plane_serving() {
    let _machine = exclusive();
    let Some(bin) = peers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::pick();
    let tree = kubepki_init(dir.path(), "ECDSA-P256", ports, "127.0.0.1");
    let work = dir.path().join("run");
    std::fs::create_dir(&work).unwrap();
    let mut cp = ControlPlane::new(&bin, tree, ports, &work, NODE, Budget::of(TEST_BUDGET));
    cp.start();
    // What exists before the rotation: admin.conf as init wrote it, a ServiceAccount token.
    let before = work.join("admin-before.conf");
    std::fs::copy(cp.tree.conf("admin.conf"), &before).unwrap();
    succeeded(
        "kubectl create serviceaccount",
        cp.kubectl(
            "super-admin.conf",
            &["create", "serviceaccount", "rotation-probe"],
        ),
    );
    let token = succeeded(
        "kubectl create token",
        cp.kubectl(
            "super-admin.conf",
            &["create", "token", "rotation-probe", "--duration=2h"],
        ),
    );
    // The front-proxy and etcd client pairs of the old CAs, kept for after finish.
    let pki = cp.tree.pki.clone();
    for (from, to) in [
        ("front-proxy-client", "old-front-proxy-client"),
        ("etcd/healthcheck-client", "old-healthcheck-client"),
    ] {
        for ext in ["crt", "key"] {
            std::fs::copy(
                pki.join(format!("{from}.{ext}")),
                pki.join(format!("{to}.{ext}")),
            )
            .unwrap();
        }
    }
    let (fp_crt, fp_key) = (
        pki.join("front-proxy-client.crt"),
        pki.join("front-proxy-client.key"),
    );
    let (old_fp_crt, old_fp_key) = (
        pki.join("old-front-proxy-client.crt"),
        pki.join("old-front-proxy-client.key"),
    );
    assert_eq!(
        front_proxy_review(&cp, &fp_crt, &fp_key).as_deref(),
        Ok("alice")
    );
    // kube-public/cluster-info as kubeadm publishes it (bootstrap-token joins read it).
    let super_admin = cp.tree.conf("super-admin.conf").display().to_string();
    let info = work.join("cluster-info.conf");
    std::fs::write(
        &info,
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n",
            Base64::encode_string(&std::fs::read(pki.join("ca.crt")).unwrap()),
            cp.server()
        ),
    )
    .unwrap();
    succeeded(
        "kubectl create configmap cluster-info",
        cp.kubectl(
            "super-admin.conf",
            &[
                "-n",
                "kube-public",
                "create",
                "configmap",
                "cluster-info",
                &format!("--from-file=kubeconfig={}", info.display()),
            ],
        ),
    );
    let token_conf = work.join("token.conf");
    token_kubeconfig(&cp, &token_conf, "rotation-probe", token.trim());
    let sa_user = "system:serviceaccount:default:rotation-probe";

    // kube-controller-manager has published the old CA as kube-root-ca.crt.
    cp.budget.wait_for(
        "kube-root-ca.crt in the default namespace",
        std::time::Duration::from_secs(60),
        || {
            let out = cp.kubectl(
                "super-admin.conf",
                &["get", "configmap", "kube-root-ca.crt", "-o", "name"],
            );
            crate::harness::passed(&out, |_| true)
        },
    );
    // start: trust holds both; everything still issued by the old CAs.
    let report = rotate(dir.path(), "start", &["--kubeconfig", &super_admin]);
    assert_cluster_info_is_ca_crt(&cp);
    cp.signing_cert = signing_cert(&report);
    assert!(
        cp.signing_cert
            .as_deref()
            .unwrap()
            .ends_with("rotation/ca/signing.crt")
    );
    // kube-root-ca.crt (what pods trust) does not carry the bundle until kube-controller-
    // manager, restarted with it, publishes it; each phase run says which namespaces lag.
    let root_ca = |phase: &str| {
        let out = kubepki(
            dir.path(),
            &[
                "ca",
                "rotate",
                phase,
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
                "--kubeconfig",
                &super_admin,
            ],
        );
        succeeded("kubepki ca rotate (rerun)", out.clone());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let lagging = root_ca("start");
    assert!(
        lagging.contains("kube-root-ca.crt carries") && lagging.contains("not yet in"),
        "{lagging}"
    );
    cp.restart();
    cp.budget.wait_for(
        "kube-root-ca.crt to carry both CAs everywhere",
        std::time::Duration::from_secs(60),
        || {
            let said = root_ca("start");
            if said.contains("in all") {
                Ok(())
            } else {
                Err(said)
            }
        },
    );
    let started = work.join("admin-started.conf");
    std::fs::copy(cp.tree.conf("admin.conf"), &started).unwrap();
    for conf in [&before, &started] {
        assert_eq!(whoami(&as_conf(&cp, conf)).0, "kubernetes-admin");
    }
    assert_eq!(whoami(&as_conf(&cp, &token_conf)).0, sa_user);
    let rotation = cp.tree.pki.join("rotation/ca");
    // kube-controller-manager signs with the one-certificate file: the old CA still.
    let csr = signed_by_kcm(&cp, &work, "csr-started");
    issued_by(
        &csr,
        &rotation.join("signing.crt"),
        &rotation.join("new.crt"),
    );

    // promote: everything reissued by the new CAs, which sign; both still trusted.
    let report = rotate(dir.path(), "promote", &["--kubeconfig", &super_admin]);
    assert_cluster_info_is_ca_crt(&cp);
    cp.signing_cert = signing_cert(&report);
    cp.restart();
    assert_eq!(
        whoami(&as_conf(&cp, &cp.tree.conf("admin.conf"))).0,
        "kubernetes-admin"
    );
    assert_eq!(whoami(&as_conf(&cp, &started)).0, "kubernetes-admin");
    assert_eq!(whoami(&as_conf(&cp, &token_conf)).0, sa_user);
    // A kubeconfig that trusts only the old CA still trusts the API server: it sends the new
    // CA cross-signed by the old one after its certificate.
    assert_eq!(whoami(&as_conf(&cp, &before)).0, "kubernetes-admin");
    for (cert, key) in [(&fp_crt, &fp_key), (&old_fp_crt, &old_fp_key)] {
        assert_eq!(front_proxy_review(&cp, cert, key).as_deref(), Ok("alice"));
    }
    succeeded(
        "etcd health with the old healthcheck client after promote",
        etcd_health(
            &cp,
            "old-healthcheck-client.crt",
            "old-healthcheck-client.key",
        ),
    );
    let csr = signed_by_kcm(&cp, &work, "csr-promoted");
    issued_by(
        &csr,
        &rotation.join("signing.crt"),
        &rotation.join("old.crt"),
    );

    // finish: the old CAs and the old service-account key are trusted nowhere.
    let report = rotate(
        dir.path(),
        "finish",
        &["--token-lifetime", "0s", "--kubeconfig", &super_admin],
    );
    assert_cluster_info_is_ca_crt(&cp);
    cp.signing_cert = signing_cert(&report);
    cp.restart();
    assert_eq!(
        whoami(&as_conf(&cp, &cp.tree.conf("admin.conf"))).0,
        "kubernetes-admin"
    );
    let old_cert = failed(
        "the old CA's client certificate after finish",
        as_conf(&cp, &started)(&["auth", "whoami"]),
    );
    assert!(old_cert.contains("Unauthorized"), "{old_cert}");
    // The kubeconfig from before the rotation: no path to its CA any more (and its client
    // certificate is the old CA's).
    let refused = failed(
        "the pre-rotation admin.conf after finish",
        as_conf(&cp, &before)(&["auth", "whoami"]),
    );
    assert!(refused.contains("certificate"), "{refused}");
    let old_token = failed(
        "the old key's token after finish",
        as_conf(&cp, &token_conf)(&["auth", "whoami"]),
    );
    assert!(old_token.contains("Unauthorized"), "{old_token}");
    assert_eq!(
        front_proxy_review(&cp, &fp_crt, &fp_key).as_deref(),
        Ok("alice")
    );
    // Not the front proxy any more: the request is not alice's (anonymous, or refused).
    let old = front_proxy_review(&cp, &old_fp_crt, &old_fp_key);
    assert_ne!(
        old.as_deref(),
        Ok("alice"),
        "the old front-proxy client still accepted"
    );
    succeeded(
        "etcd health with the new healthcheck client",
        etcd_health(
            &cp,
            "etcd/healthcheck-client.crt",
            "etcd/healthcheck-client.key",
        ),
    );
    failed(
        "etcd health with the old healthcheck client after finish",
        etcd_health(
            &cp,
            "old-healthcheck-client.crt",
            "old-healthcheck-client.key",
        ),
    );
    // The real kubeadm reads the finished tree and says what kubepki says of it.
    let version = succeeded(
        "kubeadm version",
        run(&bin, "kubeadm", &["version", "-o", "short"]),
    );
    let config = work.join("kubeadm.yaml");
    kubeadm_config(
        &config,
        &cp.tree.pki,
        ports.apiserver,
        version.trim(),
        "ECDSA-P256",
    );
    same_expiration_report(&bin, &config, &cp.tree);
    let csr = signed_by_kcm(&cp, &work, "csr-finished");
    issued_by(&csr, &cp.tree.pki.join("ca.crt"), &rotation.join("old.crt"));
    cp.stop_and_check();
}

/// The static-pod manifests the real `kubeadm init phase control-plane all` writes for
/// `config`, copied to `out` (kubeadm writes /etc/kubernetes/manifests only: it runs in a
/// private mount namespace where /etc is a tmpfs).
fn kubeadm_manifests(bin: &Path, config: &Path, out: &Path) {
    let script = format!(
        "set -e; mount -t tmpfs kubepki-test /etc; mkdir -p /etc/kubernetes; \
         '{}' init phase control-plane all --config '{}'; cp -r /etc/kubernetes/manifests '{}'",
        bin.join("kubeadm").display(),
        config.display(),
        out.display()
    );
    succeeded(
        "kubeadm init phase control-plane all",
        std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .output()
            .expect("run unshare"),
    );
}

#[test]
fn manifests_dir_edits_the_signing_flag_of_kubeadms_own_manifests() {
    let Some(bin) = peers() else {
        return;
    };
    let version = succeeded(
        "kubeadm version",
        run(&bin, "kubeadm", &["version", "-o", "short"]),
    );
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::pick();
    let tree = kubepki_init(dir.path(), "ECDSA-P256", ports, "127.0.0.1");
    let config = dir.path().join("kubeadm.yaml");
    kubeadm_config(
        &config,
        &tree.pki,
        ports.apiserver,
        version.trim(),
        "ECDSA-P256",
    );
    let manifests = dir.path().join("manifests");
    kubeadm_manifests(&bin, &config, &manifests);
    let read = |name: &str| std::fs::read_to_string(manifests.join(name)).unwrap();
    let (kcm, apiserver) = (
        read("kube-controller-manager.yaml"),
        read("kube-apiserver.yaml"),
    );
    let flag = "--cluster-signing-cert-file";
    assert!(
        kcm.contains(&format!("- {flag}={}", tree.pki("ca.crt"))),
        "{kcm}"
    );
    let phase = |phase: &str, extra: &[&str]| {
        rotate(
            dir.path(),
            phase,
            &[&["--manifests-dir", "manifests"][..], extra].concat(),
        )
    };
    let edited = |report: &serde_json::Value| -> Vec<String> {
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["action"] == "edit")
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };

    // start: one line of kube-controller-manager.yaml changes, nothing else.
    let report = phase("start", &[]);
    assert_eq!(
        edited(&report),
        [manifests
            .join("kube-controller-manager.yaml")
            .display()
            .to_string()]
    );
    let started = read("kube-controller-manager.yaml");
    let changed: Vec<(&str, &str)> = kcm
        .lines()
        .zip(started.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(kcm.lines().count(), started.lines().count());
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0]
            .1
            .ends_with(&format!("- {flag}={}", tree.pki("rotation/ca/signing.crt"))),
        "{changed:?}"
    );
    let yaml: serde_json::Value = serde_saphyr::from_str(&started).expect("YAML");
    let command = yaml["spec"]["containers"][0]["command"].as_array().unwrap();
    assert!(
        command
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("rotation/ca/signing.crt"))
    );
    assert_eq!(read("kube-apiserver.yaml"), apiserver);
    // A rerun and promote leave the manifest as it is.
    assert!(edited(&phase("start", &[])).is_empty());
    assert!(edited(&phase("promote", &[])).is_empty());
    assert_eq!(read("kube-controller-manager.yaml"), started);
    // finish: back to ca.crt, the manifest as kubeadm wrote it.
    let report = phase("finish", &["--token-lifetime", "0s"]);
    assert_eq!(edited(&report).len(), 1);
    assert_eq!(read("kube-controller-manager.yaml"), kcm);
}
