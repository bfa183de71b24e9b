//! `kubepki init` and the cluster commands: the kubeadm tree, kubeconfig files.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand, ValueEnum};
use kubepki::KeyAlgorithm;
use kubepki::cluster::{
    Action, CaName, CaSigner, CaSource, ComponentOptions, GroupsCompat, InitOptions, Kubeconfig,
    TokenKeyOrigin, UserKubeconfigOptions, check_expiration, generate_csrs, init,
    init_token_ca_key, init_token_key_action, issue_component, key_uri_file, user_kubeconfig,
};
use kubepki::profile::{
    DEFAULT_BIND_PORT, DEFAULT_CA_VALIDITY_TEXT, DEFAULT_CERT_VALIDITY_TEXT, DEFAULT_CLUSTER_NAME,
    DEFAULT_DNS_DOMAIN, DEFAULT_SERVICE_CIDR, parse_duration,
};
use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::error::{CliError, CliResult};
use crate::files::warn_tree_ca_keys;
use crate::tree_dirs::TreeDirs;

/// kubeadm's group names, current or as in 1.28.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum GroupsCompatArg {
    /// kubeadm 1.29+: admin.conf in kubeadm:cluster-admins, super-admin.conf in system:masters.
    Current,
    /// kubeadm 1.28: admin.conf in system:masters, no super-admin.conf.
    #[value(name = "1.28")]
    V128,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where the certificates and keys go (kubeadm: /etc/kubernetes/pki).
    #[arg(long, default_value = "./kubernetes/pki")]
    pub(crate) cert_dir: PathBuf,
    /// Where the kubeconfig files go (kubeadm: /etc/kubernetes).
    #[arg(long, default_value = "./kubernetes")]
    pub(crate) kubeconfig_dir: PathBuf,
    /// The control-plane node's name (default: this host's name, lower case).
    #[arg(long)]
    pub(crate) node_name: Option<String>,
    /// The address the API server advertises.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) advertise_address: IpAddr,
    /// The port the API server binds: in the local kubeconfig files (controller-manager.conf,
    /// scheduler.conf), and of a control-plane endpoint that names no port.
    #[arg(long, default_value_t = DEFAULT_BIND_PORT)]
    pub(crate) apiserver_bind_port: u16,
    /// The service CIDR; its first address is a SAN of the API server.
    #[arg(long, default_value = DEFAULT_SERVICE_CIDR)]
    pub(crate) service_cidr: String,
    /// The cluster DNS domain.
    #[arg(long, default_value = DEFAULT_DNS_DOMAIN)]
    pub(crate) dns_domain: String,
    /// The cluster name in the kubeconfig files.
    #[arg(long, default_value = DEFAULT_CLUSTER_NAME)]
    pub(crate) cluster_name: String,
    /// HOST or HOST:PORT of a shared endpoint (load balancer) for the kubeconfig files.
    #[arg(long)]
    pub(crate) control_plane_endpoint: Option<String>,
    /// Extra SANs (IPs or DNS names) of the API server certificate, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) apiserver_cert_extra_sans: Vec<String>,
    /// Extra SANs of the etcd server certificate, comma-separated (kubeadm's
    /// etcd.local.serverCertSANs).
    #[arg(long, value_delimiter = ',')]
    pub(crate) etcd_server_cert_extra_sans: Vec<String>,
    /// Extra SANs of the etcd peer certificate, comma-separated (kubeadm's
    /// etcd.local.peerCertSANs).
    #[arg(long, value_delimiter = ',')]
    pub(crate) etcd_peer_cert_extra_sans: Vec<String>,
    /// RSA-2048, RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384.
    #[arg(long, default_value = "RSA-2048")]
    pub(crate) algorithm: String,
    /// Validity of the leaf certificates, e.g. 8760h.
    #[arg(long, default_value = DEFAULT_CERT_VALIDITY_TEXT)]
    pub(crate) cert_validity: String,
    /// Validity of the CAs, e.g. 87600h.
    #[arg(long, default_value = DEFAULT_CA_VALIDITY_TEXT)]
    pub(crate) ca_validity: String,
    /// No local etcd: leave out etcd/ and apiserver-etcd-client.
    #[arg(long)]
    pub(crate) external_etcd: bool,
    /// Group names as current kubeadm or kubeadm 1.28.
    #[arg(long, value_enum, default_value = "current")]
    pub(crate) groups_compat: GroupsCompatArg,
    /// Keep the cluster CA's key on a PKCS#11 token: the key this `pkcs11:` URI names (made
    /// there, sensitive and never extractable, when it does not exist). `ca.key` is not
    /// written; `ca.key.uri` records the URI (without PIN) for renew, issue and kubeconfig.
    #[arg(long)]
    pub(crate) ca_key_uri: Option<String>,
}

fn init_options(args: &InitArgs) -> CliResult<InitOptions> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let node_name = args
        .node_name
        .clone()
        .unwrap_or_else(crate::host::default_node_name);
    let mut options = InitOptions::new(
        &args.cert_dir,
        &args.kubeconfig_dir,
        &node_name,
        args.advertise_address,
    );
    options.apiserver_bind_port = args.apiserver_bind_port;
    options.service_cidr = args.service_cidr.clone();
    options.dns_domain = args.dns_domain.clone();
    options.cluster_name = args.cluster_name.clone();
    options.control_plane_endpoint = args.control_plane_endpoint.clone();
    options.apiserver_cert_extra_sans = args.apiserver_cert_extra_sans.clone();
    options.etcd_server_cert_extra_sans = args.etcd_server_cert_extra_sans.clone();
    options.etcd_peer_cert_extra_sans = args.etcd_peer_cert_extra_sans.clone();
    options.algorithm = algorithm;
    options.cert_validity = Some(parse_duration(&args.cert_validity)?);
    options.ca_validity = Some(parse_duration(&args.ca_validity)?);
    options.external_etcd = args.external_etcd;
    options.groups_compat = match args.groups_compat {
        GroupsCompatArg::Current => GroupsCompat::Current,
        GroupsCompatArg::V128 => GroupsCompat::V1_28,
    };
    Ok(options)
}

/// The signer of `init --ca-key-uri` (or of the URI an earlier one recorded in
/// `ca.key.uri`): the token's key, made there when absent (and only when there is no
/// `ca.crt` yet: an existing CA's key cannot be made anew).
fn init_ca_signer(args: &InitArgs, options: &InitOptions) -> CliResult<Option<TokenCa>> {
    let Some(key) = init_token_ca_key(&args.cert_dir, args.ca_key_uri.as_deref())? else {
        return Ok(None);
    };
    let origin = match key.origin {
        TokenKeyOrigin::Given => kubepki::pkcs11::UriOrigin::Operator,
        TokenKeyOrigin::Recorded => kubepki::pkcs11::UriOrigin::File,
    };
    let (uri, token) = crate::hsm::open_from(&key.uri, origin)?;
    let found = token.find_signer(&uri)?;
    let action = init_token_key_action(
        &args.cert_dir,
        found.is_some(),
        token.label(),
        &uri.object_description(),
    )?;
    // The action allows a generation only when nothing was found.
    let signer = match found {
        Some(signer) => signer,
        None => token.generate(&uri, options.algorithm)?,
    };
    let said = format!(
        "[certs] CA key: {} {} key {:?} on token {}",
        action.said(),
        kubepki::Signer::public_key(&signer).kind(),
        signer.label(),
        token.label()
    );
    Ok(Some(TokenCa {
        source: CaSource::Signer {
            signer: CaSigner(Arc::new(signer)),
            certificate: None,
            key_uri: Some(crate::hsm::key_uri_record(&uri)?),
        },
        said,
    }))
}

/// The cluster CA's key on a token, for `init --ca-key-uri`.
struct TokenCa {
    /// The key, and its URI to record.
    source: CaSource,
    /// What was done: key found or made.
    said: String,
}

/// `init`'s failure in words that fit `init`: it has no `--force`, so a file that appeared
/// while it ran is not met with the write layer's "use --force" hint.
fn init_error(e: kubepki::cluster::ClusterError) -> CliError {
    match e {
        kubepki::cluster::ClusterError::Fs(kubepki_fs::FsError::Exists { path }) => {
            CliError(format!(
                "{} appeared while init was writing the tree (is another process at work on it?): init never replaces a file; run it again to keep what fits",
                path.display()
            ))
        }
        e => e.into(),
    }
}

pub(crate) fn run_init(args: &InitArgs) -> CliResult<ExitCode> {
    warn_tree_ca_keys(&args.cert_dir);
    let mut options = init_options(args)?;
    let said = match init_ca_signer(args, &options)? {
        Some(TokenCa { source, said }) => {
            options.ca = source;
            Some(said)
        }
        None => None,
    };
    // The URI is recorded with the tree, in the same change: a refused init leaves no
    // pointer behind.
    let report = init(&options, crate::clock::now()?).map_err(init_error)?;
    if let Some(said) = said {
        let path = key_uri_file(&args.cert_dir, CaName::Ca);
        println!("{said}, recorded in {}", path.display());
    }
    println!(
        "[certs] node {}, advertise address {}, {}",
        options.node_name, options.advertise_address, options.algorithm
    );
    for entry in &report.entries {
        let what = match &entry.action {
            Action::Written => "wrote".to_owned(),
            Action::Kept => "kept ".to_owned(),
            Action::Missing { ca } => {
                format!("MISSING (CA {ca} has no key here: sign it elsewhere)")
            }
        };
        println!("{what:5} {:<26} {}", entry.name, entry.path.display());
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if report.is_incomplete() {
        println!(
            "external CA mode: the files marked MISSING must be provided before the control plane can start"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Output formats of check-expiration.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// kubeadm's two tables.
    Text,
    /// kubeadm's `CertificateExpirationInfo` as JSON.
    Json,
    /// The same as YAML.
    Yaml,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CertsCommand {
    /// Show when each certificate of the tree expires, as kubeadm does.
    CheckExpiration(CheckExpirationArgs),
    /// Renew certificates (all, one by name, or those expiring within a duration) with fresh
    /// keys; CAs are never renewed, old files do not stay in the tree.
    Renew(crate::renewal::RenewArgs),
    /// Bring back a cluster whose certificates expired, offline: renew every expired leaf and
    /// kubeconfig (kubelet.conf too), keep the CAs, check the credentials, say what to restart.
    Recover(crate::renewal::RecoverArgs),
    /// Issue a component certificate kubeadm leaves out (kube-proxy, kubelet-client,
    /// kubelet-serving).
    Issue(IssueArgs),
    /// External CA mode: write keys and CSRs (and partial kubeconfig files) to be signed
    /// elsewhere.
    GenerateCsr(InitArgs),
    /// Serve the certificates' expiry as Prometheus metrics (enix x509-certificate-exporter's
    /// names), read again when a file changes.
    Exporter(crate::exporter::ExporterArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CheckExpirationArgs {
    #[command(flatten)]
    pub(crate) dirs: TreeDirs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
    /// Also exit with status 2 when a certificate or CA expires within this duration (e.g.
    /// 720h); one that has expired always does.
    #[arg(long)]
    pub(crate) warn_within: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// kube-proxy, kubelet-client or kubelet-serving.
    pub(crate) kind: String,
    /// The node's name.
    #[arg(long)]
    pub(crate) node_name: String,
    /// The node's address (a SAN of kubelet-serving).
    #[arg(long)]
    pub(crate) address: Option<IpAddr>,
    /// The certificate folder holding ca.crt and ca.key.
    #[arg(long, default_value = "./kubernetes/pki")]
    pub(crate) cert_dir: PathBuf,
    /// Where to write KIND.crt and KIND.key (default: the cert dir).
    #[arg(long)]
    pub(crate) out_dir: Option<PathBuf>,
    /// The key algorithm.
    #[arg(long, default_value = "RSA-2048")]
    pub(crate) algorithm: String,
    /// The validity.
    #[arg(long)]
    pub(crate) validity: Option<String>,
    /// The cluster CA's key on a PKCS#11 token (`pkcs11:` URI); default: `ca.key`, else the
    /// URI `init --ca-key-uri` recorded in `ca.key.uri`.
    #[arg(long)]
    pub(crate) ca_key_uri: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KubeconfigCommand {
    /// Write a kubeconfig for a new user, signed by the cluster CA (kubeadm's `kubeconfig user`).
    User(KubeconfigUserArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KubeconfigUserArgs {
    /// The user name (certificate CN).
    #[arg(long)]
    pub(crate) client_name: String,
    /// A group (certificate O); repeat for more.
    #[arg(long)]
    pub(crate) org: Vec<String>,
    /// How long the certificate is valid.
    #[arg(long, default_value = "24h")]
    pub(crate) validity: String,
    #[command(flatten)]
    pub(crate) dirs: TreeDirs,
    /// The API server URL (default: admin.conf's).
    #[arg(long)]
    pub(crate) server: Option<String>,
    /// The key algorithm.
    #[arg(long, default_value = "ECDSA-P256")]
    pub(crate) algorithm: String,
    /// Write the kubeconfig here (mode 0600) instead of standard output.
    #[arg(long, short = 'o')]
    pub(crate) out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub(crate) force: bool,
    /// The cluster CA's key on a PKCS#11 token (`pkcs11:` URI); default: `ca.key`, else the
    /// URI `init --ca-key-uri` recorded in `ca.key.uri`.
    #[arg(long)]
    pub(crate) ca_key_uri: Option<String>,
}

pub(crate) fn run_certs(command: &CertsCommand) -> CliResult<ExitCode> {
    match command {
        CertsCommand::CheckExpiration(args) => check(args),
        CertsCommand::Renew(args) => crate::renewal::run_renew(args),
        CertsCommand::Recover(args) => crate::renewal::run_recover(args),
        CertsCommand::Issue(args) => {
            warn_tree_ca_keys(&args.cert_dir);
            let out_dir = args.out_dir.as_ref().unwrap_or(&args.cert_dir);
            let validity = args.validity.as_deref().map(parse_duration).transpose()?;
            let now = crate::clock::now()?;
            let algorithm = args.algorithm.parse()?;
            let ca = crate::hsm::cluster_ca(&args.cert_dir, args.ca_key_uri.as_deref())?;
            let options = ComponentOptions {
                cert_dir: args.cert_dir.clone(),
                out_dir: out_dir.clone(),
                kind: args.kind.clone(),
                node_name: args.node_name.clone(),
                address: args.address,
                algorithm,
                validity,
            };
            let path = issue_component(&options, ca.as_ref(), now)?;
            println!("wrote {} and its key", path.display());
            Ok(ExitCode::SUCCESS)
        }
        CertsCommand::Exporter(args) => {
            crate::exporter::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        CertsCommand::GenerateCsr(args) => {
            if args.ca_key_uri.is_some() {
                return Err(CliError(
                    "generate-csr makes no CA: --ca-key-uri belongs to init".to_owned(),
                ));
            }
            for path in generate_csrs(&init_options(args)?)? {
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(args: &CheckExpirationArgs) -> CliResult<ExitCode> {
    let now = crate::clock::now()?;
    let warn = args
        .warn_within
        .as_deref()
        .map(parse_duration)
        .transpose()?;
    let report = check_expiration(&args.dirs.cert_dir, &args.dirs.kubeconfig_dir, now)?;
    match args.output {
        OutputFormat::Text => print!("{}", crate::tables::expiration_table(&report)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Yaml => print!("{}", report.to_yaml().map_err(CliError)?),
    }
    // kubeadm exits 0 whatever it finds; monitoring wants to know without parsing the table.
    for mismatch in &report.mismatched_keys {
        eprintln!("error: {mismatch}");
    }
    if !report.mismatched_keys.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let expired = report.expiring_within(now, Duration::ZERO);
    if !expired.is_empty() {
        let names: Vec<&str> = expired.iter().map(|e| e.name.as_str()).collect();
        eprintln!("expired: {}", names.join(", "));
        return Ok(ExitCode::from(2));
    }
    if let Some(within) = warn {
        let expiring = report.expiring_within(now, within);
        if !expiring.is_empty() {
            let names: Vec<&str> = expiring.iter().map(|e| e.name.as_str()).collect();
            eprintln!(
                "expiring within {}: {}",
                args.warn_within.as_deref().unwrap_or_default(),
                names.join(", ")
            );
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The tree's admin.conf, whose cluster name and server a new user's kubeconfig takes:
/// `None` when there is none; an error naming it when it is there but does not read (it
/// is not silently taken for absent).
fn admin_conf(dir: &Path) -> CliResult<Option<Kubeconfig>> {
    let path = dir.join("admin.conf");
    if !path.exists() {
        return Ok(None);
    }
    let text = String::from_utf8(crate::files::read_file(&path)?)
        .map_err(|_| CliError(format!("{}: not UTF-8 text", path.display())))?;
    Kubeconfig::from_yaml(&text)
        .map(Some)
        .map_err(|e| CliError(format!("{}: not a kubeconfig file: {e}", path.display())))
}

pub(crate) fn run_kubeconfig(command: &KubeconfigCommand) -> CliResult<ExitCode> {
    let KubeconfigCommand::User(args) = command;
    let admin = admin_conf(&args.dirs.kubeconfig_dir)?;
    let cluster = admin.as_ref().and_then(|a| a.clusters.first());
    let server = args
        .server
        .clone()
        .or_else(|| cluster.map(|c| c.cluster.server.clone()))
        .unwrap_or_else(|| format!("https://127.0.0.1:{DEFAULT_BIND_PORT}"));
    let cluster_name = cluster.map_or(DEFAULT_CLUSTER_NAME, |c| c.name.as_str());
    let (validity, algorithm, now) = (
        parse_duration(&args.validity)?,
        args.algorithm.parse()?,
        SystemTime::now(),
    );
    let ca = crate::hsm::cluster_ca(&args.dirs.cert_dir, args.ca_key_uri.as_deref())?;
    let options = UserKubeconfigOptions {
        cert_dir: args.dirs.cert_dir.clone(),
        cluster_name: cluster_name.to_owned(),
        server,
        client_name: args.client_name.clone(),
        groups: args.org.clone(),
        validity,
        algorithm,
    };
    let text = user_kubeconfig(&options, ca.as_ref(), now)?;
    match &args.out {
        Some(path) => {
            let overwrite = if args.force {
                Overwrite::Replace
            } else {
                Overwrite::Refuse
            };
            write_atomic(path, text.as_bytes(), FileKind::Secret, overwrite)?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    #[test]
    fn init_does_not_suggest_a_force_it_does_not_have() {
        let e = kubepki::cluster::ClusterError::Fs(kubepki_fs::FsError::Exists {
            path: PathBuf::from("pki/ca.crt"),
        });
        let message = init_error(e).0;
        assert!(!message.contains("--force"), "{message}");
        assert!(
            message.starts_with("pki/ca.crt appeared while init was writing"),
            "{message}"
        );
    }

    fn run(args: &[&str]) -> CliResult<ExitCode> {
        let mut argv = vec!["kubepki"];
        argv.extend_from_slice(args);
        crate::commands::run(Cli::try_parse_from(argv).unwrap())
    }

    #[test]
    fn init_defaults_are_a_laptops() {
        let cli = Cli::try_parse_from(["kubepki", "init"]).unwrap();
        let Command::Init(args) = cli.command else {
            panic!("not init")
        };
        let options = init_options(&args).unwrap();
        assert_eq!(options.cert_dir, PathBuf::from("./kubernetes/pki"));
        assert_eq!(options.kubeconfig_dir, PathBuf::from("./kubernetes"));
        assert_eq!(options.advertise_address.to_string(), "127.0.0.1");
        assert_eq!(options.node_name, crate::host::default_node_name());
        assert_eq!(options.node_name, options.node_name.to_lowercase());
        assert_eq!(options.algorithm, KeyAlgorithm::Rsa2048);
    }

    #[test]
    fn init_check_renew_issue_user_in_a_temp_dir() {
        let dir = tempfile::tempdir().unwrap();
        let kdir = dir.path().display().to_string();
        let pki = dir.path().join("pki").display().to_string();
        let dirs = [
            "--cert-dir",
            pki.as_str(),
            "--kubeconfig-dir",
            kdir.as_str(),
        ];
        let mut init = vec!["init", "--algorithm", "ECDSA-P256", "--node-name", "cp-1"];
        init.extend_from_slice(&dirs);
        init.extend_from_slice(&["--apiserver-cert-extra-sans", "a.example,10.1.2.3"]);
        assert_eq!(
            format!("{:?}", run(&init).unwrap()),
            format!("{:?}", ExitCode::SUCCESS)
        );
        // Again: everything kept.
        run(&init).unwrap();
        let mut check = vec!["certs", "check-expiration", "--warn-within", "24h"];
        check.extend_from_slice(&dirs);
        assert_eq!(
            format!("{:?}", run(&check).unwrap()),
            format!("{:?}", ExitCode::SUCCESS)
        );
        check[3] = "9000h";
        assert_eq!(
            format!("{:?}", run(&check).unwrap()),
            format!("{:?}", ExitCode::from(2))
        );
        let mut renew = vec!["certs", "renew", "apiserver", "--add-san", "b.example"];
        renew.extend_from_slice(&dirs);
        run(&renew).unwrap();
        let mut renew_ca = vec!["certs", "renew", "ca"];
        renew_ca.extend_from_slice(&dirs);
        assert!(run(&renew_ca).unwrap_err().0.contains("never renewed"));
        let out = dir.path().join("jane.conf").display().to_string();
        let mut user = vec![
            "kubeconfig",
            "user",
            "--client-name",
            "jane",
            "--org",
            "devs",
            "-o",
            out.as_str(),
        ];
        user.extend_from_slice(&dirs);
        run(&user).unwrap();
        let jane = Kubeconfig::from_yaml(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(jane.current_context, "jane@kubernetes");
        run(&[
            "certs",
            "issue",
            "kube-proxy",
            "--node-name",
            "w1",
            "--cert-dir",
            pki.as_str(),
            "--algorithm",
            "ECDSA-P256",
        ])
        .unwrap();
        assert!(dir.path().join("pki/kube-proxy.crt").exists());
    }

    #[test]
    fn a_bad_san_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki").display().to_string();
        let err = run(&[
            "init",
            "--cert-dir",
            pki.as_str(),
            "--node-name",
            "cp-1",
            "--apiserver-cert-extra-sans",
            "bad name",
        ])
        .unwrap_err();
        assert!(err.0.contains("\"bad name\""), "{}", err.0);
    }
}
