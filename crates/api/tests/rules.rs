//! Validation, admission, signer rules and approval, each refusal asserting its message.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use kubepki_api::*;

fn invalid_message(csr: &CertificateSigningRequest) -> String {
    match validate_create(csr) {
        Err(e @ ApiError::Invalid { .. }) => e.to_string(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn a_good_request_validates() {
    validate_create(&client("jane")).unwrap();
}

#[test]
fn missing_signer_name() {
    let mut csr = client("jane");
    csr.spec.signer_name.clear();
    assert_eq!(
        invalid_message(&csr),
        r#"CertificateSigningRequest.certificates.k8s.io "jane" is invalid: spec.signerName: Required value"#
    );
}

#[test]
fn signer_name_grammar() {
    let mut csr = client("jane");
    csr.spec.signer_name = "example.com".into();
    assert!(invalid_message(&csr).contains(
        "spec.signerName: Invalid value: \"example.com\": must be a fully qualified domain and path of the form 'example.com/signer-name'"
    ));
    csr.spec.signer_name = "example/signer".into();
    assert!(
        invalid_message(&csr)
            .contains("should be a domain with at least two segments separated by dots")
    );
    csr.spec.signer_name = "Example.com/signer".into();
    assert!(
        invalid_message(&csr).contains("validating label \"Example\": a lowercase RFC 1123 label")
    );
    csr.spec.signer_name = format!("example.com/{}", vec!["a".repeat(63); 6].join("."));
    assert!(invalid_message(&csr).contains("Too long: may not be more than 317 bytes"));
    // 253 + 1 + 317 = 571 is the longest name.
    let domain = [vec!["d".repeat(63); 3].join("."), "e".repeat(61)].join(".");
    let path = [vec!["p".repeat(63); 4].join("."), "q".repeat(61)].join(".");
    csr.spec.signer_name = format!("{domain}/{path}");
    assert_eq!(csr.spec.signer_name.len(), 571);
    validate_create(&csr).unwrap();
}

#[test]
fn legacy_unknown_refused_on_create() {
    let mut csr = client("jane");
    csr.spec.signer_name = LEGACY_UNKNOWN.into();
    assert!(invalid_message(&csr).contains(
        "spec.signerName: Invalid value: \"kubernetes.io/legacy-unknown\": the legacy signerName is not allowed via this API version"
    ));
}

#[test]
fn expiration_seconds_599() {
    let mut csr = client("jane");
    csr.spec.expiration_seconds = Some(599);
    assert_eq!(
        invalid_message(&csr),
        r#"CertificateSigningRequest.certificates.k8s.io "jane" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"#
    );
    csr.spec.expiration_seconds = Some(600);
    validate_create(&csr).unwrap();
}

#[test]
fn unknown_usage() {
    let mut csr = client("jane");
    csr.spec.usages = vec!["client-auth".into()];
    let msg = invalid_message(&csr);
    assert!(msg.contains(r#"spec.usages[0]: Unsupported value: "client-auth": supported values: "any", "cert sign", "client auth""#), "{msg}");
}

#[test]
fn no_usages() {
    let mut csr = client("jane");
    csr.spec.usages.clear();
    assert!(invalid_message(&csr).contains("spec.usages: Required value"));
}

#[test]
fn duplicate_usages() {
    let mut csr = client("jane");
    csr.spec.usages = vec![
        "client auth".into(),
        "digital signature".into(),
        "client auth".into(),
    ];
    assert_eq!(
        invalid_message(&csr),
        r#"CertificateSigningRequest.certificates.k8s.io "jane" is invalid: spec.usages[2]: Duplicate value: "client auth""#
    );
}

#[test]
fn several_causes_listed() {
    let mut csr = client("jane");
    csr.spec.usages = vec!["nope".into()];
    csr.spec.expiration_seconds = Some(1);
    let msg = invalid_message(&csr);
    assert!(
        msg.contains("is invalid: [spec.usages[0]: Unsupported value: \"nope\""),
        "{msg}"
    );
    assert!(
        msg.contains(", spec.expirationSeconds: Invalid value: 1:"),
        "{msg}"
    );
}

#[test]
fn wrong_pem_label() {
    let pem = request_pem("jane", &["dev"], &[]);
    let relabelled = pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
    let csr = CertificateSigningRequest::new(
        "jane",
        relabelled.as_bytes(),
        KUBE_APISERVER_CLIENT,
        &["client auth"],
    );
    let msg = invalid_message(&csr);
    assert!(
        msg.contains("spec.request: Invalid value: ")
            && msg.ends_with(": PEM block type must be CERTIFICATE REQUEST"),
        "{msg}"
    );
    let garbage =
        CertificateSigningRequest::new("jane", b"hello", KUBE_APISERVER_CLIENT, &["client auth"]);
    assert!(invalid_message(&garbage).ends_with("PEM block type must be CERTIFICATE REQUEST"));
}

#[test]
fn bad_csr_signature() {
    let pem = request_pem("jane", &["dev"], &[]);
    let blocks = kubepki_keys::pem::pem_blocks(&pem).unwrap();
    let mut der = blocks[0].der.clone();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = kubepki_keys::pem::pem_encode("CERTIFICATE REQUEST", &der);
    let csr = CertificateSigningRequest::new(
        "jane",
        tampered.as_bytes(),
        KUBE_APISERVER_CLIENT,
        &["client auth"],
    );
    let msg = invalid_message(&csr);
    assert!(
        msg.contains("spec.request: Invalid value: ") && msg.contains("proof of possession failed"),
        "{msg}"
    );
}

#[test]
fn system_masters_through_the_api() {
    let (_dir, store) = store();
    let csr = object(
        "root",
        KUBE_APISERVER_CLIENT,
        &["client auth"],
        "root",
        &["system:masters"],
        &[],
    );
    let err = create_request(&store, csr, &admin(), now()).unwrap_err();
    assert!(matches!(err, ApiError::Forbidden { .. }));
    assert_eq!(
        err.to_string(),
        r#"certificatesigningrequests.certificates.k8s.io "root" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"#
    );
    assert!(matches!(store.get("root"), Err(ApiError::NotFound { .. })));
    // Other signers are not restricted by this plugin.
    let other = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &["digital signature", "client auth"],
        "system:node:n",
        &["system:masters"],
        &[],
    );
    admit_subject_restriction(&other).unwrap();
}

#[test]
fn create_sets_requester_and_refuses_duplicates() {
    let (_dir, store) = store();
    let mut csr = client("jane");
    csr.spec.username = Some("spoofed".into());
    csr.status.certificate = Some(Base64Bytes(b"x".to_vec()));
    let created = create_request(&store, csr, &admin(), now()).unwrap();
    assert_eq!(created.spec.username.as_deref(), Some("kubernetes-admin"));
    assert_eq!(
        created.spec.groups,
        ["system:masters", "system:authenticated"]
    );
    assert!(created.status.is_empty());
    assert_eq!(
        created.metadata.creation_timestamp.as_deref(),
        Some("2027-01-15T08:00:00Z")
    );
    assert_eq!(created.condition_string(), "Pending");
    let err = create_request(&store, client("jane"), &admin(), now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"certificatesigningrequests.certificates.k8s.io "jane" already exists"#
    );
}

#[test]
fn approve_and_deny_as_kubectl() {
    let mut csr = client("jane");
    assert_eq!(approve(&mut csr, false, now()).unwrap(), Decision::Changed);
    let c = csr.condition(APPROVED).unwrap();
    assert_eq!(c.reason.as_deref(), Some("KubectlApprove"));
    assert_eq!(
        c.message.as_deref(),
        Some("This CSR was approved by kubectl certificate approve.")
    );
    assert_eq!(
        approve(&mut csr, false, now()).unwrap(),
        Decision::Unchanged
    );
    let later = now() + Duration::from_secs(60);
    assert_eq!(approve(&mut csr, true, later).unwrap(), Decision::Changed);
    assert_eq!(csr.status.conditions.len(), 1);
    assert_eq!(
        csr.status.conditions[0].last_update_time.as_deref(),
        Some("2027-01-15T08:01:00Z")
    );
    let err = deny(&mut csr, false, now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"certificate signing request "jane" is already Approved"#
    );
}

#[test]
fn approve_after_deny() {
    let (_dir, store) = store();
    create_request(&store, client("jane"), &admin(), now()).unwrap();
    let (denied, ()) = update_request(&store, "jane", |c| {
        Ok((deny(c, false, now())? == Decision::Changed, ()))
    })
    .unwrap();
    assert_eq!(
        denied.condition(DENIED).unwrap().reason.as_deref(),
        Some("KubectlDeny")
    );
    assert_eq!(
        denied.condition(DENIED).unwrap().message.as_deref(),
        Some("This CSR was denied by kubectl certificate deny.")
    );
    assert_eq!(denied.condition_string(), "Denied");
    let err = update_request(&store, "jane", |c| {
        Ok((approve(c, true, now())? == Decision::Changed, ()))
    })
    .unwrap_err();
    assert!(matches!(err, ApiError::AlreadyDecided { .. }));
    assert_eq!(
        err.to_string(),
        r#"certificate signing request "jane" is already Denied"#
    );
}

#[test]
fn condition_rules_on_update() {
    let mut old = client("jane");
    approve(&mut old, false, now()).unwrap();
    let mut removed = old.clone();
    removed.status.conditions.clear();
    let msg = validate_update(&old, &removed).unwrap_err().to_string();
    assert!(
        msg.contains(
            r#"status.conditions: Forbidden: updates may not remove a condition of type "Approved""#
        ),
        "{msg}"
    );

    let mut both = old.clone();
    both.status
        .conditions
        .push(CertificateSigningRequestCondition {
            type_: DENIED.into(),
            status: "True".into(),
            ..Default::default()
        });
    let msg = validate_update(&old, &both).unwrap_err().to_string();
    assert!(
        msg.contains("Approved and Denied conditions are mutually exclusive"),
        "{msg}"
    );

    let mut not_true = old.clone();
    not_true.status.conditions[0].status = "False".into();
    let msg = validate_update(&old, &not_true).unwrap_err().to_string();
    assert!(
        msg.contains(
            r#"status.conditions[0].status: Unsupported value: "False": supported values: "True""#
        ),
        "{msg}"
    );

    let mut bad_cert = old.clone();
    bad_cert.status.certificate = Some(Base64Bytes(
        kubepki_keys::pem::pem_encode("PRIVATE KEY", b"x").into_bytes(),
    ));
    let msg = validate_update(&old, &bad_cert).unwrap_err().to_string();
    assert!(
        msg.contains("only CERTIFICATE PEM blocks are allowed"),
        "{msg}"
    );

    let mut issued = old.clone();
    controller().sign(&mut issued, now()).unwrap();
    validate_update(&old, &issued).unwrap();
    let mut reissued = issued.clone();
    controller().sign(&mut reissued, now()).unwrap(); // skipped: issued already
    assert_eq!(reissued, issued);
    reissued.status.certificate = old.status.certificate.clone();
    let msg = validate_update(&issued, &reissued).unwrap_err().to_string();
    assert!(
        msg.contains("updates may not modify existing certificate content"),
        "{msg}"
    );

    let mut pending = client("p");
    pending.status.certificate = issued.status.certificate.clone();
    let msg = validate_update(&client("p"), &pending)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("unless the Approved condition is present"),
        "{msg}"
    );
}

fn signed(mut csr: CertificateSigningRequest) -> (CertificateSigningRequest, SignOutcome) {
    approve(&mut csr, false, now()).unwrap();
    let outcome = controller().sign(&mut csr, now()).unwrap();
    (csr, outcome)
}

fn failed_message(csr: CertificateSigningRequest) -> String {
    let (csr, outcome) = signed(csr);
    let SignOutcome::Failed(message) = outcome else {
        panic!("expected Failed, got {outcome:?}")
    };
    let c = csr.condition(FAILED).unwrap();
    assert_eq!(c.reason.as_deref(), Some("SignerValidationFailure"));
    assert_eq!(c.message.as_deref(), Some(message.as_str()));
    assert!(!csr.is_issued());
    assert_eq!(csr.condition_string(), "Approved,Failed");
    message
}

#[test]
fn apiserver_client_usages() {
    let csr = object(
        "x",
        KUBE_APISERVER_CLIENT,
        &["any", "server auth"],
        "x",
        &[],
        &[],
    );
    assert_eq!(
        failed_message(csr),
        "invalid usage for client certificate: any"
    );
    let csr = object(
        "x",
        KUBE_APISERVER_CLIENT,
        &["digital signature"],
        "x",
        &[],
        &[],
    );
    assert_eq!(
        failed_message(csr),
        "missing required usage for client certificate: client auth"
    );
    let csr = object(
        "x",
        KUBE_APISERVER_CLIENT,
        &["digital signature", "key encipherment", "client auth"],
        "x",
        &[],
        &["DNS:x.example"],
    );
    let (csr, outcome) = signed(csr);
    assert!(matches!(outcome, SignOutcome::Issued { .. }), "{outcome:?}");
    // SANs are copied.
    let pem = &csr.status.certificate.unwrap().0;
    let der = kubepki_sign::certificates_from_bytes(pem).unwrap();
    let info = kubepki_sign::CertificateInfo::from_der(&der[0]).unwrap();
    assert!(format!("{info:?}").contains("x.example"));
}

#[test]
fn kubelet_client_with_a_san() {
    let csr = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &["digital signature", "client auth"],
        "system:node:n1",
        &["system:nodes"],
        &["DNS:n1"],
    );
    assert_eq!(failed_message(csr), "DNS subjectAltNames are not allowed");
    let csr = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &["digital signature", "client auth"],
        "system:node:n1",
        &["system:nodes"],
        &["IP:10.0.0.1"],
    );
    assert_eq!(failed_message(csr), "IP subjectAltNames are not allowed");
}

#[test]
fn kubelet_client_rules() {
    let ok = ["digital signature", "key encipherment", "client auth"];
    let csr = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &ok,
        "system:node:n1",
        &["system:nodes", "x"],
        &[],
    );
    assert_eq!(
        failed_message(csr),
        "subject organization is not system:nodes"
    );
    let csr = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &ok,
        "n1",
        &["system:nodes"],
        &[],
    );
    assert_eq!(
        failed_message(csr),
        "subject common name does not begin with system:node:"
    );
    let csr = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &["client auth"],
        "system:node:n1",
        &["system:nodes"],
        &[],
    );
    assert_eq!(
        failed_message(csr),
        "usages did not match [client auth digital signature key encipherment]"
    );
    for usages in [&ok[..], &["digital signature", "client auth"][..]] {
        let csr = object(
            "n",
            KUBE_APISERVER_CLIENT_KUBELET,
            usages,
            "system:node:n1",
            &["system:nodes"],
            &[],
        );
        assert!(matches!(signed(csr).1, SignOutcome::Issued { .. }));
    }
}

#[test]
fn kubelet_serving_rules() {
    let ok = ["digital signature", "key encipherment", "server auth"];
    let csr = object(
        "s",
        KUBELET_SERVING,
        &ok,
        "system:node:n1",
        &["system:nodes"],
        &[],
    );
    assert_eq!(failed_message(csr), "DNS or IP subjectAltName is required");
    let csr = object(
        "s",
        KUBELET_SERVING,
        &ok,
        "system:node:n1",
        &["system:nodes"],
        &["DNS:n1", "email:a@b.example"],
    );
    assert_eq!(failed_message(csr), "Email subjectAltNames are not allowed");
    let csr = object(
        "s",
        KUBELET_SERVING,
        &ok,
        "system:node:n1",
        &["system:nodes"],
        &["DNS:n1", "URI:spiffe://x/y"],
    );
    assert_eq!(failed_message(csr), "URI subjectAltNames are not allowed");
    let csr = object(
        "s",
        KUBELET_SERVING,
        &["server auth"],
        "system:node:n1",
        &["system:nodes"],
        &["DNS:n1"],
    );
    assert_eq!(
        failed_message(csr),
        "usages did not match [digital signature key encipherment server auth]"
    );
    let csr = object(
        "s",
        KUBELET_SERVING,
        &ok,
        "n1",
        &["system:nodes"],
        &["IP:10.0.0.1"],
    );
    assert_eq!(
        failed_message(csr),
        "subject common name does not begin with system:node:"
    );
    let csr = object(
        "s",
        KUBELET_SERVING,
        &["digital signature", "server auth"],
        "system:node:n1",
        &["system:nodes"],
        &["IP:10.0.0.1"],
    );
    assert!(matches!(signed(csr).1, SignOutcome::Issued { .. }));
}

#[test]
fn auto_approver_only_self_node_clients() {
    let usages = ["digital signature", "key encipherment", "client auth"];
    let mut csr = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &usages,
        "system:node:n1",
        &["system:nodes"],
        &[],
    );
    csr.spec.username = Some("system:node:n1".into());
    assert_eq!(auto_approve(&mut csr, now()).unwrap(), Decision::Changed);
    let c = csr.condition(APPROVED).unwrap();
    assert_eq!(c.reason.as_deref(), Some("AutoApproved"));
    assert_eq!(
        c.message.as_deref(),
        Some("Auto approving self kubelet client certificate after SubjectAccessReview.")
    );
    assert_eq!(auto_approve(&mut csr, now()).unwrap(), Decision::Unchanged);

    let mut other_node = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &usages,
        "system:node:n1",
        &["system:nodes"],
        &[],
    );
    other_node.spec.username = Some("system:node:n2".into());
    assert_eq!(
        auto_approve(&mut other_node, now()).unwrap(),
        Decision::Unchanged
    );
    let mut user = client("jane");
    user.spec.username = Some("jane".into());
    assert_eq!(auto_approve(&mut user, now()).unwrap(), Decision::Unchanged);
    let mut serving = object(
        "s",
        KUBELET_SERVING,
        &["digital signature", "server auth"],
        "system:node:n1",
        &["system:nodes"],
        &["DNS:n1"],
    );
    serving.spec.username = Some("system:node:n1".into());
    assert_eq!(
        auto_approve(&mut serving, now()).unwrap(),
        Decision::Unchanged
    );
}

#[test]
fn the_default_usages_are_what_each_built_in_signer_accepts() {
    let words = |signer| -> Vec<String> {
        default_usages(signer)
            .iter()
            .map(|w| (*w).to_owned())
            .collect()
    };
    validate_apiserver_client(&words(KUBE_APISERVER_CLIENT)).unwrap();
    let node = parse_request(&object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &[],
        "system:node:n1",
        &["system:nodes"],
        &["DNS:n1"],
    ))
    .unwrap();
    validate_kubelet_serving(&node, &words(KUBELET_SERVING)).unwrap();
    let client = parse_request(&object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        &[],
        "system:node:n1",
        &["system:nodes"],
        &[],
    ))
    .unwrap();
    validate_kubelet_client(&client, &words(KUBE_APISERVER_CLIENT_KUBELET)).unwrap();
    assert!(default_usages("example.com/app").is_empty());
}

#[test]
fn a_kubelet_client_request_needs_selfnodeclient_from_the_node_and_nodeclient_from_others() {
    let mut csr = object(
        "n",
        KUBE_APISERVER_CLIENT_KUBELET,
        default_usages(KUBE_APISERVER_CLIENT_KUBELET),
        "system:node:n1",
        &["system:nodes"],
        &[],
    );
    let request = parse_request(&csr).unwrap();
    csr.spec.username = Some("system:node:n1".into());
    let own = kubelet_client_request(&csr, &request).unwrap();
    assert_eq!(own, KubeletClientRequest::SelfNodeClient);
    assert_eq!(own.subresource(), "selfnodeclient");
    csr.spec.username = Some("system:bootstrap:abcdef".into());
    let first = kubelet_client_request(&csr, &request).unwrap();
    assert_eq!(first, KubeletClientRequest::NodeClient);
    assert_eq!(first.subresource(), "nodeclient");
    assert_eq!(
        first.approval_message(),
        "Auto approving kubelet client certificate after SubjectAccessReview."
    );
    csr.spec.usages = vec!["client auth".into(), "server auth".into()];
    assert!(matches!(
        kubelet_client_request(&csr, &request),
        Err(ApiError::UsagesMismatch { .. })
    ));
}

fn issued_times(
    csr: CertificateSigningRequest,
    controller: &SigningController,
) -> (std::time::SystemTime, std::time::SystemTime) {
    let mut csr = csr;
    approve(&mut csr, false, now()).unwrap();
    match controller.sign(&mut csr, now()).unwrap() {
        SignOutcome::Issued {
            not_before,
            not_after,
        } => {
            let der =
                kubepki_sign::certificates_from_bytes(&csr.status.certificate.unwrap().0).unwrap();
            let info = kubepki_sign::CertificateInfo::from_der(&der[0]).unwrap();
            assert_eq!((info.not_before, info.not_after), (not_before, not_after));
            assert!(!info.is_ca);
            (not_before, not_after)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ttl_rules() {
    let five = Duration::from_secs(300);
    let c = controller();
    // expirationSeconds 600: [now-5m, now+10m].
    let mut csr = client("a");
    csr.spec.expiration_seconds = Some(600);
    assert_eq!(
        issued_times(csr, &c),
        (now() - five, now() + Duration::from_secs(600))
    );
    // No expirationSeconds: the 8760h default, minus the backdate at the end.
    assert_eq!(
        issued_times(client("b"), &c),
        (
            now() - five,
            now() + Duration::from_secs(8760 * 3600) - five
        )
    );
    // Shorter duration wins; 8h exactly loses the backdate, just under does not.
    let c8 = controller().with_duration(Duration::from_secs(8 * 3600));
    assert_eq!(
        issued_times(client("c"), &c8).1,
        now() + Duration::from_secs(8 * 3600) - five
    );
    let mut csr = client("d");
    csr.spec.expiration_seconds = Some(8 * 3600 - 1);
    assert_eq!(
        issued_times(csr, &c).1,
        now() + Duration::from_secs(8 * 3600 - 1)
    );
    // Floored at 10 minutes.
    let c1 = controller().with_duration(Duration::from_secs(60));
    assert_eq!(
        issued_times(client("e"), &c1).1,
        now() + Duration::from_secs(600)
    );
    // Never past the CA.
    let short_ca = SigningController::new(Signers::new())
        .with_default_ca(ca_valid_for(Duration::from_secs(3600)));
    assert_eq!(
        issued_times(client("f"), &short_ca).1,
        now() + Duration::from_secs(3600)
    );
}

#[test]
fn expired_ca_refused() {
    let c = SigningController::new(Signers::new())
        .with_default_ca(ca_valid_for(Duration::from_secs(3600)));
    let mut csr = client("jane");
    approve(&mut csr, false, now()).unwrap();
    let before = csr.clone();
    let err = c
        .sign(&mut csr, now() + Duration::from_secs(7200))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the signer has expired: NotAfter=2027-01-15T09:00:00Z"
    );
    assert_eq!(csr, before);
}

/// Requests (made by openssl, as Go's crypto/x509 accepts them) whose keys kubepki refuses.
const ED25519_REQUEST: &str = "-----BEGIN CERTIFICATE REQUEST-----\nMIGcMFACAQAwHTENMAsGA1UEAwwEamFuZTEMMAoGA1UECgwDZGV2MCowBQYDK2Vw\nAyEA6tGr2ycGbsXM+kVR3Ext9o3/ytgtO6DX2aWWSruV7uSgADAFBgMrZXADQQAf\nxnEh0ja/Pju2NfNzvW2/eUb7ZDUNxBN+VuPkXUFDdQ7jL0adYoTjubbA3gFzW5Ve\nYqaunVqvG4WshBidoA8O\n-----END CERTIFICATE REQUEST-----\n";
const P521_REQUEST: &str = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBXzCBwgIBADAdMQ0wCwYDVQQDDARqYW5lMQwwCgYDVQQKDANkZXYwgZswEAYH\nKoZIzj0CAQYFK4EEACMDgYYABAB21MLgxR0DcPhywUBNASXe0XCfkjL+20bIfIvi\nGF7/auHLbBvZ5cgtd8sHk8/5dNf2Z3tWL1xwR9jET85jjYKLdwHieJdqljFj1Lj3\nh/TmxjgL0oEHXNUygHiLaRB/F+bEyzdIpPATbw9e6Rr+0WPIl2sPldmg6xoy1Voh\nOYQ8xh4YIqAAMAoGCCqGSM49BAMEA4GLADCBhwJCAUWVMgXIzi85tCleplgBBJ00\nFcgiBBFDszK8KhVfa5gkHVIaeY5bxjclCjksdJ27xrVcqXhowe7aM3k47gzsbZWX\nAkF2RBGYryglK9X4JsKABXdgPsEylC9S88SEM1K2MxY2dwRlkHepE266N0cf99c4\nbtncqhuyvz5gtyhWvd3qb2zk/w==\n-----END CERTIFICATE REQUEST-----\n";

#[test]
fn a_request_that_can_never_be_signed_fails_for_good() {
    let bad_der =
        "-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n";
    for (request, says) in [
        (
            ED25519_REQUEST,
            "request public key refused: unsupported public key algorithm Ed25519 (1.3.101.112)",
        ),
        (
            P521_REQUEST,
            "request public key refused: unsupported public key algorithm ECDSA P-521 (1.2.840.10045.2.1 with curve 1.3.132.0.35)",
        ),
        (bad_der, "malformed certificate request"),
    ] {
        let csr = CertificateSigningRequest::new(
            "jane",
            request.as_bytes(),
            KUBE_APISERVER_CLIENT,
            &["client auth"],
        );
        let message = failed_message(csr.clone());
        assert!(message.starts_with(says), "{message}");
        // Terminal: a second pass leaves it as it is.
        let (mut failed, _) = signed(csr);
        assert_eq!(
            controller().sign(&mut failed, now()).unwrap(),
            SignOutcome::Skipped
        );
    }
}

#[test]
fn the_failed_condition_of_a_refused_key_can_be_written() {
    let mut old = CertificateSigningRequest::new(
        "jane",
        ED25519_REQUEST.as_bytes(),
        KUBE_APISERVER_CLIENT,
        &["client auth"],
    );
    approve(&mut old, false, now()).unwrap();
    let mut new = old.clone();
    controller().sign(&mut new, now()).unwrap();
    assert!(new.is_failed());
    validate_update(&old, &new).unwrap();
    // The request is still checked where it could change: on create.
    let err = validate_create(&old).unwrap_err();
    assert!(err.to_string().contains("Ed25519"), "{err}");
}

#[test]
fn skips_what_is_not_for_it() {
    let c = controller();
    let mut pending = client("p");
    assert_eq!(c.sign(&mut pending, now()).unwrap(), SignOutcome::Skipped);
    let mut denied = client("d");
    deny(&mut denied, false, now()).unwrap();
    assert_eq!(c.sign(&mut denied, now()).unwrap(), SignOutcome::Skipped);
    let mut other = object("o", "example.com/other", &["client auth"], "o", &[], &[]);
    approve(&mut other, false, now()).unwrap();
    assert_eq!(c.sign(&mut other, now()).unwrap(), SignOutcome::Skipped);
    // A per-signer CA serves only its signer.
    let only_serving = SigningController::new(Signers::new()).with_signer_ca(KUBELET_SERVING, ca());
    let mut csr = client("c");
    approve(&mut csr, false, now()).unwrap();
    assert_eq!(
        only_serving.sign(&mut csr, now()).unwrap(),
        SignOutcome::Skipped
    );
}

#[test]
fn custom_signer_from_a_profile_file() {
    let set = kubepki_profile::ProfileSet::from_yaml(
        "profiles:\n  etcd-client:\n    usages: [digital signature, key encipherment, client auth]\n    expiry: 720h\n    subject: {forbidden_organizations: [system:masters]}\n",
    )
    .unwrap();
    let c = SigningController::new(
        Signers::new()
            .with_profile_set("kubepki.io", &set)
            .with_cluster_ca("kubepki.io/etcd-client"),
    )
    .with_default_ca(ca());
    let mut csr = object(
        "e",
        "kubepki.io/etcd-client",
        &["client auth"],
        "etcd",
        &[],
        &[],
    );
    approve(&mut csr, false, now()).unwrap();
    match c.sign(&mut csr, now()).unwrap() {
        SignOutcome::Issued { not_after, .. } => {
            assert_eq!(not_after, now() + Duration::from_secs(720 * 3600))
        }
        other => panic!("{other:?}"),
    }
    let mut bad = object(
        "e",
        "kubepki.io/etcd-client",
        &["server auth"],
        "etcd",
        &[],
        &[],
    );
    approve(&mut bad, false, now()).unwrap();
    assert_eq!(
        c.sign(&mut bad, now()).unwrap(),
        SignOutcome::Failed(
            r#"usage "server auth" is not allowed by signer kubepki.io/etcd-client"#.into()
        )
    );
}

/// The usages a signed request's certificate has, in Kubernetes' words.
fn issued_usages(csr: &CertificateSigningRequest) -> Vec<String> {
    let pem = &csr.status.certificate.as_ref().unwrap().0;
    let ders = kubepki_sign::certificates_from_bytes(pem).unwrap();
    let info = kubepki_sign::CertificateInfo::from_der(&ders[0]).unwrap();
    info.usages.iter().map(|u| u.as_str().to_owned()).collect()
}

fn custom_signers(profiles: &str) -> Signers {
    let set = kubepki_profile::ProfileSet::from_yaml(profiles).unwrap();
    Signers::new().with_profile_set("example.com", &set)
}

#[test]
fn custom_signer_issues_only_the_requested_usages() {
    let signers = custom_signers(
        "profiles:\n  app:\n    usages: [digital signature, key encipherment, client auth, server auth]\n    expiry: 720h\n",
    );
    let c = SigningController::new(signers).with_signer_ca("example.com/app", ca());
    let mut csr = object(
        "a",
        "example.com/app",
        &["digital signature", "client auth"],
        "app",
        &[],
        &[],
    );
    approve(&mut csr, false, now()).unwrap();
    assert!(matches!(
        c.sign(&mut csr, now()).unwrap(),
        SignOutcome::Issued { .. }
    ));
    // Not the profile's server auth and key encipherment: only what was asked for.
    assert_eq!(issued_usages(&csr), ["digital signature", "client auth"]);
}

#[test]
fn custom_signer_with_client_auth_refuses_system_masters() {
    let signers = custom_signers(
        "profiles:\n  internal:\n    usages: [digital signature, client auth, server auth]\n    expiry: 720h\n  web:\n    usages: [digital signature, server auth]\n    expiry: 720h\n  bare:\n    usages: [digital signature]\n    expiry: 720h\n",
    );
    let c = SigningController::new(signers)
        .with_signer_ca("example.com/internal", ca())
        .with_signer_ca("example.com/web", ca())
        .with_signer_ca("example.com/bare", ca());
    let mut admin = object(
        "m",
        "example.com/internal",
        &["client auth"],
        "mallory",
        &["system:masters"],
        &[],
    );
    approve(&mut admin, false, now()).unwrap();
    let refusal = "signer example.com/internal refuses O=system:masters: its certificates are valid for client auth";
    assert_eq!(
        c.sign(&mut admin, now()).unwrap(),
        SignOutcome::Failed(refusal.into())
    );
    let failed = admin.condition(FAILED).unwrap();
    assert_eq!(failed.reason.as_deref(), Some("SignerValidationFailure"));
    // Asking the client-auth profile for server auth only does not get around it.
    let mut server_only = object(
        "s",
        "example.com/internal",
        &["server auth"],
        "mallory",
        &["system:masters"],
        &[],
    );
    approve(&mut server_only, false, now()).unwrap();
    assert!(matches!(
        c.sign(&mut server_only, now()).unwrap(),
        SignOutcome::Failed(m) if m.contains("system:masters")
    ));
    // A profile without any extended key usage issues certificates Go accepts for client
    // auth: refused too.
    let mut bare = object(
        "b",
        "example.com/bare",
        &["digital signature"],
        "mallory",
        &["system:masters"],
        &[],
    );
    approve(&mut bare, false, now()).unwrap();
    assert_eq!(
        c.sign(&mut bare, now()).unwrap(),
        SignOutcome::Failed(
            "signer example.com/bare refuses O=system:masters: its certificates are valid for client auth"
                .into()
        )
    );
    // A server-only profile's certificate cannot authenticate a client: the group is inert.
    let mut web = object(
        "w",
        "example.com/web",
        &["server auth"],
        "web",
        &["system:masters"],
        &[],
    );
    approve(&mut web, false, now()).unwrap();
    assert!(matches!(
        c.sign(&mut web, now()).unwrap(),
        SignOutcome::Issued { .. }
    ));
}

#[test]
fn custom_signer_never_borrows_the_cluster_ca_implicitly() {
    let profiles =
        "profiles:\n  internal:\n    usages: [digital signature, client auth]\n    expiry: 720h\n";
    let implicit = SigningController::new(custom_signers(profiles)).with_default_ca(ca());
    match implicit.check_custom_signers() {
        Err(e @ ApiError::CustomSignerOnClusterCa { .. }) => assert_eq!(
            e.to_string(),
            "custom signer example.com/internal has no CA of its own and would sign with the cluster-signing CA, which kube-apiserver trusts for client certificates"
        ),
        other => panic!("expected CustomSignerOnClusterCa, got {other:?}"),
    }
    // And if the check is skipped, nothing is signed with the cluster CA.
    assert!(implicit.ca_for("example.com/internal").is_none());
    let mut csr = object(
        "i",
        "example.com/internal",
        &["client auth"],
        "app",
        &[],
        &[],
    );
    approve(&mut csr, false, now()).unwrap();
    assert_eq!(
        implicit.sign(&mut csr, now()).unwrap(),
        SignOutcome::Skipped
    );
    // The built-in signers keep the cluster CA.
    assert!(implicit.ca_for(KUBE_APISERVER_CLIENT).is_some());

    let opted_in =
        SigningController::new(custom_signers(profiles).with_cluster_ca("example.com/internal"))
            .with_default_ca(ca());
    opted_in.check_custom_signers().unwrap();
    assert!(opted_in.ca_for("example.com/internal").is_some());

    let own = SigningController::new(custom_signers(profiles))
        .with_default_ca(ca())
        .with_signer_ca("example.com/internal", ca());
    own.check_custom_signers().unwrap();
    // Without a cluster-signing CA there is nothing to borrow.
    SigningController::new(custom_signers(profiles))
        .check_custom_signers()
        .unwrap();
}

#[test]
fn cleaner() {
    let hour = Duration::from_secs(3600);
    let (_dir, store) = store();
    let pending = create_request(&store, client("p"), &admin(), now()).unwrap();
    assert_eq!(cleanup_reason(&pending, now() + 23 * hour), None);
    assert_eq!(
        cleanup_reason(&pending, now() + 25 * hour),
        Some("pending for more than 24h")
    );
    let mut denied = pending.clone();
    deny(&mut denied, false, now()).unwrap();
    assert_eq!(cleanup_reason(&denied, now() + hour / 2), None);
    assert_eq!(
        cleanup_reason(&denied, now() + 2 * hour),
        Some("denied more than 1h ago")
    );
    let mut failed = object("f", KUBE_APISERVER_CLIENT, &["any"], "f", &[], &[]);
    approve(&mut failed, false, now()).unwrap();
    controller().sign(&mut failed, now()).unwrap();
    assert_eq!(
        cleanup_reason(&failed, now() + 2 * hour),
        Some("failed more than 1h ago")
    );
    let mut issued = pending.clone();
    issued.spec.expiration_seconds = Some(600);
    approve(&mut issued, false, now()).unwrap();
    controller().sign(&mut issued, now()).unwrap();
    assert_eq!(
        cleanup_reason(&issued, now() + Duration::from_secs(60)),
        None
    );
    assert_eq!(
        cleanup_reason(&issued, now() + Duration::from_secs(601)),
        Some("issued certificate has expired")
    );
    let mut long = pending;
    approve(&mut long, false, now()).unwrap();
    controller().sign(&mut long, now()).unwrap();
    assert_eq!(
        cleanup_reason(&long, now() + 2 * hour),
        Some("approved and issued more than 1h ago")
    );
}

#[test]
fn names_are_dns_subdomains_as_the_api_server_checks() {
    for bad in [
        "jane\u{1b}[31m",
        "jane\nother   1s   kubernetes.io/x   me   <none>   Approved,Issued",
        "Jane",
        "jane doe",
        "jäne",
        "a/../b",
        "-jane",
        "jane.",
    ] {
        let mut csr = client("jane");
        csr.metadata.name = bad.to_owned();
        let message = invalid_message(&csr);
        assert!(
            message.contains("metadata.name: Invalid value: ")
                && message.contains("a lowercase RFC 1123 subdomain must consist of"),
            "{bad:?}: {message}"
        );
        // The name is quoted with its control characters escaped.
        assert!(
            !message.contains('\u{1b}') && !message.contains('\n'),
            "{message}"
        );
    }
    let mut csr = client("jane");
    csr.metadata.name = "a".repeat(254);
    assert!(
        invalid_message(&csr).contains("metadata.name: Invalid value: ")
            && invalid_message(&csr).contains("must be no more than 253 characters"),
        "{}",
        invalid_message(&csr)
    );
    // What the API server accepts: dots, digits, long labels, 253 characters.
    for good in ["jane", "node-1.example.com", "csr-4x7qz", &"a".repeat(253)] {
        let mut csr = client("jane");
        csr.metadata.name = good.to_owned();
        validate_create(&csr).unwrap();
    }
}

#[test]
fn a_250_character_name_is_stored_and_a_longer_one_refused_clearly() {
    let (_dir, store) = store();
    let named = |name: &str| {
        let mut csr = client("jane");
        csr.metadata.name = name.to_owned();
        csr
    };
    let name = "a".repeat(250);
    create_request(&store, named(&name), &admin(), now()).unwrap();
    assert_eq!(store.get(&name).unwrap().metadata.name, name);
    let err = create_request(&store, named(&"b".repeat(253)), &admin(), now()).unwrap_err();
    assert!(
        matches!(err, ApiError::NameTooLongForStore { len: 253, max: 250 }),
        "{err}"
    );
}

#[test]
fn annotations_are_limited_to_256_kib() {
    let mut csr = client("jane");
    csr.metadata
        .annotations
        .insert("note".to_owned(), "x".repeat(MAX_ANNOTATIONS_BYTES));
    assert_eq!(
        invalid_message(&csr),
        r#"CertificateSigningRequest.certificates.k8s.io "jane" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes"#
    );
}

#[test]
fn create_overwrites_extra_with_the_requesters() {
    let (_dir, store) = store();
    let mut csr = client("jane");
    csr.spec
        .extra
        .insert("scopes".to_owned(), vec!["cluster-admin".to_owned()]);
    let created = create_request(&store, csr, &admin(), now()).unwrap();
    assert!(created.spec.extra.is_empty(), "{:?}", created.spec.extra);
    let mut user = admin();
    user.extra
        .insert("scopes".to_owned(), vec!["view".to_owned()]);
    let created = create_request(&store, client("joe"), &user, now()).unwrap();
    assert_eq!(created.spec.extra["scopes"], ["view"]);
}

/// The fuzz seed that found the parse_time panic (a `€` in a condition's lastUpdateTime
/// offset): through the one time module it is still an error, never a panic.
#[test]
fn the_multibyte_offset_seed_is_an_error_not_a_panic() {
    let text = include_str!(
        "../../../fuzz/seeds/api_csr_object/kubelet-client-denied-multibyte-offset.json"
    );
    let csr: CertificateSigningRequest = serde_json::from_str(text).unwrap();
    let updated = csr.status.conditions[0]
        .last_update_time
        .as_deref()
        .unwrap();
    assert!(matches!(parse_time(updated), Err(ApiError::Timestamp(ref t)) if t == updated));
    let _ = cleanup_reason(&csr, now());
}
