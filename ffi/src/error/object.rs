//! The error object C receives through `err_out`: code, full message, renewed names.

use std::ffi::{CString, c_char};

use super::{Failure, kubepki_result};

/// The full message of a failed call, with its code. Free with `kubepki_error_free`.
pub struct kubepki_error {
    code: kubepki_result,
    message: CString,
    renewed: Vec<CString>,
}

/// Text for C: a NUL that a message carries (a caller's input quoted in it) is written `\0`,
/// so the C string holds the whole message instead of stopping there.
fn c_text(text: String) -> CString {
    let text = if text.contains('\0') {
        text.replace('\0', "\\0")
    } else {
        text
    };
    CString::new(text).unwrap_or_default()
}

impl kubepki_error {
    pub(crate) fn from_failure(failure: Failure) -> Self {
        kubepki_error {
            code: failure.code,
            message: c_text(failure.message),
            renewed: failure.renewed.into_iter().map(c_text).collect(),
        }
    }
}

/// The code of an error; `KUBEPKI_RESULT_NULL_PARAMETER` for NULL.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_code(err: *const kubepki_error) -> u32 {
    // SAFETY: the caller passes NULL or a live error from this library.
    match unsafe { err.as_ref() } {
        Some(err) => err.code as u32,
        None => kubepki_result::NullParameter as u32,
    }
}

/// The message of an error, NUL-terminated, owned by the error (valid until
/// `kubepki_error_free`). NULL for NULL.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_message(err: *const kubepki_error) -> *const c_char {
    // SAFETY: the caller passes NULL or a live error from this library.
    match unsafe { err.as_ref() } {
        Some(err) => err.message.as_ptr(),
        None => std::ptr::null(),
    }
}

/// For `KUBEPKI_RESULT_CLUSTER_RENEW_INCOMPLETE`: how many certificates were renewed (and
/// stay renewed) before the one that failed; 0 for any other error and for NULL.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_renewed_len(err: *const kubepki_error) -> usize {
    // SAFETY: the caller passes NULL or a live error from this library.
    unsafe { err.as_ref() }.map_or(0, |e| e.renewed.len())
}

/// The name (kubeadm's, e.g. `apiserver`, `admin.conf`) of renewed certificate `index`, in
/// the order they were renewed, owned by the error; NULL for NULL or an index out of range.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_renewed_get(
    err: *const kubepki_error,
    index: usize,
) -> *const c_char {
    // SAFETY: the caller passes NULL or a live error from this library.
    unsafe { err.as_ref() }
        .and_then(|e| e.renewed.get(index))
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Frees an error. NULL is accepted and ignored.
///
/// # Safety
/// `err` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_free(err: *mut kubepki_error) {
    if !err.is_null() {
        // SAFETY: a non-NULL `err` was returned by this library through `err_out` and is freed
        // once, as documented.
        drop(unsafe { Box::from_raw(err) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_in_a_message_is_written_not_cut() {
        // The fuzzer's case: a message that began with the caller's NUL bytes was empty.
        let text = c_text("\0\0 is not a server".to_owned());
        assert_eq!(text.to_str().unwrap(), "\\0\\0 is not a server");
        assert_eq!(c_text("plain".to_owned()).to_str().unwrap(), "plain");
    }
}
