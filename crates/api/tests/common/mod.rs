//! Shared helpers: a CA and requests at a pinned time.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::time::Duration;

use kubepki_api::{CertificateSigningRequest, FileStore, Signers, SigningController, UserInfo};
use kubepki_csr::{CsrBuilder, San, Subject};
use kubepki_keys::{KeyAlgorithm, KeyPair};
use kubepki_profile::ca_profile;
use kubepki_sign::{Ca, IssueOptions};

/// 2027-01-15T08:00:00Z.
pub(crate) use kubepki_test_support::pinned as now;

pub(crate) fn ca_valid_for(validity: Duration) -> Ca {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let profile = ca_profile("ca", "kubernetes");
    Ca::self_signed(
        Box::new(key),
        &Subject::from_parts("kubernetes", &[] as &[&str]),
        &profile,
        &IssueOptions::at(now()).with_validity(validity),
    )
    .unwrap()
}

pub(crate) fn ca() -> Ca {
    ca_valid_for(Duration::from_secs(10 * 365 * 86_400))
}

pub(crate) fn request_pem(cn: &str, orgs: &[&str], sans: &[&str]) -> String {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sans: Vec<San> = sans.iter().map(|s| San::parse(s).unwrap()).collect();
    CsrBuilder::new(Subject::from_parts(cn, orgs))
        .sans(sans)
        .build(&key)
        .unwrap()
        .to_pem()
}

pub(crate) fn object(
    name: &str,
    signer: &str,
    usages: &[&str],
    cn: &str,
    orgs: &[&str],
    sans: &[&str],
) -> CertificateSigningRequest {
    CertificateSigningRequest::new(name, request_pem(cn, orgs, sans).as_bytes(), signer, usages)
}

/// A `kubernetes.io/kube-apiserver-client` request for the user `name` in group `dev`.
pub(crate) fn client(name: &str) -> CertificateSigningRequest {
    object(
        name,
        kubepki_api::KUBE_APISERVER_CLIENT,
        &["client auth"],
        name,
        &["dev"],
        &[],
    )
}

pub(crate) fn admin() -> UserInfo {
    UserInfo {
        username: "kubernetes-admin".to_owned(),
        uid: None,
        groups: vec!["system:masters".to_owned()],
        extra: Default::default(),
    }
}

pub(crate) fn controller() -> SigningController {
    SigningController::new(Signers::new()).with_default_ca(ca())
}

pub(crate) fn store() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("csr-store"));
    (dir, store)
}
