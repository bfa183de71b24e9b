//! `kubepki csr create`: a PKCS#10 request from a key.

use std::path::PathBuf;

use clap::Args;
use kubepki::keys::KeyFormat;
use kubepki::{CsrBuilder, KeyAlgorithm, KeyPair, San, Subject};
use kubepki_fs::{FileKind, write_atomic};

use crate::error::{CliError, CliResult};
use crate::files::{load_key, overwrite, refuse_existing};

#[derive(Debug, Args)]
pub(crate) struct CsrCreateArgs {
    /// The private key that signs the request.
    #[arg(long, short = 'k')]
    pub(crate) key: PathBuf,
    /// Generate the key first with this algorithm (refuses to overwrite --key without --force).
    #[arg(long)]
    pub(crate) generate_key: Option<String>,
    /// Passphrase file for an encrypted key.
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// The subject, OpenSSL style (`/CN=jane/O=dev`) or RFC 4514 (`CN=jane,O=dev`).
    #[arg(long, short = 's')]
    pub(crate) subject: Option<String>,
    /// Common name (the Kubernetes user), instead of --subject.
    #[arg(long)]
    pub(crate) cn: Option<String>,
    /// Organization (a Kubernetes group); repeat for several.
    #[arg(long = "org", short = 'O')]
    pub(crate) orgs: Vec<String>,
    /// Subject alternative name: DNS:name, IP:addr, URI:uri, email:addr (or a bare name or
    /// address); repeat or separate with commas.
    #[arg(long = "san", value_delimiter = ',')]
    pub(crate) sans: Vec<String>,
    /// Where to write the CSR.
    #[arg(long, short = 'o')]
    pub(crate) out: PathBuf,
    /// Replace existing files: --out, and --key when generating one.
    #[arg(long)]
    pub(crate) force: bool,
}

pub(crate) fn csr_create(args: &CsrCreateArgs) -> CliResult<()> {
    refuse_existing([&args.out], args.force)?;
    let subject = match (&args.subject, &args.cn) {
        (Some(_), Some(_)) => {
            return Err(CliError(
                "give --subject or --cn/--org, not both".to_owned(),
            ));
        }
        (Some(text), None) => {
            if !args.orgs.is_empty() {
                return Err(CliError(
                    "--org goes with --cn, not with --subject".to_owned(),
                ));
            }
            Subject::parse(text)?
        }
        (None, Some(cn)) => Subject::from_parts(cn, &args.orgs),
        (None, None) => {
            return Err(CliError(
                "a subject is needed: --subject or --cn".to_owned(),
            ));
        }
    };
    let sans = args
        .sans
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| San::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    // The request is built before anything is written, so that a refused subject or SAN
    // never leaves a new key behind without its request.
    let (key, generated) = match &args.generate_key {
        Some(algorithm) => {
            let algorithm: KeyAlgorithm = algorithm.parse()?;
            if !args.force && args.key.exists() {
                return Err(kubepki_fs::FsError::Exists {
                    path: args.key.clone(),
                }
                .into());
            }
            (KeyPair::generate(algorithm)?, true)
        }
        None => (load_key(&args.key, args.passphrase_file.as_ref())?, false),
    };
    let csr = CsrBuilder::new(subject).sans(sans).build(&key)?;
    for warning in csr.warnings() {
        eprintln!("warning: {warning}");
    }
    if generated {
        if !args.force && args.out.exists() {
            return Err(kubepki_fs::FsError::Exists {
                path: args.out.clone(),
            }
            .into());
        }
        write_atomic(
            &args.key,
            key.to_pem(KeyFormat::Pkcs8)?.as_bytes(),
            FileKind::Secret,
            overwrite(args.force),
        )?;
    }
    write_atomic(
        &args.out,
        csr.to_pem().as_bytes(),
        FileKind::Public,
        overwrite(args.force),
    )?;
    eprintln!("wrote CSR {} for {}", args.out.display(), csr.subject());
    Ok(())
}
