//! `kubepki certs renew`: `kubepki_renew`.

use kubepki::cluster::{RenewOptions, renew_each};

use super::report::{Row, kubepki_action, kubepki_report};
use super::{kubepki_str, str_list};
use crate::ca::kubepki_ca;
use crate::error::{kubepki_error, kubepki_result};
use crate::util::{c_text, call, dirs_arg, out_arg, time_arg, write_out};

/// Renews certificates of the tree at `now_unix` (0: the current time), as
/// `kubepki certs renew`: `names` lists kubeadm's names (`apiserver`, `admin.conf`, ...) or
/// is the one name `all`; `names_len` 0 means `all`. Each gets a new key (same algorithm)
/// and a certificate for `validity_seconds` (0: 1 year), signed by its CA from the tree, or
/// the cluster CA by `cluster_ca` when not NULL (a CA key on a token). `*report` lists the
/// renewed files (with the component to restart) and those skipped (external CA). A name
/// given twice is renewed once. When one fails after others were renewed (they stay
/// renewed), the result is `KUBEPKI_RESULT_CLUSTER_RENEW_INCOMPLETE` and the error lists
/// them: `kubepki_error_renewed_len` / `kubepki_error_renewed_get`.
///
/// # Safety
/// The folders point to their lengths in bytes; `names` is NULL (`names_len` 0) or points to
/// `names_len` texts; `cluster_ca` is NULL or a live CA; `report` points to storage for one
/// pointer; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_renew(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    names: *const kubepki_str,
    names_len: usize,
    validity_seconds: u64,
    cluster_ca: *const kubepki_ca,
    now_unix: i64,
    report: *mut *mut kubepki_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let (cert_dir, kubeconfig_dir) =
            unsafe { dirs_arg(cert_dir, cert_dir_len, kubeconfig_dir, kubeconfig_dir_len)? };
        // SAFETY: as the caller promised.
        let mut names = unsafe { str_list(names, names_len, "names")? };
        // SAFETY: as the caller promised.
        let cluster_ca = unsafe { cluster_ca.as_ref() }.map(kubepki_ca::inner);
        out_arg(report, "report")?;
        let now = time_arg(now_unix)?;
        if names.is_empty() {
            names.push("all".to_owned());
        }
        let options = RenewOptions {
            cert_dir,
            kubeconfig_dir,
            algorithm: None,
            validity: Some(
                crate::util::validity_arg(validity_seconds)
                    .unwrap_or(kubepki::profile::DEFAULT_CERT_VALIDITY),
            ),
            add_sans: Vec::new(),
            keep_old: None,
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let done = renew_each(&options, &names, now, cluster_ca)?;
        let renewed = done.renewed.iter().map(|r| Row {
            name: c_text(&r.name),
            path: c_text(&r.path.to_string_lossy()),
            action: kubepki_action::Renewed,
            ca: c_text(""),
            note: c_text(r.restart),
        });
        let skipped = done.skipped.iter().map(|s| Row {
            name: c_text(&s.name),
            path: c_text(""),
            action: kubepki_action::Skipped,
            ca: c_text(&s.ca),
            note: c_text(""),
        });
        let rows = renewed.chain(skipped).collect();
        let warnings = done.warnings.iter().map(|w| c_text(w)).collect();
        // SAFETY: `report` checked above.
        unsafe { write_out(report, kubepki_report { rows, warnings }) };
        Ok(())
    })
}
