//! The Certificates API verbs, as kubectl spells them: `create -f`, `get csr`, `certificate
//! approve|deny`, `delete csr`, the `controller`, and `csr manifest`.

use std::io::Read;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use kubepki::api::{
    self, ApiError, CertificateSigningRequest, CertificateSigningRequestList, CsrStore, Decision,
    FileStore, SignOutcome, Signers, SigningController, UserInfo,
};
use kubepki::profile::{ProfileSet, parse_duration};
use kubepki::{Ca, Csr};
use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::error::{CliError, CliResult};
use crate::files::read_file;
use crate::jsonpath::jsonpath;
use crate::tables::{columns, human_duration};

const RESOURCE: &str = "certificatesigningrequest.certificates.k8s.io";

/// Where the requests are kept.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The store directory (one JSON file per request).
    #[arg(long = "store", default_value = "kubernetes/csr-store")]
    pub(crate) store: PathBuf,
}

impl StoreArgs {
    fn open(&self) -> FileStore {
        FileStore::new(&self.store)
    }
}

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

/// `kubepki controller`: kube-controller-manager's CSR controllers over the store.
#[derive(Debug, Args)]
pub(crate) struct ControllerArgs {
    /// The CA certificate for every signer without its own (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_cert_file: Option<PathBuf>,
    /// The CA key for every signer without its own (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_key_file: Option<PathBuf>,
    /// The longest validity issued.
    #[arg(long, value_name = "DURATION", default_value = "8760h")]
    pub(crate) cluster_signing_duration: String,
    /// CA certificate for kubernetes.io/kube-apiserver-client.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kube_apiserver_client_cert_file: Option<PathBuf>,
    /// CA key for kubernetes.io/kube-apiserver-client.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kube_apiserver_client_key_file: Option<PathBuf>,
    /// CA certificate for kubernetes.io/kube-apiserver-client-kubelet.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_client_cert_file: Option<PathBuf>,
    /// CA key for kubernetes.io/kube-apiserver-client-kubelet.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_client_key_file: Option<PathBuf>,
    /// CA certificate for kubernetes.io/kubelet-serving.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_serving_cert_file: Option<PathBuf>,
    /// CA key for kubernetes.io/kubelet-serving.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_serving_key_file: Option<PathBuf>,
    /// A profile file whose profiles serve custom signers `<--signer-domain>/<profile>`; its
    /// `signers:` section may name a CA per profile (`NAME: {cert_file, key_file}`, paths
    /// relative to the file, the key possibly a `pkcs11:` URI), else the default CA signs.
    #[arg(long, visible_alias = "profiles-file", value_name = "FILE")]
    pub(crate) profiles: Option<PathBuf>,
    /// The domain of the custom signers made from --profiles.
    #[arg(long, value_name = "DOMAIN", default_value = "kubepki.io")]
    pub(crate) signer_domain: String,
    /// Do not auto-approve kubelet client requests.
    #[arg(long)]
    pub(crate) no_auto_approve: bool,
    /// Do not remove old requests.
    #[arg(long)]
    pub(crate) no_cleaner: bool,
    /// One pass, then exit.
    #[arg(long)]
    pub(crate) once: bool,
    /// Seconds between passes.
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub(crate) interval: u64,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    // Boxed: the cluster mode's flags would make `Command::Controller` the one large variant.
    #[command(flatten)]
    pub(crate) cluster: Box<crate::cluster_controller::ClusterControllerArgs>,
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

/// Stored text made safe for a terminal: control characters (ANSI escapes, newlines that
/// would forge a table row, C1 controls) are written as `\u{..}` escapes.
fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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

/// Prints one warning per object the store could not read; the others are used.
fn warn_unreadable(scan: &api::Scan) {
    for e in &scan.unreadable {
        eprintln!("warning: skipping {}", printable(&e.to_string()));
    }
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

fn load_ca(cert: &Option<PathBuf>, key: &Option<PathBuf>, what: &str) -> CliResult<Option<Ca>> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(crate::hsm::load_ca(cert, key, None)?)),
        _ => Err(CliError(format!(
            "{what}: give both the cert file and the key file"
        ))),
    }
}

/// The `signers:` section of a profile file: the CA of each custom signer, by profile name.
#[derive(Debug, Default, serde::Deserialize)]
struct SignerCas {
    #[serde(default)]
    signers: std::collections::BTreeMap<String, SignerCaFiles>,
}

/// One custom signer's CA: a certificate file and a key file or `pkcs11:` URI, relative to
/// the profile file; or `cluster_ca: true`, the explicit opt-in to the cluster-signing CA
/// (which kube-apiserver trusts for client certificates).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerCaFiles {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    #[serde(default)]
    cluster_ca: bool,
}

/// Where one custom signer's CA comes from.
enum SignerCa {
    /// Its own CA.
    Own(Ca),
    /// The cluster-signing CA, by explicit opt-in.
    Cluster,
}

/// The custom signers' CAs named in the profile file at `path`.
fn signer_cas(
    path: &std::path::Path,
    text: &str,
    set: &ProfileSet,
) -> CliResult<Vec<(String, SignerCa)>> {
    let read = serde_saphyr::options! { with_snippet: false };
    let named: SignerCas = serde_saphyr::from_str_with_options(text, read)
        .map_err(|e| CliError(format!("{}: signers: {e}", path.display())))?;
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    let mut cas = Vec::new();
    for (name, files) in named.signers {
        if set.get(&name).is_err() {
            return Err(CliError(format!(
                "{}: signers: {name:?} is not a profile of the file",
                path.display()
            )));
        }
        let ca = match (files.cert_file, files.key_file, files.cluster_ca) {
            (None, None, true) => SignerCa::Cluster,
            (Some(cert), Some(key), false) => {
                let key = if key.to_string_lossy().starts_with("pkcs11:") {
                    key
                } else {
                    base.join(key)
                };
                SignerCa::Own(crate::hsm::load_ca_from(
                    &base.join(cert),
                    &key,
                    None,
                    kubepki::pkcs11::UriOrigin::File,
                )?)
            }
            _ => {
                return Err(CliError(format!(
                    "{}: signers: {name:?}: give cert_file and key_file, or cluster_ca: true (not both)",
                    path.display()
                )));
            }
        };
        cas.push((name, ca));
    }
    Ok(cas)
}

/// The signing controller of the flags, shared by the embedded and the cluster controller.
/// It refuses to start when a custom signer would sign with the cluster-signing CA without
/// the profile file's `signers:` section naming that signer.
fn build_controller(args: &ControllerArgs) -> CliResult<SigningController> {
    let mut signers = Signers::new();
    let mut custom_cas = Vec::new();
    if let Some(path) = &args.profiles {
        let text = String::from_utf8(read_file(path)?)
            .map_err(|_| CliError(format!("{}: not UTF-8 text", path.display())))?;
        let set = ProfileSet::from_yaml(&text)
            .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
        signers = signers.with_profile_set(&args.signer_domain, &set);
        custom_cas = signer_cas(path, &text, &set)?;
    }
    let cluster_ca = load_ca(
        &args.cluster_signing_cert_file,
        &args.cluster_signing_key_file,
        "--cluster-signing",
    )?;
    let mut own_cas = Vec::new();
    for (name, ca) in custom_cas {
        let signer = format!("{}/{name}", args.signer_domain);
        match ca {
            SignerCa::Own(ca) => own_cas.push((signer, ca)),
            SignerCa::Cluster if cluster_ca.is_none() => {
                return Err(CliError(format!(
                    "signers: {name}: cluster_ca: true, but no --cluster-signing-cert-file and --cluster-signing-key-file"
                )));
            }
            SignerCa::Cluster => signers = signers.with_cluster_ca(&signer),
        }
    }
    let duration = parse_duration(&args.cluster_signing_duration)?;
    let mut controller = SigningController::new(signers).with_duration(duration);
    let mut any = false;
    for (signer, ca) in own_cas {
        controller = controller.with_signer_ca(&signer, ca);
        any = true;
    }
    if let Some(ca) = cluster_ca {
        controller = controller.with_default_ca(ca);
        any = true;
    }
    for (signer, cert, key) in [
        (
            api::KUBE_APISERVER_CLIENT,
            &args.cluster_signing_kube_apiserver_client_cert_file,
            &args.cluster_signing_kube_apiserver_client_key_file,
        ),
        (
            api::KUBE_APISERVER_CLIENT_KUBELET,
            &args.cluster_signing_kubelet_client_cert_file,
            &args.cluster_signing_kubelet_client_key_file,
        ),
        (
            api::KUBELET_SERVING,
            &args.cluster_signing_kubelet_serving_cert_file,
            &args.cluster_signing_kubelet_serving_key_file,
        ),
    ] {
        if let Some(ca) = load_ca(cert, key, signer)? {
            controller = controller.with_signer_ca(signer, ca);
            any = true;
        }
    }
    if !any {
        return Err(CliError(
            "no CA: give --cluster-signing-cert-file and --cluster-signing-key-file (or a per-signer pair, or signers: in the profile file)"
                .to_owned(),
        ));
    }
    if let Err(e) = controller.check_custom_signers() {
        let ApiError::CustomSignerOnClusterCa { signer } = &e else {
            return Err(e.into());
        };
        let name = signer
            .strip_prefix(&format!("{}/", args.signer_domain))
            .unwrap_or(signer);
        return Err(CliError(format!(
            "{e}: name its CA in the profile file's signers: section ({name}: {{cert_file: FILE, key_file: FILE}}), or opt in with {name}: {{cluster_ca: true}}"
        )));
    }
    Ok(controller)
}

fn pass(
    args: &ControllerArgs,
    store: &FileStore,
    controller: &SigningController,
    now: SystemTime,
) -> CliResult<()> {
    let scan = store.scan()?;
    warn_unreadable(&scan);
    for csr in scan.objects {
        let name = csr.metadata.name.clone();
        // One object's trouble is reported and the pass goes on to the next.
        if let Err(e) = pass_one(args, store, controller, &name, now) {
            eprintln!(
                "{RESOURCE}/{}: {}",
                printable(&name),
                printable(&e.to_string())
            );
        }
    }
    Ok(())
}

fn pass_one(
    args: &ControllerArgs,
    store: &FileStore,
    controller: &SigningController,
    name: &str,
    now: SystemTime,
) -> Result<(), ApiError> {
    let shown = printable(name);
    if !args.no_auto_approve {
        match api::update_request(store, name, |c| {
            let d = api::auto_approve(c, now)?;
            Ok((d == Decision::Changed, d))
        }) {
            Ok((_, Decision::Changed)) => {
                eprintln!("{RESOURCE}/{shown} auto-approved (self kubelet client)");
            }
            Ok((_, Decision::Unchanged)) => {}
            Err(ApiError::NotFound { .. }) => return Ok(()),
            Err(e) => eprintln!("{RESOURCE}/{shown}: {}", printable(&e.to_string())),
        }
    }
    let result = api::update_request(store, name, |c| {
        let outcome = controller.sign(c, now)?;
        Ok((outcome != SignOutcome::Skipped, outcome))
    });
    match result {
        Ok((_, SignOutcome::Issued { not_after, .. })) => {
            eprintln!(
                "{RESOURCE}/{shown} issued, valid until {}",
                api::format_time(not_after)
            );
        }
        Ok((_, SignOutcome::Failed(why))) => {
            eprintln!("{RESOURCE}/{shown} failed: {}", printable(&why));
        }
        Ok((_, SignOutcome::Skipped)) | Err(ApiError::NotFound { .. }) => {}
        Err(e) => eprintln!("{RESOURCE}/{shown}: {}", printable(&e.to_string())),
    }
    if !args.no_cleaner {
        let current = match store.get(name) {
            Ok(c) => c,
            Err(ApiError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(why) = api::cleanup_reason(&current, now) {
            match store.delete(name) {
                Ok(()) | Err(ApiError::NotFound { .. }) => {
                    eprintln!("{RESOURCE}/{shown} removed: {why}");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// `controller`.
pub(crate) fn controller(args: &ControllerArgs) -> CliResult<()> {
    let controller = build_controller(args)?;
    if args.cluster.enabled() {
        return crate::cluster_controller::run(&args.cluster, controller);
    }
    let store = args.store.open();
    loop {
        match pass(args, &store, &controller, SystemTime::now()) {
            // A daemon outlives a store it cannot read for a moment; one pass reports it.
            Err(e) if !args.once => eprintln!("error: {}", printable(&e.0)),
            other => other?,
        }
        if args.once {
            return Ok(());
        }
        thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}

fn default_usages(signer: &str) -> Vec<String> {
    let words: &[&str] = match signer {
        api::KUBE_APISERVER_CLIENT => &["client auth"],
        api::KUBE_APISERVER_CLIENT_KUBELET => {
            &["digital signature", "key encipherment", "client auth"]
        }
        api::KUBELET_SERVING => &["digital signature", "key encipherment", "server auth"],
        _ => &[],
    };
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// `csr manifest`.
pub(crate) fn csr_manifest(args: &CsrManifestArgs) -> CliResult<()> {
    let bytes = read_file(&args.csr)?;
    let request =
        Csr::from_bytes(&bytes).map_err(|e| CliError(format!("{}: {e}", args.csr.display())))?;
    let usages = if args.usages.is_empty() {
        default_usages(&args.signer)
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
