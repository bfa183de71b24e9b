//! Gives the shared library its SONAME: `libkubepki.so.<major>`, the name ffi/stage.sh
//! installs it under, so that programs linked against it ask the loader for that name.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkubepki.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
