//! Issue 21 through the C ABI, called as C calls it: a whole rotation of `all` (start,
//! promote, finish) on a tree the library laid out, the status read between the phases, a
//! phase out of order refused with its own code, a finish too early refused with its own
//! code, a dry run that writes nothing, and the report's JSON the CLI's.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::path::Path;
use std::ptr;
use std::time::{Duration, UNIX_EPOCH};

use kubepki::KeyAlgorithm;
use kubepki::cluster::{InitOptions, init};
use kubepki_ffi::{
    kubepki_ca_rotate_finish, kubepki_ca_rotate_options, kubepki_ca_rotate_promote,
    kubepki_ca_rotate_report, kubepki_ca_rotate_report_ca_get, kubepki_ca_rotate_report_free,
    kubepki_ca_rotate_report_json, kubepki_ca_rotate_report_len, kubepki_ca_rotate_report_note,
    kubepki_ca_rotate_report_notes_len, kubepki_ca_rotate_report_step_get,
    kubepki_ca_rotate_report_steps_len, kubepki_ca_rotate_row, kubepki_ca_rotate_start,
    kubepki_ca_rotate_status, kubepki_ca_rotate_step, kubepki_error, kubepki_error_free,
    kubepki_error_message, kubepki_result,
};

/// 2026-01-01T00:00:00Z: every call is pinned to it or to a time after it.
const T0: i64 = 1_767_225_600;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut options = InitOptions::new(
        dir.path().join("pki"),
        dir.path(),
        "cp-1",
        "127.0.0.1".parse().unwrap(),
    );
    options.algorithm = KeyAlgorithm::EcdsaP256;
    let now = UNIX_EPOCH + Duration::from_secs(u64::try_from(T0).unwrap());
    init(&options, now).unwrap();
    dir
}

fn text(p: *const std::ffi::c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: a NUL-terminated text owned by a live report.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// What a report says, copied out of it.
#[derive(Debug)]
struct Report {
    /// CA -> (from, phase, changed).
    cas: BTreeMap<String, (String, String, bool)>,
    steps: Vec<String>,
    notes: Vec<String>,
    json: serde_json::Value,
}

/// Copies the report out and frees it.
fn read(report: *mut kubepki_ca_rotate_report) -> Report {
    // SAFETY: a live report, freed once at the end; rows and steps are written by the calls.
    unsafe {
        let mut cas = BTreeMap::new();
        for i in 0..kubepki_ca_rotate_report_len(report) {
            let mut row = std::mem::zeroed::<kubepki_ca_rotate_row>();
            assert!(kubepki_ca_rotate_report_ca_get(report, i, &mut row));
            cas.insert(text(row.ca), (text(row.from), text(row.phase), row.changed));
        }
        let mut row = std::mem::zeroed::<kubepki_ca_rotate_row>();
        assert!(!kubepki_ca_rotate_report_ca_get(
            report,
            cas.len(),
            &mut row
        ));
        let mut steps = Vec::new();
        for i in 0..kubepki_ca_rotate_report_steps_len(report) {
            let mut step = std::mem::zeroed::<kubepki_ca_rotate_step>();
            assert!(kubepki_ca_rotate_report_step_get(report, i, &mut step));
            assert!(!text(step.why).is_empty());
            steps.push(text(step.component));
        }
        let notes = (0..kubepki_ca_rotate_report_notes_len(report))
            .map(|i| text(kubepki_ca_rotate_report_note(report, i)))
            .collect();
        let json = serde_json::from_str(&text(kubepki_ca_rotate_report_json(report))).unwrap();
        kubepki_ca_rotate_report_free(report);
        Report {
            cas,
            steps,
            notes,
            json,
        }
    }
}

type Phase = unsafe extern "C" fn(
    *const u8,
    usize,
    *const u8,
    usize,
    *const u8,
    usize,
    *const kubepki_ca_rotate_options,
    i64,
    *mut *mut kubepki_ca_rotate_report,
    *mut *mut kubepki_error,
) -> kubepki_result;

fn options() -> kubepki_ca_rotate_options {
    kubepki_ca_rotate_options {
        dry_run: false,
        force: false,
        shred: false,
        token_lifetime_seconds: 0,
        new_ca_cert: ptr::null(),
        new_ca_cert_len: 0,
        new_ca_key: ptr::null(),
        new_ca_key_len: 0,
    }
}

/// Runs a phase on `all`; the report, or the code and message.
fn run(
    phase: Phase,
    dir: &Path,
    options: Option<&kubepki_ca_rotate_options>,
    now: i64,
) -> Result<Report, (kubepki_result, String)> {
    let pki = dir.join("pki").to_str().unwrap().to_owned();
    let conf = dir.to_str().unwrap().to_owned();
    let ca = "all";
    let mut report = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: the texts and options live through the call; `report` and `err` are storage
    // for one pointer each.
    let rc = unsafe {
        phase(
            pki.as_ptr(),
            pki.len(),
            conf.as_ptr(),
            conf.len(),
            ca.as_ptr(),
            ca.len(),
            options.map_or(ptr::null(), ptr::from_ref),
            now,
            &mut report,
            &mut err,
        )
    };
    if rc == kubepki_result::Ok {
        assert!(err.is_null());
        return Ok(read(report));
    }
    assert!(report.is_null(), "no report on an error");
    // SAFETY: a live error, freed once.
    let message = unsafe {
        let message = text(kubepki_error_message(err));
        kubepki_error_free(err);
        message
    };
    Err((rc, message))
}

fn status(dir: &Path) -> Report {
    let pki = dir.join("pki").to_str().unwrap().to_owned();
    let conf = dir.to_str().unwrap().to_owned();
    let mut report = ptr::null_mut();
    // SAFETY: the texts live through the call; `report` is storage for one pointer; an empty
    // `ca` is `all`.
    let rc = unsafe {
        kubepki_ca_rotate_status(
            pki.as_ptr(),
            pki.len(),
            conf.as_ptr(),
            conf.len(),
            ptr::null(),
            0,
            &mut report,
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, kubepki_result::Ok);
    read(report)
}

fn phases(report: &Report) -> Vec<(&str, &str)> {
    report
        .cas
        .iter()
        .map(|(ca, (_, phase, _))| (ca.as_str(), phase.as_str()))
        .collect()
}

fn all_in(phase: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = ["cluster", "etcd", "front-proxy", "sa"]
        .into_iter()
        .map(|ca| (ca, phase))
        .collect();
    v.sort_unstable();
    v
}

/// Every file of the tree with its contents.
fn snapshot(dir: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<std::path::PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

#[test]
fn a_whole_rotation_of_all_through_the_c_abi() {
    let dir = tree();
    let root = dir.path();
    assert_eq!(phases(&status(root)), all_in("idle"));

    // Out of order: promote before start, with its own code, and nothing written.
    let before = snapshot(root);
    let (rc, message) = run(kubepki_ca_rotate_promote, root, None, T0 + 10).unwrap_err();
    assert_eq!(rc, kubepki_result::ClusterRotationOrder, "{message}");
    assert!(message.contains("idle"), "{message}");

    // A dry run reports the phase and writes nothing.
    let dry = kubepki_ca_rotate_options {
        dry_run: true,
        ..options()
    };
    let report = run(kubepki_ca_rotate_start, root, Some(&dry), T0 + 10).unwrap();
    assert_eq!(phases(&report), all_in("started"));
    assert_eq!(report.json["dry_run"], true);
    assert_eq!(snapshot(root), before, "a dry run wrote");
    assert_eq!(phases(&status(root)), all_in("idle"));

    let started = run(kubepki_ca_rotate_start, root, None, T0 + 20).unwrap();
    assert_eq!(phases(&started), all_in("started"));
    assert!(
        started
            .cas
            .values()
            .all(|(from, _, changed)| from == "idle" && *changed)
    );
    assert_eq!(started.steps.first().map(String::as_str), Some("etcd"));
    assert!(started.steps.iter().any(|s| s == "kube-apiserver"));
    assert!(!started.notes.is_empty());
    assert_eq!(started.json["phase"], "start");
    assert_eq!(
        started.json["plan"]["steps"].as_array().unwrap().len(),
        started.steps.len()
    );
    assert_eq!(phases(&status(root)), all_in("started"));

    // A rerun changes nothing; finish before promote is out of order.
    let again = run(kubepki_ca_rotate_start, root, None, T0 + 30).unwrap();
    assert!(again.cas.values().all(|(_, _, changed)| !*changed));
    let (rc, _) = run(kubepki_ca_rotate_finish, root, None, T0 + 30).unwrap_err();
    assert_eq!(rc, kubepki_result::ClusterRotationOrder);

    let promoted = run(kubepki_ca_rotate_promote, root, None, T0 + 40).unwrap();
    assert_eq!(phases(&promoted), all_in("promoted"));
    let flags: Vec<&str> = promoted.json["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["flags"].as_array().unwrap())
        .map(|f| f["flag"].as_str().unwrap())
        .collect();
    assert!(flags.contains(&"--cluster-signing-cert-file"), "{flags:?}");
    let now_status = status(root);
    assert_eq!(phases(&now_status), all_in("promoted"));
    assert!(now_status.json["cas"].as_array().unwrap().len() == 4);

    // Too early for the service-account key: its own code; a token lifetime that has
    // passed lets it through.
    let (rc, message) = run(kubepki_ca_rotate_finish, root, None, T0 + 50).unwrap_err();
    assert_eq!(rc, kubepki_result::ClusterTokensStillValid, "{message}");
    let short = kubepki_ca_rotate_options {
        token_lifetime_seconds: 60,
        ..options()
    };
    let finished = run(kubepki_ca_rotate_finish, root, Some(&short), T0 + 200).unwrap();
    assert_eq!(phases(&finished), all_in("finished"));
    assert_eq!(finished.json["phase"], "finish");
    assert_eq!(phases(&status(root)), all_in("finished"));
}

#[test]
fn bad_arguments_are_named() {
    let dir = tree();
    let pki = dir.path().join("pki").to_str().unwrap().to_owned();
    let conf = dir.path().to_str().unwrap().to_owned();
    let mut report = ptr::null_mut();
    let mut err = ptr::null_mut();
    let ca = "kubelet";
    // SAFETY: the texts live through the calls; `report` and `err` are storage for one
    // pointer each.
    unsafe {
        let rc = kubepki_ca_rotate_start(
            pki.as_ptr(),
            pki.len(),
            conf.as_ptr(),
            conf.len(),
            ca.as_ptr(),
            ca.len(),
            ptr::null(),
            T0,
            &mut report,
            &mut err,
        );
        assert_eq!(rc, kubepki_result::ClusterInvalidParameter);
        assert!(text(kubepki_error_message(err)).contains("\"kubelet\""));
        kubepki_error_free(err);
        let half = [0u8; 4];
        let only_cert = kubepki_ca_rotate_options {
            new_ca_cert: half.as_ptr(),
            new_ca_cert_len: half.len(),
            ..options()
        };
        let rc = kubepki_ca_rotate_start(
            pki.as_ptr(),
            pki.len(),
            conf.as_ptr(),
            conf.len(),
            ptr::null(),
            0,
            &only_cert,
            T0,
            &mut report,
            ptr::null_mut(),
        );
        assert_eq!(rc, kubepki_result::ClusterInvalidParameter);
        let rc = kubepki_ca_rotate_status(
            pki.as_ptr(),
            pki.len(),
            conf.as_ptr(),
            conf.len(),
            ptr::null(),
            0,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(rc, kubepki_result::NullParameter);
        assert_eq!(kubepki_ca_rotate_report_len(ptr::null()), 0);
        assert!(kubepki_ca_rotate_report_json(ptr::null()).is_null());
        kubepki_ca_rotate_report_free(ptr::null_mut());
    }
}
