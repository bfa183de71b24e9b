//! README's `bash examples/user-workflow.sh`, run as a user does: twice in the same folder,
//! then once more after an interrupted run left a key without its request. Each run must
//! succeed and leave a key, a request and a certificate that belong together.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::path::Path;
use std::process::Command;

use kubepki::der::Encode;
use kubepki::sign::{certificates_from_bytes, parse_certificate};
use kubepki::{Csr, KeyPair};

/// Runs the example into `out` with this build's `kubepki`; panics with its output on failure.
fn run_workflow(out: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/user-workflow.sh");
    let output = Command::new("bash")
        .arg(script)
        .arg(out)
        .env("KUBEPKI", env!("CARGO_BIN_EXE_kubepki"))
        .output()
        .expect("run bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the workflow failed:\n{text}");
    text
}

/// Asserts that jane's key, request and certificate hold one public key; returns the key file.
fn assert_one_key(out: &Path) -> Vec<u8> {
    let key_pem = std::fs::read(out.join("jane.key")).unwrap();
    let key = KeyPair::from_pem(std::str::from_utf8(&key_pem).unwrap(), None).unwrap();
    let public = key.public_key().to_der().to_vec();
    let csr = Csr::from_pem(&std::fs::read_to_string(out.join("jane.csr")).unwrap()).unwrap();
    assert_eq!(
        csr.public_key().to_der(),
        public,
        "jane.csr is not jane.key's"
    );
    let certs = certificates_from_bytes(&std::fs::read(out.join("jane.crt")).unwrap()).unwrap();
    let spki = parse_certificate(&certs[0])
        .unwrap()
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    assert_eq!(spki, public, "jane.crt is not jane.key's");
    key_pem
}

#[test]
fn the_user_workflow_runs_again_and_leaves_a_matching_key_request_and_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    run_workflow(&out);
    let first = assert_one_key(&out);
    let again = run_workflow(&out);
    assert!(again.contains("keeping jane.key and jane.csr"), "{again}");
    assert_eq!(
        assert_one_key(&out),
        first,
        "the second run replaced the key"
    );
    // An interrupted run: the key was written, the request was not.
    std::fs::remove_file(out.join("jane.csr")).unwrap();
    run_workflow(&out);
    assert_ne!(
        assert_one_key(&out),
        first,
        "a key without its request was kept"
    );
}
