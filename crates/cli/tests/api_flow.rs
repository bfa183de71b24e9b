//! The Certificates API tutorial through the `kubepki` binary, with `kubectl` replaced by
//! `kubepki`: the certificate it hands out verifies with `openssl verify -purpose sslclient`.
//! Also every refusal the API server or a signer makes, and two processes approving and
//! signing the same requests at once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime};

mod common;
use common::{fails, kubepki, ok, openssl_available};

use kubepki::api::Base64Bytes;
use kubepki::sign::{CertificateInfo, certificates_from_bytes};

/// A CA, a user key and CSR, in a fresh folder.
fn setup(dir: &Path, user: &str, orgs: &[&str], sans: &[&str]) {
    if !dir.join("ca.crt").exists() {
        ok(kubepki(
            dir,
            &[
                "ca",
                "init",
                "--cert",
                "ca.crt",
                "--key",
                "ca.key",
                "-a",
                "ECDSA-P256",
            ],
        ));
    }
    let key = format!("{user}.key");
    let csr = format!("{user}.csr");
    let mut args = vec![
        "csr",
        "create",
        "--generate-key",
        "ECDSA-P256",
        "-k",
        &key,
        "--cn",
        user,
        "-o",
        &csr,
    ];
    for o in orgs {
        args.extend(["-O", o]);
    }
    let san_list = sans.join(",");
    if !sans.is_empty() {
        args.extend(["--san", &san_list]);
    }
    ok(kubepki(dir, &args));
}

fn controller(dir: &Path) -> Output {
    kubepki(
        dir,
        &[
            "controller",
            "embedded",
            "--cluster-signing-cert-file",
            "ca.crt",
            "--cluster-signing-key-file",
            "ca.key",
            "--once",
        ],
    )
}

#[test]
fn tutorial_flow() {
    if !openssl_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, "jane", &["dev"], &[]);
    let manifest = ok(kubepki(
        dir,
        &[
            "csr",
            "manifest",
            "--csr",
            "jane.csr",
            "--name",
            "jane",
            "--signer",
            "kubernetes.io/kube-apiserver-client",
            "--usage",
            "client auth",
            "--expiration",
            "600s",
        ],
    ));
    assert!(
        manifest.contains("kind: CertificateSigningRequest"),
        "{manifest}"
    );
    assert!(manifest.contains("expirationSeconds: 600"), "{manifest}");
    assert!(!manifest.contains("status"), "{manifest}");
    std::fs::write(dir.join("jane.yaml"), &manifest).unwrap();
    // The request is the base64 of the PEM file, as the tutorials' `base64 | tr -d "\n"`.
    let csr_pem = std::fs::read(dir.join("jane.csr")).unwrap();
    let request: String = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("request: "))
        .unwrap()
        .to_owned();
    let decoded: Base64Bytes = serde_json::from_str(&format!("{request:?}")).unwrap();
    assert_eq!(decoded.0, csr_pem);

    let out = ok(kubepki(
        dir,
        &["create", "-f", "jane.yaml", "--as", "kubernetes-admin"],
    ));
    assert_eq!(
        out,
        "certificatesigningrequest.certificates.k8s.io/jane created\n"
    );
    let table = ok(kubepki(dir, &["get", "csr"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NAME",
            "AGE",
            "SIGNERNAME",
            "REQUESTOR",
            "REQUESTEDDURATION",
            "CONDITION"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[0], "jane");
    assert_eq!(
        &row[2..],
        [
            "kubernetes.io/kube-apiserver-client",
            "kubernetes-admin",
            "10m",
            "Pending"
        ]
    );

    assert_eq!(
        ok(kubepki(dir, &["certificate", "approve", "jane"])),
        "certificatesigningrequest.certificates.k8s.io/jane approved\n"
    );
    let before = SystemTime::now();
    ok(controller(dir));
    let after = SystemTime::now();
    let table = ok(kubepki(dir, &["get", "csr", "jane", "-o", "wide"]));
    assert!(
        table.lines().nth(1).unwrap().ends_with("Approved,Issued"),
        "{table}"
    );

    let b64 = ok(kubepki(
        dir,
        &["get", "csr", "jane", "-o", "jsonpath={.status.certificate}"],
    ));
    let pem: Base64Bytes = serde_json::from_str(&format!("{b64:?}")).unwrap();
    std::fs::write(dir.join("jane.crt"), &pem.0).unwrap();
    let verify = Command::new("openssl")
        .current_dir(dir)
        .args([
            "verify",
            "-CAfile",
            "ca.crt",
            "-purpose",
            "sslclient",
            "jane.crt",
        ])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&verify.stdout), "jane.crt: OK\n");

    let der = certificates_from_bytes(&pem.0).unwrap();
    let info = CertificateInfo::from_der(&der[0]).unwrap();
    // Exactly 10 minutes after the 5-minute backdate.
    assert_eq!(
        info.not_after.duration_since(info.not_before).unwrap(),
        Duration::from_secs(900)
    );
    let five = Duration::from_secs(300);
    let second = Duration::from_secs(1);
    assert!(
        info.not_before + second >= before - five && info.not_before <= after - five,
        "{info:?}"
    );
    assert!(!info.is_ca);
    assert_eq!(info.username(), Some("jane"));

    // The other output formats.
    let yaml = ok(kubepki(dir, &["get", "csr", "jane", "-o", "yaml"]));
    assert!(
        yaml.contains("reason: KubectlApprove") && yaml.contains("certificate: "),
        "{yaml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(kubepki(dir, &["get", "csr", "-o", "json"]))).unwrap();
    assert_eq!(json["kind"], "List");
    assert_eq!(json["items"][0]["metadata"]["name"], "jane");
    assert_eq!(
        ok(kubepki(
            dir,
            &["get", "csr", "-o", "jsonpath={.items[*].metadata.name}"]
        )),
        "jane"
    );
    assert_eq!(
        ok(kubepki(
            dir,
            &["get", "csr", "jane", "-o", "jsonpath={.spec.usages[0]}"]
        )),
        "client auth"
    );

    assert_eq!(
        ok(kubepki(dir, &["delete", "csr", "jane"])),
        "certificatesigningrequest.certificates.k8s.io \"jane\" deleted\n"
    );
    let err = fails(kubepki(dir, &["get", "csr", "jane"]));
    assert!(
        err.contains(r#"certificatesigningrequests.certificates.k8s.io "jane" not found"#),
        "{err}"
    );
}

fn create(
    dir: &Path,
    name: &str,
    signer: &str,
    usages: &[&str],
    expiration: Option<&str>,
) -> Output {
    let csr = std::fs::read(dir.join(format!("{name}.csr"))).unwrap();
    let b64 = serde_json::to_string(&Base64Bytes(csr)).unwrap();
    let mut yaml = format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: {name}\nspec:\n  request: {b64}\n  signerName: {signer}\n  usages: [{}]\n",
        usages
            .iter()
            .map(|u| format!("{u:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(e) = expiration {
        yaml.push_str(&format!("  expirationSeconds: {e}\n"));
    }
    std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
    kubepki(dir, &["create", "-f", &format!("{name}.yaml")])
}

fn condition_of(dir: &Path, name: &str) -> String {
    let table = ok(kubepki(dir, &["get", "csr", name]));
    table
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned()
}

#[test]
fn refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, "jane", &["dev"], &[]);
    let client = "kubernetes.io/kube-apiserver-client";

    let err = fails(create(dir, "jane", client, &["client auth"], Some("599")));
    assert!(err.contains("spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"), "{err}");
    let err = fails(create(dir, "jane", "", &["client auth"], None));
    assert!(
        err.contains(r#""jane" is invalid: spec.signerName: Required value"#),
        "{err}"
    );
    let err = fails(create(dir, "jane", client, &["client-auth"], None));
    assert!(
        err.contains(r#"spec.usages[0]: Unsupported value: "client-auth": supported values:"#),
        "{err}"
    );
    let err = fails(create(
        dir,
        "jane",
        client,
        &["client auth", "client auth"],
        None,
    ));
    assert!(
        err.contains(r#"spec.usages[1]: Duplicate value: "client auth""#),
        "{err}"
    );
    // A manifest with a mistake is refused before it is written.
    let err = fails(kubepki(
        dir,
        &[
            "csr",
            "manifest",
            "--csr",
            "jane.csr",
            "--name",
            "jane",
            "--expiration",
            "5m",
        ],
    ));
    assert!(
        err.contains("may not specify a duration less than 600 seconds"),
        "{err}"
    );

    setup(dir, "root", &["system:masters"], &[]);
    let err = fails(create(dir, "root", client, &["client auth"], None));
    assert!(err.contains(r#"certificatesigningrequests.certificates.k8s.io "root" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"#), "{err}");

    // Approve after deny.
    ok(create(dir, "jane", client, &["client auth"], None));
    ok(kubepki(dir, &["certificate", "deny", "jane"]));
    let err = fails(kubepki(dir, &["certificate", "approve", "jane"]));
    assert!(
        err.contains(r#"certificate signing request "jane" is already Denied"#),
        "{err}"
    );
    // Deny again is a no-op.
    ok(kubepki(dir, &["certificate", "deny", "jane"]));
    assert_eq!(condition_of(dir, "jane"), "Denied");

    // Signer refusals: Failed, SignerValidationFailure.
    setup(dir, "server", &[], &[]);
    ok(create(dir, "server", client, &["any", "server auth"], None));
    setup(
        dir,
        "system:node:n1",
        &["system:nodes"],
        &["DNS:n1.example"],
    );
    std::fs::rename(dir.join("system:node:n1.csr"), dir.join("node.csr")).unwrap();
    ok(create(
        dir,
        "node",
        "kubernetes.io/kube-apiserver-client-kubelet",
        &["digital signature", "client auth"],
        None,
    ));
    ok(kubepki(dir, &["certificate", "approve", "server", "node"]));
    ok(controller(dir));
    assert_eq!(condition_of(dir, "server"), "Approved,Failed");
    assert_eq!(condition_of(dir, "node"), "Approved,Failed");
    let msg = |name: &str| {
        ok(kubepki(
            dir,
            &[
                "get",
                "csr",
                name,
                "-o",
                "jsonpath={.status.conditions[1].reason}: {.status.conditions[1].message}",
            ],
        ))
    };
    assert_eq!(
        msg("server"),
        "SignerValidationFailure: invalid usage for client certificate: any"
    );
    assert_eq!(
        msg("node"),
        "SignerValidationFailure: DNS subjectAltNames are not allowed"
    );
}

#[test]
fn two_processes_approve_and_sign_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let names: Vec<String> = (0..10).map(|i| format!("user{i}")).collect();
    for n in &names {
        setup(dir, n, &["dev"], &[]);
        ok(create(
            dir,
            n,
            "kubernetes.io/kube-apiserver-client",
            &["client auth"],
            None,
        ));
    }
    let spawn = |args: Vec<&str>| -> Child {
        Command::new(env!("CARGO_BIN_EXE_kubepki"))
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let sign_args = vec![
        "controller",
        "embedded",
        "--cluster-signing-cert-file",
        "ca.crt",
        "--cluster-signing-key-file",
        "ca.key",
        "--once",
    ];
    let mut approve_args = vec!["certificate", "approve"];
    approve_args.extend(names.iter().map(String::as_str));
    let mut reversed = vec!["certificate", "approve"];
    reversed.extend(names.iter().rev().map(String::as_str));
    // Phase 1: two approvers and two signers at once; phase 2: two signers at once.
    let mut issued = 0;
    let phase1 = vec![
        spawn(approve_args),
        spawn(reversed),
        spawn(sign_args.clone()),
        spawn(sign_args.clone()),
    ];
    let phase1: Vec<Output> = phase1
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let phase2 = vec![spawn(sign_args.clone()), spawn(sign_args)];
    let phase2: Vec<Output> = phase2
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in phase1.into_iter().chain(phase2) {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        issued += stderr
            .lines()
            .filter(|l| l.contains(" issued, valid until "))
            .count();
    }
    assert_eq!(issued, names.len(), "each certificate issued exactly once");
    let json: serde_json::Value =
        serde_json::from_str(&ok(kubepki(dir, &["get", "csr", "-o", "json"]))).unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), names.len());
    let mut serials = std::collections::BTreeSet::new();
    for item in items {
        assert_eq!(
            item["status"]["conditions"].as_array().unwrap().len(),
            1,
            "{item}"
        );
        let pem: Base64Bytes =
            serde_json::from_value(item["status"]["certificate"].clone()).unwrap();
        let der = certificates_from_bytes(&pem.0).unwrap();
        serials.insert(CertificateInfo::from_der(&der[0]).unwrap().serial);
    }
    assert_eq!(serials.len(), names.len());
}

/// A stored request with `name`, made through the binary (`csr manifest` then `create -f`).
fn stored_request(dir: &Path, name: &str, extra_args: &[&str]) {
    setup(dir, name, &["dev"], &[]);
    let manifest = ok(kubepki(
        dir,
        &[
            "csr",
            "manifest",
            "--csr",
            &format!("{name}.csr"),
            "--name",
            name,
        ],
    ));
    let file = format!("{name}.yaml");
    std::fs::write(dir.join(&file), manifest).unwrap();
    let mut args = vec!["create", "-f", &file];
    args.extend(extra_args);
    ok(kubepki(dir, &args));
}

#[test]
fn an_approved_request_with_a_refused_key_fails_once_and_for_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    stored_request(dir, "edwards", &[]);
    ok(kubepki(dir, &["certificate", "approve", "edwards"]));
    // The store refuses an Ed25519 request on create and update, as kube-apiserver does
    // not: put one in place of the approved request, as one from a real cluster arrives.
    const ED25519: &str = "-----BEGIN CERTIFICATE REQUEST-----\nMIGcMFACAQAwHTENMAsGA1UEAwwEamFuZTEMMAoGA1UECgwDZGV2MCowBQYDK2Vw\nAyEA6tGr2ycGbsXM+kVR3Ext9o3/ytgtO6DX2aWWSruV7uSgADAFBgMrZXADQQAf\nxnEh0ja/Pju2NfNzvW2/eUb7ZDUNxBN+VuPkXUFDdQ7jL0adYoTjubbA3gFzW5Ve\nYqaunVqvG4WshBidoA8O\n-----END CERTIFICATE REQUEST-----\n";
    let file = dir.join("kubernetes/csr-store/edwards.json");
    let mut stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    stored["spec"]["request"] =
        serde_json::to_value(Base64Bytes(ED25519.as_bytes().to_vec())).unwrap();
    std::fs::write(&file, serde_json::to_vec(&stored).unwrap()).unwrap();
    let said = String::from_utf8_lossy(&controller(dir).stderr).into_owned();
    assert!(
        said.contains(
            "edwards failed: request public key refused: unsupported public key algorithm Ed25519"
        ),
        "{said}"
    );
    assert_eq!(condition_of(dir, "edwards"), "Approved,Failed");
    // Terminal: the next pass has nothing to say about it.
    let said = String::from_utf8_lossy(&controller(dir).stderr).into_owned();
    assert!(!said.contains("edwards"), "{said}");
}

#[test]
fn a_corrupt_object_is_skipped_with_a_warning_and_the_controller_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    stored_request(dir, "jane", &[]);
    stored_request(dir, "joe", &[]);
    let bad = dir.join("kubernetes/csr-store/jane.json");
    let text = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(&bad, &text[..text.len() / 2]).unwrap();
    // A stale temp file of a killed writer.
    let stale = dir.join("kubernetes/csr-store/.joe.json.tmp.99999.0");
    std::fs::write(&stale, "{").unwrap();
    let out = kubepki(dir, &["get", "csr"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = ok(out);
    assert!(stdout.contains("joe"), "{stdout}");
    assert!(!stdout.contains("jane"), "{stdout}");
    assert!(
        stderr.contains("warning: skipping ") && stderr.contains("jane.json: unreadable object"),
        "{stderr}"
    );
    assert!(!stale.exists());
    ok(kubepki(dir, &["certificate", "approve", "joe"]));
    let out = controller(dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(stderr.contains("jane.json: unreadable object"), "{stderr}");
    assert!(stderr.contains("/joe issued"), "{stderr}");
    let err = fails(kubepki(dir, &["get", "csr", "jane"]));
    assert!(err.contains("jane.json: unreadable object"), "{err}");
}

#[test]
fn stored_control_characters_are_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The requester name comes from --as; the object name is validated on create.
    stored_request(
        dir,
        "jane",
        &[
            "--as",
            "evil\u{1b}[2J\nforged   1s   x   y   <none>   Approved,Issued",
        ],
    );
    for output in [
        &[][..],
        &["-o", "wide"],
        &["-o", "json"],
        &["-o", "yaml"],
        &["-o", "jsonpath={.items[0].spec.username}"],
    ] {
        let mut args = vec!["get", "csr"];
        args.extend(output);
        let stdout = ok(kubepki(dir, &args));
        assert!(!stdout.contains('\u{1b}'), "{output:?}: {stdout}");
        assert!(!stdout.contains("\nforged"), "{output:?}: {stdout}");
    }
    // A name with escapes is refused on create, quoted.
    setup(dir, "joe", &[], &[]);
    let manifest = ok(kubepki(
        dir,
        &["csr", "manifest", "--csr", "joe.csr", "--name", "joe"],
    ));
    std::fs::write(
        dir.join("bad.yaml"),
        manifest.replace("name: joe", "name: \"joe\\e[31m\""),
    )
    .unwrap();
    let err = fails(kubepki(dir, &["create", "-f", "bad.yaml"]));
    assert!(
        err.contains(r#"metadata.name: Invalid value: "joe\u{1b}[31m""#),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
}

#[test]
fn oversized_and_deeply_nested_manifests_are_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let start = std::time::Instant::now();
    std::fs::write(
        dir.join("deep.yaml"),
        format!("a: {}\n", "[".repeat(100_000)),
    )
    .unwrap();
    let err = fails(kubepki(dir, &["create", "-f", "deep.yaml"]));
    assert!(
        err.contains("deep.yaml: object nests") && err.contains("more than the limit of 64"),
        "{err}"
    );
    std::fs::write(dir.join("big.yaml"), vec![b'#'; 4 << 20]).unwrap();
    let err = fails(kubepki(dir, &["create", "-f", "big.yaml"]));
    assert!(
        err.contains("big.yaml: larger than the limit of 3145728 bytes"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// Issue 24: an annotation holding 150 `{` in a quoted string is text, not nesting. A
/// manifest with one is created from YAML and from JSON, and reads back with the annotation.
#[test]
fn brackets_inside_a_quoted_annotation_are_not_nesting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, "jane", &[], &[]);
    let request = Base64Bytes(std::fs::read(dir.join("jane.csr")).unwrap());
    let braces = "{".repeat(150);
    let object = |name: &str| {
        serde_json::json!({
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": name, "annotations": {"note": braces}},
            "spec": {
                "request": request,
                "signerName": "kubernetes.io/kube-apiserver-client",
                "usages": ["client auth"],
            },
        })
    };
    std::fs::write(
        dir.join("json.json"),
        serde_json::to_string_pretty(&object("from-json")).unwrap(),
    )
    .unwrap();
    let request_b64 = serde_json::to_string(&request).unwrap();
    std::fs::write(
        dir.join("yaml.yaml"),
        format!(
            "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: from-yaml\n  annotations:\n    note: \"{braces}\"\nspec:\n  request: {request_b64}\n  signerName: kubernetes.io/kube-apiserver-client\n  usages: [client auth]\n"
        ),
    )
    .unwrap();
    for (file, name) in [("json.json", "from-json"), ("yaml.yaml", "from-yaml")] {
        ok(kubepki(dir, &["create", "-f", file]));
        let jsonpath = "jsonpath={.metadata.annotations.note}";
        let note = ok(kubepki(dir, &["get", "csr", name, "-o", jsonpath]));
        assert_eq!(note.trim_end(), braces, "{file}");
        let yaml = ok(kubepki(dir, &["get", "csr", name, "-o", "yaml"]));
        assert!(yaml.contains(&braces), "{yaml}");
    }
}

/// A custom signer with no CA of its own would sign with the cluster-signing CA, which
/// kube-apiserver trusts for clients: the controller refuses to start, naming it, until the
/// profile file's `signers:` section opts in; even then O=system:masters is refused.
#[test]
fn a_custom_signer_never_borrows_the_cluster_ca_implicitly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, "mallory", &["system:masters"], &[]);
    let profiles =
        "profiles:\n  internal:\n    usages: [digital signature, client auth]\n    expiry: 720h\n";
    std::fs::write(dir.join("profiles.yaml"), profiles).unwrap();
    let run = |dir: &Path| {
        kubepki(
            dir,
            &[
                "controller",
                "embedded",
                "--cluster-signing-cert-file",
                "ca.crt",
                "--cluster-signing-key-file",
                "ca.key",
                "--profiles-file",
                "profiles.yaml",
                "--signer-domain",
                "example.com",
                "--once",
            ],
        )
    };
    let err = fails(run(dir));
    assert_eq!(
        err,
        "error: custom signer example.com/internal has no CA of its own and would sign with the cluster-signing CA, which kube-apiserver trusts for client certificates: name its CA in the profile file's signers: section (internal: {cert_file: FILE, key_file: FILE}), or opt in with internal: {cluster_ca: true}\n"
    );
    // Naming both the files and the opt-in is refused, with the signer named.
    std::fs::write(
        dir.join("profiles.yaml"),
        format!("{profiles}signers:\n  internal: {{cert_file: ca.crt, key_file: ca.key, cluster_ca: true}}\n"),
    )
    .unwrap();
    let err = fails(run(dir));
    assert!(
        err.contains(
            "signers: \"internal\": give cert_file and key_file, or cluster_ca: true (not both)"
        ),
        "{err}"
    );

    std::fs::write(
        dir.join("profiles.yaml"),
        format!("{profiles}signers:\n  internal: {{cluster_ca: true}}\n"),
    )
    .unwrap();
    let manifest = ok(kubepki(
        dir,
        &[
            "csr",
            "manifest",
            "--csr",
            "mallory.csr",
            "--name",
            "mallory",
            "--signer",
            "example.com/internal",
            "--usage",
            "client auth",
        ],
    ));
    std::fs::write(dir.join("mallory.yaml"), &manifest).unwrap();
    ok(kubepki(
        dir,
        &["create", "-f", "mallory.yaml", "--as", "mallory"],
    ));
    ok(kubepki(dir, &["certificate", "approve", "mallory"]));
    let out = run(dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = ok(kubepki(dir, &["get", "csr", "mallory", "-o", "json"]));
    let object: serde_json::Value = serde_json::from_str(&json).unwrap();
    let failed = &object["status"]["conditions"][1];
    assert_eq!(failed["type"], "Failed", "{object}");
    assert_eq!(failed["reason"], "SignerValidationFailure", "{object}");
    assert_eq!(
        failed["message"],
        "signer example.com/internal refuses O=system:masters: its certificates are valid for client auth"
    );
    assert!(object["status"]["certificate"].is_null(), "{object}");
}
