//! Private keys.

use std::ffi::c_char;

use kubepki::{KeyAlgorithm, KeyFormat, KeyPair};

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::kubepki_bytes;
use crate::util::{
    bytes_arg, call, free_handle, handle, opt_bytes_arg, out_arg, str_arg, write_out,
};

/// How `kubepki_key_to_pem` writes a key; passed as `uint32_t`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kubepki_key_format {
    /// PKCS#8 `PRIVATE KEY`.
    Pkcs8 = 0,
    /// The algorithm's own format, as kubeadm writes it: PKCS#1 `RSA PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`.
    Traditional = 1,
}

/// A private key. Immutable once made: a `const kubepki_key *` may be shared across threads.
pub struct kubepki_key {
    pub(crate) inner: KeyPair,
}

impl kubepki_key {
    /// An independent copy of the key, for a CA that keeps it.
    pub(crate) fn duplicate(&self) -> Result<KeyPair, Failure> {
        let der = self.inner.to_pkcs8_der()?;
        Ok(KeyPair::from_pkcs8_der(&der)?)
    }
}

/// Generates a key by kubeadm's algorithm name: `RSA-2048`, `RSA-3072`, `RSA-4096`,
/// `ECDSA-P256` or `ECDSA-P384` (any case). On success `*out` is a new key to free with
/// `kubepki_key_free`.
///
/// # Safety
/// `name` points to `name_len` bytes; `out` to storage for one pointer; `err_out` is NULL or
/// points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_key_generate(
    name: *const u8,
    name_len: usize,
    out: *mut *mut kubepki_key,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let name = unsafe { str_arg(name, name_len, "name")? };
        out_arg(out, "out")?;
        let algorithm: KeyAlgorithm = name.parse()?;
        let inner = KeyPair::generate(algorithm)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_key { inner }) };
        Ok(())
    })
}

/// Parses a private key from PEM (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8) or DER.
/// `passphrase` may be empty (NULL, 0): it is needed only for `ENCRYPTED PRIVATE KEY`.
///
/// # Safety
/// `data` points to `len` bytes, `passphrase` is NULL or points to `passphrase_len` bytes;
/// `out` and `err_out` as for `kubepki_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_key_parse(
    data: *const u8,
    len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut *mut kubepki_key,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let data = unsafe { bytes_arg(data, len, "data")? };
        // SAFETY: as the caller promised.
        let passphrase = unsafe { opt_bytes_arg(passphrase, passphrase_len, "passphrase")? };
        out_arg(out, "out")?;
        let inner = KeyPair::from_bytes(data, passphrase)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_key { inner }) };
        Ok(())
    })
}

/// Writes the private key as PEM in `format` (a `kubepki_key_format`). The result is a secret:
/// `kubepki_bytes_free` zeroizes it.
///
/// # Safety
/// `key` is a live key; `out` and `err_out` as for `kubepki_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_key_to_pem(
    key: *const kubepki_key,
    format: u32,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let key = unsafe { handle(key, "key")? };
        out_arg(out, "out")?;
        let format = match format {
            f if f == kubepki_key_format::Pkcs8 as u32 => KeyFormat::Pkcs8,
            f if f == kubepki_key_format::Traditional as u32 => KeyFormat::Traditional,
            f => {
                return Err(Failure::new(
                    kubepki_result::InvalidParameter,
                    format!("key format {f} is not KUBEPKI_KEY_FORMAT_PKCS8 or _TRADITIONAL"),
                ));
            }
        };
        let pem = key.inner.to_pem(format)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(pem.as_bytes())) };
        Ok(())
    })
}

/// Writes the private key as PEM `ENCRYPTED PRIVATE KEY` (PKCS#8, PBES2 scrypt + AES-256-CBC).
///
/// # Safety
/// `key` is a live key, `passphrase` points to `passphrase_len` bytes; `out` and `err_out` as
/// for `kubepki_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_key_to_encrypted_pem(
    key: *const kubepki_key,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let key = unsafe { handle(key, "key")? };
        // SAFETY: as the caller promised.
        let passphrase = unsafe { bytes_arg(passphrase, passphrase_len, "passphrase")? };
        out_arg(out, "out")?;
        let pem = key.inner.to_encrypted_pem(passphrase)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(pem.as_bytes())) };
        Ok(())
    })
}

/// Writes the public key as PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
///
/// # Safety
/// `key` is a live key; `out` and `err_out` as for `kubepki_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_key_public_pem(
    key: *const kubepki_key,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let key = unsafe { handle(key, "key")? };
        out_arg(out, "out")?;
        let pem = key.inner.public_key().to_pem();
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(pem.as_bytes())) };
        Ok(())
    })
}

/// kubeadm's name of the key's algorithm (e.g. `"ECDSA-P256"`), static; NULL for NULL.
///
/// # Safety
/// `key` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_key_algorithm(key: *const kubepki_key) -> *const c_char {
    // SAFETY: the caller passes NULL or a live key.
    match unsafe { key.as_ref() }.map(|k| k.inner.algorithm()) {
        Some(KeyAlgorithm::Rsa2048) => c"RSA-2048".as_ptr(),
        Some(KeyAlgorithm::Rsa3072) => c"RSA-3072".as_ptr(),
        Some(KeyAlgorithm::Rsa4096) => c"RSA-4096".as_ptr(),
        Some(KeyAlgorithm::EcdsaP256) => c"ECDSA-P256".as_ptr(),
        Some(KeyAlgorithm::EcdsaP384) => c"ECDSA-P384".as_ptr(),
        _ => std::ptr::null(),
    }
}

/// Frees a key (its memory is zeroized). NULL is accepted and ignored.
///
/// # Safety
/// `key` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_key_free(key: *mut kubepki_key) {
    // SAFETY: NULL or a key from this library, freed once.
    unsafe { free_handle(key) }
}
