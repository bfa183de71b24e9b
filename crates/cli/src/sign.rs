//! `kubepki sign`: one CSR, signed under a profile.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::Args;
use kubepki::profile::parse_duration;
use kubepki::{ClusterParams, Csr, IssueOptions};
use kubepki_fs::{FileKind, write_atomic};

use crate::error::{CliError, CliResult, in_file};
use crate::files::{overwrite, read_file, refuse_existing};

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The CA certificate.
    #[arg(long)]
    pub(crate) ca_cert: PathBuf,
    /// The CA key: a file, or a `pkcs11:` URI of a key on a token (PIN from `pin-source`
    /// or `KUBEPKI_PKCS11_PIN`, module from `module-path` or `KUBEPKI_PKCS11_MODULE`).
    #[arg(long)]
    pub(crate) ca_key: PathBuf,
    /// Passphrase file for an encrypted CA key.
    #[arg(long)]
    pub(crate) ca_passphrase_file: Option<PathBuf>,
    /// The CSR to sign.
    #[arg(long)]
    pub(crate) csr: PathBuf,
    /// The profile (see `kubepki profiles`).
    #[arg(long, short = 'p', default_value = "client")]
    pub(crate) profile: String,
    /// A YAML file of custom profiles; --profile then names one of them.
    #[arg(long)]
    pub(crate) profiles_file: Option<PathBuf>,
    /// Validity, e.g. 8760h or 10m (default: the profile's).
    #[arg(long)]
    pub(crate) validity: Option<String>,
    /// Node name, for the profiles that need one (etcd-server, kubelet-*, apiserver).
    #[arg(long)]
    pub(crate) node_name: Option<String>,
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
    let ca = crate::hsm::load_ca(
        &args.ca_cert,
        &args.ca_key,
        args.ca_passphrase_file.as_ref(),
    )?;
    let profiles_yaml = match &args.profiles_file {
        Some(path) => Some(
            String::from_utf8(read_file(path)?)
                .map_err(|_| CliError(format!("{}: not UTF-8 text", path.display())))?,
        ),
        None => None,
    };
    let params = ClusterParams {
        node_name: args.node_name.clone(),
        ..ClusterParams::default()
    };
    let profile = kubepki::find_profile(&args.profile, profiles_yaml.as_deref(), &params)?;
    let validity = args.validity.as_deref().map(parse_duration).transpose()?;
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
