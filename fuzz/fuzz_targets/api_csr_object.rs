//! CertificateSigningRequest objects (certificates.k8s.io/v1) read as YAML and as JSON: create
//! and update validation, the admission rule, the built-in and custom signers' checks,
//! approval, the cleaner, and writing the object back, which must read as the same object.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use kubepki_api::{
    API_VERSION, ApiError, CertificateSigningRequest, KIND, MAX_DEPTH, Signers, SigningController,
    admit_subject_restriction, approve, auto_approve, cleanup_reason, deny, parse_request,
    validate_apiserver_client, validate_create, validate_kubelet_client, validate_kubelet_serving,
    validate_update,
};
use kubepki_profile::{BUILTIN_NAMES, ClusterParams, builtin};
use libfuzzer_sys::fuzz_target;

/// The built-in signers, and every built-in profile as the custom signer `example.com/<name>`.
static SIGNERS: LazyLock<Signers> = LazyLock::new(|| {
    let params = ClusterParams::default();
    BUILTIN_NAMES.iter().fold(Signers::new(), |signers, name| {
        match builtin(name, &params) {
            Ok(profile) => signers.with_profile(&format!("example.com/{name}"), profile),
            Err(_) => signers,
        }
    })
});

/// The controller's TTL rule (expirationSeconds against the signing duration).
static CONTROLLER: LazyLock<SigningController> =
    LazyLock::new(|| SigningController::new(Signers::new()));

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(csr) = CertificateSigningRequest::from_yaml(text)
    {
        check(&csr);
    }
    // crates/kube reads kube-apiserver's JSON with serde_json, which does not check apiVersion
    // and kind, and reads 127 levels deep.
    if let Ok(csr) = serde_json::from_slice::<CertificateSigningRequest>(data) {
        check(&csr);
    }
});

fn check(csr: &CertificateSigningRequest) {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let _ = validate_create(csr);
    let _ = validate_update(csr, csr);
    let _ = admit_subject_restriction(csr);
    let _ = csr.condition_string();
    let _ = cleanup_reason(csr, now);
    let usages = &csr.spec.usages;
    let _ = validate_apiserver_client(usages);
    if let Ok(request) = parse_request(csr) {
        let ttl = CONTROLLER.ttl(csr);
        let _ = SIGNERS.check(&csr.spec.signer_name, &request, usages, ttl);
        let _ = validate_kubelet_client(&request, usages);
        let _ = validate_kubelet_serving(&request, usages);
    }
    // Decisions on copies, then the update they make.
    for decide in [approve, deny] {
        let mut decided = csr.clone();
        if decide(&mut decided, false, now).is_ok() {
            let _ = validate_update(csr, &decided);
        }
    }
    let mut approved = csr.clone();
    if auto_approve(&mut approved, now).is_ok() {
        let _ = validate_update(csr, &approved);
    }

    // What we write must read back as the same object: JSON always, YAML when the object
    // is a CertificateSigningRequest (the only kind `from_yaml` reads).
    let json = csr.to_json();
    let again: CertificateSigningRequest =
        serde_json::from_str(&json).expect("our JSON reads back");
    assert_eq!(&again, csr, "JSON round trip of\n{json}");
    if csr.kind == KIND && csr.api_version == API_VERSION {
        let yaml = csr.to_yaml();
        match CertificateSigningRequest::from_yaml(&yaml) {
            Ok(again) => assert_eq!(&again, csr, "YAML round trip of\n{yaml}"),
            // Only what serde_json read deeper than YAML's bound may be refused, for depth.
            Err(ApiError::TooDeep { .. })
                if serde_json::to_value(csr).map_or(0, |v| depth(&v)) > MAX_DEPTH => {}
            Err(e) => panic!("our YAML reads back: {e:?}\n{yaml}"),
        }
    }
}

/// How deeply `value` nests arrays and objects (a scalar is 0).
fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
