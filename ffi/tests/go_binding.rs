//! Runs `go vet`, `go test -race` and the Go fuzz test on the Go binding (ffi/go), whose
//! tests check what we issue with Go's own crypto/x509.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn go_vet_and_go_test_pass() {
    // The machine's Go (1.26) rather than an older one on PATH.
    let go_bin = if Path::new("/usr/local/go/bin/go").exists() {
        "/usr/local/go/bin/go"
    } else {
        "go"
    };
    let found = Command::new(go_bin)
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
    // The binding links target/debug/libkubepki.a; with CARGO_TARGET_DIR elsewhere it is
    // told where the library is (build tag kubepki_external + CGO_LDFLAGS).
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", "kubepki-ffi", "--lib"])
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p kubepki-ffi failed");
    let external = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.canonicalize().ok() != root.join("target").canonicalize().ok());
    // The fuzz test over the parsing entry points: 30 s under CI, a short smoke run here.
    let fuzztime = if std::env::var_os("CI").is_some() {
        "-fuzztime=30s"
    } else {
        "-fuzztime=5s"
    };
    for args in [
        &["vet", "./..."][..],
        &["test", "-race", "-count=1", "./..."][..],
        &[
            "test",
            "-run=^$",
            "-fuzz=FuzzParseCertificate",
            fuzztime,
            ".",
        ][..],
    ] {
        let mut go = Command::new(go_bin);
        go.arg(args[0]);
        if let Some(dir) = &external {
            go.args(["-tags", "kubepki_external"])
                .env("CGO_LDFLAGS", dir.join("debug").join("libkubepki_ffi.a"));
        }
        let output = go
            .args(&args[1..])
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
