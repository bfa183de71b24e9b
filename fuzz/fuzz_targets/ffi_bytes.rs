//! The C ABI's entry points that take bytes (keys, requests, certificates, profile files,
//! subjects, CAs, chain verification, the installer's cluster calls, external signers), called
//! through the C functions themselves with a real and a NULL `err_out`, a zero length and NULL
//! pointers; every output is freed. The calls are the driver in `ffi/tests/abi_driver/`, which
//! `cargo test -p kubepki-ffi --test abi_contract` also runs on the seeds: it lives under
//! `ffi/`, the one place allowed `unsafe`, and outside the library that ships.
#![no_main]

#[path = "../../ffi/tests/abi_driver/mod.rs"]
mod abi_driver;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    abi_driver::call_byte_entry_points(data);
});
