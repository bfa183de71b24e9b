//! Property tests of the round trips: a request we build parses back to the same subject,
//! SANs and key; a certificate we issue under a profile says what the profile says.

// Test code: a setup that fails should panic.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kubepki_csr::{Csr, CsrBuilder, San, Subject};
use kubepki_keys::{KeyAlgorithm, KeyPair};
use kubepki_profile::{ClusterParams, builtin, ca_profile};
use kubepki_sign::{Ca, CertificateInfo, IssueOptions};
use proptest::prelude::*;

/// One key per algorithm, made once: generating RSA keys per case would dominate the run.
fn key(index: usize) -> &'static KeyPair {
    static KEYS: OnceLock<Vec<KeyPair>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Rsa2048,
        ]
        .into_iter()
        .map(|alg| KeyPair::generate(alg).unwrap())
        .collect()
    });
    &keys[index % keys.len()]
}

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,10}"
}

fn dns() -> impl Strategy<Value = San> {
    prop::collection::vec(label(), 1..4).prop_map(|labels| San::dns(&labels.join(".")).unwrap())
}

fn ip() -> impl Strategy<Value = San> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from),
    ]
    .prop_map(|ip| San::parse(&format!("IP:{ip}")).unwrap())
}

fn sans() -> impl Strategy<Value = Vec<San>> {
    prop::collection::vec(prop_oneof![dns(), ip()], 0..5)
}

/// A time between 2001 and 2099, whole seconds: both UTCTime and GeneralizedTime years.
fn now() -> impl Strategy<Value = SystemTime> {
    (978_307_200u64..4_102_444_800).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

fn ca_at(now: SystemTime) -> Ca {
    let options = IssueOptions::at(now - Duration::from_secs(86_400));
    Ca::self_signed(
        Box::new(KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()),
        &Subject::from_parts::<&str>("kubernetes", &[]),
        &ca_profile("ca", "kubernetes"),
        &options,
    )
    .unwrap()
}

fn set(sans: &[San]) -> BTreeSet<String> {
    sans.iter().map(ToString::to_string).collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        // A failure prints its minimal input; no regression files in the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_built_request_parses_to_the_same_subject_sans_and_key(
        cn in label(),
        orgs in prop::collection::vec("[a-z]{1,8}(:[a-z]{1,8})?", 0..3),
        sans in sans(),
        key_index in 0usize..3,
    ) {
        let key = key(key_index);
        let subject = Subject::from_parts(&cn, &orgs);
        let built = CsrBuilder::new(subject.clone()).sans(sans.clone()).build(key).unwrap();
        for parsed in [Csr::from_der(built.to_der()).unwrap(), Csr::from_pem(&built.to_pem()).unwrap()] {
            prop_assert_eq!(parsed.subject(), &subject);
            prop_assert_eq!(set(parsed.sans()), set(&sans));
            prop_assert_eq!(parsed.public_key().to_der(), key.public_key().to_der());
            prop_assert_eq!(parsed.username(), Some(cn.as_str()));
            prop_assert_eq!(parsed.groups(), orgs.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }

    #[test]
    fn an_issued_certificate_has_the_profiles_usages_ca_flag_and_validity(
        name in prop::sample::select(vec![
            "server", "client", "peer", "apiserver", "apiserver-etcd-client",
            "front-proxy-client", "admin", "controller-manager", "scheduler", "kube-proxy",
            "etcd-server", "etcd-peer", "etcd-healthcheck-client",
        ]),
        cn in label(),
        sans in prop::collection::vec(dns(), 1..3),
        hours in prop::option::of(1u64..=8760),
        now in now(),
        key_index in 0usize..3,
    ) {
        let params = ClusterParams {
            node_name: Some("node-1".to_owned()),
            ..ClusterParams::default()
        };
        let profile = builtin(name, &params).unwrap();
        let ca = ca_at(now);
        let subject = profile
            .fixed_subject()
            .unwrap_or_else(|| Subject::from_parts::<&str>(&cn, &[]));
        let csr = CsrBuilder::new(subject.clone()).sans(sans).build(key(key_index)).unwrap();
        let validity = hours.map(|h| Duration::from_secs(h * 3600));
        let issued = ca.issue(&csr, &profile, &IssueOptions { now, validity }).unwrap();
        let info = CertificateInfo::from_der(issued.der()).unwrap();

        prop_assert_eq!(info.key_usage, profile.key_usage());
        let eku: BTreeSet<_> = info.extended_key_usage.iter().map(ToString::to_string).collect();
        let want: BTreeSet<_> = profile.extended_key_usage().iter().map(ToString::to_string).collect();
        prop_assert_eq!(eku, want);
        let usages: BTreeSet<_> = info.usages.iter().map(|u| u.as_str()).collect();
        let want: BTreeSet<_> = profile.usages.iter().map(|u| u.as_str()).collect();
        prop_assert_eq!(usages, want);
        prop_assert!(!info.is_ca);
        prop_assert_eq!(&info.subject, &subject);
        prop_assert_eq!(info.not_before, now - profile.backdate);
        prop_assert_eq!(
            info.not_after,
            now + validity.unwrap_or(profile.default_validity)
        );
        prop_assert_eq!(info.not_after, issued.not_after());
        let ca_info = CertificateInfo::from_der(ca.certificate_der()).unwrap();
        prop_assert_eq!(info.authority_key_id, ca_info.subject_key_id);
    }

    #[test]
    fn an_intermediate_is_a_ca_with_the_profiles_path_length(
        path_len in prop::option::of(0u8..4),
        now in now(),
    ) {
        let ca = ca_at(now);
        let mut profile = ca_profile("intermediate", "kubepki-intermediate");
        if let Some(ca) = profile.ca.as_mut() {
            ca.path_len = path_len;
        }
        let sub = ca
            .issue_intermediate(
                Box::new(KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()),
                &Subject::from_parts::<&str>("kubepki-intermediate", &[]),
                &profile,
                &IssueOptions::at(now),
            )
            .unwrap();
        let info = CertificateInfo::from_der(sub.certificate_der()).unwrap();
        prop_assert!(info.is_ca);
        prop_assert_eq!(info.path_len, path_len);
        prop_assert_eq!(info.key_usage, profile.key_usage());
        prop_assert_eq!(info.not_before, now - profile.backdate);
        // Past the root's end, the intermediate is clamped to it.
        prop_assert_eq!(info.not_after, (now + profile.default_validity).min(ca.not_after()));
    }
}
