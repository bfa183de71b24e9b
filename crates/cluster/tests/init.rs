//! `init`: layout, modes, formats, contents, idempotency and every refusal.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{options, pinned, tree_at};
use kubepki_cluster::{
    Action, ClusterError, GroupsCompat, Kubeconfig, Misfit, UserEntry, decode_data, init,
};
use kubepki_csr::San;
use kubepki_sign::{CertificateInfo, certificates_from_bytes};

fn info(path: &std::path::Path) -> CertificateInfo {
    let der = certificates_from_bytes(&std::fs::read(path).unwrap())
        .unwrap()
        .remove(0);
    CertificateInfo::from_der(&der).unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const CERTS: &[&str] = &[
    "ca",
    "apiserver",
    "apiserver-kubelet-client",
    "apiserver-etcd-client",
    "front-proxy-ca",
    "front-proxy-client",
    "etcd/ca",
    "etcd/server",
    "etcd/peer",
    "etcd/healthcheck-client",
];
const CONFS: &[&str] = &[
    "admin.conf",
    "super-admin.conf",
    "controller-manager.conf",
    "scheduler.conf",
    "kubelet.conf",
];

#[test]
fn writes_kubeadms_tree_with_modes_and_formats() {
    let tree = tree_at(pinned());
    for base in CERTS {
        let crt = tree.path(&format!("{base}.crt"));
        let key = tree.path(&format!("{base}.key"));
        assert_eq!(mode(&crt), 0o644, "{base}.crt");
        assert_eq!(mode(&key), 0o600, "{base}.key");
        let key_text = std::fs::read_to_string(&key).unwrap();
        assert!(
            key_text.starts_with("-----BEGIN EC PRIVATE KEY-----"),
            "{base}.key"
        );
    }
    assert_eq!(mode(&tree.path("sa.key")), 0o600);
    // kubeadm's modes (client-go's keyutil and cert writers): sa.pub 0600, folders 0755.
    assert_eq!(mode(&tree.path("sa.pub")), 0o600);
    assert!(
        std::fs::read_to_string(tree.path("sa.pub"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_eq!(mode(&tree.pki()), 0o755);
    assert_eq!(mode(&tree.path("etcd")), 0o755);
    for conf in CONFS {
        assert_eq!(mode(&tree.conf(conf)), 0o600, "{conf}");
    }
}

#[test]
fn subjects_sans_and_lifetimes_are_kubeadms() {
    let tree = tree_at(pinned());
    let api = info(&tree.path("apiserver.crt"));
    assert_eq!(api.subject.common_name(), Some("kube-apiserver"));
    for san in [
        "DNS:cp-1",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
        "IP:10.96.0.1",
        "IP:127.0.0.1",
        "DNS:api.example.test",
        "IP:10.0.0.7",
    ] {
        let san: San = san.parse().unwrap();
        assert!(api.sans.contains(&san), "apiserver lacks {san}");
    }
    let year = Duration::from_secs(365 * 86_400);
    assert_eq!(api.not_after, pinned() + year);
    let ca = info(&tree.path("ca.crt"));
    assert!(ca.is_ca);
    assert_eq!(ca.subject.common_name(), Some("kubernetes"));
    assert_eq!(ca.not_after, pinned() + year * 10);
    let etcd = info(&tree.path("etcd/server.crt"));
    assert_eq!(etcd.subject.common_name(), Some("cp-1"));
    assert!(etcd.sans.contains(&"DNS:localhost".parse().unwrap()));
    assert!(etcd.sans.contains(&"IP:::1".parse().unwrap()));
    let admin =
        Kubeconfig::from_yaml(&std::fs::read_to_string(tree.conf("admin.conf")).unwrap()).unwrap();
    assert_eq!(admin.current_context, "kubernetes-admin@kubernetes");
    let (cluster, user) = admin.current().unwrap();
    assert_eq!(cluster.server, "https://127.0.0.1:6443");
    let cert = certificates_from_bytes(&decode_data(&user.client_certificate_data).unwrap())
        .unwrap()
        .remove(0);
    let cert = CertificateInfo::from_der(&cert).unwrap();
    assert_eq!(cert.subject.organizations(), vec!["kubeadm:cluster-admins"]);
    let kubelet =
        Kubeconfig::from_yaml(&std::fs::read_to_string(tree.conf("kubelet.conf")).unwrap())
            .unwrap();
    assert_eq!(kubelet.current_context, "system:node:cp-1@kubernetes");
}

#[test]
fn second_run_keeps_everything_and_changes_nothing() {
    let tree = tree_at(pinned());
    let before = std::fs::read(tree.path("apiserver.crt")).unwrap();
    let report = init(&tree.options, pinned() + Duration::from_secs(3600)).unwrap();
    assert!(
        report.entries.iter().all(|e| e.action == Action::Kept),
        "{report:?}"
    );
    assert_eq!(std::fs::read(tree.path("apiserver.crt")).unwrap(), before);
}

#[test]
fn missing_leaf_is_recreated_and_ca_kept() {
    let tree = tree_at(pinned());
    let ca = std::fs::read(tree.path("ca.crt")).unwrap();
    std::fs::remove_file(tree.path("apiserver.crt")).unwrap();
    std::fs::remove_file(tree.path("apiserver.key")).unwrap();
    std::fs::remove_file(tree.conf("admin.conf")).unwrap();
    let report = init(&tree.options, pinned()).unwrap();
    let written: Vec<_> = report
        .with(&Action::Written)
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(written, vec!["apiserver", "admin.conf"]);
    assert_eq!(std::fs::read(tree.path("ca.crt")).unwrap(), ca);
}

#[test]
fn a_new_required_san_is_a_misfit_naming_it() {
    let tree = tree_at(pinned());
    let mut options = tree.options.clone();
    options
        .apiserver_cert_extra_sans
        .push("new.example.test".into());
    match init(&options, pinned()) {
        Err(ClusterError::Misfit {
            path,
            reason: Misfit::MissingSan { san },
        }) => {
            assert!(path.ends_with("apiserver.crt"));
            assert_eq!(san, "DNS:new.example.test");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_leaf_from_another_ca_is_a_misfit() {
    let tree = tree_at(pinned());
    let other = tree_at(pinned());
    for f in ["front-proxy-client.crt", "front-proxy-client.key"] {
        std::fs::copy(other.path(f), tree.path(f)).unwrap();
    }
    match init(&tree.options, pinned()) {
        Err(ClusterError::Misfit {
            path,
            reason: Misfit::NotSignedBy { ca },
        }) => {
            assert!(path.ends_with("front-proxy-client.crt"));
            assert_eq!(ca, "front-proxy-ca");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wrong_key_is_a_misfit() {
    let tree = tree_at(pinned());
    std::fs::copy(tree.path("etcd/peer.key"), tree.path("etcd/server.key")).unwrap();
    match init(&tree.options, pinned()) {
        Err(ClusterError::Misfit {
            path,
            reason: Misfit::WrongKey,
        }) => assert!(path.ends_with("etcd/server.crt")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_expired_leaf_is_a_misfit() {
    let tree = tree_at(pinned());
    match init(&tree.options, pinned() + Duration::from_secs(366 * 86_400)) {
        Err(ClusterError::Misfit {
            reason: Misfit::Expired { .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_kubeconfig_for_another_server_is_kept_with_a_warning_as_kubeadm() {
    let tree = tree_at(pinned());
    let mut options = tree.options.clone();
    options.control_plane_endpoint = Some("lb.example.test:8443".into());
    options
        .apiserver_cert_extra_sans
        .push("lb.example.test".into());
    std::fs::remove_file(tree.path("apiserver.crt")).unwrap();
    std::fs::remove_file(tree.path("apiserver.key")).unwrap();
    let before = std::fs::read(tree.conf("admin.conf")).unwrap();
    let report = init(&options, pinned()).unwrap();
    assert_eq!(std::fs::read(tree.conf("admin.conf")).unwrap(), before);
    let warning = report
        .warnings
        .iter()
        .find(|w| w.contains("admin.conf"))
        .unwrap_or_else(|| panic!("{:?}", report.warnings));
    assert!(
        warning.contains("https://127.0.0.1:6443")
            && warning.contains("https://lb.example.test:8443"),
        "{warning}"
    );
}

#[test]
fn a_kubelet_conf_after_kubelet_finalize_is_accepted() {
    // kubeadm's kubelet-finalize phase points kubelet.conf at the kubelet's rotated
    // certificate file instead of embedding it.
    let tree = tree_at(pinned());
    let conf = tree.conf("kubelet.conf");
    let config = Kubeconfig::from_yaml(&std::fs::read_to_string(&conf).unwrap()).unwrap();
    let user = &config.users[0].user;
    let mut pem = decode_data(&user.client_certificate_data).unwrap();
    pem.extend(decode_data(&user.client_key_data).unwrap());
    let current = tree.dir.path().join("kubelet-client-current.pem");
    std::fs::write(&current, &pem).unwrap();
    let mut finalized = config.clone();
    finalized.users[0].user = UserEntry {
        client_certificate: current.display().to_string(),
        client_key: current.display().to_string(),
        ..UserEntry::default()
    };
    std::fs::write(&conf, finalized.to_yaml().unwrap()).unwrap();
    let report = init(&tree.options, pinned()).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // On another machine the file is not there: kept, with a warning.
    std::fs::remove_file(&current).unwrap();
    let report = init(&tree.options, pinned()).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("kubelet-client-current.pem")),
        "{:?}",
        report.warnings
    );
    // A file of another cluster is refused.
    let other = tree_at(pinned());
    let theirs =
        Kubeconfig::from_yaml(&std::fs::read_to_string(other.conf("kubelet.conf")).unwrap())
            .unwrap();
    let mut pem = decode_data(&theirs.users[0].user.client_certificate_data).unwrap();
    pem.extend(decode_data(&theirs.users[0].user.client_key_data).unwrap());
    std::fs::write(&current, &pem).unwrap();
    assert!(matches!(
        init(&tree.options, pinned()),
        Err(ClusterError::Misfit { .. })
    ));
}

#[test]
fn a_kubeconfig_of_another_cluster_is_a_misfit() {
    let tree = tree_at(pinned());
    let other = tree_at(pinned());
    std::fs::copy(other.conf("scheduler.conf"), tree.conf("scheduler.conf")).unwrap();
    match init(&tree.options, pinned()) {
        Err(ClusterError::Misfit {
            path,
            reason: Misfit::WrongCaData { ca },
        }) => {
            assert!(path.ends_with("scheduler.conf"));
            assert_eq!(ca, "ca");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_corrupt_kubeconfig_or_key_is_named() {
    let tree = tree_at(pinned());
    std::fs::write(tree.conf("admin.conf"), "clusters: [1, 2").unwrap();
    match init(&tree.options, pinned()) {
        Err(ClusterError::Kubeconfig { path, .. }) => assert!(path.ends_with("admin.conf")),
        other => panic!("{other:?}"),
    }
    let tree = tree_at(pinned());
    std::fs::write(
        tree.path("apiserver.key"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    match init(&tree.options, pinned()) {
        Err(ClusterError::Key { path, .. }) => assert!(path.ends_with("apiserver.key")),
        other => panic!("{other:?}"),
    }
}

/// Replaces `field: VALUE` in a kubeconfig file with `field: value`.
fn set_field(path: &std::path::Path, field: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let out: Vec<String> = text
        .lines()
        .map(|line| match line.split_once(&format!("{field}: ")) {
            Some((indent, _)) => format!("{indent}{field}: {value}"),
            None => line.to_owned(),
        })
        .collect();
    assert_ne!(out.join("\n"), text.trim_end(), "{field} not in {text}");
    std::fs::write(path, out.join("\n") + "\n").unwrap();
}

#[test]
fn broken_kubeconfig_data_is_reported_as_broken_naming_file_and_field() {
    // Each field, present but broken, used to read as absent ("no client certificate", or
    // another CA's data).
    for (field, value) in [
        ("client-certificate-data", "not~base64"),
        ("client-certificate-data", "bm90IGEgY2VydGlmaWNhdGU="),
        ("client-key-data", "not~base64"),
        ("client-key-data", "bm90IGEga2V5"),
        ("certificate-authority-data", "not~base64"),
    ] {
        let tree = tree_at(pinned());
        set_field(&tree.conf("scheduler.conf"), field, value);
        let before = std::fs::read(tree.conf("scheduler.conf")).unwrap();
        match init(&tree.options, pinned()) {
            Err(e @ ClusterError::KubeconfigField { .. }) => {
                let message = e.to_string();
                assert!(message.contains("scheduler.conf"), "{message}");
                assert!(message.contains(field), "{message}");
            }
            other => panic!("{field}={value}: {other:?}"),
        }
        assert_eq!(std::fs::read(tree.conf("scheduler.conf")).unwrap(), before);
    }
}

#[test]
fn a_certificate_that_does_not_parse_is_not_reported_as_signed_by_another_ca() {
    let tree = tree_at(pinned());
    // DER that is no certificate (an INTEGER): it used to read as "not signed by CA ca".
    std::fs::write(tree.path("apiserver.crt"), [0x02, 0x01, 0x00]).unwrap();
    match init(&tree.options, pinned()) {
        Err(e @ ClusterError::Sign { .. }) => {
            let message = e.to_string();
            assert!(message.contains("apiserver.crt"), "{message}");
            assert!(!message.contains("not signed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_ca_is_never_replaced_even_when_expired() {
    let tree = tree_at(pinned());
    let ca = std::fs::read(tree.path("ca.crt")).unwrap();
    match init(&tree.options, pinned() + Duration::from_secs(3651 * 86_400)) {
        Err(ClusterError::Misfit {
            path,
            reason: Misfit::CaExpired { .. },
        }) => assert!(path.ends_with("ca.crt")),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(tree.path("ca.crt")).unwrap(), ca);
}

#[test]
fn half_a_pair_is_refused() {
    let tree = tree_at(pinned());
    std::fs::remove_file(tree.path("apiserver-kubelet-client.key")).unwrap();
    assert!(matches!(
        init(&tree.options, pinned()),
        Err(ClusterError::IncompletePair { .. })
    ));
}

#[test]
fn a_leaf_validity_past_the_cas_is_clamped_with_kubeadms_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.cert_validity = Some(Duration::from_secs(20 * 86_400));
    options.ca_validity = Some(Duration::from_secs(10 * 86_400));
    let report = init(&options, pinned()).unwrap();
    assert_eq!(
        report.warnings,
        [
            "certificateValidityPeriod: the value 480h0m0s is more than the caCertificateValidityPeriod: 240h0m0s; \
          each certificate is clamped to its CA's NotAfter"
        ]
    );
    let der = |file: &str| {
        certificates_from_bytes(&std::fs::read(dir.path().join("pki").join(file)).unwrap())
            .unwrap()
            .remove(0)
    };
    let ca = CertificateInfo::from_der(&der("ca.crt")).unwrap();
    let leaf = CertificateInfo::from_der(&der("apiserver.crt")).unwrap();
    assert_eq!(leaf.not_after, ca.not_after);
}

#[test]
fn etcd_server_and_peer_take_their_own_extra_sans() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.etcd_server_cert_extra_sans = vec!["etcd-clients.example.test".into()];
    options.etcd_peer_cert_extra_sans = vec!["10.0.0.9".into()];
    init(&options, pinned()).unwrap();
    let sans = |file: &str| {
        let der =
            certificates_from_bytes(&std::fs::read(dir.path().join("pki").join(file)).unwrap())
                .unwrap()
                .remove(0);
        CertificateInfo::from_der(&der).unwrap().sans
    };
    let (server, peer) = (sans("etcd/server.crt"), sans("etcd/peer.crt"));
    let client_name: San = "etcd-clients.example.test".parse().unwrap();
    let peer_ip: San = "10.0.0.9".parse().unwrap();
    assert!(
        server.contains(&client_name) && !server.contains(&peer_ip),
        "{server:?}"
    );
    assert!(
        peer.contains(&peer_ip) && !peer.contains(&client_name),
        "{peer:?}"
    );
}

#[test]
fn bad_san_and_endpoint_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.apiserver_cert_extra_sans = vec!["not a name!".into()];
    match init(&options, pinned()) {
        Err(ClusterError::InvalidExtraSan { value, flag }) => {
            assert_eq!(value, "not a name!");
            assert_eq!(flag, "--apiserver-cert-extra-sans");
        }
        other => panic!("{other:?}"),
    }
    let mut options = common::options(dir.path());
    options.etcd_peer_cert_extra_sans = vec!["under_score!".into()];
    let err = init(&options, pinned()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--etcd-peer-cert-extra-sans: \"under_score!\" is neither a valid IP address nor a valid DNS name"
    );
    let mut options = common::options(dir.path());
    options.control_plane_endpoint = Some("lb:port".into());
    assert!(matches!(
        init(&options, pinned()),
        Err(ClusterError::InvalidEndpoint { .. })
    ));
    assert!(
        !dir.path().join("pki/ca.crt").exists(),
        "nothing is written on bad options"
    );
}

#[test]
fn external_ca_mode_signs_nothing_and_reports_missing() {
    let tree = tree_at(pinned());
    std::fs::remove_file(tree.path("ca.key")).unwrap();
    std::fs::remove_file(tree.path("apiserver.crt")).unwrap();
    std::fs::remove_file(tree.path("apiserver.key")).unwrap();
    std::fs::remove_file(tree.conf("scheduler.conf")).unwrap();
    let report = init(&tree.options, pinned()).unwrap();
    assert!(report.is_incomplete());
    let missing: Vec<_> = report
        .with(&Action::Missing { ca: "ca" })
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(missing, vec!["apiserver", "scheduler.conf"]);
    assert!(!tree.path("apiserver.crt").exists());
    assert!(!tree.path("ca.key").exists());
}

#[test]
fn generate_csr_then_init_reports_the_pending_requests() {
    // kubeadm's external-CA flow: the CA certificates without their keys, then
    // `certs generate-csr`, then `init` while the requests wait to be signed.
    let cas = tree_at(pinned());
    let dir = tempfile::tempdir().unwrap();
    for crt in ["ca.crt", "front-proxy-ca.crt", "etcd/ca.crt"] {
        let to = dir.path().join("pki").join(crt);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(cas.path(crt), to).unwrap();
    }
    let options = options(dir.path());
    let csrs = kubepki_cluster::generate_csrs(&options).unwrap();
    let key = std::fs::read(dir.path().join("pki/apiserver.key")).unwrap();
    let report = init(&options, pinned()).unwrap();
    assert!(report.is_incomplete());
    let missing: Vec<_> = report
        .entries
        .iter()
        .filter(|e| matches!(e.action, Action::Missing { .. }))
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(missing.len(), csrs.len(), "{missing:?}");
    for name in [
        "apiserver",
        "front-proxy-client",
        "etcd-server",
        "admin.conf",
    ] {
        assert!(missing.iter().any(|m| m == name), "{name} in {missing:?}");
    }
    assert!(!dir.path().join("pki/apiserver.crt").exists());
    assert_eq!(
        std::fs::read(dir.path().join("pki/apiserver.key")).unwrap(),
        key
    );

    // Without its request, a key alone is still half a pair.
    std::fs::remove_file(dir.path().join("pki/apiserver.csr")).unwrap();
    assert!(matches!(
        init(&options, pinned()),
        Err(ClusterError::IncompletePair { .. })
    ));
}

#[test]
fn ipv6_external_etcd_and_1_28_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.advertise_address = "fd00::10".parse().unwrap();
    options.service_cidr = "fd00:10:96::/112".into();
    options.external_etcd = true;
    options.groups_compat = GroupsCompat::V1_28;
    options.cert_validity = Some(Duration::from_secs(30 * 86_400));
    init(&options, pinned()).unwrap();
    let api = info(&dir.path().join("pki/apiserver.crt"));
    assert!(api.sans.contains(&"IP:fd00:10:96::1".parse().unwrap()));
    assert_eq!(api.not_after, pinned() + Duration::from_secs(30 * 86_400));
    assert!(!dir.path().join("pki/etcd").exists());
    assert!(!dir.path().join("pki/apiserver-etcd-client.crt").exists());
    assert!(!dir.path().join("super-admin.conf").exists());
    let admin =
        Kubeconfig::from_yaml(&std::fs::read_to_string(dir.path().join("admin.conf")).unwrap())
            .unwrap();
    assert_eq!(admin.current().unwrap().0.server, "https://[fd00::10]:6443");
}

#[test]
fn rsa_keys_are_pkcs1() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.algorithm = kubepki_keys::KeyAlgorithm::Rsa2048;
    init(&options, pinned()).unwrap();
    let key = std::fs::read_to_string(dir.path().join("pki/apiserver.key")).unwrap();
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
}
