//! Certificate signing requests.

use kubepki::{Csr, CsrBuilder, San, Subject};

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::keys::kubepki_key;
use crate::util::{bytes_arg, call, free_handle, handle, out_arg, str_arg, write_out};
use crate::{kubepki_bytes, kubepki_strings};

/// A request being built: a subject and SANs. `kubepki_csr_builder_build` consumes its
/// content; a second build fails with `KUBEPKI_RESULT_ALREADY_USED`. Not for sharing
/// across threads. Free with `kubepki_csr_builder_free` in every case.
pub struct kubepki_csr_builder {
    inner: Option<CsrBuilder>,
}

/// A parsed or built request whose proof of possession has been checked. Immutable: a
/// `const kubepki_csr *` may be shared across threads.
pub struct kubepki_csr {
    pub(crate) inner: Csr,
}

/// Starts a request for a subject in OpenSSL's form (`/CN=jane/O=dev`) or RFC 4514 form
/// (`CN=jane,O=dev`).
///
/// # Safety
/// `subject` points to `subject_len` bytes; `out` to storage for one pointer; `err_out` is
/// NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_builder_new(
    subject: *const u8,
    subject_len: usize,
    out: *mut *mut kubepki_csr_builder,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let subject = unsafe { str_arg(subject, subject_len, "subject")? };
        out_arg(out, "out")?;
        let subject = Subject::parse(subject)?;
        let inner = Some(CsrBuilder::new(subject));
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_csr_builder { inner }) };
        Ok(())
    })
}

/// Adds a subject alternative name: `DNS:name`, `IP:addr`, `URI:uri`, `email:addr`, or a bare
/// value (an IP address if it parses as one, else a DNS name).
///
/// # Safety
/// `builder` is a live builder not used by another thread; `san` points to `san_len` bytes;
/// `err_out` as for `kubepki_csr_builder_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_builder_add_san(
    builder: *mut kubepki_csr_builder,
    san: *const u8,
    san_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: the caller passes NULL or a live builder used by this thread only.
        let builder = unsafe { builder.as_mut() }.ok_or_else(|| crate::util::null("builder"))?;
        // SAFETY: as the caller promised.
        let san = unsafe { str_arg(san, san_len, "san")? };
        let san = San::parse(san)?;
        let current = builder.inner.take().ok_or_else(already_used)?;
        builder.inner = Some(current.san(san));
        Ok(())
    })
}

fn already_used() -> Failure {
    Failure::new(
        kubepki_result::AlreadyUsed,
        "the request builder was already built",
    )
}

/// Builds and signs the request with `key`. Consumes the builder's content (the handle must
/// still be freed); a second call fails with `KUBEPKI_RESULT_ALREADY_USED`.
///
/// # Safety
/// `builder` is a live builder not used by another thread, `key` a live key; `out` and
/// `err_out` as for `kubepki_csr_builder_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_builder_build(
    builder: *mut kubepki_csr_builder,
    key: *const kubepki_key,
    out: *mut *mut kubepki_csr,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: the caller passes NULL or a live builder used by this thread only.
        let builder = unsafe { builder.as_mut() }.ok_or_else(|| crate::util::null("builder"))?;
        // SAFETY: as the caller promised.
        let key = unsafe { handle(key, "key")? };
        out_arg(out, "out")?;
        let inner = builder
            .inner
            .take()
            .ok_or_else(already_used)?
            .build(&key.inner)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_csr { inner }) };
        Ok(())
    })
}

/// Frees a builder. NULL is accepted and ignored.
///
/// # Safety
/// `builder` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_builder_free(builder: *mut kubepki_csr_builder) {
    // SAFETY: NULL or a builder from this library, freed once.
    unsafe { free_handle(builder) }
}

/// Parses a PEM or DER request and checks its proof of possession (its signature).
///
/// # Safety
/// `data` points to `len` bytes; `out` and `err_out` as for `kubepki_csr_builder_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_parse(
    data: *const u8,
    len: usize,
    out: *mut *mut kubepki_csr,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let data = unsafe { bytes_arg(data, len, "data")? };
        out_arg(out, "out")?;
        let inner = Csr::from_bytes(data)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_csr { inner }) };
        Ok(())
    })
}

/// The request as PEM `CERTIFICATE REQUEST`.
///
/// # Safety
/// `csr` is a live request; `out` and `err_out` as for `kubepki_csr_builder_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_to_pem(
    csr: *const kubepki_csr,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let csr = unsafe { handle(csr, "csr")? };
        out_arg(out, "out")?;
        let pem = csr.inner.to_pem();
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(pem.as_bytes())) };
        Ok(())
    })
}

/// The request's subject in OpenSSL's one-line form (`/O=dev/CN=jane`).
///
/// # Safety
/// As `kubepki_csr_to_pem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_subject(
    csr: *const kubepki_csr,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let csr = unsafe { handle(csr, "csr")? };
        out_arg(out, "out")?;
        let text = csr.inner.subject().to_string();
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(text.as_bytes())) };
        Ok(())
    })
}

/// The request's common name (the Kubernetes user name); `KUBEPKI_RESULT_NOT_FOUND` when the
/// subject has none.
///
/// # Safety
/// As `kubepki_csr_to_pem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_common_name(
    csr: *const kubepki_csr,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let csr = unsafe { handle(csr, "csr")? };
        out_arg(out, "out")?;
        let cn = csr.inner.subject().common_name().ok_or_else(|| {
            Failure::new(
                kubepki_result::NotFound,
                format!("request {} has no common name", csr.inner.subject()),
            )
        })?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_bytes::new(cn.as_bytes())) };
        Ok(())
    })
}

/// The request's groups (its organization values), in order.
///
/// # Safety
/// `csr` is a live request; `out` and `err_out` as for `kubepki_csr_builder_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_groups(
    csr: *const kubepki_csr,
    out: *mut *mut kubepki_strings,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let csr = unsafe { handle(csr, "csr")? };
        out_arg(out, "out")?;
        let list = kubepki_strings::new(csr.inner.groups())?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, list) };
        Ok(())
    })
}

/// The request's subject alternative names as `DNS:name`, `IP:addr`, `URI:uri`, `email:addr`.
///
/// # Safety
/// As `kubepki_csr_groups`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_sans(
    csr: *const kubepki_csr,
    out: *mut *mut kubepki_strings,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let csr = unsafe { handle(csr, "csr")? };
        out_arg(out, "out")?;
        let list = kubepki_strings::new(csr.inner.sans().iter().map(ToString::to_string))?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, list) };
        Ok(())
    })
}

/// Frees a request. NULL is accepted and ignored.
///
/// # Safety
/// `csr` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_csr_free(csr: *mut kubepki_csr) {
    // SAFETY: NULL or a request from this library, freed once.
    unsafe { free_handle(csr) }
}
