//! The C examples as tests: built against the static library with sanitizers, run, and their
//! output checked by OpenSSL; once more under valgrind; the header compiled as C++; the
//! header and the pkg-config link line pinned; the library linked statically and shared.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{OnceLock, RwLock, RwLockReadGuard};

use kubepki_test_support::skip_unless;

/// `stage.sh` runs `cargo rustc`, which rewrites `libkubepki_ffi.a`: it takes this for writing,
/// every test that links the library for reading.
static LIB_LOCK: RwLock<()> = RwLock::new(());

fn lib_read_lock() -> RwLockReadGuard<'static, ()> {
    LIB_LOCK
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Whether `tool` runs (`tool version_arg` succeeds); when not, test-support's
/// [`skip_unless`] prints a loud SKIP (a failure under CI).
fn have(tool: &str, version_arg: &str) -> bool {
    let found = Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    skip_unless(found, &format!("{tool} not found"))
}

/// Builds the static library once (cargo test does not build a staticlib-only crate for
/// integration tests) and returns its path.
fn staticlib() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "kubepki-ffi", "--lib"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p kubepki-ffi failed");
        let lib = target_dir().join("debug").join("libkubepki_ffi.a");
        assert!(lib.exists(), "{} missing", lib.display());
        lib
    })
    .clone()
}

fn compile_c(source: &str, sanitize: bool, out: &Path) {
    let _lock = lib_read_lock();
    let mut cmd = Command::new("cc");
    cmd.args([
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Wpedantic",
        "-Werror",
        "-g",
    ]);
    if sanitize {
        cmd.arg("-fsanitize=address,undefined")
            .arg("-fno-sanitize-recover=all");
    }
    cmd.arg("-I")
        .arg(root().join("include"))
        .arg(root().join("ffi/examples/c").join(source))
        .arg(staticlib())
        .args(["-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s"])
        .arg("-o")
        .arg(out);
    let output = cmd.output().expect("cc runs");
    assert!(
        output.status.success(),
        "compiling {source} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run(cmd: &mut Command) -> String {
    let output = cmd.output().expect("program runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn openssl_verify(dir: &Path) {
    let out = run(Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(dir.join("ca.crt"))
        .arg(dir.join("admin.crt")));
    assert!(out.contains("admin.crt: OK"), "{out}");
    // The key we wrote belongs to the certificate we got.
    let cert_key = run(Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(dir.join("admin.crt")));
    let key_pub = run(Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(dir.join("admin.key")));
    assert_eq!(cert_key, key_pub);
    let text = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(dir.join("admin.crt")));
    assert!(text.contains("CN = kubernetes-admin"), "{text}");
}

#[test]
fn workflow_with_sanitizers_is_accepted_by_openssl() {
    if !have("cc", "--version") || !have("openssl", "version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("workflow");
    compile_c("workflow.c", true, &exe);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    // openssl checks against the real clock, so issue now (0).
    let stdout = run(Command::new(&exe).arg(&out_dir).arg("0"));
    assert!(
        stdout.contains("verified: client auth chain to the CA"),
        "{stdout}"
    );
    assert!(stdout.contains("usage: client auth"), "{stdout}");
    assert!(
        stdout.contains("kubernetes user: kubernetes-admin, group: kubeadm:cluster-admins"),
        "{stdout}"
    );
    openssl_verify(&out_dir);
}

#[test]
fn workflow_with_a_pinned_time_is_clean_under_valgrind() {
    if !have("cc", "--version") || !have("valgrind", "--version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("workflow");
    compile_c("workflow.c", false, &exe);
    // 2023-11-14T22:13:20Z: verification inside the program runs at the same pinned time.
    let stdout = run(Command::new("valgrind")
        .args(["--error-exitcode=1", "--leak-check=full", "--quiet"])
        .arg(&exe)
        .arg(dir.path())
        .arg("1700000000"));
    assert!(stdout.contains("verified"), "{stdout}");
    assert!(stdout.contains("not after 1731536000"), "{stdout}");
}

#[test]
fn bad_input_gets_error_codes_never_a_crash() {
    if !have("cc", "--version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("bad_input");
    compile_c("bad_input.c", true, &exe);
    let stdout = run(&mut Command::new(&exe));
    assert!(stdout.contains("all bad inputs refused"), "{stdout}");
}

#[test]
fn one_ca_issues_on_several_threads() {
    if !have("cc", "--version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("threads");
    compile_c("threads.c", true, &exe);
    let stdout = run(&mut Command::new(&exe));
    assert!(
        stdout.contains("issued and verified 64 certificates on 8 threads"),
        "{stdout}"
    );
}

#[test]
fn header_compiles_as_cpp() {
    if !have("g++", "--version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    run(Command::new("g++")
        .args([
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-c",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(root().join("ffi/examples/c/header_only.cpp"))
        .arg("-o")
        .arg(dir.path().join("header_only.o")));
}

#[test]
fn committed_header_matches_the_sources() {
    let found = Command::new("cbindgen")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let found = found.is_some_and(|v| v.starts_with("cbindgen 0.29."));
    if !skip_unless(found, "cbindgen 0.29 not found") {
        return;
    }
    run(Command::new(root().join("ffi/gen-header.sh")).arg("--check"));
}

#[test]
fn header_version_macros_follow_cargo() {
    let header = std::fs::read_to_string(root().join("include/kubepki.h")).expect("header");
    for (name, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define KUBEPKI_VERSION_{name} {value}\n");
        assert!(header.contains(&line), "header lacks {line:?}");
    }
}

/// The system libraries `libkubepki.a` needs on Linux with glibc, as rustc prints them: a
/// change here changes what every C and Go user must link.
const LINUX_NATIVE_STATIC_LIBS: &str =
    "-ldl -lc -lm -lrt -lpthread -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc";

/// Installs the library under a fresh prefix with ffi/stage.sh (`extra` selects static or
/// shared only) and returns the prefix.
fn stage(dir: &Path, extra: &[&str]) -> PathBuf {
    staticlib();
    let prefix = dir.join("prefix");
    let _lock = LIB_LOCK
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    run(Command::new(root().join("ffi/stage.sh"))
        .args(extra)
        .arg(&prefix));
    prefix
}

/// Compiles the workflow example with nothing but what pkg-config says, and returns the
/// program and the dynamic section's NEEDED entries.
fn link_with_pkg_config(prefix: &Path, static_link: bool) -> (PathBuf, String) {
    let mut pc = Command::new("pkg-config");
    pc.env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"));
    if static_link {
        pc.arg("--static");
    }
    let flags = run(pc.args(["--cflags", "--libs", "kubepki"]));
    let exe = prefix.join("workflow");
    run(Command::new("cc")
        .arg("-std=c11")
        .arg(root().join("ffi/examples/c/workflow.c"))
        .args(flags.split_whitespace())
        .arg("-o")
        .arg(&exe));
    let dynamic = run(Command::new("readelf").arg("-d").arg(&exe));
    (exe, dynamic)
}

#[test]
fn pkg_config_file_pins_the_link_line() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        eprintln!("SKIP: link line pinned for linux-gnu only");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = stage(dir.path(), &[]);
    let text =
        std::fs::read_to_string(prefix.join("lib/pkgconfig/kubepki.pc")).expect("kubepki.pc");
    assert!(text.contains("\nLibs: -L${libdir} -lkubepki\n"), "{text}");
    let private = text
        .lines()
        .find_map(|l| l.strip_prefix("Libs.private: "))
        .expect("a Libs.private line");
    assert_eq!(private, LINUX_NATIVE_STATIC_LIBS);
    assert!(text.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn shared_library_has_its_soname_and_links_through_pkg_config() {
    if !cfg!(target_os = "linux")
        || !have("pkg-config", "--version")
        || !have("cc", "--version")
        || !have("readelf", "--version")
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = stage(dir.path(), &["--shared-only"]);
    let lib = prefix.join("lib");
    let own = run(Command::new("readelf")
        .arg("-d")
        .arg(lib.join(format!("libkubepki.so.{}", env!("CARGO_PKG_VERSION")))));
    let soname = format!(
        "Library soname: [libkubepki.so.{}]",
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert!(own.contains(&soname), "{own}");
    let (exe, dynamic) = link_with_pkg_config(&prefix, false);
    let needed = format!(
        "Shared library: [libkubepki.so.{}]",
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert!(dynamic.contains(&needed), "{dynamic}");
    let stdout = run(Command::new(&exe)
        .env("LD_LIBRARY_PATH", &lib)
        .arg(dir.path())
        .arg("1700000000"));
    assert!(stdout.contains("verified"), "{stdout}");
    // The ABI version the program was built against is the library's.
    assert!(stdout.contains("abi 0"), "{stdout}");
}

#[test]
fn static_library_links_through_pkg_config_static() {
    if !cfg!(all(target_os = "linux", target_env = "gnu"))
        || !have("pkg-config", "--version")
        || !have("cc", "--version")
        || !have("readelf", "--version")
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = stage(dir.path(), &["--static-only"]);
    let (exe, dynamic) = link_with_pkg_config(&prefix, true);
    assert!(!dynamic.contains("libkubepki"), "{dynamic}");
    let stdout = run(Command::new(&exe).arg(dir.path()).arg("1700000000"));
    assert!(stdout.contains("verified"), "{stdout}");
}

/// The `kubepki` binary, built once.
fn kubepki_cli() -> PathBuf {
    static CLI: OnceLock<PathBuf> = OnceLock::new();
    CLI.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "kubepki-cli", "--bin", "kubepki"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p kubepki-cli failed");
        target_dir().join("debug").join("kubepki")
    })
    .clone()
}

/// Checks the installer's tree with OpenSSL: each leaf chains to its CA for its purpose.
fn openssl_checks_the_tree(pki: &Path) {
    for (ca, leaf, purpose) in [
        ("ca.crt", "apiserver.crt", "sslserver"),
        ("ca.crt", "apiserver-kubelet-client.crt", "sslclient"),
        ("front-proxy-ca.crt", "front-proxy-client.crt", "sslclient"),
        ("etcd/ca.crt", "etcd/server.crt", "sslserver"),
        ("etcd/ca.crt", "etcd/peer.crt", "sslclient"),
        ("etcd/ca.crt", "etcd/healthcheck-client.crt", "sslclient"),
        ("etcd/ca.crt", "apiserver-etcd-client.crt", "sslclient"),
    ] {
        let out = run(Command::new("openssl")
            .args(["verify", "-purpose", purpose, "-CAfile"])
            .arg(pki.join(ca))
            .arg(pki.join(leaf)));
        assert!(out.contains(": OK"), "{leaf}: {out}");
    }
    let sans = run(Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(pki.join("apiserver.crt")));
    for san in [
        "DNS:node-1",
        "DNS:k8s.example.test",
        "IP Address:10.0.0.5",
        "IP Address:10.0.0.100",
        "IP Address:10.96.0.1",
        "DNS:kubernetes.default.svc.cluster.local",
    ] {
        assert!(sans.contains(san), "apiserver lacks {san}: {sans}");
    }
}

#[test]
fn installer_writes_the_whole_tree_in_one_call_under_sanitizers() {
    if !have("cc", "--version") || !have("openssl", "version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("installer");
    compile_c("installer.c", true, &exe);
    let pki = dir.path().join("kubernetes/pki");
    let kubeconfigs = dir.path().join("kubernetes");
    // openssl and check-expiration use the real clock, so issue now (0).
    let stdout = run(Command::new(&exe)
        .arg(&pki)
        .arg(&kubeconfigs)
        .args(["node-1", "10.0.0.5"]));
    assert!(stdout.contains("refused: "), "{stdout}");
    assert!(stdout.contains("10.96.0.0/99"), "{stdout}");
    // 3 CAs, 7 leaves, sa, 5 kubeconfig files.
    assert!(stdout.contains("init wrote 16 of 16"), "{stdout}");
    assert!(stdout.contains("init again kept 16 of 16"), "{stdout}");
    assert!(
        stdout.contains("bundle holds 27 files, 17 secret"),
        "{stdout}"
    );
    assert!(!stdout.contains("MISSING"), "{stdout}");
    openssl_checks_the_tree(&pki);
    let check = run(Command::new(kubepki_cli())
        .args(["certs", "check-expiration", "--cert-dir"])
        .arg(&pki)
        .arg("--kubeconfig-dir")
        .arg(&kubeconfigs));
    for name in ["admin.conf", "apiserver", "etcd-server", "front-proxy-ca"] {
        assert!(check.contains(name), "{check}");
    }
    assert!(!check.contains("MISSING"), "{check}");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&pki.join("ca.key")), 0o600);
    assert_eq!(mode(&pki.join("ca.crt")), 0o644);
    assert_eq!(mode(&kubeconfigs.join("admin.conf")), 0o600);
}

/// A whole rotation of `all` from C, under the sanitizers: the order error, a dry run that
/// changes no phase, the phases in order, the status between them; then OpenSSL checks that
/// the rotated tree chains to the new CAs.
#[test]
fn ca_rotation_from_c_under_sanitizers() {
    if !have("cc", "--version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("ca_rotate");
    compile_c("ca_rotate.c", true, &exe);
    let pki = dir.path().join("pki");
    let stdout = run(Command::new(&exe)
        .arg(&pki)
        .arg(dir.path())
        .arg("1800000000"));
    assert!(stdout.contains("refused: cannot promote"), "{stdout}");
    assert!(!stdout.contains("INCONSISTENT"), "{stdout}");
    let statuses: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("status: "))
        .collect();
    let mut want = Vec::new();
    for phase in ["idle", "started", "promoted", "finished"] {
        for ca in ["cluster", "front-proxy", "etcd", "sa"] {
            want.push(format!("{ca} {phase}"));
        }
    }
    assert_eq!(statuses, want, "{stdout}");
    assert!(stdout.contains("start: restart 1 etcd"), "{stdout}");
    assert!(
        stdout.contains("finish: sa promoted -> finished"),
        "{stdout}"
    );
}

#[test]
fn installer_is_clean_under_valgrind() {
    if !have("cc", "--version") || !have("valgrind", "--version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("installer");
    compile_c("installer.c", false, &exe);
    let stdout = run(Command::new("valgrind")
        .args(["--error-exitcode=1", "--leak-check=full", "--quiet"])
        .arg(format!(
            "--suppressions={}",
            root().join("ffi/tests/valgrind.supp").display()
        ))
        .arg(&exe)
        .arg(dir.path().join("pki"))
        .arg(dir.path())
        .args(["node-1", "10.0.0.5", "1800000000"]));
    assert!(stdout.contains("init again kept 16 of 16"), "{stdout}");
}

/// The SoftHSM2 module the PKCS#11 tests load (Debian's `softhsm2`).
const SOFTHSM_MODULE: &str = kubepki_test_support::SOFTHSM2_MODULE;

/// A fresh SoftHSM2 token labelled `kubepki` (user PIN 1234) in its own `SOFTHSM2_CONF`
/// folder, as in `crates/cli/tests/pkcs11.rs`; `None` after a loud SKIP (a failure under CI)
/// when SoftHSM2 is missing.
fn softhsm_token(dir: &Path) -> Option<PathBuf> {
    if !kubepki_test_support::softhsm2_available() {
        return None;
    }
    Some(kubepki_test_support::softhsm2_token(dir))
}

#[test]
fn pkcs11_ca_issues_on_the_token_and_refuses_a_wrong_pin() {
    if !have("cc", "--version") || !have("openssl", "version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(conf) = softhsm_token(dir.path()) else {
        return;
    };
    let uri = format!("pkcs11:token=kubepki;object=cluster-ca?module-path={SOFTHSM_MODULE}");
    // The CA key is made on the token by the CLI, which self-signs ca.crt with it.
    let ca = dir.path().join("ca.crt");
    let said = Command::new(kubepki_cli())
        .env("SOFTHSM2_CONF", &conf)
        .env("KUBEPKI_PKCS11_PIN", "1234")
        .args(["ca", "init", "-a", "ECDSA-P256", "--cert"])
        .arg(&ca)
        .args(["--key", &uri])
        .output()
        .expect("kubepki runs");
    assert!(
        said.status.success(),
        "kubepki ca init on the token: {}",
        String::from_utf8_lossy(&said.stderr)
    );
    let exe = dir.path().join("pkcs11_ca");
    compile_c("pkcs11_ca.c", true, &exe);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let stdout = run(Command::new(&exe)
        .env("SOFTHSM2_CONF", &conf)
        .env("KUBEPKI_PKCS11_PIN", "1234")
        .arg(&ca)
        .arg(&uri)
        .arg(format!("{uri}&pin-value=0000"))
        .arg(&out));
    assert!(
        stdout.contains("wrong pin: 704: wrong PIN for token kubepki"),
        "{stdout}"
    );
    assert!(stdout.contains("issued by the token's key"), "{stdout}");
    let verified = run(Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(&ca)
        .arg(out.join("jane.crt")));
    assert!(verified.contains("jane.crt: OK"), "{verified}");
    let subject = run(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(out.join("jane.crt")));
    assert!(subject.contains("O = developers, CN = jane"), "{subject}");
}
