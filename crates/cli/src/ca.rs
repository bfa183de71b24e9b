//! `kubepki ca init`: a root or intermediate CA.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::Args;
use kubepki::profile::parse_duration;
use kubepki::{Ca, ClusterParams, IssueOptions, KeyAlgorithm, KeyPair, Signer, Subject};
use kubepki_fs::{FileKind, write_atomic};

use crate::error::{CliError, CliResult};
use crate::files::overwrite;
use crate::key::{KeyFileFormat, key_pem};

#[derive(Debug, Args)]
pub(crate) struct CaInitArgs {
    /// Where to write the CA certificate.
    #[arg(long)]
    pub(crate) cert: PathBuf,
    /// Where to write the CA key (0600), or a `pkcs11:` URI: the token's private key with
    /// that label signs when there is one, else a new key is generated on the token.
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The subject.
    #[arg(long, short = 's', default_value = "/CN=kubernetes")]
    pub(crate) subject: String,
    /// The key algorithm.
    #[arg(long, short = 'a', default_value = "RSA-2048")]
    pub(crate) algorithm: String,
    /// The validity, e.g. 87600h (10 years, kubeadm's).
    #[arg(long, default_value = kubepki::profile::DEFAULT_CA_VALIDITY_TEXT)]
    pub(crate) validity: String,
    /// The CA profile.
    #[arg(long, default_value = "ca")]
    pub(crate) profile: String,
    /// Path length constraint (how many CAs may follow below).
    #[arg(long)]
    pub(crate) path_len: Option<u8>,
    /// Key file format.
    #[arg(long, value_enum, default_value = "traditional")]
    pub(crate) format: KeyFileFormat,
    /// Make an intermediate signed by this parent CA certificate...
    #[arg(long, requires = "parent_key")]
    pub(crate) parent_cert: Option<PathBuf>,
    /// ...and this parent CA key (a file or a `pkcs11:` URI).
    #[arg(long, requires = "parent_cert")]
    pub(crate) parent_key: Option<PathBuf>,
    /// Replace an existing CA key and certificate.
    #[arg(long)]
    pub(crate) force: bool,
}

pub(crate) fn ca_init(args: &CaInitArgs) -> CliResult<()> {
    let on_token = crate::hsm::uri_of(&args.key);
    if !args.force {
        // A key on a token is never replaced, only used: no file to check for it.
        let files = match on_token {
            Some(_) => vec![&args.cert],
            None => vec![&args.key, &args.cert],
        };
        for path in files {
            if path.exists() {
                return Err(CliError(format!(
                    "{} already exists: refusing to replace a CA (use --force to replace it)",
                    path.display()
                )));
            }
        }
    }
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let subject = Subject::parse(&args.subject)?;
    // The generic `ca` profile takes the CN given (kubeadm's `kubernetes`, the tutorials'
    // `KUBERNETES-CA`) and, as kubeadm does, repeats it as a DNS SAN.
    let mut profile = match (args.profile.as_str(), subject.common_name()) {
        ("ca", Some(cn)) => kubepki::profile::ca_profile("ca", cn),
        _ => kubepki::find_profile(&args.profile, None, &ClusterParams::default())?,
    };
    if let Some(path_len) = args.path_len {
        match profile.ca.as_mut() {
            Some(ca) => ca.path_len = Some(path_len),
            None => {
                return Err(CliError(format!(
                    "profile {} is not a CA profile",
                    profile.name
                )));
            }
        }
    }
    let validity = parse_duration(&args.validity)?;
    if validity > profile.max_validity {
        profile.max_validity = validity;
    }
    let options = IssueOptions::at(SystemTime::now()).with_validity(validity);
    // The parent first: a parent that does not load must not leave a new key on a token.
    let parent = match (&args.parent_cert, &args.parent_key) {
        (Some(parent_cert), Some(parent_key)) => {
            Some(crate::hsm::load_ca(parent_cert, parent_key, None)?)
        }
        _ => None,
    };
    let (signer, pem, said): (Box<dyn Signer>, _, _) = match on_token {
        Some(uri) => {
            let (uri, token) = crate::hsm::open(uri)?;
            let (signer, what) = match token.find_signer(&uri)? {
                Some(signer) => (signer, "using the existing"),
                None => (token.generate(&uri, algorithm)?, "generated"),
            };
            let said = format!(
                "{what} {} key {:?} (id {}) on token {}",
                signer.public_key().kind(),
                signer.label(),
                signer.id_hex(),
                token.label()
            );
            (Box::new(signer), None, said)
        }
        None => {
            let key = KeyPair::generate(algorithm)?;
            let pem = key_pem(&key, args.format, None)?;
            let said = format!("its key {}", args.key.display());
            (Box::new(key), Some(pem), said)
        }
    };
    let ca = match &parent {
        Some(parent) => {
            let (ca, warnings) =
                parent.issue_intermediate_with_warnings(signer, &subject, &profile, &options)?;
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            ca
        }
        None => Ca::self_signed(signer, &subject, &profile, &options)?,
    };
    // The key first: a certificate without its key is useless, a key without its
    // certificate can be certified again.
    if let Some(pem) = pem {
        write_atomic(
            &args.key,
            pem.as_bytes(),
            FileKind::Secret,
            overwrite(args.force),
        )?;
    }
    let mut cert_pem = ca.certificate_pem();
    for above in ca.chain_der() {
        cert_pem.push_str(&kubepki::keys::pem::pem_encode("CERTIFICATE", above));
    }
    write_atomic(
        &args.cert,
        cert_pem.as_bytes(),
        FileKind::Public,
        overwrite(args.force),
    )?;
    eprintln!(
        "wrote CA {} ({}), {said}",
        args.cert.display(),
        ca.subject(),
    );
    Ok(())
}
