//! Runs `go vet`, `go test -race` and the Go fuzz test on the Go binding (ffi/go), whose
//! tests check what we issue with Go's own crypto/x509.

use kubepki_test_support::go_binding;

#[test]
fn go_vet_and_go_test_pass() {
    // Go found (else a loud SKIP, or a failure under CI) and the static library built.
    let Some(go) = go_binding() else {
        return;
    };
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
        let output = go
            .command(args[0])
            .args(&args[1..])
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
