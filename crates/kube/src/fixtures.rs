//! Test fixtures shared by the controller's tests: a fixed clock, a CA on any signer and a
//! request as the API server holds it.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::certificates::v1::CertificateSigningRequest as KubeCsr;
use kubepki_api::{CertificateSigningRequest, KUBE_APISERVER_CLIENT};
use kubepki_csr::{CsrBuilder, Subject};
use kubepki_keys::{KeyAlgorithm, KeyPair, Signer};
use kubepki_sign::{Ca, IssueOptions};

/// 2027-01-15T08:00:00Z: the tests' fixed clock.
pub(crate) fn pinned() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A self-signed CA `kubernetes` on `signer`, valid for `validity` from [`pinned`].
pub(crate) fn ca_for(signer: Box<dyn Signer>, validity: Duration) -> Ca {
    Ca::self_signed(
        signer,
        &Subject::from_parts("kubernetes", &[] as &[&str]),
        &kubepki_profile::ca_profile("ca", "kubernetes"),
        &IssueOptions::at(pinned()).with_validity(validity),
    )
    .unwrap()
}

/// jane's `kube-apiserver-client` request as the API server holds it, with `conditions`.
pub(crate) fn request(conditions: &[&str]) -> KubeCsr {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = CsrBuilder::new(Subject::from_parts("jane", &["dev"]))
        .build(&key)
        .unwrap()
        .to_pem();
    let mut csr = CertificateSigningRequest::new(
        "jane",
        pem.as_bytes(),
        KUBE_APISERVER_CLIENT,
        &["client auth"],
    );
    csr.metadata.uid = Some("uid-jane".to_owned());
    csr.metadata.resource_version = Some("10".to_owned());
    for condition in conditions {
        let mut decided = csr.clone();
        match *condition {
            "Approved" => kubepki_api::approve(&mut decided, false, pinned()).unwrap(),
            _ => kubepki_api::deny(&mut decided, false, pinned()).unwrap(),
        };
        csr = decided;
    }
    serde_json::from_value(serde_json::to_value(&csr).unwrap()).unwrap()
}
