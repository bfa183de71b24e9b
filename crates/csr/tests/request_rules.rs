//! Regression tests of the request rules (issue 20): each request shape on which Go's
//! crypto/x509 and kubepki could read differently is refused by `Csr::from_der` with its own
//! error. The requests are written byte by byte and properly signed, so each one reaches the
//! rule it tests.
#![allow(clippy::unwrap_used)]

use std::sync::LazyLock;

use der::Encode;
use kubepki_csr::{Csr, CsrError, San};
use kubepki_keys::{KeyAlgorithm, KeyPair, Signer};
use kubepki_test_support::der::{
    attribute, atv, cert_req, cert_req_info, extension, oid, oids, seq, set, set_sorted, tag, tlv,
};

static KEY: LazyLock<KeyPair> =
    LazyLock::new(|| KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap());

/// A request with these RDNs (each a DER-sorted SET of the given attributes) and attributes,
/// signed with [`KEY`].
fn request(rdns: &[Vec<Vec<u8>>], attributes: &[Vec<u8>]) -> Vec<u8> {
    let subject = seq(&rdns.iter().map(|r| set_sorted(r)).collect::<Vec<_>>());
    let info = cert_req_info(&subject, KEY.public_key().to_der(), attributes);
    let signature = KEY.sign(&info).unwrap();
    cert_req(
        &info,
        &KEY.signature_algorithm().to_der().unwrap(),
        &signature,
    )
}

fn cn(text: &str) -> Vec<u8> {
    atv(oids::CN, tag::UTF8, text.as_bytes())
}

fn o(text: &str) -> Vec<u8> {
    atv(oids::O, tag::UTF8, text.as_bytes())
}

/// The extensionRequest attribute with one value holding `extensions`.
fn extension_request(extensions: &[Vec<u8>]) -> Vec<u8> {
    attribute(oids::EXTENSION_REQUEST, &[seq(extensions)])
}

/// A subjectAltName extension of these GeneralNames.
fn san_extension(names: &[Vec<u8>]) -> Vec<u8> {
    extension(oids::SUBJECT_ALT_NAME, None, &seq(names))
}

fn dns(name: &str) -> Vec<u8> {
    tlv(0x82, name.as_bytes())
}

/// A request for `system:node:worker-1` with these SAN GeneralNames.
fn with_sans(names: &[Vec<u8>]) -> Result<Csr, CsrError> {
    Csr::from_der(&request(
        &[vec![cn("system:node:worker-1")]],
        &[extension_request(&[san_extension(names)])],
    ))
}

#[test]
fn attack_1_a_multi_valued_rdn_of_two_cns_is_refused() {
    // Issue 20, as worker-1 sent it: O=system:nodes, then ONE RDN {CN=UTF8String
    // "system:node:worker-2", CN=PrintableString "system:node:worker-1"}. Go reads the last
    // CN (worker-1); re-encoded as two UTF8Strings the SET sorts worker-2 last.
    let der = request(
        &[
            vec![atv(oids::O, tag::UTF8, b"system:nodes")],
            vec![
                atv(oids::CN, tag::UTF8, b"system:node:worker-2"),
                atv(oids::CN, tag::PRINTABLE, b"system:node:worker-1"),
            ],
        ],
        &[],
    );
    let err = Csr::from_der(&der).unwrap_err();
    assert!(
        matches!(&err, CsrError::MultiValuedRdn { rdn } if rdn == "CN=system:node:worker-2+CN=system:node:worker-1"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "multi-valued RDN CN=system:node:worker-2+CN=system:node:worker-1 is refused: only several O or several OU values may share an RDN"
    );
}

#[test]
fn a_multi_valued_rdn_of_a_cn_and_an_o_is_refused() {
    let err = Csr::from_der(&request(&[vec![cn("jane"), o("dev")]], &[])).unwrap_err();
    assert!(matches!(err, CsrError::MultiValuedRdn { .. }), "{err:?}");
}

#[test]
fn go_made_multi_valued_o_and_ou_rdns_are_accepted_in_encoded_order() {
    // Go's pkix.Name.ToRDNSequence writes every O value in one RDN (and every OU in another).
    let der = request(
        &[
            vec![o("system:masters"), o("dev")],
            vec![
                atv(oids::OU, tag::UTF8, b"b"),
                atv(oids::OU, tag::UTF8, b"a"),
            ],
            vec![cn("jane")],
        ],
        &[],
    );
    let csr = Csr::from_der(&der).unwrap();
    // DER order: "dev" (3 bytes) sorts before "system:masters".
    assert_eq!(csr.subject().organizations(), vec!["dev", "system:masters"]);
    assert_eq!(csr.subject().organizational_units(), vec!["a", "b"]);
    assert_eq!(csr.subject().common_name(), Some("jane"));
}

#[test]
fn two_common_names_in_separate_rdns_are_refused() {
    let err = Csr::from_der(&request(
        &[
            vec![cn("system:node:worker-2")],
            vec![cn("system:node:worker-1")],
        ],
        &[],
    ))
    .unwrap_err();
    assert!(
        matches!(&err, CsrError::SeveralCommonNames { count: 2, values } if values == &["system:node:worker-2", "system:node:worker-1"]),
        "{err:?}"
    );
}

#[test]
fn subject_values_of_other_string_types_are_refused() {
    for (value_tag, bytes, found) in [
        (tag::BMP, &b"\0j\0a\0n\0e"[..], "BMPString"),
        (tag::TELETEX, b"jane", "TeletexString"),
        (tag::VISIBLE, b"jane", "VisibleString"),
        (tag::INTEGER, &[1][..], "INTEGER"),
    ] {
        let err =
            Csr::from_der(&request(&[vec![atv(oids::CN, value_tag, bytes)]], &[])).unwrap_err();
        assert!(
            matches!(&err, CsrError::SubjectStringType { attribute, found: f } if attribute == "CN" && f == found),
            "{found}: {err:?}"
        );
    }
    // UniversalString is not even a tag the DER reader knows.
    let err = Csr::from_der(&request(
        &[vec![atv(oids::CN, tag::UNIVERSAL, b"\0\0\0j")]],
        &[],
    ))
    .unwrap_err();
    assert!(matches!(err, CsrError::Malformed(_)), "{err:?}");
}

#[test]
fn invalid_strings_are_refused_by_type() {
    for (value_tag, bytes, string_type) in [
        (tag::UTF8, &b"jane\xff"[..], "UTF8String"),
        (tag::PRINTABLE, b"ja*ne", "PrintableString"),
        (tag::PRINTABLE, b"jane@x", "PrintableString"),
        (tag::IA5, "jané".as_bytes(), "IA5String"),
    ] {
        let err =
            Csr::from_der(&request(&[vec![atv(oids::O, value_tag, bytes)]], &[])).unwrap_err();
        assert!(
            matches!(&err, CsrError::SubjectStringInvalid { attribute, string_type: t } if attribute == "O" && *t == string_type),
            "{string_type}: {err:?}"
        );
    }
}

#[test]
fn control_characters_in_a_subject_value_are_refused() {
    for (value, code_point) in [
        ("system:node:a\0", "U+0000"),
        ("a\nb", "U+000A"),
        ("a\u{7f}", "U+007F"),
        ("a\u{85}", "U+0085"),
        ("a\u{9f}", "U+009F"),
    ] {
        let err = Csr::from_der(&request(&[vec![cn(value)]], &[])).unwrap_err();
        assert!(
            matches!(&err, CsrError::SubjectControlCharacter { attribute, code_point: c, .. } if attribute == "CN" && c == code_point),
            "{value:?}: {err:?}"
        );
    }
    // Printable Unicode past U+009F is fine.
    let csr = Csr::from_der(&request(&[vec![cn("jané\u{a0}ü")]], &[])).unwrap();
    assert_eq!(csr.subject().common_name(), Some("jané\u{a0}ü"));
}

#[test]
fn values_the_certificate_cannot_carry_as_read_are_refused() {
    let err = Csr::from_der(&request(
        &[vec![atv(oids::C, tag::UTF8, b"DEU")], vec![cn("x")]],
        &[],
    ))
    .unwrap_err();
    assert!(
        matches!(&err, CsrError::SubjectValueNotIssuable { attribute, .. } if attribute == "C"),
        "{err:?}"
    );
    let err = Csr::from_der(&request(
        &[vec![atv(
            oids::EMAIL_ADDRESS,
            tag::UTF8,
            "jané@x.example".as_bytes(),
        )]],
        &[],
    ))
    .unwrap_err();
    assert!(
        matches!(&err, CsrError::SubjectValueNotIssuable { attribute, .. } if attribute == "emailAddress"),
        "{err:?}"
    );
}

#[test]
fn attack_2_two_extension_request_values_are_refused() {
    // Issue 20: one extensionRequest attribute, two Extensions values; Go, openssl and kubectl
    // show the first value's SANs only, kubepki signed both.
    let first = seq(&[san_extension(&[dns("worker-1.example")])]);
    let second = seq(&[san_extension(&[dns("kubernetes.default.svc")])]);
    let der = request(
        &[vec![cn("system:node:worker-1")]],
        &[attribute(oids::EXTENSION_REQUEST, &[first, second])],
    );
    let err = Csr::from_der(&der).unwrap_err();
    assert!(
        matches!(err, CsrError::ExtensionRequestValues { count: 2 }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the extensionRequest attribute has 2 values: exactly one is allowed"
    );
}

#[test]
fn an_extension_request_without_a_value_is_refused() {
    let der = request(&[vec![cn("x")]], &[attribute(oids::EXTENSION_REQUEST, &[])]);
    let err = Csr::from_der(&der).unwrap_err();
    assert!(
        matches!(err, CsrError::ExtensionRequestValues { count: 0 }),
        "{err:?}"
    );
}

#[test]
fn two_extension_request_attributes_are_refused() {
    let der = request(
        &[vec![cn("x")]],
        &[
            extension_request(&[san_extension(&[dns("a.example")])]),
            extension_request(&[san_extension(&[dns("b.example")])]),
        ],
    );
    let err = Csr::from_der(&der).unwrap_err();
    assert!(
        matches!(err, CsrError::SeveralExtensionRequests { count: 2 }),
        "{err:?}"
    );
}

#[test]
fn a_duplicated_extension_is_refused() {
    let der = request(
        &[vec![cn("x")]],
        &[extension_request(&[
            san_extension(&[dns("a.example")]),
            san_extension(&[dns("b.example")]),
        ])],
    );
    let err = Csr::from_der(&der).unwrap_err();
    assert!(
        matches!(&err, CsrError::DuplicateExtension { extension } if extension == "subjectAltName (2.5.29.17)"),
        "{err:?}"
    );
}

#[test]
fn an_unknown_critical_extension_is_refused_and_a_known_one_is_not() {
    let unknown = extension("1.3.6.1.4.1.99999.1", Some(true), &tlv(0x05, &[]));
    let err =
        Csr::from_der(&request(&[vec![cn("x")]], &[extension_request(&[unknown])])).unwrap_err();
    assert!(
        matches!(&err, CsrError::UnknownCriticalExtension { oid } if oid == "1.3.6.1.4.1.99999.1"),
        "{err:?}"
    );
    let not_critical = extension("1.3.6.1.4.1.99999.1", None, &tlv(0x05, &[]));
    let basic = extension(oids::BASIC_CONSTRAINTS, Some(true), &seq(&[]));
    let csr = Csr::from_der(&request(
        &[vec![cn("x")]],
        &[extension_request(&[not_critical, basic])],
    ))
    .unwrap();
    assert_eq!(csr.requested_extensions().len(), 2);
}

#[test]
fn other_attributes_are_ignored() {
    let password = attribute(oids::CHALLENGE_PASSWORD, &[tlv(tag::PRINTABLE, b"secret")]);
    let csr = Csr::from_der(&request(&[vec![cn("x")]], &[password])).unwrap();
    assert!(csr.sans().is_empty());
}

#[test]
fn an_ip_address_of_odd_length_is_refused() {
    // Go refuses the request ("cannot parse IP address of length 5"); kubepki used to drop
    // the name silently and sign the rest.
    let err = with_sans(&[tlv(0x87, &[10, 0, 0, 1, 7]), dns("a.example")]).unwrap_err();
    assert!(
        matches!(&err, CsrError::InvalidSan { kind: "IP", value, .. } if value == "0a00000107"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "invalid IP subject alternative name \"0a00000107\": an iPAddress is 4 or 16 bytes"
    );
}

#[test]
fn an_ipv4_mapped_ipv6_address_is_refused() {
    let mut mapped = [0u8; 16];
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped[12..].copy_from_slice(&[10, 0, 0, 1]);
    let err = with_sans(&[tlv(0x87, &mapped)]).unwrap_err();
    assert!(
        matches!(&err, CsrError::InvalidSan { kind: "IP", value, .. } if value == "::ffff:10.0.0.1"),
        "{err:?}"
    );
    let csr = with_sans(&[tlv(0x87, &[10, 0, 0, 1]), tlv(0x87, &[0xfd; 16])]).unwrap();
    assert_eq!(csr.sans().len(), 2);
}

#[test]
fn names_that_are_not_ia5_are_refused() {
    for (tag_byte, kind) in [(0x82, "DNS"), (0x81, "email"), (0x86, "URI")] {
        let err = with_sans(&[tlv(tag_byte, "bücher.example".as_bytes())]).unwrap_err();
        assert!(
            matches!(&err, CsrError::InvalidSan { kind: k, reason, .. } if *k == kind && reason.contains("IA5")),
            "{kind}: {err:?}"
        );
    }
}

#[test]
fn dns_names_san_dns_would_refuse_are_refused() {
    for bad in [
        "worker-1.example.",
        "a..example",
        "",
        "10.0.0.1",
        "bad name",
        "xn--a.-b",
        "a\0b",
    ] {
        let err = with_sans(&[dns(bad)]).unwrap_err();
        assert!(
            matches!(&err, CsrError::InvalidSan { kind: "DNS", value, .. } if value == bad),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn names_are_kept_exactly_as_received() {
    // Not lower-cased: the certificate says what the request said, byte for byte.
    let csr = with_sans(&[
        dns("Worker-1.Example"),
        dns("*.apps.example"),
        dns("xn--bcher-kva.example"),
        tlv(0x81, b"Jane@Example.com"),
        tlv(0x86, b"spiffe://cluster.local/ns/Default/sa/x"),
    ])
    .unwrap();
    assert_eq!(
        csr.sans(),
        &[
            San::Dns("Worker-1.Example".into()),
            San::Dns("*.apps.example".into()),
            San::Dns("xn--bcher-kva.example".into()),
            San::Email("Jane@Example.com".into()),
            San::Uri("spiffe://cluster.local/ns/Default/sa/x".into()),
        ]
    );
}

#[test]
fn general_name_kinds_kubepki_does_not_sign_are_refused_by_name() {
    for (name, kind) in [
        (
            tlv(
                0xA0,
                &[
                    oid("1.3.6.1.4.1.311.20.2.3"),
                    tlv(0xA0, &tlv(tag::UTF8, b"x")),
                ]
                .concat(),
            ),
            "otherName",
        ),
        (tlv(0xA4, &seq(&[set(&[cn("x")])])), "directoryName"),
        (tlv(0x88, &oid("1.2.3.4")[2..]), "registeredID"),
    ] {
        let err = with_sans(&[dns("a.example"), name]).unwrap_err();
        assert!(
            matches!(&err, CsrError::UnsupportedSanKind { kind: k } if *k == kind),
            "{kind}: {err:?}"
        );
    }
}

#[test]
fn an_empty_subject_alt_name_is_refused() {
    let err = with_sans(&[]).unwrap_err();
    assert!(matches!(err, CsrError::EmptySubjectAltName), "{err:?}");
}

#[test]
fn uris_go_would_print_differently_are_refused() {
    for bad in [
        "SPIFFE://cluster.local/x",
        "https://h/a\"b",
        "https://h/a#b#c",
        "https://h/%zz",
        "https://h%41/",
        "https://user@h/",
        "https://[::1]/",
        "https://h./",
        "https://h:port/",
        "x:",
        "x://",
    ] {
        let err = with_sans(&[tlv(0x86, bad.as_bytes())]).unwrap_err();
        assert!(
            matches!(&err, CsrError::InvalidSan { kind: "URI", value, .. } if value == bad),
            "{bad:?}: {err:?}"
        );
    }
    for good in [
        "spiffe://cluster.local/ns/default/sa/x",
        "https://h:6443/a%2Fb?q=1&r#frag?x",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "x:/a!$&'()*+,;=:@",
    ] {
        assert!(with_sans(&[tlv(0x86, good.as_bytes())]).is_ok(), "{good}");
    }
}

#[test]
fn a_uri_with_an_empty_fragment_is_refused() {
    // Found by the Go differential test: Go's url.URL prints "x-y:,a#" as "x-y:,a".
    for bad in ["x-y:,a#", "urn://h/#", "x:.?#"] {
        let err = with_sans(&[tlv(0x86, bad.as_bytes())]).unwrap_err();
        assert!(
            matches!(&err, CsrError::InvalidSan { kind: "URI", value, reason } if value == bad && reason.contains("empty fragment")),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn an_rdn_set_out_of_der_order_is_refused() {
    // Found by the Go differential test: the DER reader sorted {OU=O'Brien (ops), OU=DE} into
    // [DE, O'Brien (ops)], Go reads [O'Brien (ops), DE].
    let subject = seq(&[set(&[
        atv(oids::OU, tag::IA5, b"O'Brien (ops)"),
        atv(oids::OU, tag::UTF8, b"DE"),
    ])]);
    let info = cert_req_info(&subject, KEY.public_key().to_der(), &[]);
    let signature = KEY.sign(&info).unwrap();
    let der = cert_req(
        &info,
        &KEY.signature_algorithm().to_der().unwrap(),
        &signature,
    );
    let err = Csr::from_der(&der).unwrap_err();
    assert!(matches!(err, CsrError::NotDer), "{err:?}");
}
