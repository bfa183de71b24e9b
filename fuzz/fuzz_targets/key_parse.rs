//! Private keys in every format (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8 with a fixed
//! passphrase, PEM or DER) and public keys.
#![no_main]

use kubepki_keys::{KeyFormat, KeyPair, PublicKey};
use libfuzzer_sys::fuzz_target;

/// The passphrase the encrypted seeds were written with.
const PASSPHRASE: &[u8] = b"fuzz-passphrase";

fuzz_target!(|data: &[u8]| {
    for passphrase in [None, Some(PASSPHRASE)] {
        if let Ok(key) = KeyPair::from_bytes(data, passphrase) {
            // A key we loaded must store and load again as the same key.
            let pem = key.to_pem(KeyFormat::Pkcs8).expect("a loaded key encodes");
            let again = KeyPair::from_pem(&pem, None).expect("a stored key loads");
            assert_eq!(again.public_key().to_der(), key.public_key().to_der());
        }
    }
    let _ = PublicKey::from_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PublicKey::from_pem(text);
    }
});
