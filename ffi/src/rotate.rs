//! CA rotation (`kubepki ca rotate status|start|promote|finish|rollback`): each call is one
//! phase of the library's rotation and returns a report, with the plan also as the JSON
//! text the CLI's `-o json` prints.

use std::ffi::{CString, c_char};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use kubepki::cluster::{
    ClusterError, PhaseReport, RestartPlan, RotateOptions, RotatedCa, rotate_finish,
    rotate_promote, rotate_rollback, rotate_start, rotation_status,
};

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::util::{c_text, dirs_arg, fill_at};
use crate::util::{call, free_handle, out_arg, str_arg, time_arg, write_out};

/// The options of a rotation phase, as the CLI's flags. Zeroed (or a NULL pointer) means the
/// defaults: write, no force, no shred, the default token lifetime (3607 s), a new CA made.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kubepki_ca_rotate_options {
    /// Compute and report the change, write nothing (`--dry-run`).
    pub dry_run: bool,
    /// `finish`: do not wait for the token lifetime (`--force`).
    pub force: bool,
    /// `finish`: overwrite the old keys set aside with zeros, then unlink them (`--shred`).
    pub shred: bool,
    /// `finish`: how long a service-account token signed before `promote` may stay in use,
    /// in seconds; 0 for the default (3607).
    pub token_lifetime_seconds: u64,
    /// `start` with one X.509 CA: the new CA's certificate (PEM), or NULL (`len` 0) for a
    /// new CA made here. Given with `new_ca_key`.
    pub new_ca_cert: *const u8,
    /// The number of bytes at `new_ca_cert`.
    pub new_ca_cert_len: usize,
    /// The new CA's private key (PEM), with `new_ca_cert`.
    pub new_ca_key: *const u8,
    /// The number of bytes at `new_ca_key`.
    pub new_ca_key_len: usize,
}

/// One CA of a rotation report, borrowed from it: valid until the report is freed.
#[repr(C)]
pub struct kubepki_ca_rotate_row {
    /// The CA: `cluster`, `front-proxy`, `etcd`, `sa`.
    pub ca: *const c_char,
    /// The phase it was in before the call (`idle`, `started`, `promoted`, `finished`); for
    /// status, the phase its state file records ("" when none).
    pub from: *const c_char,
    /// The phase it is in now (with a dry run: would be in).
    pub phase: *const c_char,
    /// Whether the call changed it (false for status and for a rerun of a phase done).
    pub changed: bool,
}

/// One component to restart, in order, borrowed from the report.
#[repr(C)]
pub struct kubepki_ca_rotate_step {
    /// `etcd`, `kube-apiserver`, `kube-controller-manager`, `kube-scheduler`, `kubelet`.
    pub component: *const c_char,
    /// The number of flag changes (each is in the JSON plan).
    pub flags_len: usize,
    /// What the restart makes it read.
    pub why: *const c_char,
}

struct CaRow {
    ca: CString,
    from: CString,
    phase: CString,
    changed: bool,
}

struct StepRow {
    component: CString,
    flags_len: usize,
    why: CString,
}

/// The report of a rotation call: the phase of each CA, the restart plan (steps and notes),
/// warnings (for status: the inconsistencies found) and the whole report as JSON. Free with
/// `kubepki_ca_rotate_report_free`.
pub struct kubepki_ca_rotate_report {
    cas: Vec<CaRow>,
    steps: Vec<StepRow>,
    notes: Vec<CString>,
    warnings: Vec<CString>,
    json: CString,
}

impl kubepki_ca_rotate_report {
    fn of_phase(report: &PhaseReport) -> Result<Self, Failure> {
        let cas = report
            .cas
            .iter()
            .map(|c| CaRow {
                ca: c_text(c.ca.name()),
                from: c_text(c.from.name()),
                phase: c_text(c.to.name()),
                changed: c.changed,
            })
            .collect();
        let mut out = Self::of_plan(
            &report.plan,
            cas,
            &report.warnings,
            json(serde_json::to_string_pretty(report))?,
        );
        out.notes.push(c_text(&report.rollback));
        Ok(out)
    }

    fn of_plan(plan: &RestartPlan, cas: Vec<CaRow>, warnings: &[String], json: CString) -> Self {
        Self {
            cas,
            steps: plan
                .steps
                .iter()
                .map(|s| StepRow {
                    component: c_text(s.component),
                    flags_len: s.flags.len(),
                    why: c_text(&s.why),
                })
                .collect(),
            notes: plan.notes.iter().map(|n| c_text(n)).collect(),
            warnings: warnings.iter().map(|w| c_text(w)).collect(),
            json,
        }
    }
}

fn json(text: serde_json::Result<String>) -> Result<CString, Failure> {
    let text = text.map_err(|e| {
        Failure::new(
            kubepki_result::Unclassified,
            format!("the report does not serialize: {e}"),
        )
    })?;
    Ok(c_text(&text))
}

/// Reads `cas`: `cluster`, `front-proxy`, `etcd`, `sa` or `all`; empty means `all`.
///
/// # Safety
/// As `str_arg`.
unsafe fn cas_arg(data: *const u8, len: usize) -> Result<Vec<RotatedCa>, Failure> {
    // SAFETY: forwarded contract.
    let name = unsafe { str_arg(data, len, "ca")? };
    if name.is_empty() || name == "all" {
        return Ok(RotatedCa::ALL.to_vec());
    }
    RotatedCa::from_name(name).map(|c| vec![c]).ok_or_else(|| {
        Failure::new(
            kubepki_result::ClusterInvalidParameter,
            format!("ca {name:?} is not valid: expected cluster, front-proxy, etcd, sa or all"),
        )
    })
}

/// Reads optional bytes: NULL or a length of 0 is none.
///
/// # Safety
/// `data` is NULL or points to `len` bytes.
unsafe fn optional_bytes(data: *const u8, len: usize) -> Option<Vec<u8>> {
    if len == 0 || data.is_null() {
        return None;
    }
    // SAFETY: not NULL, and the caller promises `len` bytes.
    Some(unsafe { std::slice::from_raw_parts(data, len) }.to_vec())
}

/// The library's options from the C arguments.
///
/// # Safety
/// The folders point to their lengths in bytes; `options` is NULL or points to options
/// whose pointers point to their lengths in bytes.
unsafe fn rotate_options(
    dirs: (PathBuf, PathBuf),
    cas: Vec<RotatedCa>,
    options: *const kubepki_ca_rotate_options,
) -> Result<RotateOptions, Failure> {
    let mut out = RotateOptions::new(dirs.0, dirs.1, cas);
    // SAFETY: as the caller promised.
    let Some(given) = (unsafe { options.as_ref() }) else {
        return Ok(out);
    };
    out.dry_run = given.dry_run;
    out.force = given.force;
    out.shred = given.shred;
    if given.token_lifetime_seconds != 0 {
        out.token_lifetime = Duration::from_secs(given.token_lifetime_seconds);
    }
    // SAFETY: as the caller promised.
    let cert = unsafe { optional_bytes(given.new_ca_cert, given.new_ca_cert_len) };
    // SAFETY: as the caller promised.
    let key = unsafe { optional_bytes(given.new_ca_key, given.new_ca_key_len) };
    out.new_ca = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some((cert, key)),
        _ => {
            return Err(Failure::new(
                kubepki_result::ClusterInvalidParameter,
                "new_ca_cert and new_ca_key go together: give both or neither",
            ));
        }
    };
    Ok(out)
}

type PhaseFn = fn(&RotateOptions, SystemTime) -> Result<PhaseReport, ClusterError>;

/// One phase: the arguments read, the library called, the report written.
///
/// # Safety
/// As the exported phase functions.
#[allow(clippy::too_many_arguments)]
unsafe fn phase(
    run: PhaseFn,
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    ca: *const u8,
    ca_len: usize,
    options: *const kubepki_ca_rotate_options,
    now_unix: i64,
    report: *mut *mut kubepki_ca_rotate_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let dirs = unsafe { dirs_arg(cert_dir, cert_dir_len, kubeconfig_dir, kubeconfig_dir_len)? };
        // SAFETY: as the caller promised.
        let cas = unsafe { cas_arg(ca, ca_len)? };
        // SAFETY: as the caller promised.
        let options = unsafe { rotate_options(dirs, cas, options)? };
        out_arg(report, "report")?;
        let now = time_arg(now_unix)?;
        let done = run(&options, now)?;
        let out = kubepki_ca_rotate_report::of_phase(&done)?;
        // SAFETY: `report` checked above.
        unsafe { write_out(report, out) };
        Ok(())
    })
}

/// The rotation status of `ca` (`cluster`, `front-proxy`, `etcd`, `sa`, or `all`; empty
/// means `all`), read from the files themselves, writing and locking nothing: one row per CA
/// (an external etcd's CA is left out) with the phase it is in, and as warnings every
/// inconsistency found (a key that fits no trusted CA, a file that trusts the wrong set).
/// The JSON is the CLI's `ca rotate status -o json`.
///
/// # Safety
/// The texts point to their lengths in bytes; `report` points to storage for one pointer;
/// `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_status(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    ca: *const u8,
    ca_len: usize,
    report: *mut *mut kubepki_ca_rotate_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let (cert_dir, kubeconfig_dir) =
            unsafe { dirs_arg(cert_dir, cert_dir_len, kubeconfig_dir, kubeconfig_dir_len)? };
        // SAFETY: as the caller promised.
        let cas = unsafe { cas_arg(ca, ca_len)? };
        out_arg(report, "report")?;
        let status = rotation_status(&cert_dir, &kubeconfig_dir, &cas)?;
        let rows = status
            .cas
            .iter()
            .map(|c| CaRow {
                ca: c_text(c.ca.name()),
                from: c_text(c.recorded.map_or("", |p| p.name())),
                phase: c_text(c.phase.name()),
                changed: false,
            })
            .collect();
        let warnings: Vec<String> = status
            .cas
            .iter()
            .flat_map(|c| {
                c.inconsistencies
                    .iter()
                    .map(|i| format!("{}: {i}", c.ca.name()))
            })
            .collect();
        let out = kubepki_ca_rotate_report::of_plan(
            &RestartPlan::default(),
            rows,
            &warnings,
            json(serde_json::to_string_pretty(&status))?,
        );
        // SAFETY: `report` checked above.
        unsafe { write_out(report, out) };
        Ok(())
    })
}

/// `kubepki ca rotate start` at `now_unix` (0: the current time): for each CA of `ca`
/// (`cluster`, `front-proxy`, `etcd`, `sa`, `all`; empty means `all`) a new CA (or the one
/// in `options`, for one X.509 CA) is set aside and every trust location holds the old and
/// the new one; the old one still signs. `options` NULL means the defaults. Journaled and
/// resumable; a rerun of a phase done changes nothing. `*report` gives each CA's phase, the
/// components to restart in order, notes (the last one says whether and how the phase can
/// be rolled back) and the JSON of the CLI's `-o json`.
///
/// Errors: `KUBEPKI_RESULT_CLUSTER_ROTATION_ORDER` for a CA promoted and not finished,
/// `KUBEPKI_RESULT_CLUSTER_BAD_NEW_CA` for an unusable given CA,
/// `KUBEPKI_RESULT_CLUSTER_ROTATION_FILE`, `KUBEPKI_RESULT_FS_LOCKED` and read and write
/// errors. Nothing is written on an error.
///
/// # Safety
/// The texts point to their lengths in bytes; `options` is NULL or points to options whose
/// pointers point to their lengths in bytes; `report` points to storage for one pointer;
/// `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_start(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    ca: *const u8,
    ca_len: usize,
    options: *const kubepki_ca_rotate_options,
    now_unix: i64,
    report: *mut *mut kubepki_ca_rotate_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        phase(
            rotate_start,
            cert_dir,
            cert_dir_len,
            kubeconfig_dir,
            kubeconfig_dir_len,
            ca,
            ca_len,
            options,
            now_unix,
            report,
            err_out,
        )
    }
}

/// `kubepki ca rotate promote`, as `kubepki_ca_rotate_start`: every leaf certificate and
/// kubeconfig client certificate is reissued under the new CA, which now signs; trust still
/// holds both. `KUBEPKI_RESULT_CLUSTER_ROTATION_ORDER` for a CA not started.
///
/// # Safety
/// As `kubepki_ca_rotate_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_promote(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    ca: *const u8,
    ca_len: usize,
    options: *const kubepki_ca_rotate_options,
    now_unix: i64,
    report: *mut *mut kubepki_ca_rotate_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        phase(
            rotate_promote,
            cert_dir,
            cert_dir_len,
            kubeconfig_dir,
            kubeconfig_dir_len,
            ca,
            ca_len,
            options,
            now_unix,
            report,
            err_out,
        )
    }
}

/// `kubepki ca rotate finish`, as `kubepki_ca_rotate_start`: the old CA and the old
/// service-account key leave every trust location; the old key is kept aside, or shredded
/// with `options->shred`. `KUBEPKI_RESULT_CLUSTER_ROTATION_ORDER` for a CA not promoted,
/// `KUBEPKI_RESULT_CLUSTER_TOKENS_STILL_VALID` before `options->token_lifetime_seconds`
/// have passed since promote, unless `options->force`.
///
/// # Safety
/// As `kubepki_ca_rotate_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_finish(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    ca: *const u8,
    ca_len: usize,
    options: *const kubepki_ca_rotate_options,
    now_unix: i64,
    report: *mut *mut kubepki_ca_rotate_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        phase(
            rotate_finish,
            cert_dir,
            cert_dir_len,
            kubeconfig_dir,
            kubeconfig_dir_len,
            ca,
            ca_len,
            options,
            now_unix,
            report,
            err_out,
        )
    }
}

/// `kubepki ca rotate rollback`, as `kubepki_ca_rotate_start`: a started rotation is undone
/// (the new CA leaves every trust location). A promoted rotation cannot be rolled back:
/// `KUBEPKI_RESULT_CLUSTER_ROTATION_ORDER`, the message naming finish as the way forward.
///
/// # Safety
/// As `kubepki_ca_rotate_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_rollback(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    ca: *const u8,
    ca_len: usize,
    options: *const kubepki_ca_rotate_options,
    now_unix: i64,
    report: *mut *mut kubepki_ca_rotate_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        phase(
            rotate_rollback,
            cert_dir,
            cert_dir_len,
            kubeconfig_dir,
            kubeconfig_dir_len,
            ca,
            ca_len,
            options,
            now_unix,
            report,
            err_out,
        )
    }
}

/// The number of CAs in the report; 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_len(
    report: *const kubepki_ca_rotate_report,
) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.cas.len())
}

/// Fills `*row` with CA `index`; false (and `*row` untouched) for NULL or an index out of
/// range. The row's texts belong to the report.
///
/// # Safety
/// `report` is NULL or a live handle; `row` is NULL or points to a writable row.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_ca_get(
    report: *const kubepki_ca_rotate_report,
    index: usize,
    row: *mut kubepki_ca_rotate_row,
) -> bool {
    // SAFETY: as the caller promised.
    let items = unsafe { report.as_ref() }.map(|report| report.cas.as_slice());
    // SAFETY: as the caller promised.
    unsafe {
        fill_at(items, index, row, |r| kubepki_ca_rotate_row {
            ca: r.ca.as_ptr(),
            from: r.from.as_ptr(),
            phase: r.phase.as_ptr(),
            changed: r.changed,
        })
    }
}

/// The number of components to restart, in order; 0 for NULL and for status.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_steps_len(
    report: *const kubepki_ca_rotate_report,
) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.steps.len())
}

/// Fills `*step` with restart step `index`; false (and `*step` untouched) for NULL or an
/// index out of range. Its texts belong to the report; its flag changes are in the JSON.
///
/// # Safety
/// `report` is NULL or a live handle; `step` is NULL or points to a writable step.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_step_get(
    report: *const kubepki_ca_rotate_report,
    index: usize,
    step: *mut kubepki_ca_rotate_step,
) -> bool {
    // SAFETY: as the caller promised.
    let items = unsafe { report.as_ref() }.map(|report| report.steps.as_slice());
    // SAFETY: as the caller promised.
    unsafe {
        fill_at(items, index, step, |s| kubepki_ca_rotate_step {
            component: s.component.as_ptr(),
            flags_len: s.flags_len,
            why: s.why.as_ptr(),
        })
    }
}

/// The number of notes (what to check or wait for before the next phase, then whether the
/// phase can be rolled back); 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_notes_len(
    report: *const kubepki_ca_rotate_report,
) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.notes.len())
}

/// Note `index`, owned by the report; NULL for NULL or an index out of range.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_note(
    report: *const kubepki_ca_rotate_report,
    index: usize,
) -> *const c_char {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }
        .and_then(|r| r.notes.get(index))
        .map_or(std::ptr::null(), |n| n.as_ptr())
}

/// The number of warnings (a half-done phase repaired; for status, each inconsistency); 0
/// for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_warnings_len(
    report: *const kubepki_ca_rotate_report,
) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.warnings.len())
}

/// Warning `index`, owned by the report; NULL for NULL or an index out of range.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_warning(
    report: *const kubepki_ca_rotate_report,
    index: usize,
) -> *const c_char {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }
        .and_then(|r| r.warnings.get(index))
        .map_or(std::ptr::null(), |w| w.as_ptr())
}

/// The whole report as JSON text (NUL-terminated, owned by the report): what the CLI's
/// `ca rotate ... -o json` prints, with the flag changes of every restart step; NULL for
/// NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_json(
    report: *const kubepki_ca_rotate_report,
) -> *const c_char {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(std::ptr::null(), |r| r.json.as_ptr())
}

/// Frees a rotation report. NULL is accepted and ignored.
///
/// # Safety
/// `report` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_rotate_report_free(report: *mut kubepki_ca_rotate_report) {
    // SAFETY: NULL or a report from this library, freed once.
    unsafe { free_handle(report) }
}
