#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Test support: a failed expectation is a test failure, said with the command's output.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod der;
mod go;
mod softhsm;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use go::{GoBinding, go_binding, go_tool};
pub use softhsm::{SOFTHSM2_MODULE, SOFTHSM2_PIN, softhsm2_available, softhsm2_token};

/// 2027-01-15T08:00:00Z: the clock of the library tests.
pub fn pinned() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// 2026-01-01T00:00:00Z: the clock of the cluster tests (their expected kubeadm tables name
/// its dates).
pub fn pinned_2026() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Whether a test's peer is here (`found`). When it is not, prints a loud `SKIP` line with
/// `message` and returns `false`, or panics when `CI` is set: under CI a missing peer is a
/// failure, never a silent pass.
///
/// # Panics
/// When `found` is false and `CI` is set.
pub fn skip_unless(found: bool, message: &str) -> bool {
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{message}, and CI is set (a missing peer fails under CI)"
        );
        eprintln!("\n    SKIP: {message}\n");
    }
    found
}

/// Whether `tool` is on the `PATH` (`command -v`), as [`skip_unless`] says it.
///
/// # Panics
/// When it is not and `CI` is set.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    skip_unless(found, &format!("{tool} not found"))
}

/// Whether `program` runs here (`args` is a harmless invocation; its exit status does not
/// matter, as some tools have no `--version`), as [`skip_unless`] says it, with `hint`.
///
/// # Panics
/// When it does not run and `CI` is set.
pub fn tool_available(program: &str, args: &[&str], hint: &str) -> bool {
    let found = Command::new(program).args(args).output().is_ok();
    skip_unless(found, &format!("{program} not found; {hint}"))
}

/// Whether `openssl version` runs, as [`skip_unless`] says it.
///
/// # Panics
/// When it does not and `CI` is set.
pub fn openssl_available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    skip_unless(
        found,
        "openssl not found; install it to run the interop tests",
    )
}

/// Runs `command`, asserting that it succeeds; returns its stdout then stderr.
///
/// # Panics
/// When it does not run or fails (with its output).
pub fn output_ok(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `openssl ARGS` in `dir`, asserting that it succeeds; returns its stdout then stderr.
///
/// # Panics
/// When openssl does not run or fails (with its output).
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    output_ok(Command::new("openssl").current_dir(dir).args(args))
}

/// Whether `openssl verify -CAfile CA EXTRA... CERT` accepts `cert` (`extra`: a purpose,
/// `-verify_ip`, ...).
///
/// # Panics
/// When openssl does not run.
pub fn openssl_verifies(ca: &Path, cert: &Path, extra: &[&str]) -> bool {
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .args(extra)
        .arg(cert)
        .output()
        .expect("run openssl")
        .status
        .success()
}

/// The public key (PEM) of a certificate (`certificate`) or of a private key, as openssl
/// reads it; empty when it cannot.
///
/// # Panics
/// When openssl does not run.
pub fn openssl_public_key(path: &Path, certificate: bool) -> String {
    let mut command = Command::new("openssl");
    if certificate {
        command.args(["x509", "-noout", "-pubkey", "-in"]);
    } else {
        command.args(["pkey", "-pubout", "-in"]);
    }
    let out = command.arg(path).output().expect("run openssl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_are_pinned() {
        assert_eq!(
            pinned_2026() + Duration::from_secs(32_774_400),
            pinned(),
            "2026-01-01 + 379.33 days = 2027-01-15T08:00:00Z"
        );
    }

    #[test]
    fn a_present_peer_runs() {
        assert!(skip_unless(true, "unused"));
        assert!(have("sh"));
    }
}
