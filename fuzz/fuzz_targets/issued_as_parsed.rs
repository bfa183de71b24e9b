//! What kubepki checked is what it writes (issue 20): any request `Csr::from_der` accepts is
//! issued under a permissive profile by a fixed CA, and kubepki's own reading of the
//! certificate must say what the request said: the subject value for value (one attribute
//! per RDN, in the order read) and every SAN byte for byte.
//!
//! The input is tried twice: as a whole request, and as a CertificationRequestInfo that the
//! target signs with [`REQUESTER_KEY`], so that a mutated subject or extension still carries a
//! valid proof of possession and reaches the rules and the issuer (a mutated whole request
//! almost never does). The `info-*` seeds are request infos holding that key.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use kubepki_csr::{Csr, San, SanKind, Subject};
use kubepki_keys::{KeyAlgorithm, KeyPair, Signer};
use kubepki_profile::{BACKDATE, Profile, SanPolicy, SubjectPolicy, Usage, ca_profile};
use kubepki_sign::{Ca, CertificateInfo, IssueOptions};
use kubepki_test_support::der::{cert_req, oid, seq};
use libfuzzer_sys::fuzz_target;

/// The requester's key for request infos: fixed, because the `info-*` seeds hold its public
/// key. A throwaway test key, nothing else uses it.
const REQUESTER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg66giudT3voyfQCay
nl0D8fYLggi0qAvpPlPz391tteOhRANCAASXyRVKq9I8EGVX4davOjeaZt9b/fZa
yi/1Ipu88oUZcXbcijDV0laty2lr8hgb2yKKe04u0C5nwcN0fDAEGPXE
-----END PRIVATE KEY-----
";

static REQUESTER: LazyLock<KeyPair> =
    LazyLock::new(|| KeyPair::from_pem(REQUESTER_KEY, None).expect("the requester key"));

/// `info` signed by the requester: a whole request (ecdsa-with-SHA256).
fn signed(info: &[u8]) -> Option<Vec<u8>> {
    let signature = REQUESTER.sign(info).ok()?;
    Some(cert_req(
        info,
        &seq(&[oid("1.2.840.10045.4.3.2")]),
        &signature,
    ))
}

fn now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

static CA: LazyLock<Ca> = LazyLock::new(|| {
    Ca::self_signed(
        Box::new(KeyPair::generate(KeyAlgorithm::EcdsaP256).expect("a key")),
        &Subject::parse("/CN=kubernetes").expect("a subject"),
        &ca_profile("ca", "kubernetes"),
        &IssueOptions::at(now()),
    )
    .expect("a CA")
});

/// Client and server, every requested SAN kept, no subject rule but the default limits.
static PROFILE: LazyLock<Profile> = LazyLock::new(|| Profile {
    name: "fuzz".to_owned(),
    description: "client and server, every requested SAN".to_owned(),
    usages: vec![
        Usage::DigitalSignature,
        Usage::ServerAuth,
        Usage::ClientAuth,
    ],
    ca: None,
    default_validity: Duration::from_secs(86_400),
    max_validity: Duration::from_secs(86_400),
    backdate: BACKDATE,
    subject: SubjectPolicy::default(),
    sans: SanPolicy {
        allowed: vec![SanKind::Dns, SanKind::Ip, SanKind::Uri, SanKind::Email],
        keep_requested: true,
        ..SanPolicy::default()
    },
});

/// The SANs with repeats said once: the profile keeps the first of a repeated name.
fn once(sans: &[San]) -> Vec<San> {
    let mut out: Vec<San> = Vec::new();
    for san in sans {
        if !out.contains(san) {
            out.push(san.clone());
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(request) = signed(data) {
        check(&request);
    }
});

fn check(der: &[u8]) {
    let Ok(csr) = Csr::from_der(der) else {
        return;
    };
    // The profile may still refuse (too many O values or SANs): nothing issued, nothing to check.
    let Ok(issued) = CA.issue(&csr, &PROFILE, &IssueOptions::at(now())) else {
        return;
    };
    let info = CertificateInfo::from_der(issued.der()).expect("kubepki reads what it issued");
    assert_eq!(
        info.subject,
        csr.subject().canonical(),
        "subject as written"
    );
    assert_eq!(info.subject.common_name(), csr.subject().common_name());
    assert_eq!(info.subject.organizations(), csr.subject().organizations());
    assert_eq!(
        info.subject.organizational_units(),
        csr.subject().organizational_units()
    );
    assert_eq!(info.sans, once(csr.sans()), "SANs as written");
}
