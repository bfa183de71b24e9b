//! The panic boundary, argument checks, and the byte and string-list outputs.

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use crate::error::{Failure, kubepki_error, kubepki_result};

/// Runs `body` inside a panic boundary, turning its failure into a code and (when `err_out`
/// is not NULL) an error object. `body` writes its outputs itself, as its last step.
pub(crate) fn call(
    err_out: *mut *mut kubepki_error,
    body: impl FnOnce() -> Result<(), Failure>,
) -> kubepki_result {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return kubepki_result::Ok,
        Ok(Err(failure)) => failure,
        Err(_) => Failure::new(
            kubepki_result::Panic,
            "internal error: the library panicked (please report it)",
        ),
    };
    let code = failure.code;
    if !err_out.is_null() {
        let err = Box::new(kubepki_error::from_failure(failure));
        // SAFETY: `err_out` is not NULL and the caller promises it points to writable storage
        // for one pointer.
        unsafe { *err_out = Box::into_raw(err) };
    }
    code
}

pub(crate) fn null(what: &str) -> Failure {
    Failure::new(kubepki_result::NullParameter, format!("{what} is NULL"))
}

/// Borrows a byte range from C. The one rule of the whole ABI: `len` 0 is empty input,
/// whatever the pointer, NULL included; NULL with a length above 0 is refused.
///
/// # Safety
/// `data` must be NULL or point to `len` readable bytes that live for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Failure::new(
            kubepki_result::NullParameter,
            format!("{what} is NULL with a length of {len}"),
        ));
    }
    // SAFETY: not NULL, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Borrows an optional byte range: empty input (see [`bytes_arg`]), NULL or not, is `None`.
///
/// # Safety
/// As [`bytes_arg`].
pub(crate) unsafe fn opt_bytes_arg<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<Option<&'a [u8]>, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_arg(data, len, what)? };
    Ok((!bytes.is_empty()).then_some(bytes))
}

/// Borrows UTF-8 text from C, as [`bytes_arg`].
///
/// # Safety
/// As [`bytes_arg`].
pub(crate) unsafe fn str_arg<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_arg(data, len, what)? };
    std::str::from_utf8(bytes).map_err(|_| {
        Failure::new(
            kubepki_result::InvalidUtf8,
            format!("{what} is not valid UTF-8"),
        )
    })
}

/// Borrows optional UTF-8 text: empty text (see [`bytes_arg`]), NULL or not, is `None`.
///
/// # Safety
/// As [`bytes_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    // SAFETY: forwarded contract.
    let text = unsafe { str_arg(data, len, what)? };
    Ok((!text.is_empty()).then_some(text))
}

/// Borrows a handle.
///
/// # Safety
/// `handle` must be NULL or a live handle of type `T` from this library.
pub(crate) unsafe fn handle<'a, T>(handle: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: as the caller promised.
    unsafe { handle.as_ref() }.ok_or_else(|| null(what))
}

/// Checks an output pointer before any work is done.
pub(crate) fn out_arg<T>(out: *mut *mut T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        Err(null(what))
    } else {
        Ok(())
    }
}

/// Writes a new handle to an output pointer checked by [`out_arg`].
///
/// # Safety
/// `out` must be non-NULL and point to writable storage for one pointer.
pub(crate) unsafe fn write_out<T>(out: *mut *mut T, value: T) {
    // SAFETY: as the caller promised.
    unsafe { *out = Box::into_raw(Box::new(value)) };
}

/// Frees a handle made by [`write_out`]; NULL is ignored.
///
/// # Safety
/// `ptr` must be NULL or a handle of type `T` from this library not freed before.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: as the caller promised: made by Box::into_raw, freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// A time from C: seconds since the Unix epoch, 0 meaning "now" (read here, in the FFI layer,
/// never in the library crates).
pub(crate) fn time_arg(unix_seconds: i64) -> Result<SystemTime, Failure> {
    if unix_seconds == 0 {
        return Ok(SystemTime::now());
    }
    let offset = Duration::from_secs(unix_seconds.unsigned_abs());
    let time = if unix_seconds > 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.ok_or_else(|| {
        Failure::new(
            kubepki_result::InvalidParameter,
            format!("time {unix_seconds} is out of range"),
        )
    })
}

/// A validity from C: seconds, 0 meaning "the profile's default".
pub(crate) fn validity_arg(seconds: u64) -> Option<Duration> {
    (seconds != 0).then(|| Duration::from_secs(seconds))
}

/// Seconds since the Unix epoch (negative before it, saturating).
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Bytes returned by the library (PEM, DER, text). The data is followed by a NUL byte not
/// counted in the length, so PEM and text can be used as C strings. Free with
/// `kubepki_bytes_free`, which zeroizes the memory (returned private keys live here).
pub struct kubepki_bytes {
    /// The data and one trailing NUL.
    data: Zeroizing<Vec<u8>>,
}

impl kubepki_bytes {
    pub(crate) fn new(data: &[u8]) -> Self {
        let mut buf = Zeroizing::new(Vec::with_capacity(data.len() + 1));
        buf.extend_from_slice(data);
        buf.push(0);
        kubepki_bytes { data: buf }
    }
}

/// The start of the bytes (never NULL for a live object); NULL for NULL.
///
/// # Safety
/// `bytes` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bytes_data(bytes: *const kubepki_bytes) -> *const u8 {
    // SAFETY: the caller passes NULL or a live kubepki_bytes.
    match unsafe { bytes.as_ref() } {
        Some(b) => b.data.as_ptr(),
        None => std::ptr::null(),
    }
}

/// The number of bytes, not counting the trailing NUL; 0 for NULL.
///
/// # Safety
/// `bytes` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bytes_len(bytes: *const kubepki_bytes) -> usize {
    // SAFETY: the caller passes NULL or a live kubepki_bytes.
    unsafe { bytes.as_ref() }.map_or(0, |b| b.data.len().saturating_sub(1))
}

/// Zeroizes and frees bytes. NULL is accepted and ignored.
///
/// # Safety
/// `bytes` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bytes_free(bytes: *mut kubepki_bytes) {
    // SAFETY: NULL or a kubepki_bytes from this library, freed once.
    unsafe { free_handle(bytes) }
}

/// A list of NUL-terminated strings (SANs as `DNS:name`, groups, usages). Free with
/// `kubepki_strings_free`.
pub struct kubepki_strings {
    items: Vec<CString>,
}

impl kubepki_strings {
    /// Makes a list; a value holding NUL (never in what the library returns) is an error.
    pub(crate) fn new<S: Into<Vec<u8>>>(
        items: impl IntoIterator<Item = S>,
    ) -> Result<Self, Failure> {
        let items = items
            .into_iter()
            .map(|s| {
                CString::new(s).map_err(|_| {
                    Failure::new(kubepki_result::InteriorNul, "a returned value contains NUL")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(kubepki_strings { items })
    }
}

/// The number of strings; 0 for NULL.
///
/// # Safety
/// `strings` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_strings_len(strings: *const kubepki_strings) -> usize {
    // SAFETY: the caller passes NULL or a live kubepki_strings.
    unsafe { strings.as_ref() }.map_or(0, |s| s.items.len())
}

/// The string at `index`, owned by the list; NULL for NULL or an index out of range.
///
/// # Safety
/// `strings` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_strings_get(
    strings: *const kubepki_strings,
    index: usize,
) -> *const c_char {
    // SAFETY: the caller passes NULL or a live kubepki_strings.
    unsafe { strings.as_ref() }
        .and_then(|s| s.items.get(index))
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Frees a string list. NULL is accepted and ignored.
///
/// # Safety
/// `strings` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_strings_free(strings: *mut kubepki_strings) {
    // SAFETY: NULL or a kubepki_strings from this library, freed once.
    unsafe { free_handle(strings) }
}

/// `text` as a C string, NUL bytes dropped.
pub(crate) fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// Borrows a folder path.
///
/// # Safety
/// As `str_arg`.
pub(crate) unsafe fn dir_arg(data: *const u8, len: usize, what: &str) -> Result<PathBuf, Failure> {
    // SAFETY: forwarded contract.
    let text = unsafe { str_arg(data, len, what)? };
    if text.is_empty() {
        return Err(Failure::new(
            kubepki_result::InvalidParameter,
            format!("{what} is empty"),
        ));
    }
    Ok(PathBuf::from(text))
}

/// Reads both folders.
///
/// # Safety
/// As `str_arg`, for each.
pub(crate) unsafe fn dirs_arg(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
) -> Result<(PathBuf, PathBuf), Failure> {
    // SAFETY: forwarded contract.
    let cert = unsafe { dir_arg(cert_dir, cert_dir_len, "cert_dir")? };
    // SAFETY: forwarded contract.
    let kubeconfig = unsafe { dir_arg(kubeconfig_dir, kubeconfig_dir_len, "kubeconfig_dir")? };
    Ok((cert, kubeconfig))
}

/// Writes `make(&items[index])` to `*out` and returns true; returns false, `*out` untouched,
/// when `items` is `None` (a NULL handle), `out` is NULL or `index` is out of range: the
/// `_get` accessors of the reports' rows.
///
/// # Safety
/// `out` is NULL or points to a writable `T`.
pub(crate) unsafe fn fill_at<I, T>(
    items: Option<&[I]>,
    index: usize,
    out: *mut T,
    make: impl FnOnce(&I) -> T,
) -> bool {
    let (Some(items), false) = (items, out.is_null()) else {
        return false;
    };
    let Some(item) = items.get(index) else {
        return false;
    };
    // SAFETY: `out` is not NULL and the caller promises it is writable.
    unsafe { *out = make(item) };
    true
}
