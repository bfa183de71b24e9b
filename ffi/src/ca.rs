//! Certificate authorities and issuing.

use kubepki::{Ca, IssueOptions, KeyPair, Subject};

use crate::cert::kubepki_cert;
use crate::csr::kubepki_csr;
use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::keys::kubepki_key;
use crate::kubepki_bytes;
use crate::profile::kubepki_profile;
use crate::util::{
    bytes_arg, call, free_handle, handle, opt_bytes_arg, opt_str_arg, out_arg, time_arg,
    validity_arg, write_out,
};

/// A CA: its certificate, its key and the chain above it. Issuing does not change it: one
/// `const kubepki_ca *` may issue from several threads at once.
pub struct kubepki_ca {
    inner: Ca,
}

impl kubepki_ca {
    /// Wraps a CA made elsewhere in this crate.
    pub(crate) fn new(inner: Ca) -> Self {
        kubepki_ca { inner }
    }

    /// The CA itself.
    pub(crate) fn inner(&self) -> &Ca {
        &self.inner
    }
}

/// The subject given, or the profile's fixed one when none is given (empty input).
fn subject_or_fixed(text: Option<&str>, profile: &kubepki_profile) -> Result<Subject, Failure> {
    match text {
        Some(text) => Ok(Subject::parse(text)?),
        None => profile.inner.fixed_subject().ok_or_else(|| {
            Failure::new(
                kubepki_result::InvalidParameter,
                format!(
                    "subject is empty and profile {} has no fixed subject",
                    profile.inner.name
                ),
            )
        }),
    }
}

/// The arguments of a new CA: a copy of the key that will sign, its subject (the profile's
/// fixed one when `subject` is empty), its profile and the issuing options; `out` is checked
/// in between, in the order the calls have always checked their arguments.
///
/// # Safety
/// `key` and `profile` are live handles; `subject` is NULL or points to `subject_len` bytes.
unsafe fn new_ca_args<'a>(
    key: *const kubepki_key,
    subject: *const u8,
    subject_len: usize,
    profile: *const kubepki_profile,
    validity_seconds: u64,
    now_unix: i64,
    out: *mut *mut kubepki_ca,
) -> Result<(Box<KeyPair>, Subject, &'a kubepki_profile, IssueOptions), Failure> {
    // SAFETY: as the caller promised.
    let key = unsafe { handle(key, "key")? };
    // SAFETY: as the caller promised.
    let profile = unsafe { handle(profile, "profile")? };
    // SAFETY: as the caller promised.
    let subject = unsafe { opt_str_arg(subject, subject_len, "subject")? };
    out_arg(out, "out")?;
    let subject = subject_or_fixed(subject, profile)?;
    let options = IssueOptions {
        now: time_arg(now_unix)?,
        validity: validity_arg(validity_seconds),
    };
    Ok((Box::new(key.duplicate()?), subject, profile, options))
}

/// Creates a self-signed root CA with (a copy of) `key` under a CA `profile` (e.g. the
/// built-in `ca`). `subject` may be empty (NULL, 0) to take the profile's fixed subject.
/// `validity_seconds` 0 takes the profile's default; `now_unix` is the issuing time in
/// seconds since 1970, 0 meaning the current time.
///
/// # Safety
/// `key` and `profile` are live handles; `subject` is NULL or points to `subject_len` bytes;
/// `out` points to storage for one pointer; `err_out` is NULL or points to storage for one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_self_signed(
    key: *const kubepki_key,
    subject: *const u8,
    subject_len: usize,
    profile: *const kubepki_profile,
    validity_seconds: u64,
    now_unix: i64,
    out: *mut *mut kubepki_ca,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let (signer, subject, profile, options) = unsafe {
            new_ca_args(
                key,
                subject,
                subject_len,
                profile,
                validity_seconds,
                now_unix,
                out,
            )?
        };
        let inner = Ca::self_signed(signer, &subject, &profile.inner, &options)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_ca { inner }) };
        Ok(())
    })
}

/// Creates an intermediate CA below `ca`, holding (a copy of) `key`, under a CA `profile`.
/// Arguments as for `kubepki_ca_self_signed`.
///
/// # Safety
/// As `kubepki_ca_self_signed`, and `ca` is a live CA.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_issue_intermediate(
    ca: *const kubepki_ca,
    key: *const kubepki_key,
    subject: *const u8,
    subject_len: usize,
    profile: *const kubepki_profile,
    validity_seconds: u64,
    now_unix: i64,
    out: *mut *mut kubepki_ca,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let ca = unsafe { handle(ca, "ca")? };
        // SAFETY: as the caller promised.
        let (signer, subject, profile, options) = unsafe {
            new_ca_args(
                key,
                subject,
                subject_len,
                profile,
                validity_seconds,
                now_unix,
                out,
            )?
        };
        let inner = ca
            .inner
            .issue_intermediate(signer, &subject, &profile.inner, &options)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_ca { inner }) };
        Ok(())
    })
}

/// Loads a CA from its PEM (or DER) certificate, optionally followed by its chain, and its
/// private key (`passphrase` empty unless the key is encrypted). Checks that the certificate
/// is a CA and that the key matches it.
///
/// # Safety
/// `cert` and `key` point to their lengths in bytes, `passphrase` is NULL or points to
/// `passphrase_len` bytes; `out` and `err_out` as for `kubepki_ca_self_signed`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_from_pem(
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut *mut kubepki_ca,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let cert = unsafe { bytes_arg(cert, cert_len, "cert")? };
        // SAFETY: as the caller promised.
        let key = unsafe { bytes_arg(key, key_len, "key")? };
        // SAFETY: as the caller promised.
        let passphrase = unsafe { opt_bytes_arg(passphrase, passphrase_len, "passphrase")? };
        out_arg(out, "out")?;
        let inner = Ca::from_pem(cert, key, passphrase)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_ca { inner }) };
        Ok(())
    })
}

/// The CA's own certificate as PEM.
///
/// # Safety
/// `ca` is a live CA; `out` and `err_out` as for `kubepki_ca_self_signed`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_cert_pem(
    ca: *const kubepki_ca,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let ca = unsafe { handle(ca, "ca")? };
        out_arg(out, "out")?;
        let pem = ca.inner.certificate_pem();
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(pem.as_bytes())) };
        Ok(())
    })
}

/// Issues a certificate for `csr` under `profile`: only the request's subject, SANs (as the
/// profile allows) and public key are used. `validity_seconds` 0 takes the profile's
/// default; `now_unix` is the issuing time in seconds since 1970, 0 meaning the current time.
/// Thread-safe on a shared `ca`.
///
/// # Safety
/// `ca`, `csr` and `profile` are live handles; `out` and `err_out` as for
/// `kubepki_ca_self_signed`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_issue(
    ca: *const kubepki_ca,
    csr: *const kubepki_csr,
    profile: *const kubepki_profile,
    validity_seconds: u64,
    now_unix: i64,
    out: *mut *mut kubepki_cert,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let ca = unsafe { handle(ca, "ca")? };
        // SAFETY: as the caller promised.
        let csr = unsafe { handle(csr, "csr")? };
        // SAFETY: as the caller promised.
        let profile = unsafe { handle(profile, "profile")? };
        out_arg(out, "out")?;
        let options = IssueOptions {
            now: time_arg(now_unix)?,
            validity: validity_arg(validity_seconds),
        };
        let issued = ca.inner.issue(&csr.inner, &profile.inner, &options)?;
        let cert = kubepki_cert::from_issued(&issued)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, cert) };
        Ok(())
    })
}

/// Frees a CA (its key is zeroized). NULL is accepted and ignored.
///
/// # Safety
/// `ca` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_free(ca: *mut kubepki_ca) {
    // SAFETY: NULL or a CA from this library, freed once.
    unsafe { free_handle(ca) }
}
