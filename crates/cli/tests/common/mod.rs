//! Helpers shared by the CLI's integration tests.

#![allow(dead_code, clippy::expect_used)] // not every test file uses every helper

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `kubepki` binary in `dir`.
pub(crate) fn kubepki(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubepki"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run kubepki")
}

/// Asserts success and returns stdout.
pub(crate) fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether `openssl` runs here. When it does not, prints a loud SKIP, or fails the test when
/// `CI` is set.
pub(crate) fn openssl_available() -> bool {
    tool_available(
        "openssl",
        &["version"],
        "install it to run the interop tests",
    )
}

/// Whether `program` runs here (`args` is a harmless invocation; its exit status does not
/// matter, as some tools have no `--version`). When it does not, prints a loud SKIP line
/// (with `hint`), or fails the test when `CI` is set: under CI a missing tool is a failure,
/// never a silent pass.
pub(crate) fn tool_available(program: &str, args: &[&str], hint: &str) -> bool {
    let found = Command::new(program).args(args).output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is required when CI is set ({hint})"
        );
        eprintln!("SKIP: {program} not found; {hint}");
    }
    found
}
