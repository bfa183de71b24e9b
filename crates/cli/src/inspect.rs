//! `kubepki inspect` and `kubepki profiles`: printing only.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::Args;
use kubepki::keys::pem::{looks_like_pem, pem_blocks};
use kubepki::sign::certificates_from_bytes;
use kubepki::{CertificateInfo, ClusterParams, Csr, KeyPair, Profile, PublicKey};
use serde_json::{Value, json};

use crate::error::{CliError, CliResult};
use crate::files::{read_file, read_passphrase};
use crate::output::OutputFormat;

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The file: certificate, chain, CSR, private or public key, PEM or DER.
    pub(crate) file: PathBuf,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
    /// Passphrase file for an encrypted key.
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ProfilesArgs {
    /// Show this profile in full.
    pub(crate) name: Option<String>,
    /// A YAML file of custom profiles.
    #[arg(long)]
    pub(crate) profiles_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
}

/// RFC 3339 UTC, whole seconds.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    kubepki::sign::Timestamp(time).to_string()
}

fn cert_json(info: &CertificateInfo, now: SystemTime) -> Value {
    json!({
        "kind": "certificate",
        "subject": info.subject.to_string(),
        "issuer": info.issuer.to_string(),
        "serial": info.serial,
        "not_before": rfc3339(info.not_before),
        "not_after": rfc3339(info.not_after),
        "days_left": info.days_left(now),
        "is_ca": info.is_ca,
        "path_len": info.path_len,
        "public_key": info.public_key,
        "signature_algorithm": info.signature_algorithm,
        "sans": info.sans.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "usages": info.usages.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "kubernetes": {
            "username": info.username(),
            "groups": info.groups(),
        },
    })
}

fn csr_json(csr: &Csr) -> Value {
    json!({
        "kind": "certificate request",
        "subject": csr.subject().to_string(),
        "public_key": csr.public_key().kind().describe(),
        "proof_of_possession": "verified",
        "sans": csr.sans().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "requested_extensions": csr.requested_extensions().iter().map(|e| json!({"name": e.name, "critical": e.critical})).collect::<Vec<_>>(),
        "kubernetes": {
            "username": csr.username(),
            "groups": csr.groups(),
        },
        "warnings": csr.warnings(),
    })
}

fn key_json(kind: &str, public: &PublicKey) -> Value {
    json!({
        "kind": kind,
        "algorithm": public.kind().describe(),
        "bits": public.kind().bits(),
    })
}

fn print_cert_text(info: &CertificateInfo, now: SystemTime) {
    println!("Certificate");
    println!("  Subject:        {}", info.subject);
    println!("  Issuer:         {}", info.issuer);
    println!("  Serial:         {}", info.serial);
    println!("  Not before:     {}", rfc3339(info.not_before));
    println!("  Not after:      {}", rfc3339(info.not_after));
    let days = info.days_left(now);
    if days < 0 {
        println!("  Days left:      expired {} days ago", -days);
    } else {
        println!("  Days left:      {days}");
    }
    match (info.is_ca, info.path_len) {
        (true, Some(n)) => println!("  CA:             yes (path length {n})"),
        (true, None) => println!("  CA:             yes"),
        (false, _) => println!("  CA:             no"),
    }
    println!("  Public key:     {}", info.public_key);
    println!("  Signature:      {}", info.signature_algorithm);
    if !info.sans.is_empty() {
        let sans: Vec<String> = info.sans.iter().map(ToString::to_string).collect();
        println!("  SANs:           {}", sans.join(", "));
    }
    let usages: Vec<&str> = info.usages.iter().map(|u| u.as_str()).collect();
    println!("  Usages:         {}", usages.join(", "));
    println!("  Kubernetes:");
    println!("    username:     {}", info.username().unwrap_or("(no CN)"));
    println!("    groups:       {}", info.groups().join(", "));
}

fn print_csr_text(csr: &Csr) {
    println!("Certificate request (proof of possession verified)");
    println!("  Subject:        {}", csr.subject());
    println!("  Public key:     {}", csr.public_key().kind());
    if !csr.sans().is_empty() {
        let sans: Vec<String> = csr.sans().iter().map(ToString::to_string).collect();
        println!("  SANs:           {}", sans.join(", "));
    }
    let extensions: Vec<String> = csr
        .requested_extensions()
        .iter()
        .map(|e| {
            if e.critical {
                format!("{} (critical)", e.name)
            } else {
                e.name.clone()
            }
        })
        .collect();
    if !extensions.is_empty() {
        println!("  Extensions:     {}", extensions.join(", "));
    }
    println!("  Kubernetes:");
    println!("    username:     {}", csr.username().unwrap_or("(no CN)"));
    println!("    groups:       {}", csr.groups().join(", "));
    for warning in csr.warnings() {
        println!("  Warning:        {warning}");
    }
}

/// What a file holds, from its first PEM label or by trying the DER decoders.
enum Detected {
    Certificates(Vec<Vec<u8>>),
    Request(Box<Csr>),
    PrivateKey(Box<KeyPair>),
    PublicKey(Box<PublicKey>),
}

fn detect(bytes: &[u8], passphrase: Option<&[u8]>) -> CliResult<Detected> {
    if looks_like_pem(bytes) {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| CliError("PEM text is not valid UTF-8".to_owned()))?;
        let blocks = pem_blocks(text)?;
        let label = blocks
            .iter()
            .map(|b| b.label.as_str())
            .find(|l| *l != "EC PARAMETERS")
            .unwrap_or("");
        return match label {
            "CERTIFICATE" => Ok(Detected::Certificates(certificates_from_bytes(bytes)?)),
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                Ok(Detected::Request(Box::new(Csr::from_pem(text)?)))
            }
            "PUBLIC KEY" => Ok(Detected::PublicKey(Box::new(PublicKey::from_pem(text)?))),
            l if l.contains("PRIVATE KEY") => Ok(Detected::PrivateKey(Box::new(
                KeyPair::from_pem(text, passphrase)?,
            ))),
            other => Err(CliError(format!(
                "PEM label {other:?} is not a certificate, CSR or key"
            ))),
        };
    }
    if kubepki::sign::parse_certificate(bytes).is_ok() {
        return Ok(Detected::Certificates(vec![bytes.to_vec()]));
    }
    if let Ok(csr) = Csr::from_der(bytes) {
        return Ok(Detected::Request(Box::new(csr)));
    }
    if let Ok(key) = KeyPair::from_der(bytes) {
        return Ok(Detected::PrivateKey(Box::new(key)));
    }
    if let Ok(key) = PublicKey::from_der(bytes) {
        return Ok(Detected::PublicKey(Box::new(key)));
    }
    // Give the most useful error: the one from the CSR parser names signature failures.
    match Csr::from_der(bytes) {
        Err(kubepki::CsrError::Malformed(_)) | Ok(_) => Err(CliError(
            "not a certificate, CSR, private key or public key (PEM or DER)".to_owned(),
        )),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn inspect(args: &InspectArgs, now: SystemTime) -> CliResult<()> {
    let passphrase = read_passphrase(args.passphrase_file.as_ref())?;
    let bytes = read_file(&args.file)?;
    let detected = detect(&bytes, passphrase.as_deref())
        .map_err(|e| CliError(format!("{}: {e}", args.file.display())))?;
    match (detected, args.output) {
        (Detected::Certificates(ders), output) => {
            let infos = ders
                .iter()
                .map(|d| CertificateInfo::from_der(d))
                .collect::<Result<Vec<_>, _>>()?;
            match output {
                OutputFormat::Json => {
                    let values: Vec<Value> = infos.iter().map(|i| cert_json(i, now)).collect();
                    let value = if values.len() == 1 {
                        values[0].clone()
                    } else {
                        json!({"kind": "chain", "certificates": values})
                    };
                    println!("{}", serde_json::to_string_pretty(&value)?);
                }
                OutputFormat::Text => {
                    for (i, info) in infos.iter().enumerate() {
                        if infos.len() > 1 {
                            println!("[{i}] ");
                        }
                        print_cert_text(info, now);
                    }
                }
            }
        }
        (Detected::Request(csr), OutputFormat::Json) => {
            println!("{}", serde_json::to_string_pretty(&csr_json(&csr))?)
        }
        (Detected::Request(csr), OutputFormat::Text) => print_csr_text(&csr),
        (Detected::PrivateKey(key), OutputFormat::Json) => println!(
            "{}",
            serde_json::to_string_pretty(&key_json("private key", key.public_key()))?
        ),
        (Detected::PrivateKey(key), OutputFormat::Text) => {
            println!("Private key: {}", key.algorithm())
        }
        (Detected::PublicKey(key), OutputFormat::Json) => println!(
            "{}",
            serde_json::to_string_pretty(&key_json("public key", &key))?
        ),
        (Detected::PublicKey(key), OutputFormat::Text) => println!("Public key: {}", key.kind()),
    }
    Ok(())
}

fn profile_json(p: &Profile) -> Value {
    json!({
        "name": p.name,
        "description": p.description,
        "usages": p.usages.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "ca": p.ca.as_ref().map(|c| json!({"path_len": c.path_len})),
        "default_validity": kubepki::profile::format_duration(p.default_validity),
        "max_validity": kubepki::profile::format_duration(p.max_validity),
        "backdate": kubepki::profile::format_duration(p.backdate),
        "sans": {
            "allowed": p.sans.allowed.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "required": p.sans.required.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "require_any": p.sans.require_any_san,
            "keep_requested": p.sans.keep_requested,
            "extra": p.sans.extra.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "max_sans": p.sans.max_sans,
        },
        "subject": subject_json(&p.subject),
    })
}

/// A subject policy in the words of a profile file (`common_name`, `organizations`, ...).
fn subject_json(s: &kubepki::profile::SubjectPolicy) -> Value {
    use kubepki::profile::NameRule;
    let (common_name, prefix, required) = match &s.common_name {
        None => (None, None, false),
        Some(NameRule::Exact(cn)) => (Some(cn.clone()), None, true),
        Some(NameRule::Prefix(p)) => (None, Some(p.clone()), true),
        Some(NameRule::Any) => (None, None, true),
    };
    json!({
        "common_name": common_name,
        "common_name_prefix": prefix,
        "require_common_name": required,
        "organizations": s.organizations,
        "required_organizations": s.required_organizations,
        "forbidden_organizations": s.forbidden_organizations,
        "max_organizations": s.max_organizations,
    })
}

pub(crate) fn profiles(args: &ProfilesArgs) -> CliResult<()> {
    // Profiles that need a node name are shown for an example node.
    let params = ClusterParams {
        node_name: Some("node-name".to_owned()),
        ..ClusterParams::default()
    };
    let list: Vec<Profile> = match &args.profiles_file {
        Some(path) => {
            let text = String::from_utf8(read_file(path)?)
                .map_err(|_| CliError(format!("{}: not UTF-8 text", path.display())))?;
            let set = kubepki::ProfileSet::from_yaml(&text)
                .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
            set.names()
                .iter()
                .map(|n| set.get(n).cloned())
                .collect::<Result<_, _>>()?
        }
        None => kubepki::profile::BUILTIN_NAMES
            .iter()
            .map(|n| kubepki::profile::builtin(n, &params))
            .filter_map(Result::ok)
            .collect(),
    };
    let selected: Vec<&Profile> = match &args.name {
        Some(name) => {
            let found: Vec<&Profile> = list.iter().filter(|p| &p.name == name).collect();
            if found.is_empty() {
                // Let the library name the known profiles in its error.
                kubepki::find_profile(name, None, &params)?;
            }
            found
        }
        None => list.iter().collect(),
    };
    match args.output {
        OutputFormat::Json => {
            let values: Vec<Value> = selected.iter().map(|p| profile_json(p)).collect();
            println!("{}", serde_json::to_string_pretty(&values)?);
        }
        OutputFormat::Text if args.name.is_some() => {
            for p in selected {
                println!("{}", serde_json::to_string_pretty(&profile_json(p))?);
            }
        }
        OutputFormat::Text => {
            println!("{:<26} {:<6} {:<10} USAGES", "NAME", "CA", "VALIDITY");
            for p in selected {
                let usages: Vec<&str> = p.usages.iter().map(|u| u.as_str()).collect();
                println!(
                    "{:<26} {:<6} {:<10} {}",
                    p.name,
                    if p.ca.is_some() { "yes" } else { "no" },
                    kubepki::profile::format_duration(p.default_validity),
                    usages.join(", ")
                );
            }
        }
    }
    Ok(())
}
