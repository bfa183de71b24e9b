//! `kubepki key generate` and `key public`: private keys in files (on a token: hsm.rs).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use kubepki::keys::KeyFormat;
use kubepki::{KeyAlgorithm, KeyPair, Signer};
use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::error::{CliError, CliResult};
use crate::files::{load_key, overwrite, read_passphrase, refuse_existing};

/// How a private key file is written.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum KeyFileFormat {
    /// PKCS#8 `PRIVATE KEY`.
    Pkcs8,
    /// kubeadm's: PKCS#1 `RSA PRIVATE KEY` for RSA, SEC1 `EC PRIVATE KEY` for ECDSA.
    Traditional,
    /// PKCS#1 (RSA keys only).
    Pkcs1,
    /// SEC1 (ECDSA keys only).
    Sec1,
}

#[derive(Debug, Args)]
pub(crate) struct KeyGenerateArgs {
    /// RSA-2048, RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384.
    #[arg(long, short = 'a', default_value = "ECDSA-P256")]
    pub(crate) algorithm: String,
    /// Where to write the key; a `pkcs11:token=...;object=LABEL` URI generates it on the
    /// token instead (sensitive, never extractable).
    #[arg(long, short = 'o')]
    pub(crate) out: PathBuf,
    /// The file format.
    #[arg(long, value_enum, default_value = "pkcs8")]
    pub(crate) format: KeyFileFormat,
    /// Encrypt the key (PKCS#8 PBES2) with the passphrase in this file (first line).
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Also write the public key here.
    #[arg(long)]
    pub(crate) public_out: Option<PathBuf>,
    /// Replace existing files (--out and --public-out).
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct KeyPublicArgs {
    /// The private key: a file, or a `pkcs11:` URI of a key on a token.
    #[arg(long, short = 'k')]
    pub(crate) key: PathBuf,
    /// Passphrase file for an encrypted key.
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Where to write the public key (stdout when absent).
    #[arg(long, short = 'o')]
    pub(crate) out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub(crate) force: bool,
}

pub(crate) fn key_pem(
    key: &KeyPair,
    format: KeyFileFormat,
    passphrase: Option<&[u8]>,
) -> CliResult<kubepki::keys::KeyPem> {
    let rsa = key.algorithm().rsa_bits().is_some();
    match (format, passphrase) {
        (KeyFileFormat::Pkcs8, Some(p)) => Ok(key.to_encrypted_pem(p)?),
        (_, Some(_)) => Err(CliError(
            "an encrypted key is written as PKCS#8: use --format pkcs8".to_owned(),
        )),
        (KeyFileFormat::Pkcs1, None) if !rsa => Err(CliError(format!(
            "PKCS#1 holds RSA keys only, not {}: use --format sec1 or pkcs8",
            key.algorithm()
        ))),
        (KeyFileFormat::Sec1, None) if rsa => Err(CliError(format!(
            "SEC1 holds EC keys only, not {}: use --format pkcs1 or pkcs8",
            key.algorithm()
        ))),
        (KeyFileFormat::Pkcs8, None) => Ok(key.to_pem(KeyFormat::Pkcs8)?),
        (_, None) => Ok(key.to_pem(KeyFormat::Traditional)?),
    }
}

pub(crate) fn key_generate(args: &KeyGenerateArgs) -> CliResult<()> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    if let Some(uri) = crate::hsm::uri_of(&args.out) {
        return key_generate_on_token(args, uri, algorithm);
    }
    let passphrase = read_passphrase(args.passphrase_file.as_ref())?;
    // Refuse before the (slow) generation, and again atomically when writing.
    if !args.force && args.out.exists() {
        return Err(kubepki_fs::FsError::Exists {
            path: args.out.clone(),
        }
        .into());
    }
    refuse_existing(
        std::iter::once(&args.out).chain(&args.public_out),
        args.force,
    )?;
    let key = KeyPair::generate(algorithm)?;
    let pem = key_pem(&key, args.format, passphrase.as_deref())?;
    write_atomic(
        &args.out,
        pem.as_bytes(),
        FileKind::Secret,
        overwrite(args.force),
    )?;
    if let Some(public) = &args.public_out {
        write_atomic(
            public,
            key.public_key().to_pem().as_bytes(),
            FileKind::Public,
            overwrite(args.force),
        )?;
    }
    eprintln!("wrote {} key {}", algorithm, args.out.display());
    Ok(())
}

/// `key generate --out pkcs11:...`: the key is made on the token and never leaves it.
fn key_generate_on_token(
    args: &KeyGenerateArgs,
    uri: &str,
    algorithm: KeyAlgorithm,
) -> CliResult<()> {
    if args.passphrase_file.is_some() || args.force {
        return Err(CliError(
            "--passphrase-file and --force are for key files: a key on a token is protected by the token and never replaced".to_owned(),
        ));
    }
    refuse_existing(&args.public_out, false)?;
    let (uri, token) = crate::hsm::open(uri)?;
    let signer = token.generate(&uri, algorithm)?;
    if let Some(public) = &args.public_out {
        write_atomic(
            public,
            signer.public_key().to_pem().as_bytes(),
            FileKind::Public,
            Overwrite::Refuse,
        )?;
    }
    eprintln!(
        "generated {} key {:?} (id {}) on token {}: sensitive, not extractable",
        algorithm,
        signer.label(),
        signer.id_hex(),
        token.label()
    );
    Ok(())
}

pub(crate) fn key_public(args: &KeyPublicArgs) -> CliResult<()> {
    let pem = match crate::hsm::uri_of(&args.key) {
        Some(uri) => crate::hsm::signer(uri)?.public_key().to_pem(),
        None => load_key(&args.key, args.passphrase_file.as_ref())?
            .public_key()
            .to_pem(),
    };
    match &args.out {
        Some(out) => write_atomic(out, pem.as_bytes(), FileKind::Public, overwrite(args.force))?,
        None => print!("{pem}"),
    }
    Ok(())
}
