//! The Certificates API verbs, as kubectl spells them: `create -f`, `get csr`, `certificate
//! approve|deny`, `delete csr`, and `csr manifest`. The controllers are in `controller.rs`.

use std::io::Read;
use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use kubepki::Csr;
use kubepki::api::{
    self, CertificateSigningRequest, CertificateSigningRequestList, CsrStore, Decision, UserInfo,
};
use kubepki::profile::parse_duration;
use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::csr_store::{RESOURCE, StoreArgs, printable, warn_unreadable};
use crate::error::{CliError, CliResult};
use crate::files::read_file;
use crate::jsonpath::jsonpath;
use crate::tables::{columns, human_duration};

/// `kubepki create -f csr.yaml`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The manifest (YAML or JSON); `-` reads standard input.
    #[arg(long = "filename", short = 'f')]
    pub(crate) filename: PathBuf,
    /// The requester's user name (default: the local user).
    #[arg(long = "as")]
    pub(crate) as_user: Option<String>,
    /// The requester's groups; repeat for several.
    #[arg(long = "as-group")]
    pub(crate) as_group: Vec<String>,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `kubepki get csr [NAME]`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The resource: `csr`, `certificatesigningrequest(s)`.
    pub(crate) resource: String,
    /// One request's name (all when absent).
    pub(crate) name: Option<String>,
    /// Output: `wide`, `yaml`, `json`, `name` or `jsonpath=TEMPLATE`.
    #[arg(long, short = 'o')]
    pub(crate) output: Option<String>,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `kubepki certificate approve|deny`.
#[derive(Debug, Subcommand)]
pub(crate) enum CertificateCommand {
    /// Approve requests (condition Approved, reason KubectlApprove).
    Approve(DecideArgs),
    /// Deny requests (condition Denied, reason KubectlDeny).
    Deny(DecideArgs),
}

/// Which requests to approve or deny.
#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    /// The requests' names.
    #[arg(required = true)]
    pub(crate) names: Vec<String>,
    /// Update the condition even if it is there already.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `kubepki delete csr NAME...`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The resource: `csr`, `certificatesigningrequest(s)`.
    pub(crate) resource: String,
    /// The requests' names.
    #[arg(required = true)]
    pub(crate) names: Vec<String>,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `kubepki csr manifest`: a CertificateSigningRequest manifest for a CSR file.
#[derive(Debug, Args)]
pub(crate) struct CsrManifestArgs {
    /// The CSR (PEM or DER).
    #[arg(long)]
    pub(crate) csr: PathBuf,
    /// metadata.name.
    #[arg(long)]
    pub(crate) name: String,
    /// spec.signerName.
    #[arg(long, default_value = api::KUBE_APISERVER_CLIENT)]
    pub(crate) signer: String,
    /// A usage word; repeat for several (default: what the built-in signer requires).
    #[arg(long = "usage")]
    pub(crate) usages: Vec<String>,
    /// spec.expirationSeconds as a duration (`600s`, `24h`, `1d`), at least 10 minutes.
    #[arg(long)]
    pub(crate) expiration: Option<String>,
    /// Where to write the manifest (standard output when absent).
    #[arg(long, short = 'o')]
    pub(crate) out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub(crate) force: bool,
}

fn check_resource(resource: &str) -> CliResult<()> {
    match resource {
        "csr"
        | "csrs"
        | "certificatesigningrequest"
        | "certificatesigningrequests"
        | "certificatesigningrequests.certificates.k8s.io" => Ok(()),
        other => Err(CliError(format!(
            "the server doesn't have a resource type {other:?} (kubepki serves csr only)"
        ))),
    }
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// `create -f`.
pub(crate) fn create(args: &CreateArgs, now: SystemTime) -> CliResult<()> {
    let what = if args.filename.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        args.filename.display().to_string()
    };
    // Read one byte past the API server's request limit, never the whole of a huge input.
    let mut bytes = Vec::new();
    let limit = api::MAX_OBJECT_BYTES as u64 + 1;
    if args.filename.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(&args.filename)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .map_err(|e| CliError(format!("cannot read {what}: {e}")))?;
    }
    if bytes.len() > api::MAX_OBJECT_BYTES {
        return Err(CliError(format!(
            "{what}: larger than the limit of {} bytes",
            api::MAX_OBJECT_BYTES
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| CliError(format!("{what}: not UTF-8 text")))?;
    let csr = CertificateSigningRequest::from_yaml(&text)
        .map_err(|e| CliError(format!("{what}: {e}")))?;
    let user = UserInfo {
        username: args.as_user.clone().unwrap_or_else(local_user),
        uid: None,
        groups: args.as_group.clone(),
        extra: Default::default(),
    };
    let created = api::create_request(&args.store.open(), csr, &user, now)?;
    println!("{RESOURCE}/{} created", printable(&created.metadata.name));
    Ok(())
}

/// JSON text with the controls JSON leaves raw (DEL and C1) escaped as `\u00XX`,
/// which both formats read back as the same character.
fn escape_raw_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{7f}'..='\u{9f}' => format!("\\u{:04x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

fn row(csr: &CertificateSigningRequest, now: SystemTime) -> Vec<String> {
    let age = csr
        .metadata
        .creation_timestamp
        .as_deref()
        .and_then(|t| api::parse_time(t).ok())
        .and_then(|t| now.duration_since(t).ok())
        .map_or_else(
            || "<unknown>".to_owned(),
            |d| human_duration(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        );
    let requested = csr.spec.expiration_seconds.map_or_else(
        || "<none>".to_owned(),
        |s| human_duration(i64::from(s).max(0)),
    );
    vec![
        printable(&csr.metadata.name),
        age,
        printable(&csr.spec.signer_name),
        printable(csr.spec.username.as_deref().unwrap_or_default()),
        requested,
        csr.condition_string(),
    ]
}

/// `get csr`.
pub(crate) fn get(args: &GetArgs, now: SystemTime) -> CliResult<()> {
    check_resource(&args.resource)?;
    let store = args.store.open();
    let (items, single) = match &args.name {
        Some(name) => (vec![store.get(name)?], true),
        None => {
            let scan = store.scan()?;
            warn_unreadable(&scan);
            (scan.objects, false)
        }
    };
    let value = if single {
        serde_json::to_value(&items[0])?
    } else {
        serde_json::to_value(CertificateSigningRequestList::new(items.clone()))?
    };
    match args.output.as_deref() {
        None | Some("wide") => {
            if items.is_empty() {
                eprintln!("No resources found");
                return Ok(());
            }
            let mut rows = vec![
                [
                    "NAME",
                    "AGE",
                    "SIGNERNAME",
                    "REQUESTOR",
                    "REQUESTEDDURATION",
                    "CONDITION",
                ]
                .map(str::to_owned)
                .to_vec(),
            ];
            rows.extend(items.iter().map(|c| row(c, now)));
            print!("{}", columns(&rows));
        }
        // libyaml writes every non-printable character as an escape already.
        Some("yaml") => print!("{}", to_yaml(&value)?),
        Some("json") => println!(
            "{}",
            escape_raw_controls(&serde_json::to_string_pretty(&value)?)
        ),
        Some("name") => {
            for c in &items {
                println!("{RESOURCE}/{}", printable(&c.metadata.name));
            }
        }
        Some(other) => {
            let template = other
                .strip_prefix("jsonpath=")
                .ok_or_else(|| {
                    CliError(format!(
                        "unable to match a printer suitable for the output format {other:?}, allowed formats are: json, jsonpath, name, wide, yaml"
                    ))
                })?;
            let template = template.trim_matches('\'');
            // The template's own text (newlines included) is the user's; only what came from
            // the store is escaped.
            print!("{}", jsonpath(template, &sanitized(value))?);
        }
    }
    Ok(())
}

/// `value` with control characters in its strings escaped, for jsonpath output.
fn sanitized(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(printable(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(sanitized).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (printable(&k), sanitized(v)))
                .collect(),
        ),
        other => other,
    }
}

fn to_yaml(value: &serde_json::Value) -> CliResult<String> {
    // The objects' own YAML writer: a single object or a list of them.
    if value.get("kind").and_then(|k| k.as_str()) == Some(api::KIND) {
        let csr: CertificateSigningRequest = serde_json::from_value(value.clone())?;
        return Ok(csr.to_yaml());
    }
    let list: CertificateSigningRequestList = serde_json::from_value(value.clone())?;
    Ok(list.to_yaml())
}

/// `certificate approve|deny`.
pub(crate) fn certificate(command: &CertificateCommand, now: SystemTime) -> CliResult<()> {
    let (args, verb) = match command {
        CertificateCommand::Approve(a) => (a, "approved"),
        CertificateCommand::Deny(a) => (a, "denied"),
    };
    let store = args.store.open();
    for name in &args.names {
        api::update_request(&store, name, |csr| {
            let decision = match command {
                CertificateCommand::Approve(_) => api::approve(csr, args.force, now)?,
                CertificateCommand::Deny(_) => api::deny(csr, args.force, now)?,
            };
            Ok((decision == Decision::Changed, ()))
        })?;
        println!("{RESOURCE}/{name} {verb}");
    }
    Ok(())
}

/// `delete csr`.
pub(crate) fn delete(args: &DeleteArgs) -> CliResult<()> {
    check_resource(&args.resource)?;
    let store = args.store.open();
    for name in &args.names {
        store.delete(name)?;
        println!("{RESOURCE} {name:?} deleted");
    }
    Ok(())
}

/// `csr manifest`.
pub(crate) fn csr_manifest(args: &CsrManifestArgs) -> CliResult<()> {
    let bytes = read_file(&args.csr)?;
    let request =
        Csr::from_bytes(&bytes).map_err(|e| CliError(format!("{}: {e}", args.csr.display())))?;
    let usages = if args.usages.is_empty() {
        api::default_usages(&args.signer)
            .iter()
            .map(|w| (*w).to_owned())
            .collect()
    } else {
        args.usages.clone()
    };
    let words: Vec<&str> = usages.iter().map(String::as_str).collect();
    let mut csr = CertificateSigningRequest::new(
        &args.name,
        request.to_pem().as_bytes(),
        &args.signer,
        &words,
    );
    if let Some(text) = &args.expiration {
        let d = parse_duration(text)?;
        csr.spec.expiration_seconds = Some(i32::try_from(d.as_secs()).map_err(|_| {
            CliError(format!(
                "--expiration {text} is longer than expirationSeconds can say"
            ))
        })?);
    }
    // What the API server and the signer would refuse, refused now.
    api::validate_create(&csr)?;
    api::admit_subject_restriction(&csr)?;
    match args.signer.as_str() {
        api::KUBE_APISERVER_CLIENT => api::validate_apiserver_client(&usages)?,
        api::KUBE_APISERVER_CLIENT_KUBELET => api::validate_kubelet_client(&request, &usages)?,
        api::KUBELET_SERVING => api::validate_kubelet_serving(&request, &usages)?,
        _ => {}
    }
    let yaml = csr.to_yaml();
    match &args.out {
        Some(out) => {
            let mode = if args.force {
                Overwrite::Replace
            } else {
                Overwrite::Refuse
            };
            write_atomic(out, yaml.as_bytes(), FileKind::Public, mode)?;
            eprintln!("wrote {}", out.display());
        }
        None => print!("{yaml}"),
    }
    Ok(())
}
