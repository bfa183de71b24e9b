//! The C ABI's entry points that take bytes (keys, requests, certificates, profile files,
//! subjects, CAs, chain verification), called through the C functions themselves with a real
//! and a NULL `err_out`, a zero length and NULL pointers; every output is freed. The calls live
//! in `kubepki_ffi::fuzzing`, since only `ffi/` may use `unsafe`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubepki_ffi::fuzzing::call_byte_entry_points(data);
});
