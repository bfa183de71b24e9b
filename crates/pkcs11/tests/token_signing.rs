//! The library against a real PKCS#11 module, SoftHSM2: each test makes its own token and
//! asserts the specific error variants and the signatures.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, and changing the environment of a
//! running (multi-threaded) test process is unsound, so each test runs its body in a child
//! process of this same test binary, started with its own token's `SOFTHSM2_CONF`. Without
//! `softhsm2-util` or the module a test prints a loud SKIP, and fails when `CI` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use const_oid::db::rfc5912::ID_RSASSA_PSS;
use kubepki_keys::{KeyAlgorithm, Signer, verify_signature};
use kubepki_pkcs11::{OpenOptions, Pkcs11Error, Pkcs11Uri, Token};

const MODULE: &str = kubepki_test_support::SOFTHSM2_MODULE;
/// Set in the child process to the name of the test whose body it runs.
const CHILD: &str = "KUBEPKI_SOFTHSM_CHILD";

/// `true` in the child process, which runs the test's body. In the parent: makes a token,
/// runs this test in a child with the token's `SOFTHSM2_CONF`, asserts that it passed, and
/// returns `false` (or SKIPs, failing under CI, when SoftHSM2 is missing).
fn in_child(test: &str) -> bool {
    if std::env::var(CHILD).as_deref() == Ok(test) {
        return true;
    }
    if !kubepki_test_support::softhsm2_available() {
        return false;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = kubepki_test_support::softhsm2_token(dir.path());
    let child = Command::new(std::env::current_exe().unwrap())
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD, test)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "child {test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    // The child ran the test, rather than filtering it out.
    assert!(stdout.contains("1 passed"), "{stdout}");
    false
}

fn uri(path: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(&format!(
        "pkcs11:token=kubepki;{path}?module-path={MODULE}&pin-value=1234"
    ))
    .unwrap()
}

fn open(uri: &Pkcs11Uri) -> Token {
    Token::open(uri, &OpenOptions::new()).unwrap()
}

#[test]
fn rsa_keys_sign_pkcs1_and_pss_that_verify() {
    if !in_child("rsa_keys_sign_pkcs1_and_pss_that_verify") {
        return;
    }
    let uri = uri("object=rsa-ca");
    let token = open(&uri);
    let signer = token.generate(&uri, KeyAlgorithm::Rsa2048).unwrap();
    let message = b"a to-be-signed certificate";
    let signature = signer.sign(message).unwrap();
    verify_signature(
        signer.public_key().spki(),
        &signer.signature_algorithm(),
        message,
        &signature,
    )
    .unwrap();

    let pss = token.signer(&uri).unwrap().with_rsa_pss().unwrap();
    assert_eq!(pss.signature_algorithm().oid, ID_RSASSA_PSS);
    let signature = pss.sign(message).unwrap();
    verify_signature(
        pss.public_key().spki(),
        &pss.signature_algorithm(),
        message,
        &signature,
    )
    .unwrap();
    // PSS is randomised: a second signature differs, and verifies too.
    let again = pss.sign(message).unwrap();
    assert_ne!(signature, again);
    verify_signature(
        pss.public_key().spki(),
        &pss.signature_algorithm(),
        message,
        &again,
    )
    .unwrap();

    // PSS for an EC key is refused by name.
    let ec = uri_with_key(&token, "ec", KeyAlgorithm::EcdsaP256);
    let err = token.signer(&ec).unwrap().with_rsa_pss().unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::UnsupportedKey { ref reason, .. } if reason.contains("RSASSA-PSS")),
        "{err}"
    );
}

fn uri_with_key(token: &Token, label: &str, algorithm: KeyAlgorithm) -> Pkcs11Uri {
    let uri = uri(&format!("object={label}"));
    token.generate(&uri, algorithm).unwrap();
    uri
}

#[test]
fn one_signer_signs_from_many_threads() {
    if !in_child("one_signer_signs_from_many_threads") {
        return;
    }
    for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
        let uri = uri(&format!("object={algorithm}"));
        let token = open(&uri);
        let signer = Arc::new(token.generate(&uri, algorithm).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let signer = Arc::clone(&signer);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let message = format!("certificate {t}-{i}");
                        let signature = signer.sign(message.as_bytes()).unwrap();
                        verify_signature(
                            signer.public_key().spki(),
                            &signer.signature_algorithm(),
                            message.as_bytes(),
                            &signature,
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
}

#[test]
fn keys_are_listed_as_sensitive_and_not_extractable() {
    if !in_child("keys_are_listed_as_sensitive_and_not_extractable") {
        return;
    }
    let id_uri = uri("object=with-id;id=%c0%ff%ee");
    let token = open(&id_uri);
    let made = token.generate(&id_uri, KeyAlgorithm::EcdsaP384).unwrap();
    assert_eq!(made.id(), [0xc0, 0xff, 0xee]);
    let plain = uri_with_key(&token, "plain", KeyAlgorithm::Rsa2048);
    let keys = token.keys().unwrap();
    let labels: Vec<&str> = keys.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ["plain", "with-id"]);
    assert_eq!(keys[1].id_hex(), "c0ffee");
    assert_eq!(keys[1].algorithm, "ECDSA-P384");
    assert_eq!(keys[0].algorithm, "RSA-2048");
    // Without an id in the URI, the key gets its SubjectKeyIdentifier as id.
    let signer = token.signer(&plain).unwrap();
    assert_eq!(signer.id(), signer.public_key().key_id());
    for key in &keys {
        assert_eq!(key.extractable, Some(false), "{key:?}");
        assert_eq!(key.sensitive, Some(true), "{key:?}");
        assert_eq!(key.never_extractable, Some(true), "{key:?}");
    }
}

#[test]
fn errors_are_the_specific_variants() {
    if !in_child("errors_are_the_specific_variants") {
        return;
    }
    // The PIN first, while no token is open: a PKCS#11 login belongs to the process, so
    // once one token handle is logged in, another is not asked for the PIN again.
    let wrong_pin = Pkcs11Uri::parse(&format!(
        "pkcs11:token=kubepki?module-path={MODULE}&pin-value=9999"
    ))
    .unwrap();
    let err = Token::open(&wrong_pin, &OpenOptions::new()).unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::WrongPin { ref token, .. } if token == "kubepki"),
        "{err}"
    );
    // The fallback PIN is used only when the URI has none.
    let no_pin = Pkcs11Uri::parse(&format!("pkcs11:token=kubepki?module-path={MODULE}")).unwrap();
    let err = Token::open(&no_pin, &OpenOptions::new()).unwrap_err();
    assert!(matches!(err, Pkcs11Error::PinRequired { .. }), "{err}");
    Token::open(&no_pin, &OpenOptions::new().fallback_pin(Some("1234"))).unwrap();
    let err = Token::open(&wrong_pin, &OpenOptions::new().fallback_pin(Some("1234"))).unwrap_err();
    assert!(matches!(err, Pkcs11Error::WrongPin { .. }), "{err}");

    let ca = uri("object=ca");
    let token = open(&ca);
    token.generate(&ca, KeyAlgorithm::EcdsaP256).unwrap();

    let gone = Pkcs11Uri::parse("pkcs11:token=kubepki?module-path=/nonexistent/lib.so").unwrap();
    let err = Token::open(&gone, &OpenOptions::new()).unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::NoSuchModule { ref path, .. } if path == Path::new("/nonexistent/lib.so")),
        "{err}"
    );
    let no_module = Pkcs11Uri::parse("pkcs11:token=kubepki").unwrap();
    let err = Token::open(&no_module, &OpenOptions::new()).unwrap_err();
    assert!(matches!(err, Pkcs11Error::NoModulePath { .. }), "{err}");
    Token::open(
        &no_module,
        &OpenOptions::new()
            .default_module(Some(Path::new(MODULE)))
            .fallback_pin(Some("1234")),
    )
    .unwrap();

    let elsewhere = Pkcs11Uri::parse(&format!(
        "pkcs11:token=elsewhere?module-path={MODULE}&pin-value=1234"
    ))
    .unwrap();
    let err = Token::open(&elsewhere, &OpenOptions::new()).unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::NoSuchToken { ref available, .. } if available == "kubepki"),
        "{err}"
    );

    let err = token.signer(&uri("object=missing")).unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::NoSuchObject { ref wanted, .. } if wanted == "object=missing"),
        "{err}"
    );
    assert!(token.find_signer(&uri("object=missing")).unwrap().is_none());
    let err = token.signer(&uri("object=ca;type=cert")).unwrap_err();
    assert!(matches!(err, Pkcs11Error::WrongUriType { .. }), "{err}");
    let err = token.generate(&ca, KeyAlgorithm::EcdsaP256).unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::ObjectExists { ref label, .. } if label == "ca"),
        "{err}"
    );
    let err = token
        .generate(&uri("id=%01"), KeyAlgorithm::EcdsaP256)
        .unwrap_err();
    assert!(matches!(err, Pkcs11Error::NoLabel { .. }), "{err}");

    uri_with_key(&token, "second", KeyAlgorithm::EcdsaP256);
    let err = token.signer(&uri("type=private")).unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::AmbiguousObject { count: 2, .. }),
        "{err}"
    );
}

#[test]
fn a_wrong_pin_is_refused_while_another_handle_is_logged_in() {
    if !in_child("a_wrong_pin_is_refused_while_another_handle_is_logged_in") {
        return;
    }
    let good = open(&uri("object=ca"));
    // The token answers "already logged in" to any PIN now; the process-wide record of the
    // PIN that logged in refuses this one.
    let wrong_pin = Pkcs11Uri::parse(&format!(
        "pkcs11:token=kubepki?module-path={MODULE}&pin-value=9999"
    ))
    .unwrap();
    let err = Token::open(&wrong_pin, &OpenOptions::new()).unwrap_err();
    assert!(
        matches!(err, Pkcs11Error::WrongPin { ref token, .. } if token == "kubepki"),
        "{err}"
    );
    // The right PIN still shares the login.
    Token::open(&uri("object=ca"), &OpenOptions::new()).unwrap();
    drop(good);
}
