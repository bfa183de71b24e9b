//! Key, request and certificate files in the standard formats, both ways, with the real
//! `openssl` as the peer: what kubepki writes, openssl reads and accepts; what openssl writes
//! (PKCS#8, PKCS#1, SEC1, encrypted keys, CSRs, CAs), kubepki reads and signs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{fails, kubepki, ok, openssl, openssl_available};

fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

#[test]
fn our_keys_pass_openssl_pkey_check() {
    if !openssl_available() {
        return;
    }
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("pass"), "correct horse\n").unwrap();
    for algorithm in ["RSA-2048", "ECDSA-P256", "ECDSA-P384"] {
        for format in ["pkcs8", "traditional"] {
            let file = format!("{algorithm}-{format}.key");
            ok(kubepki(
                &dir,
                &[
                    "key",
                    "generate",
                    "-a",
                    algorithm,
                    "--format",
                    format,
                    "-o",
                    &file,
                    "--public-out",
                    "pub.pem",
                    "--force",
                ],
            ));
            let out = openssl(&dir, &["pkey", "-in", &file, "-check", "-noout"]);
            assert!(out.contains("valid"), "{out}");
            openssl(&dir, &["pkey", "-pubin", "-in", "pub.pem", "-noout"]);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(dir.join(&file))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
        let file = format!("{algorithm}-enc.key");
        ok(kubepki(
            &dir,
            &[
                "key",
                "generate",
                "-a",
                algorithm,
                "--passphrase-file",
                "pass",
                "-o",
                &file,
            ],
        ));
        let text = std::fs::read_to_string(dir.join(&file)).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        openssl(
            &dir,
            &[
                "pkey",
                "-in",
                &file,
                "-passin",
                "pass:correct horse",
                "-check",
                "-noout",
            ],
        );
    }
    let traditional = std::fs::read_to_string(dir.join("RSA-2048-traditional.key")).unwrap();
    assert!(traditional.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let sec1 = std::fs::read_to_string(dir.join("ECDSA-P256-traditional.key")).unwrap();
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    // A key is never overwritten without --force.
    let err = fails(kubepki(
        &dir,
        &["key", "generate", "-o", "ECDSA-P256-pkcs8.key"],
    ));
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn openssl_keys_load() {
    if !openssl_available() {
        return;
    }
    let (_guard, dir) = workdir();
    openssl(&dir, &["genrsa", "-out", "genrsa.key", "2048"]);
    openssl(
        &dir,
        &["genrsa", "-traditional", "-out", "genrsa-pkcs1.key", "2048"],
    );
    openssl(
        &dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "ecparam.key",
        ],
    );
    openssl(
        &dir,
        &[
            "ecparam",
            "-name",
            "secp384r1",
            "-genkey",
            "-noout",
            "-out",
            "ecparam384.key",
        ],
    );
    openssl(
        &dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "genpkey.key",
        ],
    );
    openssl(
        &dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:3072",
            "-aes256",
            "-pass",
            "pass:secret",
            "-out",
            "genpkey-enc.key",
        ],
    );
    openssl(
        &dir,
        &[
            "pkey",
            "-in",
            "genpkey.key",
            "-outform",
            "DER",
            "-out",
            "genpkey.der",
        ],
    );
    std::fs::write(dir.join("pass"), "secret").unwrap();
    for (file, kind) in [
        ("genrsa.key", "RSA-2048"),
        ("genrsa-pkcs1.key", "RSA-2048"),
        ("ecparam.key", "ECDSA-P256"),
        ("ecparam384.key", "ECDSA-P384"),
        ("genpkey.key", "ECDSA-P256"),
        ("genpkey.der", "ECDSA-P256"),
    ] {
        let out = ok(kubepki(&dir, &["inspect", file]));
        assert!(out.contains(kind), "{file}: {out}");
    }
    let out = ok(kubepki(
        &dir,
        &["inspect", "genpkey-enc.key", "--passphrase-file", "pass"],
    ));
    assert!(out.contains("RSA-3072"), "{out}");
    let err = fails(kubepki(&dir, &["inspect", "genpkey-enc.key"]));
    assert!(err.contains("passphrase"), "{err}");

    // A weak key is refused with its size.
    openssl(&dir, &["genrsa", "-out", "weak.key", "1024"]);
    let err = fails(kubepki(&dir, &["inspect", "weak.key"]));
    assert!(
        err.contains("1024 bits is below the 2048-bit minimum"),
        "{err}"
    );
}

#[test]
fn our_csr_passes_openssl_req_verify() {
    if !openssl_available() {
        return;
    }
    let (_guard, dir) = workdir();
    for algorithm in ["RSA-2048", "ECDSA-P256", "ECDSA-P384"] {
        ok(kubepki(
            &dir,
            &[
                "csr",
                "create",
                "--generate-key",
                algorithm,
                "--key",
                "u.key",
                "--force",
                "--subject",
                "/CN=jane/O=dev/O=ops",
                "--san",
                "DNS:jane.example.com,IP:10.0.0.7,IP:fd00::7,URI:spiffe://cluster.local/jane,email:jane@example.com",
                "-o",
                "u.csr",
            ],
        ));
        let out = openssl(&dir, &["req", "-in", "u.csr", "-noout", "-verify", "-text"]);
        assert!(
            out.contains("verify OK") || out.contains("self-signature verify OK"),
            "{out}"
        );
        assert!(
            out.contains("CN = jane, O = dev, O = ops") || out.contains("CN=jane, O=dev, O=ops"),
            "{out}"
        );
        for san in [
            "DNS:jane.example.com",
            "IP Address:10.0.0.7",
            "IP Address:FD00:0:0:0:0:0:0:7",
            "URI:spiffe://cluster.local/jane",
            "email:jane@example.com",
        ] {
            assert!(out.contains(san), "{san} missing: {out}");
        }
    }
    // The tutorial's subject puts the group in OU: a warning, not an error.
    let out = kubepki(
        &dir,
        &[
            "csr",
            "create",
            "--key",
            "u.key",
            "--subject",
            "/CN=kube-admin/OU=system:masters",
            "-o",
            "admin.csr",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success());
    assert!(
        stderr.contains("warning: OU=system:masters looks like a Kubernetes group"),
        "{stderr}"
    );
}

/// Signs openssl-made CSRs and checks the result with openssl.
#[test]
fn openssl_csrs_signed_by_us_verify_with_openssl() {
    if !openssl_available() {
        return;
    }
    let (_guard, dir) = workdir();
    ok(kubepki(
        &dir,
        &[
            "ca",
            "init",
            "--cert",
            "ca.crt",
            "--key",
            "ca.key",
            "--subject",
            "/CN=KUBERNETES-CA",
        ],
    ));
    let ca_text = openssl(
        &dir,
        &[
            "x509",
            "-in",
            "ca.crt",
            "-noout",
            "-ext",
            "basicConstraints,keyUsage,subjectAltName",
        ],
    );
    assert!(
        ca_text.contains("CA:TRUE") && ca_text.contains("Certificate Sign"),
        "{ca_text}"
    );

    openssl(&dir, &["genrsa", "-out", "rsa.key", "2048"]);
    openssl(
        &dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.key",
        ],
    );
    for key in ["rsa.key", "ec.key"] {
        // A client: the subject carries groups in O.
        openssl(
            &dir,
            &[
                "req",
                "-new",
                "-key",
                key,
                "-subj",
                "/CN=jane/O=dev/O=ops",
                "-out",
                "client.csr",
            ],
        );
        ok(kubepki(
            &dir,
            &[
                "sign",
                "--ca-cert",
                "ca.crt",
                "--ca-key",
                "ca.key",
                "--csr",
                "client.csr",
                "--profile",
                "client",
                "--validity",
                "8760h",
                "--out",
                "client.crt",
                "--force",
            ],
        ));
        let out = openssl(
            &dir,
            &[
                "verify",
                "-CAfile",
                "ca.crt",
                "-purpose",
                "sslclient",
                "client.crt",
            ],
        );
        assert!(out.contains("client.crt: OK"), "{out}");
        let ext = openssl(
            &dir,
            &[
                "x509",
                "-in",
                "client.crt",
                "-noout",
                "-ext",
                "subjectAltName,keyUsage,extendedKeyUsage,basicConstraints",
            ],
        );
        assert!(ext.contains("TLS Web Client Authentication"), "{ext}");
        assert!(ext.contains("Digital Signature, Key Encipherment"), "{ext}");
        assert!(ext.contains("CA:FALSE"), "{ext}");
        let subject = openssl(&dir, &["x509", "-in", "client.crt", "-noout", "-subject"]);
        assert!(subject.contains("CN = jane, O = dev, O = ops"), "{subject}");

        // A server: SANs via -addext, and a request for CA:TRUE that the profile overrides.
        openssl(
            &dir,
            &[
                "req",
                "-new",
                "-key",
                key,
                "-subj",
                "/CN=kube-apiserver",
                "-addext",
                "subjectAltName=DNS:kubernetes,DNS:kubernetes.default.svc,IP:10.96.0.1",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-out",
                "server.csr",
            ],
        );
        ok(kubepki(
            &dir,
            &[
                "sign",
                "--ca-cert",
                "ca.crt",
                "--ca-key",
                "ca.key",
                "--csr",
                "server.csr",
                "--profile",
                "server",
                "--out",
                "server.crt",
                "--force",
            ],
        ));
        let out = openssl(
            &dir,
            &[
                "verify",
                "-CAfile",
                "ca.crt",
                "-purpose",
                "sslserver",
                "-verify_hostname",
                "kubernetes.default.svc",
                "server.crt",
            ],
        );
        assert!(out.contains("server.crt: OK"), "{out}");
        let out = openssl(
            &dir,
            &[
                "verify",
                "-CAfile",
                "ca.crt",
                "-purpose",
                "sslserver",
                "-verify_ip",
                "10.96.0.1",
                "server.crt",
            ],
        );
        assert!(out.contains("server.crt: OK"), "{out}");
        let ext = openssl(
            &dir,
            &[
                "x509",
                "-in",
                "server.crt",
                "-noout",
                "-ext",
                "subjectAltName,extendedKeyUsage,basicConstraints",
            ],
        );
        assert!(
            ext.contains("DNS:kubernetes, DNS:kubernetes.default.svc, IP Address:10.96.0.1"),
            "{ext}"
        );
        assert!(
            ext.contains("TLS Web Server Authentication") && ext.contains("CA:FALSE"),
            "{ext}"
        );
        // A server certificate is no client certificate.
        let bad = Command::new("openssl")
            .current_dir(&dir)
            .args([
                "verify",
                "-CAfile",
                "ca.crt",
                "-purpose",
                "sslclient",
                "server.crt",
            ])
            .output()
            .unwrap();
        assert!(!bad.status.success());
    }

    // RSA-1024 requests are refused with the bit count.
    openssl(&dir, &["genrsa", "-out", "weak.key", "1024"]);
    openssl(
        &dir,
        &[
            "req", "-new", "-key", "weak.key", "-subj", "/CN=weak", "-out", "weak.csr",
        ],
    );
    let err = fails(kubepki(
        &dir,
        &[
            "sign",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--csr",
            "weak.csr",
            "--out",
            "weak.crt",
        ],
    ));
    assert!(
        err.contains("RSA key of 1024 bits is below the 2048-bit minimum"),
        "{err}"
    );
    assert!(!dir.join("weak.crt").exists());

    // Unknown profile: named, with the known ones.
    let err = fails(kubepki(
        &dir,
        &[
            "sign",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--csr",
            "client.csr",
            "--profile",
            "nope",
            "--out",
            "x.crt",
        ],
    ));
    assert!(err.contains("nope"), "{err}");

    // The CA is never overwritten without --force.
    let before = std::fs::read(dir.join("ca.key")).unwrap();
    let err = fails(kubepki(
        &dir,
        &["ca", "init", "--cert", "ca.crt", "--key", "ca.key"],
    ));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(dir.join("ca.key")).unwrap(), before);
}

#[test]
fn cas_made_by_openssl_sign() {
    if !openssl_available() {
        return;
    }
    let (_guard, dir) = workdir();
    // `openssl req -x509`, as most guides make a CA.
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "x509.key",
            "-subj",
            "/CN=KUBERNETES-CA",
            "-days",
            "3650",
            "-out",
            "x509.crt",
        ],
    );
    // The tutorials' way: a CSR self-signed with `x509 -req -signkey`.
    openssl(&dir, &["genrsa", "-out", "tut.key", "2048"]);
    openssl(
        &dir,
        &[
            "req",
            "-new",
            "-key",
            "tut.key",
            "-subj",
            "/CN=KUBERNETES-CA",
            "-out",
            "tut.csr",
        ],
    );
    openssl(
        &dir,
        &[
            "x509", "-req", "-in", "tut.csr", "-signkey", "tut.key", "-out", "tut.crt",
        ],
    );
    ok(kubepki(
        &dir,
        &[
            "csr",
            "create",
            "--generate-key",
            "ECDSA-P256",
            "--key",
            "u.key",
            "--subject",
            "/CN=admin/O=system:masters",
            "-o",
            "u.csr",
        ],
    ));
    for (cert, key) in [("x509.crt", "x509.key"), ("tut.crt", "tut.key")] {
        ok(kubepki(
            &dir,
            &[
                "sign",
                "--ca-cert",
                cert,
                "--ca-key",
                key,
                "--csr",
                "u.csr",
                "--profile",
                "client",
                "--out",
                "u.crt",
                "--force",
            ],
        ));
        let out = openssl(
            &dir,
            &["verify", "-CAfile", cert, "-purpose", "sslclient", "u.crt"],
        );
        assert!(out.contains("u.crt: OK"), "{cert}: {out}");
    }
    // One rule for every output: `sign -o` onto an existing file (here, the CA certificate)
    // is refused, naming it, unless --force.
    let ca_before = std::fs::read(dir.join("x509.crt")).unwrap();
    let refused = kubepki(
        &dir,
        &[
            "sign",
            "--ca-cert",
            "x509.crt",
            "--ca-key",
            "x509.key",
            "--csr",
            "u.csr",
            "--out",
            "x509.crt",
        ],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("x509.crt already exists"), "{message}");
    assert_eq!(std::fs::read(dir.join("x509.crt")).unwrap(), ca_before);
    for args in [
        &[
            "csr", "create", "--key", "x509.key", "--cn", "u", "--out", "u.csr",
        ][..],
        &["key", "public", "--key", "x509.key", "--out", "u.csr"][..],
    ] {
        let refused = kubepki(&dir, args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("u.csr already exists"));
    }
}

#[test]
fn inspect_reads_certificates_chains_and_requests() {
    if !openssl_available() {
        return;
    }
    let (_guard, dir) = workdir();
    ok(kubepki(
        &dir,
        &[
            "ca",
            "init",
            "--cert",
            "root.crt",
            "--key",
            "root.key",
            "-a",
            "ECDSA-P384",
        ],
    ));
    ok(kubepki(
        &dir,
        &[
            "ca",
            "init",
            "--cert",
            "int.crt",
            "--key",
            "int.key",
            "--subject",
            "/CN=intermediate",
            "--parent-cert",
            "root.crt",
            "--parent-key",
            "root.key",
            "--path-len",
            "0",
        ],
    ));
    ok(kubepki(
        &dir,
        &[
            "csr",
            "create",
            "--generate-key",
            "ECDSA-P256",
            "--key",
            "n.key",
            "--subject",
            "/O=system:nodes/CN=system:node:worker-1",
            "-o",
            "n.csr",
        ],
    ));
    ok(kubepki(
        &dir,
        &[
            "sign",
            "--ca-cert",
            "int.crt",
            "--ca-key",
            "int.key",
            "--csr",
            "n.csr",
            "--profile",
            "kubelet-client",
            "--chain",
            "--out",
            "n.crt",
        ],
    ));
    let out = openssl(
        &dir,
        &[
            "verify",
            "-CAfile",
            "root.crt",
            "-untrusted",
            "int.crt",
            "-purpose",
            "sslclient",
            "n.crt",
        ],
    );
    assert!(out.contains("n.crt: OK"), "{out}");
    let json = ok(kubepki(&dir, &["inspect", "n.crt", "-o", "json"]));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["kind"], "chain");
    assert_eq!(
        value["certificates"][0]["kubernetes"]["username"],
        "system:node:worker-1"
    );
    assert_eq!(
        value["certificates"][0]["kubernetes"]["groups"][0],
        "system:nodes"
    );
    assert_eq!(value["certificates"][1]["is_ca"], true);
    assert_eq!(value["certificates"][1]["path_len"], 0);
    let text = ok(kubepki(
        &dir,
        &[
            "verify",
            "--ca",
            "root.crt",
            "--cert",
            "n.crt",
            "--kubernetes",
        ],
    ));
    assert!(
        text.contains("kubernetes user:   system:node:worker-1"),
        "{text}"
    );

    // Garbage and wrong labels are named.
    std::fs::write(
        dir.join("junk.pem"),
        "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
    )
    .unwrap();
    let err = fails(kubepki(&dir, &["inspect", "junk.pem"]));
    assert!(err.contains("FOO"), "{err}");
    std::fs::write(dir.join("junk.der"), [0x30, 0x03, 0x02, 0x01]).unwrap();
    fails(kubepki(&dir, &["inspect", "junk.der"]));
}

#[test]
fn profiles_are_listed_and_unknown_ones_named() {
    let (_guard, dir) = workdir();
    let out = ok(kubepki(&dir, &["profiles"]));
    for name in [
        "apiserver",
        "etcd-server",
        "kubelet-client",
        "super-admin",
        "client",
        "server",
        "peer",
        "ca",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{out}"
        );
    }
    let err = fails(kubepki(&dir, &["profiles", "nope"]));
    assert!(err.contains("nope"), "{err}");
}
