//! The Go binding (`ffi/go`) for the tests that run Go on it: Go found, and the static
//! library the binding links built first.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::skip_unless;

/// The workspace's root (this crate is `crates/test-support`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Go (the machine's, `/usr/local/go/bin/go`, before one on the `PATH`), or `None` after a
/// loud `SKIP` naming `why`, as [`skip_unless`] says it.
///
/// # Panics
/// When Go is missing and `CI` is set.
pub fn go_tool(why: &str) -> Option<PathBuf> {
    let go = if Path::new("/usr/local/go/bin/go").exists() {
        PathBuf::from("/usr/local/go/bin/go")
    } else {
        PathBuf::from("go")
    };
    let found = Command::new(&go)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    skip_unless(found, &format!("go not found; {why}")).then_some(go)
}

/// Go, and the static library the Go binding links: `go` commands in `ffi/go` (its tests,
/// its examples) from [`GoBinding::command`].
pub struct GoBinding {
    go: PathBuf,
    /// The library when it is not where the binding's default build tag looks
    /// (`target/debug`): linked with the tag `kubepki_external` and `CGO_LDFLAGS`.
    external: Option<PathBuf>,
}

/// Finds Go (the machine's, `/usr/local/go/bin/go`, before one on the `PATH`) and builds the
/// debug static library the binding links (`cargo build -p kubepki-ffi --lib`: `cargo test`
/// builds no staticlib for the tests). `None` after a loud `SKIP` when there is no Go, as
/// [`skip_unless`] says it.
///
/// # Panics
/// When Go is missing and `CI` is set, or when the library does not build.
pub fn go_binding() -> Option<GoBinding> {
    let go = go_tool("the Go binding (ffi/go) needs Go 1.26")?;
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--locked", "-p", "kubepki-ffi", "--lib"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p kubepki-ffi failed");
    // With CARGO_TARGET_DIR elsewhere the binding is told where the library is.
    let external = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.canonicalize().ok() != root.join("target").canonicalize().ok())
        .map(|dir| dir.join("debug").join("libkubepki_ffi.a"));
    Some(GoBinding { go, external })
}

impl GoBinding {
    /// `go SUBCOMMAND` in `ffi/go`, linking the library [`go_binding`] built; the caller adds
    /// the subcommand's arguments.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut go = Command::new(&self.go);
        go.arg(subcommand)
            .current_dir(workspace_root().join("ffi").join("go"));
        if let Some(lib) = &self.external {
            go.args(["-tags", "kubepki_external"])
                .env("CGO_LDFLAGS", lib);
        }
        go
    }
}
