//! `kubepki_report`: what `kubepki_cluster_init` or `kubepki_renew` did, file by file.

use std::ffi::{CString, c_char};

use crate::util::{fill_at, free_handle};

/// What `kubepki_cluster_init` did to a file, or what `kubepki_renew` did to a certificate.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kubepki_action {
    /// Created now.
    Written = 0,
    /// Existed, fits, left untouched.
    Kept = 1,
    /// Not written: its CA's key is absent (external CA mode); `ca` names the CA.
    Missing = 2,
    /// Renewed: new key and certificate; `note` names the component to restart.
    Renewed = 3,
    /// Not renewed: its CA is external (`ca` names it).
    Skipped = 4,
}

/// One row of a report, borrowed from it: valid until the report is freed.
#[repr(C)]
pub struct kubepki_report_row {
    /// kubeadm's name (`ca`, `apiserver`, `admin.conf`, `sa`).
    pub name: *const c_char,
    /// The certificate, kubeconfig or key file; "" when not known.
    pub path: *const c_char,
    /// What was done.
    pub action: kubepki_action,
    /// The CA concerned for `Missing` and `Skipped`, else "".
    pub ca: *const c_char,
    /// The component to restart for `Renewed`, else "".
    pub note: *const c_char,
}

/// A row as the report owns it.
pub(super) struct Row {
    pub(super) name: CString,
    pub(super) path: CString,
    pub(super) action: kubepki_action,
    pub(super) ca: CString,
    pub(super) note: CString,
}

/// What `kubepki_cluster_init` or `kubepki_renew` did, file by file, and its warnings.
/// Free with `kubepki_report_free`.
pub struct kubepki_report {
    pub(super) rows: Vec<Row>,
    pub(super) warnings: Vec<CString>,
}

/// The number of rows; 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_len(report: *const kubepki_report) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.rows.len())
}

/// Fills `*row` with row `index`; false (and `*row` untouched) for NULL or an index out of
/// range. The row's texts belong to the report.
///
/// # Safety
/// `report` is NULL or a live handle; `row` is NULL or points to a writable row.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_row_get(
    report: *const kubepki_report,
    index: usize,
    row: *mut kubepki_report_row,
) -> bool {
    // SAFETY: as the caller promised.
    let items = unsafe { report.as_ref() }.map(|report| report.rows.as_slice());
    // SAFETY: as the caller promised.
    unsafe {
        fill_at(items, index, row, |r| kubepki_report_row {
            name: r.name.as_ptr(),
            path: r.path.as_ptr(),
            action: r.action,
            ca: r.ca.as_ptr(),
            note: r.note.as_ptr(),
        })
    }
}

/// The number of warnings (what was kept though not as it would be written, an interrupted
/// run recovered); 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_warnings_len(report: *const kubepki_report) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.warnings.len())
}

/// Warning `index`, owned by the report; NULL for NULL or an index out of range.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_warning(
    report: *const kubepki_report,
    index: usize,
) -> *const c_char {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }
        .and_then(|r| r.warnings.get(index))
        .map_or(std::ptr::null(), |w| w.as_ptr())
}

/// Frees a report. NULL is accepted and ignored.
///
/// # Safety
/// `report` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_free(report: *mut kubepki_report) {
    // SAFETY: NULL or a report from this library, freed once.
    unsafe { free_handle(report) }
}
