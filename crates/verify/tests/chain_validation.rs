//! Chain validation (path building, validity, EKU, names, CA bits, path length, name
//! constraints, signatures) over chains made by `openssl` at test time, each failure asserting
//! the specific error.
//! Validation times are taken from the certificates, so no test depends on today's date.

// `&[root.clone()]` reads better in these tests than `std::slice::from_ref(&root)`
#![allow(clippy::cloned_ref_to_slice_refs)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

use kubepki_keys::KeyError;
use kubepki_verify::{
    Cert, KeyPurpose, PeerName, VerifyError, VerifyOptions, kubernetes_identity, verify, verify_pem,
};

/// A scratch directory where openssl makes keys and certificates.
struct Pki {
    dir: tempfile::TempDir,
}

/// `None` (after a loud SKIP line) when openssl is missing; panics when CI is set.
fn pki() -> Option<Pki> {
    if !kubepki_test_support::openssl_available() {
        return None;
    }
    Some(Pki {
        dir: tempfile::tempdir().expect("tempdir"),
    })
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const SERVER_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
extendedKeyUsage=serverAuth\nsubjectAltName=DNS:api.example.com,IP:10.0.0.1\n";

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn key(&self, name: &str, rsa_bits: Option<&str>) {
        let out = format!("{name}.key");
        match rsa_bits {
            Some(bits) => self.run(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                &format!("rsa_keygen_bits:{bits}"),
                "-out",
                &out,
            ]),
            None => self.run(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &out,
            ]),
        }
    }

    /// A self-signed root valid for `days`.
    fn root(&self, name: &str, days: &str) {
        self.key(name, None);
        std::fs::write(self.path(&format!("{name}.ext")), CA_EXT).expect("write ext");
        self.run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            days,
            "-out",
            &format!("{name}.crt"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    /// A certificate `name` issued by `issuer`, with the given extensions.
    fn issue(
        &self,
        name: &str,
        subject: &str,
        issuer: &str,
        ext: &str,
        days: &str,
        rsa_bits: Option<&str>,
    ) {
        self.key(name, rsa_bits);
        let ext = format!("{ext}subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
        std::fs::write(self.path(&format!("{name}.ext")), ext).expect("write ext");
        self.run(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            subject,
            "-out",
            &format!("{name}.csr"),
        ]);
        self.run(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{issuer}.crt"),
            "-CAkey",
            &format!("{issuer}.key"),
            "-CAcreateserial",
            "-days",
            days,
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ]);
    }

    fn cert(&self, name: &str) -> Cert {
        let pem = std::fs::read(self.path(&format!("{name}.crt"))).expect("read cert");
        Cert::from_pem(&pem).expect("openssl certificate parses")
    }

    /// root -> ica -> leaf (server, SAN api.example.com and 10.0.0.1).
    fn standard(&self) {
        self.root("root", "3650");
        self.issue(
            "ica",
            "/CN=ica",
            "root",
            &format!("{CA_EXT}basicConstraints=critical,CA:TRUE,pathlen:0\n"),
            "3650",
            None,
        );
        self.issue(
            "leaf",
            "/CN=api.example.com",
            "ica",
            SERVER_EXT,
            "365",
            None,
        );
    }
}

/// An instant one hour after the certificate's notBefore.
fn shortly_after_issue(cert: &Cert) -> SystemTime {
    cert.certificate()
        .tbs_certificate()
        .validity()
        .not_before
        .to_system_time()
        + Duration::from_secs(3600)
}

fn server_options(at: SystemTime) -> VerifyOptions {
    VerifyOptions::new(at)
        .with_purpose(KeyPurpose::ServerAuth)
        .with_name(PeerName::Dns("api.example.com".into()))
}

#[test]
fn valid_chain_with_dns_and_ip_names() {
    let Some(p) = pki() else { return };
    p.standard();
    let (root, ica, leaf) = (p.cert("root"), p.cert("ica"), p.cert("leaf"));
    let at = shortly_after_issue(&leaf);
    // the intermediates come in any order, with duplicates and an unrelated certificate
    let pool = [root.clone(), ica.clone(), ica.clone()];
    let path = verify(&[root.clone()], &pool, &leaf, &server_options(at)).expect("valid chain");
    let subjects: Vec<&str> = path.certificates().iter().map(Cert::subject).collect();
    assert_eq!(subjects, ["CN=api.example.com", "CN=ica", "CN=root"]);

    let ip: IpAddr = "10.0.0.1".parse().expect("ip");
    let opts = VerifyOptions::new(at).with_name(PeerName::Ip(ip));
    verify(&[root.clone()], &[ica.clone()], &leaf, &opts).expect("IP SAN matches");

    let other: IpAddr = "10.0.0.2".parse().expect("ip");
    let opts = VerifyOptions::new(at).with_name(PeerName::Ip(other));
    let err = verify(&[root], &[ica], &leaf, &opts).expect_err("other IP");
    assert!(
        matches!(err, VerifyError::NameMismatch { ref expected, .. } if expected == "IP address 10.0.0.2"),
        "{err}"
    );
}

#[test]
fn pem_entry_point_and_bad_input() {
    let Some(p) = pki() else { return };
    p.standard();
    let read = |n: &str| std::fs::read(p.path(&format!("{n}.crt"))).expect("read");
    let at = shortly_after_issue(&p.cert("leaf"));
    let path = verify_pem(
        &read("root"),
        Some(&read("ica")),
        &read("leaf"),
        &server_options(at),
    )
    .expect("valid");
    assert_eq!(path.anchor().subject(), "CN=root");

    // without the intermediate there is no path
    let err =
        verify_pem(&read("root"), None, &read("leaf"), &server_options(at)).expect_err("no ica");
    assert!(
        matches!(err, VerifyError::UnknownIssuer { ref subject, ref issuer } if subject == "CN=api.example.com" && issuer == "CN=ica"),
        "{err}"
    );

    let der = p.cert("leaf").der().to_vec();
    let err = Cert::from_der(&der[..der.len() - 10]).expect_err("truncated");
    assert!(matches!(err, VerifyError::Malformed { .. }), "{err}");

    let key_pem = std::fs::read(p.path("leaf.key")).expect("key");
    let err = Cert::from_pem(&key_pem).expect_err("a key is not a certificate");
    assert!(
        matches!(err, VerifyError::PemLabel { ref label } if label == "PRIVATE KEY"),
        "{err}"
    );
}

#[test]
fn expired_and_not_yet_valid() {
    let Some(p) = pki() else { return };
    p.standard();
    let (root, ica, leaf) = (p.cert("root"), p.cert("ica"), p.cert("leaf"));
    let not_after = leaf
        .certificate()
        .tbs_certificate()
        .validity()
        .not_after
        .to_system_time();
    let err = verify(
        &[root.clone()],
        &[ica.clone()],
        &leaf,
        &server_options(not_after + Duration::from_secs(1)),
    )
    .expect_err("expired");
    assert!(
        matches!(err, VerifyError::Expired { ref subject, .. } if subject == "CN=api.example.com"),
        "{err}"
    );

    let not_before = leaf
        .certificate()
        .tbs_certificate()
        .validity()
        .not_before
        .to_system_time();
    let err = verify(
        &[root],
        &[ica],
        &leaf,
        &server_options(not_before - Duration::from_secs(86_400)),
    )
    .expect_err("not yet valid");
    assert!(matches!(err, VerifyError::NotYetValid { .. }), "{err}");
}

#[test]
fn wrong_eku_and_san_mismatch() {
    let Some(p) = pki() else { return };
    p.standard();
    let (root, ica, leaf) = (p.cert("root"), p.cert("ica"), p.cert("leaf"));
    let at = shortly_after_issue(&leaf);
    let opts = VerifyOptions::new(at).with_purpose(KeyPurpose::ClientAuth);
    let err = verify(&[root.clone()], &[ica.clone()], &leaf, &opts)
        .expect_err("server cert for client auth");
    assert!(
        matches!(err, VerifyError::ExtendedKeyUsageNotAllowed { ref required, .. } if *required == KeyPurpose::ClientAuth.oid()),
        "{err}"
    );

    let opts = VerifyOptions::new(at).with_name(PeerName::Dns("other.example.com".into()));
    let err = verify(&[root], &[ica], &leaf, &opts).expect_err("SAN mismatch");
    assert!(matches!(err, VerifyError::NameMismatch { .. }), "{err}");
}

#[test]
fn issuer_without_key_cert_sign() {
    let Some(p) = pki() else { return };
    p.root("root", "3650");
    p.issue(
        "ica",
        "/CN=ica",
        "root",
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
        "3650",
        None,
    );
    p.issue(
        "leaf",
        "/CN=api.example.com",
        "ica",
        SERVER_EXT,
        "365",
        None,
    );
    let leaf = p.cert("leaf");
    let err = verify(
        &[p.cert("root")],
        &[p.cert("ica")],
        &leaf,
        &server_options(shortly_after_issue(&leaf)),
    )
    .expect_err("no keyCertSign");
    assert!(
        matches!(err, VerifyError::MissingKeyCertSign { ref subject } if subject == "CN=ica"),
        "{err}"
    );
}

#[test]
fn path_len_zero_with_a_second_intermediate() {
    let Some(p) = pki() else { return };
    p.root("root", "3650");
    p.issue(
        "ica1",
        "/CN=ica1",
        "root",
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n",
        "3650",
        None,
    );
    p.issue("ica2", "/CN=ica2", "ica1", CA_EXT, "3650", None);
    p.issue(
        "leaf",
        "/CN=api.example.com",
        "ica2",
        SERVER_EXT,
        "365",
        None,
    );
    let leaf = p.cert("leaf");
    let err = verify(
        &[p.cert("root")],
        &[p.cert("ica2"), p.cert("ica1")],
        &leaf,
        &server_options(shortly_after_issue(&leaf)),
    )
    .expect_err("pathlen");
    assert!(
        matches!(err, VerifyError::PathLenExceeded { ref subject, path_len: 0, found: 1 } if subject == "CN=ica1"),
        "{err}"
    );
}

#[test]
fn name_constrained_intermediate() {
    let Some(p) = pki() else { return };
    p.root("root", "3650");
    let nc = format!(
        "{CA_EXT}nameConstraints=critical,permitted;DNS:allowed.example.com,permitted;IP:10.0.0.0/255.0.0.0\n"
    );
    p.issue("ica", "/CN=ica", "root", &nc, "3650", None);
    p.issue(
        "leaf",
        "/CN=api.example.com",
        "ica",
        SERVER_EXT,
        "365",
        None,
    );
    p.issue("good", "/CN=www.allowed.example.com", "ica", "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:www.allowed.example.com\n", "365", None);
    let (root, ica, leaf, good) = (
        p.cert("root"),
        p.cert("ica"),
        p.cert("leaf"),
        p.cert("good"),
    );
    let at = shortly_after_issue(&leaf);
    let err = verify(
        &[root.clone()],
        &[ica.clone()],
        &leaf,
        &VerifyOptions::new(at),
    )
    .expect_err("outside constraints");
    assert!(
        matches!(err, VerifyError::NameConstraintViolation { ref name, ref constrained_by, .. } if name == "DNS:api.example.com" && constrained_by == "CN=ica"),
        "{err}"
    );
    verify(&[root], &[ica], &good, &VerifyOptions::new(at)).expect("inside constraints");
}

#[test]
fn bad_signature_and_weak_key() {
    let Some(p) = pki() else { return };
    p.standard();
    let (root, ica, leaf) = (p.cert("root"), p.cert("ica"), p.cert("leaf"));
    let at = shortly_after_issue(&leaf);
    // the last octet of the DER is the last octet of the ECDSA signature's s
    let mut der = leaf.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let forged = Cert::from_der(&der).expect("still well-formed");
    let err = verify(
        &[root.clone()],
        &[ica.clone()],
        &forged,
        &server_options(at),
    )
    .expect_err("forged");
    assert!(
        matches!(err, VerifyError::BadSignature { ref issuer, ref source, .. } if issuer == "CN=ica" && matches!(**source, KeyError::BadSignature)),
        "{err}"
    );

    p.root("root2", "3650");
    p.issue(
        "weak",
        "/CN=api.example.com",
        "root2",
        SERVER_EXT,
        "365",
        Some("1024"),
    );
    let weak = p.cert("weak");
    let err = verify(&[p.cert("root2")], &[], &weak, &server_options(at)).expect_err("weak key");
    assert!(
        matches!(err, VerifyError::BadPublicKey { ref source, .. } if matches!(**source, KeyError::WeakKey { bits: 1024, min: 2048 })),
        "{err}"
    );
}

#[test]
fn kubernetes_user_and_groups() {
    let Some(p) = pki() else { return };
    p.root("ca", "3650");
    let client = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
    p.issue(
        "jane",
        "/O=dev/O=system:masters/CN=jane",
        "ca",
        client,
        "365",
        None,
    );
    p.issue("nocn", "/O=dev", "ca", client, "365", None);
    p.issue(
        "server",
        "/CN=api.example.com",
        "ca",
        SERVER_EXT,
        "365",
        None,
    );
    let ca = p.cert("ca");
    let jane = p.cert("jane");
    let at = shortly_after_issue(&jane);
    let id = kubernetes_identity(&jane, &[ca.clone()], &[], at).expect("client cert");
    assert_eq!(id.user, "jane");
    assert_eq!(id.groups, ["dev", "system:masters"]);

    let err = kubernetes_identity(&p.cert("nocn"), &[ca.clone()], &[], at).expect_err("no CN");
    assert!(matches!(err, VerifyError::NoKubernetesUser { .. }), "{err}");
    let err = kubernetes_identity(&p.cert("server"), &[ca], &[], at).expect_err("server cert");
    assert!(
        matches!(err, VerifyError::ExtendedKeyUsageNotAllowed { .. }),
        "{err}"
    );
}
