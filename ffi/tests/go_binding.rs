//! Runs `go vet` and `go test` on the Go binding (ffi/go), whose tests check what we issue
//! with Go's own crypto/x509.

use std::path::Path;
use std::process::Command;

#[test]
fn go_vet_and_go_test_pass() {
    let found = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "go not found, and CI is set"
        );
        eprintln!("SKIP: go not found");
        return;
    }
    let ffi = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = ffi.parent().expect("ffi/ has a parent");
    // The binding links target/debug/libkubepki.a.
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", "kubepki-ffi", "--lib"])
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p kubepki-ffi failed");
    for args in [&["vet", "./..."][..], &["test", "-count=1", "./..."][..]] {
        let output = Command::new("go")
            .args(args)
            .current_dir(ffi.join("go"))
            .output()
            .expect("go runs");
        assert!(
            output.status.success(),
            "go {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
