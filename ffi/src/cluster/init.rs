//! `kubepki init` on disk (`kubepki_cluster_init`) or in memory (`kubepki_cluster_generate`).

use std::ffi::{CString, c_char};

use kubepki::cluster::{Action, Bundle, generate, init};

use super::params::kubepki_cluster_params;
use super::report::{Row, kubepki_action, kubepki_report};
use crate::error::{kubepki_error, kubepki_result};
use crate::util::{c_text, call, dirs_arg, free_handle, handle, out_arg, time_arg, write_out};

/// Lays out kubeadm's tree under `cert_dir` (kubeadm: `/etc/kubernetes/pki`) and
/// `kubeconfig_dir` (`/etc/kubernetes`) at `now_unix` (0: the current time), as
/// `kubepki init`: the same files and modes, what exists and fits is kept, a CA is never
/// replaced, a misfit or a half pair is refused before anything is written, and the whole
/// set is written or none of it. `*report` lists every file and what was done.
///
/// # Safety
/// `params` is a live handle; the folders point to their lengths in bytes; `report` points
/// to storage for one pointer; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_init(
    params: *const kubepki_cluster_params,
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    now_unix: i64,
    report: *mut *mut kubepki_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { handle(params, "params")? };
        // SAFETY: as the caller promised.
        let (cert_dir, kubeconfig_dir) =
            unsafe { dirs_arg(cert_dir, cert_dir_len, kubeconfig_dir, kubeconfig_dir_len)? };
        out_arg(report, "report")?;
        let now = time_arg(now_unix)?;
        let mut options = params.ready()?.clone();
        options.cert_dir = cert_dir;
        options.kubeconfig_dir = kubeconfig_dir;
        let done = init(&options, now)?;
        let rows = done
            .entries
            .iter()
            .map(|e| {
                let (action, ca) = match &e.action {
                    Action::Written => (kubepki_action::Written, ""),
                    Action::Kept => (kubepki_action::Kept, ""),
                    Action::Missing { ca } => (kubepki_action::Missing, *ca),
                };
                Row {
                    name: c_text(&e.name),
                    path: c_text(&e.path.to_string_lossy()),
                    action,
                    ca: c_text(ca),
                    note: c_text(""),
                }
            })
            .collect();
        let out = kubepki_report {
            rows,
            warnings: done.warnings.iter().map(|w| c_text(w)).collect(),
        };
        // SAFETY: `report` checked above.
        unsafe { write_out(report, out) };
        Ok(())
    })
}

/// A cluster tree made in memory by `kubepki_cluster_generate`: files in kubeadm's order,
/// with paths as under `/etc/kubernetes` (`pki/ca.crt`, `pki/etcd/server.key`,
/// `admin.conf`). Free with `kubepki_bundle_free`, which zeroizes every file.
pub struct kubepki_bundle {
    inner: Bundle,
    paths: Vec<CString>,
}

/// Makes the tree `kubepki_cluster_init` would lay out in empty folders, in memory, at
/// `now_unix` (0: the current time): nothing touches the disk. External CA mode (a CA
/// certificate without a CA signer) is refused (`KUBEPKI_RESULT_INVALID_PARAMETER`).
///
/// # Safety
/// `params` is a live handle; `bundle` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_generate(
    params: *const kubepki_cluster_params,
    now_unix: i64,
    bundle: *mut *mut kubepki_bundle,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { handle(params, "params")? };
        out_arg(bundle, "bundle")?;
        let now = time_arg(now_unix)?;
        let inner = generate(params.ready()?, now)?;
        let paths = inner.files.iter().map(|f| c_text(&f.path)).collect();
        // SAFETY: `bundle` checked above.
        unsafe { write_out(bundle, kubepki_bundle { inner, paths }) };
        Ok(())
    })
}

/// The number of files; 0 for NULL.
///
/// # Safety
/// `bundle` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_len(bundle: *const kubepki_bundle) -> usize {
    // SAFETY: as the caller promised.
    unsafe { bundle.as_ref() }.map_or(0, |b| b.inner.files.len())
}

/// The path of file `index` (`pki/ca.crt`), owned by the bundle; NULL for NULL or an index
/// out of range.
///
/// # Safety
/// `bundle` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_path(
    bundle: *const kubepki_bundle,
    index: usize,
) -> *const c_char {
    // SAFETY: as the caller promised.
    unsafe { bundle.as_ref() }
        .and_then(|b| b.paths.get(index))
        .map_or(std::ptr::null(), |p| p.as_ptr())
}

/// The content of file `index`, owned by the bundle (`*len` set to its length, not
/// NUL-terminated); NULL (and `*len` 0) for NULL or an index out of range.
///
/// # Safety
/// `bundle` is NULL or a live handle; `len` is NULL or points to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_data(
    bundle: *const kubepki_bundle,
    index: usize,
    len: *mut usize,
) -> *const u8 {
    // SAFETY: as the caller promised.
    let file = unsafe { bundle.as_ref() }.and_then(|b| b.inner.files.get(index));
    let (ptr, n) = file.map_or((std::ptr::null(), 0), |f| (f.bytes.as_ptr(), f.bytes.len()));
    if !len.is_null() {
        // SAFETY: not NULL, and the caller promises it is writable.
        unsafe { *len = n };
    }
    ptr
}

/// Whether file `index` holds a private key (write it with mode 0600); false for NULL or an
/// index out of range.
///
/// # Safety
/// `bundle` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_is_secret(
    bundle: *const kubepki_bundle,
    index: usize,
) -> bool {
    // SAFETY: as the caller promised.
    unsafe { bundle.as_ref() }
        .and_then(|b| b.inner.files.get(index))
        .is_some_and(|f| f.secret)
}

/// Zeroizes and frees a bundle. NULL is accepted and ignored.
///
/// # Safety
/// `bundle` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_free(bundle: *mut kubepki_bundle) {
    // SAFETY: NULL or a bundle from this library, freed once; its files zeroize on drop.
    unsafe { free_handle(bundle) }
}
