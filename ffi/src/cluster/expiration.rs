//! `kubepki certs check-expiration`: `kubepki_check_expiration` and its report.

use std::ffi::{CString, c_char};

use kubepki::cluster::check_expiration;

use crate::error::{kubepki_error, kubepki_result};
use crate::util::{
    c_text, call, dirs_arg, fill_at, free_handle, out_arg, time_arg, unix_seconds, write_out,
};

/// One row of an expiration report, borrowed from it.
#[repr(C)]
pub struct kubepki_expiration_row {
    /// kubeadm's name (`admin.conf`, `apiserver`, `ca`).
    pub name: *const c_char,
    /// The end of validity in seconds since 1970; 0 when missing.
    pub not_after: i64,
    /// Seconds left at the report's time (negative once expired); 0 when missing.
    pub residual_seconds: i64,
    /// The CA that signed it; "" for a CA or a missing file.
    pub ca: *const c_char,
    /// Whether it is a CA.
    pub is_ca: bool,
    /// Whether its CA's key is absent (external CA): it cannot be renewed here.
    pub externally_managed: bool,
    /// Whether the file is absent.
    pub missing: bool,
}

struct ExpirationRow {
    name: CString,
    ca: CString,
    not_after: i64,
    residual_seconds: i64,
    is_ca: bool,
    externally_managed: bool,
    missing: bool,
}

/// The rows of `kubepki_check_expiration`: certificates first, then CAs, in kubeadm's order.
pub struct kubepki_expiration_report {
    rows: Vec<ExpirationRow>,
}

/// Reads the expiration of every certificate of the tree at `now_unix` (0: the current
/// time), as `kubepki certs check-expiration`: the leaves and the kubeconfig files' client
/// certificates, then the CAs; absent files are rows marked missing.
///
/// # Safety
/// The folders point to their lengths in bytes; `report` points to storage for one pointer;
/// `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_check_expiration(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    now_unix: i64,
    report: *mut *mut kubepki_expiration_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let (cert_dir, kubeconfig_dir) =
            unsafe { dirs_arg(cert_dir, cert_dir_len, kubeconfig_dir, kubeconfig_dir_len)? };
        out_arg(report, "report")?;
        let now = time_arg(now_unix)?;
        let found = check_expiration(&cert_dir, &kubeconfig_dir, now)?;
        let row = |e: &kubepki::cluster::ExpirationEntry, is_ca: bool| ExpirationRow {
            name: c_text(&e.name),
            ca: c_text(&e.ca_name),
            not_after: e.not_after().map_or(0, unix_seconds),
            residual_seconds: if e.missing { 0 } else { e.residual_seconds },
            is_ca,
            externally_managed: e.externally_managed,
            missing: e.missing,
        };
        let rows = found
            .certificates
            .iter()
            .map(|e| row(e, false))
            .chain(found.certificate_authorities.iter().map(|e| row(e, true)))
            .collect();
        // SAFETY: `report` checked above.
        unsafe { write_out(report, kubepki_expiration_report { rows }) };
        Ok(())
    })
}

/// The number of rows; 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_expiration_len(report: *const kubepki_expiration_report) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.rows.len())
}

/// Fills `*row` with row `index`; false (and `*row` untouched) for NULL or an index out of
/// range. The row's texts belong to the report.
///
/// # Safety
/// `report` is NULL or a live handle; `row` is NULL or points to a writable row.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_expiration_row_get(
    report: *const kubepki_expiration_report,
    index: usize,
    row: *mut kubepki_expiration_row,
) -> bool {
    // SAFETY: as the caller promised.
    let items = unsafe { report.as_ref() }.map(|report| report.rows.as_slice());
    // SAFETY: as the caller promised.
    unsafe {
        fill_at(items, index, row, |r| kubepki_expiration_row {
            name: r.name.as_ptr(),
            not_after: r.not_after,
            residual_seconds: r.residual_seconds,
            ca: r.ca.as_ptr(),
            is_ca: r.is_ca,
            externally_managed: r.externally_managed,
            missing: r.missing,
        })
    }
}

/// Frees an expiration report. NULL is accepted and ignored.
///
/// # Safety
/// `report` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_expiration_report_free(report: *mut kubepki_expiration_report) {
    // SAFETY: NULL or a report from this library, freed once.
    unsafe { free_handle(report) }
}
