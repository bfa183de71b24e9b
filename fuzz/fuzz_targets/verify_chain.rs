//! Chain verification against a fixed trust anchor: the input is the presented PEM chain
//! (leaf first, then intermediates), as a TLS peer would send it.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use kubepki_verify::{VerifyOptions, verify_pem};
use libfuzzer_sys::fuzz_target;

/// The root the seeds were issued under (written by the seed generator).
const ANCHOR: &[u8] = include_bytes!("../seeds/anchor.pem");

fuzz_target!(|data: &[u8]| {
    let options = VerifyOptions::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let _ = verify_pem(ANCHOR, None, data, &options);
    let _ = verify_pem(ANCHOR, Some(data), data, &options);
});
