//! SoftHSM2 tokens for the PKCS#11 tests, each in a folder of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{output_ok, skip_unless};

/// Debian's SoftHSM2 PKCS#11 module.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The user PIN of the tokens [`softhsm2_token`] makes.
pub const SOFTHSM2_PIN: &str = "1234";

/// Whether SoftHSM2 (`softhsm2-util` and [`SOFTHSM2_MODULE`]) is here: a loud `SKIP` when
/// not, or a panic when `CI` is set, as [`skip_unless`].
///
/// # Panics
/// When SoftHSM2 is missing and `CI` is set.
pub fn softhsm2_available() -> bool {
    let util = Command::new("softhsm2-util").arg("--version").output();
    skip_unless(
        util.is_ok_and(|out| out.status.success()) && Path::new(SOFTHSM2_MODULE).exists(),
        &format!(
            "SoftHSM2 (softhsm2-util, {SOFTHSM2_MODULE}) not found; apt-get install softhsm2 to run the PKCS#11 tests"
        ),
    )
}

/// Makes a token labelled `kubepki` (user PIN [`SOFTHSM2_PIN`], SO PIN 5678) in
/// `dir/tokens`, and returns the `SOFTHSM2_CONF` file that points SoftHSM2 at it. SoftHSM2
/// reads that variable once per process: give it to the processes that use the token.
///
/// # Panics
/// When the folder cannot be written or `softhsm2-util --init-token` fails.
pub fn softhsm2_token(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir(&tokens).expect("mkdir tokens");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("write softhsm2.conf");
    output_ok(
        Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", "kubepki"])
            .args(["--pin", SOFTHSM2_PIN, "--so-pin", "5678"]),
    );
    conf
}
