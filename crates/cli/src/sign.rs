//! `kubepki sign`: one CSR, signed under a profile.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::Args;
use kubepki::{Csr, IssueOptions};
use kubepki_fs::{FileKind, write_atomic};

use crate::error::{CliResult, in_file};
use crate::files::{overwrite, read_file, refuse_existing};
use crate::issuer::IssuerArgs;

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) issuer: IssuerArgs,
    /// The CSR to sign.
    #[arg(long)]
    pub(crate) csr: PathBuf,
    /// The profile (see `kubepki profiles`).
    #[arg(long, short = 'p', default_value = "client")]
    pub(crate) profile: String,
    /// Where to write the certificate.
    #[arg(long, short = 'o')]
    pub(crate) out: PathBuf,
    /// Append the CA chain (for an intermediate CA) after the certificate.
    #[arg(long)]
    pub(crate) chain: bool,
    /// Replace an existing --out file (`sign ... -o ca.crt` would otherwise replace the CA).
    #[arg(long)]
    pub(crate) force: bool,
}

pub(crate) fn sign(args: &SignArgs) -> CliResult<()> {
    refuse_existing([&args.out], args.force)?;
    let now = SystemTime::now();
    let (ca, profile, validity) = args.issuer.load(&args.profile)?;
    let csr = Csr::from_bytes(&read_file(&args.csr)?).map_err(|e| in_file(&args.csr)(e.into()))?;
    for warning in csr.warnings() {
        eprintln!("warning: {warning}");
    }
    let issued = ca.issue(&csr, &profile, &IssueOptions { now, validity })?;
    for warning in issued.warnings() {
        eprintln!("warning: {warning}");
    }
    let pem = if args.chain {
        issued.chain_pem()
    } else {
        issued.pem()
    };
    write_atomic(
        &args.out,
        pem.as_bytes(),
        FileKind::Public,
        overwrite(args.force),
    )?;
    eprintln!(
        "wrote {} for {} under profile {}",
        args.out.display(),
        csr.subject(),
        profile.name
    );
    Ok(())
}
