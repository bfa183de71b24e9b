#![doc = include_str!("../README.md")]
// The C ABI names its types as C does: `kubepki_key`, `kubepki_result`.
#![allow(non_camel_case_types)]
// This crate is the one place allowed to use `unsafe`: every block carries a `// SAFETY:`.
#![allow(unsafe_code)]

mod ca;
mod cert;
mod cluster;
mod csr;
mod error;
mod keys;
mod profile;
mod rotate;
mod signer;
mod util;
mod verify;

pub use ca::*;
pub use cert::*;
pub use cluster::*;
pub use csr::*;
pub use error::*;
pub use keys::*;
pub use profile::*;
pub use rotate::*;
pub use signer::*;
pub use util::*;
pub use verify::*;

/// Major version of the library the header was generated from.
pub const KUBEPKI_VERSION_MAJOR: u32 = 0;
/// Minor version of the library the header was generated from.
pub const KUBEPKI_VERSION_MINOR: u32 = 1;
/// Patch version of the library the header was generated from.
pub const KUBEPKI_VERSION_PATCH: u32 = 0;

/// Parses a decimal version number at compile time.
const fn parse_u32(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut value = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

// The version macros in the header come from the constants above (cbindgen writes them);
// these assertions make the build fail when Cargo's version moves and they do not.
const _: () = assert!(KUBEPKI_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")));
const _: () = assert!(KUBEPKI_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")));
const _: () = assert!(KUBEPKI_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")));

/// The library's version as a NUL-terminated string, e.g. `"0.1.0"`; static, never freed.
/// Compare it with `KUBEPKI_VERSION_*` to detect a header/library mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn kubepki_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version of the header: the `N` of the shared library's SONAME `libkubepki.so.N`.
/// It changes whenever a function's signature or a type's layout changes incompatibly.
pub const KUBEPKI_ABI_VERSION: u32 = KUBEPKI_VERSION_MAJOR;

/// The ABI version of the library actually loaded (the `N` of `libkubepki.so.N`). A program
/// compares it with the `KUBEPKI_ABI_VERSION` it was compiled against and refuses to run
/// when they differ.
#[unsafe(no_mangle)]
pub extern "C" fn kubepki_abi_version() -> u32 {
    KUBEPKI_ABI_VERSION
}
