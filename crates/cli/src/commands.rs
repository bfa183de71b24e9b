//! What each command does: read files, call the library, write files, print.

use std::process::ExitCode;
use std::time::SystemTime;

use kubepki::keys::KeyFormat;
use kubepki::profile::parse_duration;
use kubepki::{
    Ca, ClusterParams, Csr, CsrBuilder, IssueOptions, KeyAlgorithm, KeyPair, San, Signer, Subject,
};
use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::args::{
    CaCommand, CaInitArgs, Cli, Command, CsrCommand, CsrCreateArgs, KeyCommand, KeyFileFormat,
    KeyGenerateArgs, KeyPublicArgs, SignArgs,
};
use crate::error::{CliError, CliResult, in_file};
use crate::files::{load_key, overwrite, read_file, read_passphrase, refuse_existing};

fn key_pem(
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

pub(crate) fn run(cli: Cli) -> CliResult<ExitCode> {
    match cli.command {
        Command::Key(KeyCommand::Generate(args)) => key_generate(&args),
        Command::Key(KeyCommand::Public(args)) => key_public(&args),
        Command::Key(KeyCommand::List(args)) => crate::hsm::key_list(&args),
        Command::Csr(CsrCommand::Create(args)) => csr_create(&args),
        Command::Ca(CaCommand::Init(args)) => ca_init(&args),
        Command::Sign(args) => sign(&args),
        Command::Csr(CsrCommand::Manifest(args)) => crate::api::csr_manifest(&args),
        Command::Create(args) => crate::api::create(&args, SystemTime::now()),
        Command::Get(args) => crate::api::get(&args, SystemTime::now()),
        Command::Certificate(command) => crate::api::certificate(&command, SystemTime::now()),
        Command::Delete(args) => crate::api::delete(&args),
        Command::Controller(args) => crate::api::controller(&args),
        Command::SignBatch(args) => crate::batch::sign_batch(&args, SystemTime::now()),
        Command::Inspect(args) => crate::inspect::inspect(&args, SystemTime::now()),
        Command::Profiles(args) => crate::inspect::profiles(&args),
        Command::Verify(args) => crate::verify::verify(&args),
        Command::Init(args) => return crate::cluster::run_init(&args),
        Command::Certs(command) => return crate::cluster::run_certs(&command),
        Command::Kubeconfig(command) => return crate::cluster::run_kubeconfig(&command),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn key_generate(args: &KeyGenerateArgs) -> CliResult<()> {
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

fn key_public(args: &KeyPublicArgs) -> CliResult<()> {
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

fn csr_create(args: &CsrCreateArgs) -> CliResult<()> {
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
    let key = match &args.generate_key {
        Some(algorithm) => {
            let algorithm: KeyAlgorithm = algorithm.parse()?;
            if !args.force && args.key.exists() {
                return Err(kubepki_fs::FsError::Exists {
                    path: args.key.clone(),
                }
                .into());
            }
            let key = KeyPair::generate(algorithm)?;
            write_atomic(
                &args.key,
                key.to_pem(KeyFormat::Pkcs8)?.as_bytes(),
                FileKind::Secret,
                overwrite(args.force),
            )?;
            key
        }
        None => load_key(&args.key, args.passphrase_file.as_ref())?,
    };
    let csr = CsrBuilder::new(subject).sans(sans).build(&key)?;
    for warning in csr.warnings() {
        eprintln!("warning: {warning}");
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

fn ca_init(args: &CaInitArgs) -> CliResult<()> {
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

fn sign(args: &SignArgs) -> CliResult<()> {
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
