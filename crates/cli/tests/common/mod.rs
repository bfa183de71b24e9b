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
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is required when CI is set"
        );
        eprintln!("SKIP: openssl not found; install it to run the interop tests");
    }
    found
}
