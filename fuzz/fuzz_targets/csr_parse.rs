//! PEM or DER PKCS#10 request: parse, check the proof of possession, read what it asks for.
#![no_main]

use kubepki_csr::Csr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for csr in [Csr::from_bytes(data), Csr::from_der(data)]
        .into_iter()
        .flatten()
    {
        let _ = csr.requested_extensions();
        let _ = csr.requests_ca();
        let _ = csr.warnings();
        let _ = csr.subject().to_string();
        // What we parsed must parse again from our own encoding.
        let again = Csr::from_pem(&csr.to_pem()).expect("a parsed request re-parses");
        assert_eq!(again.subject(), csr.subject());
        assert_eq!(again.sans(), csr.sans());
    }
});
