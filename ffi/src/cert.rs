//! Certificates: issued ones and inspected ones.

use kubepki::keys::pem::pem_encode;
use kubepki::sign::certificates_from_bytes;
use kubepki::{CertificateInfo, IssuedCert};

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::util::{bytes_arg, call, free_handle, handle, out_arg, unix_seconds, write_out};
use crate::{kubepki_bytes, kubepki_strings};

/// A certificate with what it says. Immutable: a `const kubepki_cert *` may be shared
/// across threads.
pub struct kubepki_cert {
    pem: String,
    chain_pem: String,
    info: CertificateInfo,
}

impl kubepki_cert {
    pub(crate) fn from_issued(issued: &IssuedCert) -> Result<Self, Failure> {
        Ok(kubepki_cert {
            pem: issued.pem(),
            chain_pem: issued.chain_pem(),
            info: issued.info()?,
        })
    }
}

/// Parses a certificate from PEM (the first `CERTIFICATE` block) or DER, for inspection.
///
/// # Safety
/// `data` points to `len` bytes; `out` to storage for one pointer; `err_out` is NULL or
/// points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_parse(
    data: *const u8,
    len: usize,
    out: *mut *mut kubepki_cert,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let data = unsafe { bytes_arg(data, len, "data")? };
        out_arg(out, "out")?;
        let der = certificates_from_bytes(data)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Failure::new(kubepki_result::CertMalformed, "no certificate in the input")
            })?;
        let info = CertificateInfo::from_der(&der)?;
        let pem = pem_encode("CERTIFICATE", &der);
        // SAFETY: `out` checked above.
        unsafe {
            write_out(
                out,
                kubepki_cert {
                    chain_pem: pem.clone(),
                    pem,
                    info,
                },
            );
        };
        Ok(())
    })
}

fn bytes_getter(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
    value: impl FnOnce(&kubepki_cert) -> String,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: the exported callers pass on their callers' promise: NULL or a live cert.
        let cert = unsafe { handle(cert, "cert")? };
        out_arg(out, "out")?;
        let value = value(cert);
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(value.as_bytes())) };
        Ok(())
    })
}

fn strings_getter(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_strings,
    err_out: *mut *mut kubepki_error,
    value: impl FnOnce(&kubepki_cert) -> Vec<String>,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: the exported callers pass on their callers' promise: NULL or a live cert.
        let cert = unsafe { handle(cert, "cert")? };
        out_arg(out, "out")?;
        let list = kubepki_strings::new(value(cert))?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, list) };
        Ok(())
    })
}

/// The certificate as PEM `CERTIFICATE`.
///
/// # Safety
/// `cert` is a live certificate; `out` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_pem(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    bytes_getter(cert, out, err_out, |c| c.pem.clone())
}

/// The certificate followed by its issuing CA's chain up to (not including) the root, as
/// a TLS server sends it.
///
/// # Safety
/// `cert` is a live certificate; `out` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_chain_pem(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    bytes_getter(cert, out, err_out, |c| c.chain_pem.clone())
}

/// The subject in OpenSSL's one-line form (`/O=dev/CN=jane`).
///
/// # Safety
/// `cert` is a live certificate; `out` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_subject(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    bytes_getter(cert, out, err_out, |c| c.info.subject.to_string())
}

/// The issuer in OpenSSL's one-line form.
///
/// # Safety
/// `cert` is a live certificate; `out` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_issuer(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    bytes_getter(cert, out, err_out, |c| c.info.issuer.to_string())
}

/// The subject alternative names as `DNS:name`, `IP:addr`, `URI:uri`, `email:addr`.
///
/// # Safety
/// `cert` is a live certificate; `out` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_sans(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_strings,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    strings_getter(cert, out, err_out, |c| {
        c.info.sans.iter().map(ToString::to_string).collect()
    })
}

/// The usages in Kubernetes' words (`digital signature`, `client auth`, ...).
///
/// # Safety
/// `cert` is a live certificate; `out` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_usages(
    cert: *const kubepki_cert,
    out: *mut *mut kubepki_strings,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    strings_getter(cert, out, err_out, |c| {
        c.info.usages.iter().map(ToString::to_string).collect()
    })
}

/// NotAfter in seconds since 1970; 0 for NULL.
///
/// # Safety
/// `cert` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_not_after(cert: *const kubepki_cert) -> i64 {
    // SAFETY: the caller passes NULL or a live certificate.
    unsafe { cert.as_ref() }.map_or(0, |c| unix_seconds(c.info.not_after))
}

/// NotBefore in seconds since 1970; 0 for NULL.
///
/// # Safety
/// `cert` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_not_before(cert: *const kubepki_cert) -> i64 {
    // SAFETY: the caller passes NULL or a live certificate.
    unsafe { cert.as_ref() }.map_or(0, |c| unix_seconds(c.info.not_before))
}

/// Whether the certificate is a CA (basicConstraints cA); false for NULL.
///
/// # Safety
/// `cert` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_is_ca(cert: *const kubepki_cert) -> bool {
    // SAFETY: the caller passes NULL or a live certificate.
    unsafe { cert.as_ref() }.is_some_and(|c| c.info.is_ca)
}

/// Frees a certificate. NULL is accepted and ignored.
///
/// # Safety
/// `cert` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cert_free(cert: *mut kubepki_cert) {
    // SAFETY: NULL or a certificate from this library, freed once.
    unsafe { free_handle(cert) }
}
