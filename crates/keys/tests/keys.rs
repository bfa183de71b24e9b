//! Key round trips through every format, and the refusals, each with its specific error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use kubepki_keys::{
    KeyAlgorithm, KeyError, KeyFormat, KeyPair, PublicKey, Signer, ecdsa_sha384, verify_signature,
};

#[test]
fn every_algorithm_round_trips_every_format() {
    for algorithm in KeyAlgorithm::ALL {
        let key = KeyPair::generate(algorithm).unwrap();
        assert_eq!(key.algorithm(), algorithm);
        for format in [KeyFormat::Pkcs8, KeyFormat::Traditional] {
            let pem = key.to_pem(format).unwrap();
            let back = KeyPair::from_pem(&pem, None).unwrap();
            assert_eq!(
                back.public_key(),
                key.public_key(),
                "{algorithm} {format:?}"
            );
        }
        let der = key.to_pkcs8_der().unwrap();
        assert_eq!(
            KeyPair::from_der(&der).unwrap().public_key(),
            key.public_key()
        );
        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert_eq!(&public, key.public_key());

        let signature = key.sign(b"message").unwrap();
        verify_signature(
            key.public_key().spki(),
            &key.signature_algorithm(),
            b"message",
            &signature,
        )
        .unwrap();
        assert!(matches!(
            verify_signature(
                key.public_key().spki(),
                &key.signature_algorithm(),
                b"other",
                &signature
            ),
            Err(KeyError::BadSignature)
        ));
    }
}

#[test]
fn encrypted_pkcs8_needs_the_right_passphrase() {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = key.to_encrypted_pem(b"s3cret").unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(
        KeyPair::from_pem(&pem, Some(b"s3cret"))
            .unwrap()
            .public_key(),
        key.public_key()
    );
    assert!(matches!(
        KeyPair::from_pem(&pem, None),
        Err(KeyError::PassphraseRequired)
    ));
    assert!(matches!(
        KeyPair::from_pem(&pem, Some(b"wrong")),
        Err(KeyError::Decrypt(_))
    ));
    assert!(matches!(
        key.to_encrypted_pem(b""),
        Err(KeyError::EmptyPassphrase)
    ));
}

#[test]
fn debug_never_prints_key_material() {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("EcdsaP256"));
    let body: String = pem.lines().nth(1).unwrap().chars().take(16).collect();
    assert!(!debug.contains(&body));
}

#[test]
fn bad_input_gets_a_specific_error() {
    assert!(matches!(
        KeyPair::from_bytes(b"garbage", None),
        Err(KeyError::Malformed { .. })
    ));
    assert!(matches!(
        KeyPair::from_pem("no pem here", None),
        Err(KeyError::Pem(_))
    ));
    let wrong = kubepki_keys::pem::pem_encode("CERTIFICATE", &[0x30, 0x00]);
    assert!(
        matches!(KeyPair::from_pem(&wrong, None), Err(KeyError::WrongPemLabel { label }) if label == "CERTIFICATE")
    );
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    assert!(matches!(
        KeyPair::from_der(&der[..der.len() - 5]),
        Err(KeyError::Malformed { .. })
    ));
    // An ECDSA signature algorithm with an RSA key.
    let rsa = KeyPair::generate(KeyAlgorithm::Rsa2048).unwrap();
    let sig = rsa.sign(b"m").unwrap();
    assert!(matches!(
        verify_signature(rsa.public_key().spki(), &ecdsa_sha384(), b"m", &sig),
        Err(KeyError::AlgorithmMismatch { .. })
    ));
}
