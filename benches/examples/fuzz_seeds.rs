//! Writes the fuzz corpora seeds to `fuzz/seeds/<target>/` (or the folder given as the first
//! argument): requests, certificates and chains, keys in every format, profile files.
//!
//! ```sh
//! cargo run -p kubepki-benches --example fuzz_seeds -- fuzz/seeds
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};

use kubepki_csr::{CsrBuilder, San, Subject};
use kubepki_fs::{FileKind, Overwrite, create_dir_all, write_atomic};
use kubepki_keys::{KeyAlgorithm, KeyFormat, KeyPair};
use kubepki_profile::{ClusterParams, builtin, ca_profile};
use kubepki_sign::{Ca, IssueOptions};

/// The passphrase of the encrypted key seeds (the key_parse target tries it).
const PASSPHRASE: &[u8] = b"fuzz-passphrase";

const PROFILES: &str = r#"default: client
profiles:
  client:
    description: users
    usages: [digital signature, key encipherment, client auth]
    expiry: 8760h
    subject:
      require_common_name: true
      forbidden_organizations: [system:masters]
    sans: {allowed: [DNS, IP, URI, email]}
  node:
    usages: [digital signature, key encipherment, server auth]
    expiry: 720h
    max_expiry: 90d
    backdate: 1m
    subject:
      common_name_prefix: "system:node:"
      organizations: [system:nodes]
    sans: {allowed: [DNS, IP], required: [DNS], extra: ["DNS:x", "IP:1.2.3.4"]}
  sub-ca:
    usages: [digital signature, cert sign, crl sign]
    expiry: 43800h
    ca: {path_len: 0}
    subject: {common_name: intermediate, required_organizations: [kubepki]}
"#;

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> Result<(), Box<dyn Error>> {
    let folder = dir.join(target);
    create_dir_all(&folder, FileKind::Public)?;
    write_atomic(
        &folder.join(name),
        bytes,
        FileKind::Public,
        Overwrite::Replace,
    )?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("fuzz/seeds"), PathBuf::from);
    let options = IssueOptions::at(kubepki_benches::bench_now());

    let root = Ca::self_signed(
        Box::new(KeyPair::generate(KeyAlgorithm::EcdsaP256)?),
        &Subject::from_parts::<&str>("kubernetes", &[]),
        &ca_profile("ca", "kubernetes"),
        &options,
    )?;
    create_dir_all(&dir, FileKind::Public)?;
    write_atomic(
        &dir.join("anchor.pem"),
        root.certificate_pem().as_bytes(),
        FileKind::Public,
        Overwrite::Replace,
    )?;
    let intermediate = root.issue_intermediate(
        Box::new(KeyPair::generate(KeyAlgorithm::EcdsaP384)?),
        &Subject::from_parts::<&str>("kubepki-intermediate", &[]),
        &ca_profile("intermediate", "kubepki-intermediate"),
        &options,
    )?;
    let server = builtin("server", &ClusterParams::default())?;
    let client = builtin("client", &ClusterParams::default())?;

    for algorithm in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Rsa2048,
    ] {
        let name = algorithm.name().to_ascii_lowercase();
        let key = KeyPair::generate(algorithm)?;
        // Requests.
        let server_csr = CsrBuilder::new(Subject::from_parts::<&str>("node-1.example", &[]))
            .san(San::dns("node-1.example")?)
            .san(San::parse("IP:10.96.0.1")?)
            .san(San::parse("IP:fd00::1")?)
            .build(&key)?;
        let client_csr = CsrBuilder::new(Subject::parse("/CN=jane/O=dev/O=ops/OU=system:masters")?)
            .san(San::parse("email:jane@example.com")?)
            .san(San::parse("URI:spiffe://cluster.local/ns/a/sa/b")?)
            .build(&key)?;
        write(
            &dir,
            "csr_parse",
            &format!("{name}-server.pem"),
            server_csr.to_pem().as_bytes(),
        )?;
        write(
            &dir,
            "csr_parse",
            &format!("{name}-client.der"),
            client_csr.to_der(),
        )?;
        // Certificates and chains.
        let leaf = root.issue(&server_csr, &server, &options)?;
        let under_intermediate = intermediate.issue(&client_csr, &client, &options)?;
        write(
            &dir,
            "cert_inspect",
            &format!("{name}-leaf.der"),
            leaf.der(),
        )?;
        write(
            &dir,
            "cert_inspect",
            &format!("{name}-chain.pem"),
            under_intermediate.chain_pem().as_bytes(),
        )?;
        write(
            &dir,
            "verify_chain",
            &format!("{name}-leaf.pem"),
            leaf.pem().as_bytes(),
        )?;
        write(
            &dir,
            "verify_chain",
            &format!("{name}-chain.pem"),
            under_intermediate.chain_pem().as_bytes(),
        )?;
        // Keys.
        write(
            &dir,
            "key_parse",
            &format!("{name}-pkcs8.pem"),
            key.to_pem(KeyFormat::Pkcs8)?.as_bytes(),
        )?;
        write(
            &dir,
            "key_parse",
            &format!("{name}-traditional.pem"),
            key.to_pem(KeyFormat::Traditional)?.as_bytes(),
        )?;
        write(
            &dir,
            "key_parse",
            &format!("{name}-pkcs8.der"),
            &key.to_pkcs8_der()?,
        )?;
        write(
            &dir,
            "key_parse",
            &format!("{name}-public.pem"),
            key.public_key().to_pem().as_bytes(),
        )?;
    }
    // One encrypted key: scrypt makes each run slow, one seed is enough to reach the code.
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
    write(
        &dir,
        "key_parse",
        "ecdsa-p256-encrypted.pem",
        key.to_encrypted_pem(PASSPHRASE)?.as_bytes(),
    )?;
    write(
        &dir,
        "cert_inspect",
        "root.pem",
        root.certificate_pem().as_bytes(),
    )?;
    write(
        &dir,
        "cert_inspect",
        "intermediate.pem",
        intermediate.certificate_pem().as_bytes(),
    )?;
    write(&dir, "profile_yaml", "profiles.yaml", PROFILES.as_bytes())?;
    write(
        &dir,
        "profile_yaml",
        "minimal.yaml",
        b"profiles:\n  c:\n    usages: [client auth]\n    expiry: 1h\n",
    )?;
    eprintln!("wrote seeds under {}", dir.display());
    Ok(())
}
