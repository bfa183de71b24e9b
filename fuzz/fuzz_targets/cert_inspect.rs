//! Certificates and chains (PEM bundle or DER): split, parse, inspect.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use kubepki_sign::{CertificateInfo, certificates_from_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let Ok(certs) = certificates_from_bytes(data) else {
        return;
    };
    for der in certs {
        if let Ok(info) = CertificateInfo::from_der(&der) {
            let _ = info.days_left(now);
            let _ = info.username();
            let _ = info.groups();
            let _ = info.subject.to_string();
            let _ = info.issuer.to_string();
        }
    }
});
