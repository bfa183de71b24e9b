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

/// Asserts that `kubepki` succeeded and returns stdout.
pub(crate) fn ok(output: Output) -> String {
    succeeded("kubepki", output)
}

/// Asserts that any program (`what` says which, and with what) succeeded and returns stdout.
pub(crate) fn succeeded(what: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts that any program (`what` says which, and with what) failed, with no contract on
/// how (for `kubepki` itself use [`fails`]); returns its standard error and output.
pub(crate) fn failed(what: &str, output: Output) -> String {
    assert!(
        !output.status.success(),
        "{what} should have failed:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    )
}

/// Asserts the CLI's failure contract and returns stderr: exit code 1 and exactly one
/// `error: ...` line (warnings, such as a CA key file readable by others, may come first).
pub(crate) fn fails(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "unexpected success: {}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(errors[0].starts_with("error: "), "{stderr}");
    stderr
}

/// Asserts that the command line itself was refused (clap's usage error: exit code 2) and
/// returns stderr.
pub(crate) fn usage_error(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "a usage error: {stderr}");
    stderr
}

/// Whether `openssl` runs here, and whether `program` does; when not: a loud SKIP, or a
/// failure under `CI`.
pub(crate) use kubepki_test_support::{openssl, openssl_available, tool_available};
