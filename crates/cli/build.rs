//! What `kubepki version` prints about the build, handed to the binary as `KUBEPKI_*`
//! environment variables at compile time: the git revision (`git rev-parse HEAD` in this
//! repository, else the one cargo recorded when it packaged the crate, else `unknown`), the
//! build time in seconds since the epoch (`SOURCE_DATE_EPOCH` when set, so that builds are
//! reproducible), `$RUSTC -V`, the enabled cargo features and the target triple.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let revision = git_revision(&manifest_dir)
        .or_else(|| packaged_revision(&manifest_dir))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KUBEPKI_GIT_REVISION={revision}");
    println!("cargo:rustc-env=KUBEPKI_BUILD_EPOCH={}", build_epoch());
    println!("cargo:rustc-env=KUBEPKI_RUSTC_VERSION={}", rustc_version());
    // The features by their names in Cargo.toml, comma-separated (none: empty).
    let features = std::env::var("CARGO_CFG_FEATURE").unwrap_or_default();
    println!("cargo:rustc-env=KUBEPKI_FEATURES={features}");
    println!("cargo:rustc-env=KUBEPKI_TARGET={}", env("TARGET"));
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
}

/// A variable cargo always sets for build scripts.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo did not set {name}"))
}

/// `git rev-parse HEAD` when this crate is the `crates/cli` of the git work tree it sits in
/// (not a packaged copy unpacked somewhere inside another repository), with a rebuild when
/// HEAD or the branch it names moves.
fn git_revision(manifest_dir: &Path) -> Option<String> {
    let top = git(manifest_dir, &["rev-parse", "--show-toplevel"])?;
    let here = manifest_dir.canonicalize().ok()?;
    if Path::new(&top)
        .join("crates")
        .join("cli")
        .canonicalize()
        .ok()?
        != here
    {
        return None;
    }
    let revision = git(manifest_dir, &["rev-parse", "HEAD"])?;
    let mut watched = vec![git(manifest_dir, &["rev-parse", "--git-path", "HEAD"])?];
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(manifest_dir, &["rev-parse", "--git-path", &branch]));
    }
    watched.extend(git(
        manifest_dir,
        &["rev-parse", "--git-path", "packed-refs"],
    ));
    for path in watched {
        let path = manifest_dir.join(path);
        // A path that does not exist would make cargo rerun this script on every build.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    is_hex_revision(&revision).then_some(revision)
}

/// The revision `cargo package` recorded in `.cargo_vcs_info.json` (`"sha1": "..."`), for a
/// build of the published crate.
fn packaged_revision(manifest_dir: &Path) -> Option<String> {
    let info = std::fs::read_to_string(manifest_dir.join(".cargo_vcs_info.json")).ok()?;
    let after_key = &info[info.find("\"sha1\"")? + "\"sha1\"".len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let revision = value.strip_prefix('"')?.split('"').next()?;
    is_hex_revision(revision).then(|| revision.to_owned())
}

fn is_hex_revision(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The first line of `git ARGS` run in `dir`, when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.lines().next()?.trim().to_owned()).filter(|line| !line.is_empty())
}

/// `SOURCE_DATE_EPOCH` (reproducible-builds.org) when set, else now.
fn build_epoch() -> u64 {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            panic!("SOURCE_DATE_EPOCH={text:?} is not a whole number of seconds since 1970")
        }),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
    }
}

/// `$RUSTC -V`, the compiler cargo builds this crate with.
fn rustc_version() -> String {
    let rustc = env("RUSTC");
    let output = Command::new(&rustc)
        .arg("-V")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc} -V: {e}"));
    assert!(output.status.success(), "{rustc} -V failed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
