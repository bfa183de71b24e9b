//! Where the cluster CA's key comes from (`InitOptions::ca`): a signer, with its URI recorded
//! in `ca.key.uri`; an external CA's certificate placed as `ca.crt`. Both written by `init`
//! under the tree's lock, with the rest of the tree, or refused before anything is written.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{options, pinned, tree_at};
use kubepki_cluster::{
    Action, CaSigner, CaSource, ClusterError, ExternalCa, KeyUri, Misfit, generate, init,
    recorded_key_uri,
};
use kubepki_keys::{KeyAlgorithm, KeyPair};
use kubepki_sign::{CertificateInfo, certificates_from_bytes};

fn signer_source(key: &Arc<KeyPair>, uri: Option<&str>) -> CaSource {
    CaSource::Signer {
        signer: CaSigner(key.clone()),
        certificate: None,
        key_uri: uri.map(|u| KeyUri::new(u).unwrap()),
    }
}

fn public_key_of(pem: &[u8]) -> Vec<u8> {
    let der = certificates_from_bytes(pem).unwrap().remove(0);
    let cert = kubepki_sign::parse_certificate(&der).unwrap();
    der::Encode::to_der(cert.tbs_certificate().subject_public_key_info()).unwrap()
}

#[test]
fn a_signer_signs_the_ca_no_key_file_is_written_and_its_uri_is_recorded_with_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap());
    let mut options = options(dir.path());
    options.ca = signer_source(&key, Some("pkcs11:token=t;object=ca"));
    let report = init(&options, pinned()).unwrap();
    assert!(report.with(&Action::Written).any(|e| e.name == "ca"));
    let pki = dir.path().join("pki");
    assert!(!pki.join("ca.key").exists());
    assert_eq!(
        public_key_of(&std::fs::read(pki.join("ca.crt")).unwrap()),
        key.public_key().to_der()
    );
    assert_eq!(
        std::fs::read_to_string(pki.join("ca.key.uri")).unwrap(),
        "pkcs11:token=t;object=ca\n"
    );
    assert_eq!(
        recorded_key_uri(&pki).unwrap().as_deref(),
        Some("pkcs11:token=t;object=ca")
    );

    // Again with the same key named otherwise: everything kept, the record replaced.
    options.ca = signer_source(&key, Some("pkcs11:token=t;id=%01"));
    let again = init(&options, pinned()).unwrap();
    assert!(
        again.entries.iter().all(|e| e.action == Action::Kept),
        "{again:?}"
    );
    assert_eq!(
        recorded_key_uri(&pki).unwrap().as_deref(),
        Some("pkcs11:token=t;id=%01")
    );
    assert!(!pki.join("ca.key.uri.bak").exists());
}

#[test]
fn a_ca_key_file_where_the_key_is_on_a_signer_is_refused_and_nothing_is_recorded() {
    let tree = tree_at(pinned());
    let key = Arc::new(KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap());
    let mut options = tree.options.clone();
    options.ca = signer_source(&key, Some("pkcs11:token=t;object=ca"));
    match init(&options, pinned()) {
        Err(ClusterError::Misfit {
            path,
            reason: Misfit::KeyOnToken,
        }) => assert_eq!(path, tree.path("ca.key")),
        other => panic!("{other:?}"),
    }
    assert!(!tree.path("ca.key.uri").exists());
}

#[test]
fn an_external_ca_is_placed_under_the_lock_and_what_it_signs_is_missing() {
    let other = tree_at(pinned());
    let pem = std::fs::read(other.path("ca.crt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.ca = CaSource::External(ExternalCa::from_bytes(&pem).unwrap());
    let report = init(&options, pinned()).unwrap();
    let pki = dir.path().join("pki");
    assert_eq!(std::fs::read(pki.join("ca.crt")).unwrap(), pem);
    assert!(!pki.join("ca.key").exists());
    let ca = report.entries.iter().find(|e| e.name == "ca").unwrap();
    assert_eq!(ca.action, Action::Written);
    let missing: Vec<&str> = report
        .entries
        .iter()
        .filter(|e| e.action == Action::Missing { ca: "ca" })
        .map(|e| e.name.as_str())
        .collect();
    assert!(missing.contains(&"apiserver") && missing.contains(&"admin.conf"));
    // The front-proxy and etcd trees are made as usual.
    assert!(pki.join("front-proxy-client.crt").exists());

    // Again: the placed certificate is kept.
    let again = init(&options, pinned()).unwrap();
    let ca = again.entries.iter().find(|e| e.name == "ca").unwrap();
    assert_eq!(ca.action, Action::Kept);
}

#[test]
fn another_ca_certificate_than_the_one_given_is_refused_before_anything_is_written() {
    let other = tree_at(pinned());
    let tree = tree_at(pinned());
    std::fs::remove_file(tree.path("apiserver.crt")).unwrap();
    std::fs::remove_file(tree.path("apiserver.key")).unwrap();
    let mut options = tree.options.clone();
    let pem = std::fs::read(other.path("ca.crt")).unwrap();
    options.ca = CaSource::External(ExternalCa::from_bytes(&pem).unwrap());
    match init(&options, pinned()) {
        Err(ClusterError::Misfit {
            path,
            reason: Misfit::NotTheGivenCa,
        }) => assert_eq!(path, tree.path("ca.crt")),
        other => panic!("{other:?}"),
    }
    assert!(!tree.path("apiserver.crt").exists());
}

#[test]
fn a_leaf_is_not_an_external_ca() {
    let tree = tree_at(pinned());
    let pem = std::fs::read(tree.path("apiserver.crt")).unwrap();
    match ExternalCa::from_bytes(&pem) {
        Err(ClusterError::Sign {
            source: kubepki_sign::SignError::NotACa { .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn generate_with_a_signer_has_no_ca_key_and_refuses_external_ca_mode() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap());
    let mut options = options(dir.path());
    options.ca = signer_source(&key, None);
    let bundle = generate(&options, pinned()).unwrap();
    assert!(bundle.get("pki/ca.key").is_none());
    let ca = bundle.get("pki/ca.crt").unwrap();
    assert_eq!(
        public_key_of(ca.bytes.as_bytes()),
        key.public_key().to_der()
    );
    assert!(bundle.get("pki/front-proxy-ca.key").is_some());

    // The signer's certificate given: placed as is, everything signed by it.
    let given = ca.bytes.as_bytes().to_vec();
    options.ca = CaSource::Signer {
        signer: CaSigner(key.clone()),
        certificate: Some(ExternalCa::from_bytes(&given).unwrap()),
        key_uri: None,
    };
    let again = generate(&options, pinned()).unwrap();
    assert_eq!(again.get("pki/ca.crt").unwrap().bytes.as_bytes(), given);
    let apiserver = again.get("pki/apiserver.crt").unwrap().bytes.as_bytes();
    let issuer = CertificateInfo::from_der(&certificates_from_bytes(apiserver).unwrap()[0])
        .unwrap()
        .issuer;
    let subject = CertificateInfo::from_der(&certificates_from_bytes(&given).unwrap()[0])
        .unwrap()
        .subject;
    assert_eq!(issuer, subject);

    options.ca = CaSource::External(ExternalCa::from_bytes(&given).unwrap());
    assert!(matches!(
        generate(&options, pinned()),
        Err(ClusterError::ExternalCaInMemory)
    ));
}
