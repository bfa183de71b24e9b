//! check-expiration on a tree made with a pinned clock, renewal, and the other commands'
//! library calls.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::{exercise_etcd, have, pinned, start_etcd, tree_at};
use kubepki_cluster::{
    ClusterError, ComponentOptions, Kubeconfig, RenewOptions, UserKubeconfigOptions,
    check_expiration, generate_csrs, init, issue_component, renew, user_kubeconfig,
};
use kubepki_csr::{Csr, San};
use kubepki_keys::KeyAlgorithm;
use kubepki_sign::{CertificateInfo, certificates_from_bytes};

const DAY: u64 = 86_400;

fn info(path: &std::path::Path) -> CertificateInfo {
    let der = certificates_from_bytes(&std::fs::read(path).unwrap())
        .unwrap()
        .remove(0);
    CertificateInfo::from_der(&der).unwrap()
}

#[test]
fn check_expiration_prints_kubeadms_tables_at_a_pinned_clock() {
    let tree = tree_at(pinned());
    std::fs::remove_file(tree.path("front-proxy-client.crt")).unwrap();
    let now = pinned() + Duration::from_secs(100 * DAY);
    let report = check_expiration(&tree.pki(), tree.dir.path(), now).unwrap();
    // kubeadm's tables are the CLI's to print (crates/cli/src/tables.rs pins them).
    let apiserver = report
        .certificates
        .iter()
        .find(|e| e.name == "apiserver")
        .unwrap();
    assert_eq!(
        apiserver.expiration_date.as_deref(),
        Some("2027-01-01T00:00:00Z")
    );
    assert_eq!(apiserver.residual_seconds, 265 * 86_400);
    assert!(
        report
            .expiring_within(now, Duration::from_secs(200 * DAY))
            .is_empty()
    );
    assert_eq!(
        report
            .expiring_within(now, Duration::from_secs(300 * DAY))
            .len(),
        10
    );
    let missing = report
        .certificates
        .iter()
        .find(|e| e.name == "front-proxy-client")
        .unwrap();
    assert!(missing.missing);
    std::fs::remove_file(tree.path("etcd/ca.key")).unwrap();
    let report = check_expiration(&tree.pki(), tree.dir.path(), now).unwrap();
    let peer = report
        .certificates
        .iter()
        .find(|e| e.name == "etcd-peer")
        .unwrap();
    assert!(peer.externally_managed);
    let later = pinned() + Duration::from_secs(400 * DAY);
    let report = check_expiration(&tree.pki(), tree.dir.path(), later).unwrap();
    assert!(report.certificates.iter().any(|e| e.residual_seconds < 0));
}

fn renew_options(tree: &common::Tree) -> RenewOptions {
    RenewOptions {
        cert_dir: tree.pki(),
        kubeconfig_dir: tree.dir.path().to_path_buf(),
        algorithm: None,
        validity: None,
        add_sans: Vec::new(),
        keep_old: None,
    }
}

#[test]
fn renew_changes_serial_and_key_keeps_subject_and_sans() {
    let tree = tree_at(pinned());
    let before = info(&tree.path("apiserver.crt"));
    let old_key = std::fs::read(tree.path("apiserver.key")).unwrap();
    let later = pinned() + Duration::from_secs(300 * DAY);
    let mut options = renew_options(&tree);
    options.add_sans = vec!["added.example.test".parse::<San>().unwrap()];
    let renewed = renew(&options, "apiserver", later).unwrap().renewed;
    // kube-apiserver reloads its serving certificate by itself.
    assert_eq!(renewed[0].restart_needed(), None);
    let after = info(&tree.path("apiserver.crt"));
    assert_ne!(before.serial, after.serial);
    assert_ne!(std::fs::read(tree.path("apiserver.key")).unwrap(), old_key);
    assert_eq!(before.subject, after.subject);
    assert_eq!(before.usages, after.usages);
    assert!(before.sans.iter().all(|s| after.sans.contains(s)));
    assert!(
        after
            .sans
            .contains(&"DNS:added.example.test".parse().unwrap())
    );
    assert_eq!(after.not_after, later + Duration::from_secs(365 * DAY));
    // The old pair is not left in the tree.
    assert!(!tree.path("apiserver.key.bak").exists());
    assert!(!tree.path("apiserver.crt.bak").exists());
    // The renewed tree still fits init.
    let report = init(&tree.options, later).unwrap();
    assert!(!report.is_incomplete());
}

#[test]
fn renew_all_covers_kubeconfigs_and_never_cas() {
    let tree = tree_at(pinned());
    let ca = std::fs::read(tree.path("ca.crt")).unwrap();
    let admin_before = std::fs::read_to_string(tree.conf("admin.conf")).unwrap();
    let renewed = renew(&renew_options(&tree), "all", pinned())
        .unwrap()
        .renewed;
    assert_eq!(renewed.len(), 11);
    assert_eq!(std::fs::read(tree.path("ca.crt")).unwrap(), ca);
    let admin_after = std::fs::read_to_string(tree.conf("admin.conf")).unwrap();
    assert_ne!(admin_before, admin_after);
    assert!(!tree.conf("admin.conf.bak").exists());
    let config = Kubeconfig::from_yaml(&admin_after).unwrap();
    assert_eq!(config.current_context, "kubernetes-admin@kubernetes");
    init(&tree.options, pinned()).unwrap();
    assert!(matches!(
        renew(&renew_options(&tree), "ca", pinned()),
        Err(ClusterError::CaNotRenewed { .. })
    ));
    assert!(matches!(
        renew(&renew_options(&tree), "nope", pinned()),
        Err(ClusterError::UnknownCertificate { .. })
    ));
}

#[test]
fn renew_with_an_external_ca_renews_the_rest_and_says_what_it_skipped() {
    let tree = tree_at(pinned());
    std::fs::remove_file(tree.path("front-proxy-ca.key")).unwrap();
    let before = std::fs::read(tree.path("front-proxy-client.crt")).unwrap();
    let report = renew(&renew_options(&tree), "front-proxy-client", pinned()).unwrap();
    assert!(report.renewed.is_empty());
    assert_eq!(report.skipped[0].name, "front-proxy-client");
    assert_eq!(report.skipped[0].ca, "front-proxy-ca");
    let report = renew(&renew_options(&tree), "all", pinned()).unwrap();
    assert_eq!(report.renewed.len(), 10);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(
        std::fs::read(tree.path("front-proxy-client.crt")).unwrap(),
        before
    );
    // A failure half-way names what was already renewed.
    std::fs::write(tree.path("etcd/peer.crt"), "not a certificate").unwrap();
    let err = renew(&renew_options(&tree), "all", pinned()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ClusterError::RenewIncomplete { ref at, .. } if at == "etcd-peer"),
        "{text}"
    );
    assert!(text.contains("already renewed: apiserver"), "{text}");
}

#[test]
fn renewing_a_kubeconfig_keeps_what_it_does_not_own() {
    let tree = tree_at(pinned());
    let path = tree.conf("admin.conf");
    let ours = Kubeconfig::from_yaml(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (cluster, user) = ours.current().unwrap();
    // An admin's hand-edited admin.conf: fields kubepki does not model, a second user with
    // exec credentials, a namespace, extensions.
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: https://127.0.0.1:6443
    tls-server-name: api.example.test
    proxy-url: socks5://127.0.0.1:1080
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {{audience: kubepki}}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
    namespace: team-a
  name: kubernetes-admin@kubernetes
- context:
    cluster: kubernetes
    user: oidc
  name: oidc@kubernetes
current-context: kubernetes-admin@kubernetes
preferences:
  colors: true
users:
- name: kubernetes-admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
    token: also-here
- name: oidc
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kubelogin
      args: [get-token]
x-custom-field: kept
",
        ca = cluster.certificate_authority_data,
        cert = user.client_certificate_data,
        key = user.client_key_data,
    );
    std::fs::write(&path, &text).unwrap();
    renew(&renew_options(&tree), "admin.conf", pinned()).unwrap();
    let after: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut before: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let new_user = &after["users"][0]["user"];
    assert_ne!(
        new_user["client-certificate-data"],
        before["users"][0]["user"]["client-certificate-data"]
    );
    assert_ne!(
        new_user["client-key-data"],
        before["users"][0]["user"]["client-key-data"]
    );
    // Apart from the renewed certificate and key, the document is the same, key for key.
    before["users"][0]["user"]["client-certificate-data"] =
        new_user["client-certificate-data"].clone();
    before["users"][0]["user"]["client-key-data"] = new_user["client-key-data"].clone();
    assert_eq!(after, before);
}

#[test]
fn renewed_etcd_certificates_still_run_etcd() {
    if !have("etcd") || !have("etcdctl") {
        return;
    }
    let now = SystemTime::now();
    let tree = tree_at(now);
    let foreign = tree_at(now);
    renew(&renew_options(&tree), "all", now).unwrap();
    let (guard, endpoint) = start_etcd(&tree.pki(), &tree.dir.path().join("etcd-data"));
    exercise_etcd(&tree.pki(), &endpoint, &foreign.pki());
    drop(guard);
}

#[test]
fn user_kubeconfig_component_certs_and_csrs() {
    let tree = tree_at(pinned());
    let user = UserKubeconfigOptions {
        cert_dir: tree.pki(),
        cluster_name: "kubernetes".to_owned(),
        server: "https://127.0.0.1:6443".to_owned(),
        client_name: "jane".to_owned(),
        groups: vec!["devs".to_owned()],
        validity: Duration::from_secs(DAY),
        algorithm: KeyAlgorithm::EcdsaP256,
    };
    let text = user_kubeconfig(&user, None, pinned()).unwrap();
    let config = Kubeconfig::from_yaml(&text).unwrap();
    assert_eq!(config.current_context, "jane@kubernetes");
    let out = tree.dir.path().join("components");
    for kind in ["kube-proxy", "kubelet-client", "kubelet-serving"] {
        let component = ComponentOptions {
            cert_dir: tree.pki(),
            out_dir: out.clone(),
            kind: kind.to_owned(),
            node_name: "worker-1".to_owned(),
            address: Some("10.0.0.21".parse().unwrap()),
            algorithm: KeyAlgorithm::EcdsaP256,
            validity: None,
        };
        let path = issue_component(&component, None, pinned()).unwrap();
        let cert = info(&path);
        match kind {
            "kube-proxy" => assert_eq!(cert.subject.common_name(), Some("system:kube-proxy")),
            _ => assert_eq!(cert.subject.common_name(), Some("system:node:worker-1")),
        }
    }
    let again = ComponentOptions {
        cert_dir: tree.pki(),
        out_dir: out.clone(),
        kind: "kube-proxy".to_owned(),
        node_name: "w".to_owned(),
        address: None,
        algorithm: KeyAlgorithm::EcdsaP256,
        validity: None,
    };
    assert!(matches!(
        issue_component(&again, None, pinned()),
        Err(ClusterError::Fs(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let options = common::options(dir.path());
    // Without the cluster CA certificate the kubeconfig files would lack their CA data:
    // refused, and nothing written.
    match generate_csrs(&options) {
        Err(e @ ClusterError::NoCaCertificate { .. }) => {
            assert!(e.to_string().contains("ca.crt"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir.path().join("pki").exists());
    std::fs::create_dir(dir.path().join("pki")).unwrap();
    std::fs::copy(tree.path("ca.crt"), dir.path().join("pki/ca.crt")).unwrap();
    let csrs = generate_csrs(&options).unwrap();
    assert_eq!(csrs.len(), 12);
    let api =
        Csr::from_bytes(&std::fs::read(dir.path().join("pki/apiserver.csr")).unwrap()).unwrap();
    assert!(api.sans().contains(&"IP:10.96.0.1".parse().unwrap()));
    assert!(dir.path().join("pki/etcd/server.key").exists());
    assert!(dir.path().join("admin.conf.csr").exists());
    let admin =
        Kubeconfig::from_yaml(&std::fs::read_to_string(dir.path().join("admin.conf")).unwrap())
            .unwrap();
    assert_eq!(
        kubepki_cluster::decode_data(&admin.current().unwrap().0.certificate_authority_data),
        Some(std::fs::read(tree.path("ca.crt")).unwrap())
    );
}

#[test]
fn check_expiration_reports_broken_kubeconfig_data_as_broken_not_missing() {
    let tree = tree_at(pinned());
    let path = tree.conf("admin.conf");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken: Vec<String> = text
        .lines()
        .map(|line| match line.split_once("client-certificate-data: ") {
            Some((indent, _)) => format!("{indent}client-certificate-data: not~base64"),
            None => line.to_owned(),
        })
        .collect();
    std::fs::write(&path, broken.join("\n")).unwrap();
    match check_expiration(&tree.pki(), tree.dir.path(), pinned()) {
        Err(e @ ClusterError::KubeconfigField { .. }) => {
            let message = e.to_string();
            assert!(message.contains("admin.conf"), "{message}");
            assert!(message.contains("client-certificate-data"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
