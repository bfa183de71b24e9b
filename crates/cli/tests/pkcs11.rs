//! CA keys on a PKCS#11 token (SoftHSM2): every test makes its own token in a temporary
//! folder with its own `SOFTHSM2_CONF`, and proves what it issues with `openssl verify` and
//! what the token holds with OpenSC's `pkcs11-tool`.
//!
//! Needs Debian's `softhsm2` and `opensc` (and `openssl`); without them each test prints a
//! loud SKIP, and fails when `CI` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::path::PathBuf;
use std::process::{Command, Output};

mod common;
use common::{fails, ok, openssl_available, tool_available};

const MODULE: &str = kubepki_test_support::SOFTHSM2_MODULE;
const PIN: &str = kubepki_test_support::SOFTHSM2_PIN;

/// A fresh SoftHSM2 token labelled `kubepki` (user PIN 1234) in a temporary folder, which
/// also serves as the test's working folder.
struct Token {
    _guard: tempfile::TempDir,
    dir: PathBuf,
    conf: PathBuf,
}

/// The token, or `None` (after a loud SKIP; a failure under CI) when SoftHSM2, OpenSC or
/// openssl is missing.
fn token() -> Option<Token> {
    if !kubepki_test_support::softhsm2_available()
        || !tool_available(
            "pkcs11-tool",
            &["--help"],
            "apt-get install opensc to run the PKCS#11 tests",
        )
        || !openssl_available()
    {
        return None;
    }
    let guard = tempfile::tempdir().unwrap();
    let dir = guard.path().to_path_buf();
    let conf = kubepki_test_support::softhsm2_token(&dir);
    let token = Token {
        _guard: guard,
        dir,
        conf,
    };
    Some(token)
}

impl Token {
    /// A URI for the object labelled `object` on this token, the module in the URI.
    fn uri(&self, object: &str) -> String {
        format!("pkcs11:token=kubepki;object={object}?module-path={MODULE}")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.dir)
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("KUBEPKI_PKCS11_PIN")
            .env_remove("KUBEPKI_PKCS11_MODULE");
        command
    }

    fn run_ok(&self, program: &str, args: &[&str]) -> String {
        kubepki_test_support::output_ok(self.command(program).args(args))
    }

    /// `kubepki args` with the PIN in `KUBEPKI_PKCS11_PIN` (or `pin`'s value; `None`: unset).
    fn kubepki_pin(&self, pin: Option<&str>, args: &[&str]) -> Output {
        let mut command = self.command(env!("CARGO_BIN_EXE_kubepki"));
        if let Some(pin) = pin {
            command.env("KUBEPKI_PKCS11_PIN", pin);
        }
        command.args(args).output().unwrap()
    }

    fn kubepki(&self, args: &[&str]) -> Output {
        self.kubepki_pin(Some(PIN), args)
    }

    /// `kubepki args` with the module in `KUBEPKI_PKCS11_MODULE`, not in the URIs.
    fn kubepki_module_from_env(&self, args: &[&str]) -> Output {
        let mut command = self.command(env!("CARGO_BIN_EXE_kubepki"));
        command
            .env("KUBEPKI_PKCS11_PIN", PIN)
            .env("KUBEPKI_PKCS11_MODULE", MODULE);
        command.args(args).output().unwrap()
    }

    /// A client CSR for `cn` (its key a file: only the CA key is on the token).
    fn csr(&self, cn: &str) -> String {
        let csr = format!("{cn}.csr");
        ok(self.kubepki(&[
            "csr",
            "create",
            "--generate-key",
            "ECDSA-P256",
            "-k",
            &format!("{cn}.key"),
            "--cn",
            cn,
            "-o",
            &csr,
        ]));
        csr
    }

    fn openssl_verify(&self, ca: &str, cert: &str) {
        let out = self.run_ok("openssl", &["verify", "-CAfile", ca, cert]);
        assert!(out.contains(&format!("{cert}: OK")), "{out}");
    }

    /// What `pkcs11-tool` lists (logged in, so private keys show).
    fn list_objects(&self) -> String {
        self.run_ok(
            "pkcs11-tool",
            &[
                "--module",
                MODULE,
                "--token-label",
                "kubepki",
                "--login",
                "--pin",
                PIN,
                "--list-objects",
            ],
        )
    }
}

/// The `Private Key Object` block `pkcs11-tool --list-objects` prints for `label`.
fn private_key_block<'a>(listing: &'a str, label: &str) -> &'a str {
    listing
        .split("Private Key Object")
        .skip(1)
        .find(|block| {
            block
                .lines()
                .any(|l| l.trim() == format!("label:      {label}"))
        })
        .unwrap_or_else(|| panic!("no private key {label} in:\n{listing}"))
}

fn ca_on_token_flow(algorithm: &str, key_type: &str, signature: &str) {
    let Some(t) = token() else { return };
    let uri = t.uri("cluster-ca");
    let said = ok_stderr(t.kubepki(&[
        "ca", "init", "--cert", "ca.crt", "--key", &uri, "-a", algorithm,
    ]));
    assert!(
        said.contains(&format!("generated {algorithm} key \"cluster-ca\"")),
        "{said}"
    );
    assert!(said.contains("on token kubepki"), "{said}");
    // The key stays in the token: no key file anywhere in the folder.
    let files: Vec<_> = std::fs::read_dir(&t.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !files.iter().any(|f| f.ends_with(".key")),
        "a key file appeared: {files:?}"
    );

    // The same URI again uses the key, not a new one.
    let said = ok_stderr(t.kubepki(&["ca", "init", "--cert", "ca2.crt", "--key", &uri]));
    assert!(
        said.contains(&format!(
            "using the existing {algorithm} key \"cluster-ca\""
        )),
        "{said}"
    );

    let csr = t.csr("jane");
    ok(t.kubepki(&[
        "sign",
        "--ca-cert",
        "ca.crt",
        "--ca-key",
        &uri,
        "--csr",
        &csr,
        "-o",
        "jane.crt",
    ]));
    t.openssl_verify("ca.crt", "jane.crt");
    t.openssl_verify("ca2.crt", "jane.crt");
    let text = t.run_ok("openssl", &["x509", "-in", "jane.crt", "-noout", "-text"]);
    assert!(text.contains(signature), "{text}");
    let text = t.run_ok("openssl", &["x509", "-in", "ca.crt", "-noout", "-text"]);
    assert!(text.contains(signature), "{text}");

    // What the token says about the key: sensitive, never extractable, of the right type.
    let listing = t.list_objects();
    let block = private_key_block(&listing, "cluster-ca");
    assert!(block.trim_start().starts_with(key_type), "{block}");
    assert!(block.contains("sensitive"), "{block}");
    assert!(block.contains("never extractable"), "{block}");
    // kubepki's own listing agrees.
    let listed = ok(t.kubepki(&["key", "list", &t.uri("x").replace(";object=x", "")]));
    let row = listed
        .lines()
        .find(|l| l.starts_with("cluster-ca "))
        .unwrap_or_else(|| panic!("{listed}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[2..], [algorithm, "no", "yes"], "{listed}");
}

fn ok_stderr(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    ok(output);
    stderr
}

#[test]
fn ecdsa_p256_ca_on_the_token_issues_what_openssl_verifies() {
    ca_on_token_flow("ECDSA-P256", "; EC", "ecdsa-with-SHA256");
}

#[test]
fn rsa_2048_ca_on_the_token_issues_what_openssl_verifies() {
    ca_on_token_flow("RSA-2048", "; RSA", "sha256WithRSAEncryption");
}

#[test]
fn ecdsa_p384_key_generated_on_the_token_signs_with_sha384() {
    let Some(t) = token() else { return };
    let uri = t.uri("p384");
    let said = ok_stderr(t.kubepki(&[
        "key",
        "generate",
        "-a",
        "ECDSA-P384",
        "--out",
        &uri,
        "--public-out",
        "p384.pub",
    ]));
    assert!(said.contains("generated ECDSA-P384 key \"p384\""), "{said}");
    // The public key kubepki reads back from the token is the one it wrote out.
    let public = ok(t.kubepki(&["key", "public", "--key", &uri]));
    assert_eq!(public, std::fs::read_to_string(t.path("p384.pub")).unwrap());
    // A second key under the same label is refused, and the first one stays.
    let err = fails(t.kubepki(&["key", "generate", "-a", "ECDSA-P256", "--out", &uri]));
    assert!(
        err.contains("already holds an object labelled \"p384\""),
        "{err}"
    );
    ok(t.kubepki(&["ca", "init", "--cert", "ca.crt", "--key", &uri]));
    let csr = t.csr("jane");
    ok(t.kubepki(&[
        "sign",
        "--ca-cert",
        "ca.crt",
        "--ca-key",
        &uri,
        "--csr",
        &csr,
        "-o",
        "jane.crt",
    ]));
    t.openssl_verify("ca.crt", "jane.crt");
    let text = t.run_ok("openssl", &["x509", "-in", "jane.crt", "-noout", "-text"]);
    assert!(text.contains("ecdsa-with-SHA384"), "{text}");
}

#[test]
fn a_key_made_by_pkcs11_tool_signs_too() {
    let Some(t) = token() else { return };
    t.run_ok(
        "pkcs11-tool",
        &[
            "--module",
            MODULE,
            "--token-label",
            "kubepki",
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--label",
            "ext",
            "--id",
            "a1b2",
        ],
    );
    // Found by id alone, too.
    let by_id = format!("pkcs11:token=kubepki;id=%a1%b2;type=private?module-path={MODULE}");
    let said = ok_stderr(t.kubepki(&["ca", "init", "--cert", "ca.crt", "--key", &by_id]));
    assert!(
        said.contains("using the existing ECDSA-P256 key \"ext\" (id a1b2)"),
        "{said}"
    );
    let csr = t.csr("jane");
    ok(t.kubepki(&[
        "sign",
        "--ca-cert",
        "ca.crt",
        "--ca-key",
        &t.uri("ext"),
        "--csr",
        &csr,
        "-o",
        "jane.crt",
    ]));
    t.openssl_verify("ca.crt", "jane.crt");
}

#[test]
fn sign_batch_shares_the_token_key_across_threads() {
    let Some(t) = token() else { return };
    let uri = t.uri("batch-ca");
    ok(t.kubepki(&[
        "ca",
        "init",
        "--cert",
        "ca.crt",
        "--key",
        &uri,
        "-a",
        "ECDSA-P256",
    ]));
    std::fs::create_dir(t.path("in")).unwrap();
    let names: Vec<String> = (0..8).map(|i| format!("node-{i}")).collect();
    for name in &names {
        let csr = t.csr(name);
        std::fs::rename(t.path(&csr), t.path(&format!("in/{csr}"))).unwrap();
    }
    let said = ok_stderr(t.kubepki(&[
        "sign-batch",
        "--ca-cert",
        "ca.crt",
        "--ca-key",
        &uri,
        "-p",
        "client",
        "--in-dir",
        "in",
        "--out-dir",
        "out",
        "--threads",
        "4",
    ]));
    assert!(said.contains("issued 8 of 8"), "{said}");
    for name in &names {
        t.openssl_verify("ca.crt", &format!("out/{name}.crt"));
    }
}

#[test]
fn the_pin_can_come_from_a_pin_source_file() {
    let Some(t) = token() else { return };
    ok(t.kubepki(&["ca", "init", "--cert", "ca.crt", "--key", &t.uri("ca")]));
    std::fs::write(t.path("pin"), format!("{PIN}\n")).unwrap();
    let uri = format!(
        "pkcs11:token=kubepki;object=ca?module-path={MODULE}&pin-source=file:{}",
        t.path("pin").display()
    );
    let csr = t.csr("jane");
    ok(t.kubepki_pin(
        None,
        &[
            "sign",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            &uri,
            "--csr",
            &csr,
            "-o",
            "jane.crt",
        ],
    ));
    t.openssl_verify("ca.crt", "jane.crt");
}

#[test]
fn token_errors_say_what_went_wrong_and_write_nothing() {
    let Some(t) = token() else { return };
    let uri = t.uri("cluster-ca");
    ok(t.kubepki(&["ca", "init", "--cert", "ca.crt", "--key", &uri]));
    let csr = t.csr("jane");
    let sign = |pin: Option<&str>, key: &str| {
        fails(t.kubepki_pin(
            pin,
            &[
                "sign",
                "--ca-cert",
                "ca.crt",
                "--ca-key",
                key,
                "--csr",
                &csr,
                "-o",
                "out.crt",
            ],
        ))
    };

    let err = sign(Some("9999"), &uri);
    assert!(err.contains("wrong PIN for token kubepki"), "{err}");
    let err = sign(None, &uri);
    assert!(
        err.contains("token kubepki needs a PIN") && err.contains("KUBEPKI_PKCS11_PIN"),
        "{err}"
    );
    let err = sign(Some(PIN), &t.uri("no-such-key"));
    assert!(
        err.contains("no private key matching object=no-such-key on token kubepki"),
        "{err}"
    );
    let err = sign(
        Some(PIN),
        "pkcs11:token=kubepki;object=cluster-ca?module-path=/nonexistent/libgone.so",
    );
    assert!(
        err.contains("cannot load PKCS#11 module /nonexistent/libgone.so"),
        "{err}"
    );
    let err = sign(
        Some(PIN),
        &format!("pkcs11:token=elsewhere;object=cluster-ca?module-path={MODULE}"),
    );
    assert!(
        err.contains("no token matching token=elsewhere") && err.contains("tokens there: kubepki"),
        "{err}"
    );
    let err = sign(Some(PIN), "pkcs11:token=kubepki;object=cluster-ca");
    assert!(err.contains("add ?module-path="), "{err}");
    let err = sign(
        Some(PIN),
        &format!("pkcs11:token=kubepki;object=cluster-ca;type=cert?module-path={MODULE}"),
    );
    assert!(err.contains("the URI says type=cert"), "{err}");
    let err = sign(Some(PIN), "pkcs11:token=kubepki;objekt=cluster-ca");
    assert!(err.contains("unknown path attribute \"objekt\""), "{err}");
    // A certificate under the label, and no private key: said so, not "not found".
    t.run_ok(
        "openssl",
        &["x509", "-in", "ca.crt", "-outform", "DER", "-out", "ca.der"],
    );
    t.run_ok(
        "pkcs11-tool",
        &[
            "--module",
            MODULE,
            "--token-label",
            "kubepki",
            "--login",
            "--pin",
            PIN,
            "--write-object",
            "ca.der",
            "--type",
            "cert",
            "--label",
            "only-a-cert",
        ],
    );
    let err = sign(Some(PIN), &t.uri("only-a-cert"));
    assert!(
        err.contains("object=only-a-cert on token kubepki is a certificate, not a private key"),
        "{err}"
    );
    assert!(
        !t.path("out.crt").exists(),
        "a failed sign wrote its output"
    );

    // ca init: a wrong PIN or a missing module leaves no certificate behind.
    let err = fails(t.kubepki_pin(
        Some("9999"),
        &["ca", "init", "--cert", "new.crt", "--key", &t.uri("new-ca")],
    ));
    assert!(err.contains("wrong PIN"), "{err}");
    let err = fails(t.kubepki(&[
        "ca",
        "init",
        "--cert",
        "new.crt",
        "--key",
        "pkcs11:token=kubepki;object=new-ca?module-path=/nonexistent/libgone.so",
    ]));
    assert!(err.contains("cannot load PKCS#11 module"), "{err}");
    assert!(!t.path("new.crt").exists());
    // And made no key on the token.
    assert!(!t.list_objects().contains("new-ca"));
}

/// The client certificate of a kubeconfig file, as PEM in `out`.
fn kubeconfig_cert(t: &Token, kubeconfig: &str, out: &str) {
    let text = std::fs::read_to_string(t.path(kubeconfig)).unwrap();
    let data = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-certificate-data: "))
        .unwrap_or_else(|| panic!("no client certificate in {kubeconfig}:\n{text}"));
    std::fs::write(t.path("b64"), data).unwrap();
    t.run_ok(
        "openssl",
        &["base64", "-d", "-A", "-in", "b64", "-out", out],
    );
}

#[test]
fn init_keeps_the_cluster_ca_key_on_the_token_for_renew_issue_and_kubeconfig() {
    let Some(t) = token() else { return };
    let uri = t.uri("cluster-ca");
    let tree = [
        "--cert-dir",
        "pki",
        "--kubeconfig-dir",
        "kc",
        "--node-name",
        "cp1",
        "--algorithm",
        "ECDSA-P256",
    ];
    let mut args = vec!["init"];
    args.extend(tree);
    args.extend(["--ca-key-uri", &uri]);
    let out = ok(t.kubepki(&args));
    assert!(
        out.contains("generated ECDSA-P256 key \"cluster-ca\" on token kubepki"),
        "{out}"
    );
    assert!(!t.path("pki/ca.key").exists(), "ca.key was written");
    assert!(t.path("pki/front-proxy-ca.key").exists());
    let recorded = std::fs::read_to_string(t.path("pki/ca.key.uri")).unwrap();
    assert_eq!(recorded.trim(), uri);
    t.openssl_verify("pki/ca.crt", "pki/apiserver.crt");
    kubeconfig_cert(&t, "kc/admin.conf", "admin.crt");
    t.openssl_verify("pki/ca.crt", "admin.crt");
    let block = private_key_block(&t.list_objects(), "cluster-ca").to_owned();
    assert!(block.contains("never extractable"), "{block}");

    // check-expiration knows the key is here (on the token), not externally managed.
    let mut args = vec!["certs", "check-expiration", "-o", "json"];
    args.extend(&tree[..4]);
    let report: serde_json::Value = serde_json::from_str(&ok(t.kubepki(&args))).unwrap();
    let cas = report["certificateAuthorities"].as_array().unwrap();
    let ca = cas.iter().find(|c| c["name"] == "ca").unwrap();
    assert_eq!(ca["externallyManaged"], false, "{report}");

    // ca.key.uri is a file: its module-path is not loaded unless it is allowed (or is
    // the module given on the command line or in KUBEPKI_PKCS11_MODULE).
    let mut args = vec!["init"];
    args.extend(tree);
    let err = fails(t.kubepki(&args));
    assert!(
        err.contains(&format!("PKCS#11 module {MODULE} named by"))
            && err.contains("is not allowed"),
        "{err}"
    );
    let before = std::fs::read(t.path("pki/apiserver.crt")).unwrap();
    let mut args = vec!["certs", "renew", "apiserver"];
    args.extend(&tree[..4]);
    let err = fails(t.kubepki(&args));
    assert!(err.contains("is not allowed"), "{err}");
    assert_eq!(before, std::fs::read(t.path("pki/apiserver.crt")).unwrap());

    // A second init uses the recorded URI: the key is found, everything is kept.
    let mut args = vec!["init"];
    args.extend(tree);
    args.extend(["--pkcs11-module-allow", MODULE]);
    let out = ok(t.kubepki(&args));
    assert!(out.contains("using the existing ECDSA-P256 key"), "{out}");
    assert!(!out.contains("MISSING"), "{out}");

    // Renewal with the CA key on the token (found through ca.key.uri), its module the one
    // of KUBEPKI_PKCS11_MODULE, then of --pkcs11-module.
    let mut args = vec!["certs", "renew", "apiserver"];
    args.extend(&tree[..4]);
    ok(t.kubepki_module_from_env(&args));
    assert_ne!(before, std::fs::read(t.path("pki/apiserver.crt")).unwrap());
    t.openssl_verify("pki/ca.crt", "pki/apiserver.crt");
    let mut args = vec!["certs", "renew", "admin.conf", "--pkcs11-module", MODULE];
    args.extend(&tree[..4]);
    ok(t.kubepki(&args));
    kubeconfig_cert(&t, "kc/admin.conf", "admin2.crt");
    t.openssl_verify("pki/ca.crt", "admin2.crt");

    // A component certificate and a user's kubeconfig, the URI given explicitly.
    ok(t.kubepki(&[
        "certs",
        "issue",
        "kubelet-client",
        "--node-name",
        "worker-1",
        "--cert-dir",
        "pki",
        "--out-dir",
        "issued",
        "--ca-key-uri",
        &uri,
    ]));
    t.openssl_verify("pki/ca.crt", "issued/kubelet-client.crt");
    let mut args = vec![
        "kubeconfig",
        "user",
        "--client-name",
        "jane",
        "-o",
        "jane.conf",
        "--pkcs11-module-allow",
        MODULE,
    ];
    args.extend(&tree[..4]);
    ok(t.kubepki(&args));
    kubeconfig_cert(&t, "jane.conf", "jane.crt");
    t.openssl_verify("pki/ca.crt", "jane.crt");

    // A wrong PIN stops renewal before anything is written.
    let before = std::fs::read(t.path("pki/apiserver.crt")).unwrap();
    let mut args = vec![
        "certs",
        "renew",
        "apiserver",
        "--pkcs11-module-allow",
        MODULE,
    ];
    args.extend(&tree[..4]);
    let err = fails(t.kubepki_pin(Some("0000"), &args));
    assert!(err.contains("wrong PIN for token kubepki"), "{err}");
    assert_eq!(before, std::fs::read(t.path("pki/apiserver.crt")).unwrap());

    // A key file and a token key for the same CA is refused.
    std::fs::write(t.path("pki/ca.key"), "not used").unwrap();
    let mut args = vec!["init"];
    args.extend(tree);
    args.extend(["--ca-key-uri", &uri]);
    let err = fails(t.kubepki(&args));
    assert!(
        err.contains("the cluster CA's key is on the token"),
        "{err}"
    );
}

#[test]
fn an_intermediate_ca_with_both_keys_on_the_token() {
    let Some(t) = token() else { return };
    // Two keys on one token in one process (the module is shared, not finalized twice),
    // and the module named by KUBEPKI_PKCS11_MODULE instead of the URI.
    let root = "pkcs11:token=kubepki;object=root";
    let intermediate = "pkcs11:token=kubepki;object=intermediate";
    ok(t.kubepki_module_from_env(&[
        "ca",
        "init",
        "--cert",
        "root.crt",
        "--key",
        root,
        "-a",
        "RSA-2048",
        "--subject",
        "/CN=root",
    ]));
    let said = ok_stderr(t.kubepki_module_from_env(&[
        "ca",
        "init",
        "--cert",
        "intermediate.crt",
        "--key",
        intermediate,
        "--subject",
        "/CN=intermediate",
        "--parent-cert",
        "root.crt",
        "--parent-key",
        root,
        "-a",
        "ECDSA-P256",
    ]));
    assert!(
        said.contains("generated ECDSA-P256 key \"intermediate\""),
        "{said}"
    );
    t.openssl_verify("root.crt", "intermediate.crt");
    let csr = t.csr("jane");
    ok(t.kubepki_module_from_env(&[
        "sign",
        "--ca-cert",
        "intermediate.crt",
        "--ca-key",
        intermediate,
        "--csr",
        &csr,
        "--chain",
        "-o",
        "jane.crt",
    ]));
    let out = t.run_ok(
        "openssl",
        &[
            "verify",
            "-CAfile",
            "root.crt",
            "-untrusted",
            "intermediate.crt",
            "jane.crt",
        ],
    );
    assert!(out.contains("jane.crt: OK"), "{out}");
    let listed = ok(t.kubepki_module_from_env(&["key", "list", "pkcs11:token=kubepki"]));
    assert!(
        listed.contains("root ") && listed.contains("intermediate "),
        "{listed}"
    );
}

#[test]
fn the_controller_signs_with_a_cluster_signing_key_on_the_token() {
    let Some(t) = token() else { return };
    let uri = t.uri("signing-ca");
    ok(t.kubepki(&[
        "ca",
        "init",
        "--cert",
        "ca.crt",
        "--key",
        &uri,
        "-a",
        "ECDSA-P256",
    ]));
    let csr = t.csr("jane");
    ok(t.kubepki(&[
        "csr",
        "manifest",
        "--csr",
        &csr,
        "--name",
        "jane",
        "-o",
        "jane.yaml",
    ]));
    ok(t.kubepki(&["create", "-f", "jane.yaml", "--store", "store"]));
    ok(t.kubepki(&["certificate", "approve", "jane", "--store", "store"]));
    // kube-controller-manager's flags, the key a pkcs11: URI: the same CA loading as
    // `controller cluster` on a real cluster.
    let said = ok_stderr(t.kubepki(&[
        "controller",
        "embedded",
        "--cluster-signing-cert-file",
        "ca.crt",
        "--cluster-signing-key-file",
        &uri,
        "--once",
        "--store",
        "store",
    ]));
    assert!(said.contains("jane issued"), "{said}");
    let json = t.run_ok(
        env!("CARGO_BIN_EXE_kubepki"),
        &[
            "get",
            "csr",
            "jane",
            "-o",
            "jsonpath={.status.certificate}",
            "--store",
            "store",
        ],
    );
    use base64ct::Encoding;
    let pem = base64ct::Base64::decode_vec(json.trim()).unwrap();
    std::fs::write(t.path("jane.crt"), pem).unwrap();
    t.openssl_verify("ca.crt", "jane.crt");
}

#[test]
fn a_profiles_file_cannot_choose_the_pkcs11_module() {
    let Some(t) = token() else { return };
    let uri = t.uri("app-ca");
    ok(t.kubepki(&[
        "ca",
        "init",
        "--cert",
        "app-ca.crt",
        "--key",
        &uri,
        "-a",
        "ECDSA-P256",
    ]));
    ok(t.kubepki(&[
        "ca",
        "init",
        "--cert",
        "ca.crt",
        "--key",
        "ca.key",
        "-a",
        "ECDSA-P256",
    ]));
    // A copy of the module elsewhere: what a profiles file (a ConfigMap) could point at.
    let elsewhere = t.path("libelsewhere.so");
    std::fs::copy(MODULE, &elsewhere).unwrap();
    let elsewhere = elsewhere.to_string_lossy().into_owned();
    std::fs::create_dir(t.path("store")).unwrap();
    let profiles = |module: Option<&str>| {
        let key = match module {
            Some(module) => format!("pkcs11:token=kubepki;object=app-ca?module-path={module}"),
            None => "pkcs11:token=kubepki;object=app-ca".to_owned(),
        };
        std::fs::write(
            t.path("profiles.yaml"),
            format!(
                "profiles:\n  app:\n    usages: [digital signature, client auth]\n    expiry: 720h\n\
                 signers:\n  app: {{cert_file: app-ca.crt, key_file: \"{key}\"}}\n"
            ),
        )
        .unwrap();
    };
    let controller = |extra: &[&str]| {
        let mut args = vec![
            "controller",
            "embedded",
            "--cluster-signing-cert-file",
            "ca.crt",
            "--cluster-signing-key-file",
            "ca.key",
            "--profiles",
            "profiles.yaml",
            "--once",
            "--store",
            "store",
        ];
        args.extend(extra);
        t.kubepki(&args)
    };
    // The file's module-path is refused, naming it, before any module is loaded.
    profiles(Some(&elsewhere));
    let err = fails(controller(&[]));
    assert!(
        err.contains(&format!("PKCS#11 module {elsewhere} named by"))
            && err.contains("is not allowed"),
        "{err}"
    );
    // ...also when another module is given or allowed.
    let err = fails(controller(&[
        "--pkcs11-module",
        MODULE,
        "--pkcs11-module-allow",
        MODULE,
    ]));
    assert!(
        err.contains(&format!("PKCS#11 module {elsewhere} named by")),
        "{err}"
    );
    // Allowed on the command line, it loads.
    ok(controller(&["--pkcs11-module-allow", &elsewhere]));
    // The module given on the command line serves a URI without module-path, and a URI
    // that names that same module.
    profiles(None);
    let err = fails(controller(&[]));
    assert!(err.contains("no PKCS#11 module for"), "{err}");
    ok(controller(&["--pkcs11-module", MODULE]));
    profiles(Some(MODULE));
    ok(controller(&["--pkcs11-module", MODULE]));
    ok(t.kubepki_module_from_env(&[
        "controller",
        "embedded",
        "--cluster-signing-cert-file",
        "ca.crt",
        "--cluster-signing-key-file",
        "ca.key",
        "--profiles",
        "profiles.yaml",
        "--once",
        "--store",
        "store",
    ]));
}

/// `ca rotate` of the cluster CA onto a key on the token, then on to another token key: the
/// new CA's key given as a URI (recorded without PIN in `rotation/ca/new.key.uri`, then in
/// `ca.key.uri`), every leaf reissued by the token key (openssl checks), the plan turning
/// kube-controller-manager's CSR signer off, and the next rotation opening the token key
/// that signs today from `ca.key.uri`.
#[test]
fn the_cluster_ca_rotates_onto_the_token_and_on_to_another_token_key() {
    let Some(t) = token() else {
        return;
    };
    let tree = ["--cert-dir", "pki", "--kubeconfig-dir", "."];
    let rotate = |phase: &str, extra: &[&str]| {
        let args = [
            &["ca", "rotate", phase, "--ca", "cluster"][..],
            &tree,
            extra,
        ]
        .concat();
        ok(t.kubepki_module_from_env(&args))
    };
    ok(t.kubepki(&[
        "init",
        "--cert-dir",
        "pki",
        "--kubeconfig-dir",
        ".",
        "--node-name",
        "cp-1",
        "--algorithm",
        "ECDSA-P256",
    ]));
    for (round, object) in [(1, "hsm-ca"), (2, "hsm-ca-2")] {
        let cert = format!("{object}.crt");
        let uri = t.uri(object);
        ok(t.kubepki(&[
            "ca",
            "init",
            "--cert",
            &cert,
            "--key",
            &uri,
            "-a",
            "ECDSA-P256",
        ]));
        // The PIN given in the URI itself must not reach the tree.
        let with_pin = format!("{uri}&pin-value={PIN}");
        rotate(
            "start",
            &["--new-ca-cert", &cert, "--new-ca-key", &with_pin],
        );
        let recorded = std::fs::read_to_string(t.path("pki/rotation/ca/new.key.uri")).unwrap();
        assert!(recorded.contains(&format!("object={object}")), "{recorded}");
        assert!(!recorded.contains("pin-value"), "{recorded}");

        let promoted: serde_json::Value =
            serde_json::from_str(&rotate("promote", &["-o", "json"])).unwrap();
        let flags: Vec<String> = promoted["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["component"] == "kube-controller-manager")
            .flat_map(|s| s["flags"].as_array().unwrap().iter())
            .map(|f| format!("{}={}", f["flag"], f["value"]).replace('"', ""))
            .collect();
        assert!(
            flags.iter().any(|f| f.ends_with("-csrsigning")),
            "{flags:?}"
        );
        assert!(!t.path("pki/ca.key").exists(), "round {round}");
        let in_use = std::fs::read_to_string(t.path("pki/ca.key.uri")).unwrap();
        assert!(in_use.contains(&format!("object={object}")), "{in_use}");
        match round {
            1 => assert!(t.path("pki/rotation/ca/old.key").exists()),
            _ => {
                let old = std::fs::read_to_string(t.path("pki/rotation/ca/old.key.uri")).unwrap();
                assert!(
                    old.contains("object=hsm-ca;") || old.contains("object=hsm-ca?"),
                    "{old}"
                );
            }
        }
        // Every leaf of the cluster CA is now the token key's.
        for leaf in ["pki/apiserver.crt", "pki/apiserver-kubelet-client.crt"] {
            t.openssl_verify(&cert, leaf);
        }
        rotate("finish", &["--shred"]);
        let status = ok(t.kubepki_module_from_env(
            &[&["ca", "rotate", "status"][..], &tree, &["-o", "json"]].concat(),
        ));
        let status: serde_json::Value = serde_json::from_str(&status).unwrap();
        assert!(status.to_string().contains("finished"), "{status:#}");
        // The token key renews what it signs.
        ok(t.kubepki_module_from_env(&[&["certs", "renew", "apiserver"][..], &tree].concat()));
        t.openssl_verify(&cert, "pki/apiserver.crt");
    }
}
