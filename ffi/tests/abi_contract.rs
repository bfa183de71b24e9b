//! The C ABI's contract under plain `cargo test`: the `ffi_bytes` fuzz target's driver
//! (`abi_driver/`, shared with `fuzz/fuzz_targets/ffi_bytes.rs`) run on the target's committed
//! seeds and on a few inputs of no format at all. Every entry point that takes bytes is called
//! as C calls it; a panic at the boundary, an output or error object written when it must not
//! be (or missing), or output that does not parse back fails the test.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::path::{Path, PathBuf};

mod abi_driver;

/// The committed seeds of the `ffi_bytes` fuzz target, sorted by name.
fn seeds() -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/ffi_bytes");
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    seeds.sort();
    seeds
}

#[test]
fn null_arguments_are_refused_before_any_work() {
    abi_driver::null_arguments();
}

#[test]
fn every_ffi_bytes_seed_keeps_the_contract() {
    let seeds = seeds();
    // A cluster parameter file, a CA certificate with its key, a chain, keys, a request...
    assert!(seeds.len() >= 10, "{seeds:?}");
    for seed in seeds {
        eprintln!("seed {}", seed.display());
        abi_driver::call_byte_entry_points(&std::fs::read(&seed).unwrap());
    }
}

#[test]
fn inputs_of_no_format_keep_the_contract() {
    for data in [
        &b""[..],
        b"\0",
        b"\n\n\n",
        b"-----END -----",
        b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\nrest",
        b"\xff\xfe\x00\x01",
    ] {
        eprintln!("input {data:?}");
        abi_driver::call_byte_entry_points(data);
    }
}
