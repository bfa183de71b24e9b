//! Helpers shared by the CLI's integration tests.

#![allow(dead_code, unused_imports, clippy::expect_used)] // not every test file uses every helper

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

/// Whether `openssl` runs here, and whether `program` does; when not: a loud SKIP, or a
/// failure under `CI`.
pub(crate) use kubepki_test_support::{openssl, openssl_available, tool_available};
