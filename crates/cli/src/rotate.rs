//! `ca rotate start|promote|finish|rollback|status`: arguments, and the report each prints
//! (text, or the library's report as JSON). The work is in `kubepki_cluster`'s rotation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use kubepki::cluster::{
    PhaseReport, RotateOptions, RotatedCa, RotationStatus, TokenKey, TokenKeys, rotate_finish,
    rotate_promote_with, rotate_rollback, rotate_start_with, rotation_status,
};
use kubepki::pkcs11::UriOrigin;
use kubepki::profile::parse_duration;

use crate::error::{CliError, CliResult};
use crate::output::OutputFormat;
use crate::tree_dirs::TreeDirs;

/// The exit status of `status` when the files disagree.
const EXIT_INCONSISTENT: u8 = 3;

/// Which CA to rotate.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum CaChoice {
    /// The cluster CA (ca.crt, ca.key) and everything it signs, kubeconfig files included.
    Cluster,
    /// The front-proxy CA (front-proxy-ca.crt) and front-proxy-client.
    FrontProxy,
    /// The etcd CA (etcd/ca.crt) and the etcd certificates.
    Etcd,
    /// The service-account key pair (sa.key, sa.pub).
    Sa,
    /// All four, as one change per phase.
    All,
}

impl CaChoice {
    fn cas(self) -> Vec<RotatedCa> {
        match self {
            CaChoice::Cluster => vec![RotatedCa::Cluster],
            CaChoice::FrontProxy => vec![RotatedCa::FrontProxy],
            CaChoice::Etcd => vec![RotatedCa::Etcd],
            CaChoice::Sa => vec![RotatedCa::Sa],
            CaChoice::All => RotatedCa::ALL.to_vec(),
        }
    }
}

/// What every phase takes.
#[derive(Debug, Args)]
pub(crate) struct PhaseArgs {
    #[command(flatten)]
    pub(crate) dirs: TreeDirs,
    /// The CA to rotate.
    #[arg(long, value_enum, default_value = "all")]
    pub(crate) ca: CaChoice,
    /// Print what would change and the restart plan; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// kubeadm's static-pod manifests (e.g. /etc/kubernetes/manifests): write the plan's flag
    /// changes into them (each flag's line edited in place; the kubelet then restarts the pod).
    #[arg(long, value_name = "DIR")]
    pub(crate) manifests_dir: Option<PathBuf>,
    /// A kubeconfig of the cluster (an admin's): after a phase of the cluster CA, set the
    /// kube-public/cluster-info ConfigMap's CA data (what bootstrap-token joins trust) to
    /// ca.crt.
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
}

impl PhaseArgs {
    /// The options, with the folders made absolute: the plan's flag values (a
    /// `--cluster-signing-cert-file`) are read by components that do not run here.
    fn options(&self) -> CliResult<RotateOptions> {
        let absolute = |path: &PathBuf| {
            std::path::absolute(path).map_err(|e| CliError(format!("{}: {e}", path.display())))
        };
        let mut options = RotateOptions::new(
            absolute(&self.dirs.cert_dir)?,
            absolute(&self.dirs.kubeconfig_dir)?,
            self.ca.cas(),
        );
        options.dry_run = self.dry_run;
        options.manifests_dir = self.manifests_dir.as_ref().map(absolute).transpose()?;
        Ok(options)
    }
}

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    #[command(flatten)]
    pub(crate) phase: PhaseArgs,
    /// The new keys' algorithm (default: each old key's).
    #[arg(long)]
    pub(crate) algorithm: Option<String>,
    /// Use this CA certificate as the new CA (with --new-ca-key; one X.509 CA only).
    #[arg(long, requires = "new_ca_key")]
    pub(crate) new_ca_cert: Option<PathBuf>,
    /// ...and this key: a file, or a `pkcs11:` URI (cluster CA only; the PIN from
    /// pin-source or KUBEPKI_PKCS11_PIN), recorded in ca.key.uri at promote.
    #[arg(long, requires = "new_ca_cert")]
    pub(crate) new_ca_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PromoteArgs {
    #[command(flatten)]
    pub(crate) phase: PhaseArgs,
    /// The kubelet's certificate folder, when the client pair kubelet.conf names
    /// (/var/lib/kubelet/pki/kubelet-client-current.pem) is there rather than at the path
    /// written in it: it is reissued under the new CA with its key, as the kubelet rotates.
    #[arg(long, value_name = "DIR")]
    pub(crate) kubelet_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct FinishArgs {
    #[command(flatten)]
    pub(crate) phase: PhaseArgs,
    /// The longest lifetime of a service-account token in use: the service-account key is
    /// not finished before this has passed since promote. The default is the lifetime of
    /// the projected tokens the kubelet asks for (3607s), which it replaces at 80%.
    #[arg(long, default_value = "3607s")]
    pub(crate) token_lifetime: String,
    /// Finish now, even though tokens signed with the old key may still be in use.
    #[arg(long)]
    pub(crate) force: bool,
    /// Overwrite the old keys set aside in `rotation/<ca>/old.key` with zeros, then unlink
    /// them (default: keep them there).
    #[arg(long)]
    pub(crate) shred: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status:
  0  the files agree with each CA's phase
  1  a file could not be read
  3  some files disagree (listed as inconsistencies)")]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) dirs: TreeDirs,
    /// The CA to show.
    #[arg(long, value_enum, default_value = "all")]
    pub(crate) ca: CaChoice,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
}

/// `ca rotate`'s subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum RotateCommand {
    /// Make a new CA (or use the given one) and trust old and new everywhere; the old one still signs.
    Start(StartArgs),
    /// Reissue every certificate and kubeconfig under the new CA, which then signs; both stay trusted.
    Promote(PromoteArgs),
    /// Take the old CA and the old service-account key out of every trust location.
    Finish(FinishArgs),
    /// Undo a start (take the new CA out of trust again); a promoted rotation cannot be rolled back.
    Rollback(PhaseArgs),
    /// The phase of each CA read from the files, and what disagrees.
    Status(StatusArgs),
}

/// Runs a `ca rotate` subcommand.
pub(crate) fn run_rotate(command: &RotateCommand) -> CliResult<ExitCode> {
    let now = crate::clock::now()?;
    let (report, output) = match command {
        RotateCommand::Start(args) => {
            let mut options = args.phase.options()?;
            options.algorithm = args.algorithm.as_deref().map(str::parse).transpose()?;
            let mut keys = current_token_key(&options)?;
            if let (Some(cert), Some(key)) = (&args.new_ca_cert, &args.new_ca_key) {
                let read = |p: &PathBuf| {
                    std::fs::read(p).map_err(|e| CliError(format!("{}: {e}", p.display())))
                };
                match crate::hsm::uri_of(key) {
                    // The new CA's key on a token: its certificate here, its URI recorded.
                    Some(uri) => {
                        keys.new = Some(token_key(uri, UriOrigin::Operator)?);
                        options.new_ca = Some((read(cert)?, Vec::new()));
                    }
                    None => options.new_ca = Some((read(cert)?, read(key)?)),
                }
            }
            (rotate_start_with(&options, now, keys)?, args.phase.output)
        }
        RotateCommand::Promote(args) => {
            let mut options = args.phase.options()?;
            options.kubelet_dir.clone_from(&args.kubelet_dir);
            let mut keys = current_token_key(&options)?;
            let recorded = options.cert_dir.join("rotation/ca/new.key.uri");
            if options.cas.contains(&RotatedCa::Cluster) && recorded.exists() {
                let uri = std::fs::read_to_string(&recorded)
                    .map_err(|e| CliError(format!("{}: {e}", recorded.display())))?;
                keys.new = Some(token_key(uri.trim(), UriOrigin::File)?);
            }
            (rotate_promote_with(&options, now, keys)?, args.phase.output)
        }
        RotateCommand::Finish(args) => {
            let mut options = args.phase.options()?;
            options.token_lifetime = parse_duration(&args.token_lifetime)?;
            options.force = args.force;
            options.shred = args.shred;
            (rotate_finish(&options, now)?, args.phase.output)
        }
        RotateCommand::Rollback(args) => (rotate_rollback(&args.options()?, now)?, args.output),
        RotateCommand::Status(args) => return run_status(args),
    };
    print_phase(&report, output)?;
    let phase = match command {
        RotateCommand::Start(args) => &args.phase,
        RotateCommand::Finish(args) => &args.phase,
        RotateCommand::Promote(args) => &args.phase,
        RotateCommand::Rollback(args) => args,
        RotateCommand::Status(_) => return Ok(ExitCode::SUCCESS),
    };
    if let Some(kubeconfig) = &phase.kubeconfig
        && !phase.dry_run
        && report.cas.iter().any(|c| c.ca == RotatedCa::Cluster)
    {
        update_cluster_info(kubeconfig, &phase.dirs.cert_dir.join("ca.crt"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The cluster CA key that signs today when `ca.key.uri` names it on a token (opened with
/// the PIN in `KUBEPKI_PKCS11_PIN`; its module as `--pkcs11-module` allows).
fn current_token_key(options: &RotateOptions) -> CliResult<TokenKeys> {
    let mut keys = TokenKeys::default();
    if options.cas.contains(&RotatedCa::Cluster)
        && let Some(uri) = crate::hsm::recorded_key_uri(&options.cert_dir)?
    {
        keys.current = Some(token_key(&uri, UriOrigin::File)?);
    }
    Ok(keys)
}

/// The key a `pkcs11:` URI names, opened, with the URI to record (no PIN in it).
fn token_key(uri: &str, origin: UriOrigin) -> CliResult<TokenKey> {
    let (parsed, token) = crate::hsm::open_from(uri, origin)?;
    let signer = token.signer(&parsed)?;
    let mut without_pin = parsed.clone();
    without_pin.pin_value = None;
    Ok(TokenKey {
        signer: Box::new(signer),
        uri: without_pin.to_string(),
    })
}

/// Sets kube-public/cluster-info's CA data to `ca_crt` through the cluster of `kubeconfig`.
fn update_cluster_info(kubeconfig: &std::path::Path, ca_crt: &std::path::Path) -> CliResult<()> {
    let ca_pem = std::fs::read_to_string(ca_crt)
        .map_err(|e| CliError(format!("{}: {e}", ca_crt.display())))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("starting the async runtime: {e}")))?;
    let (changed, root_ca) = runtime.block_on(async {
        let client = kubepki_kube::connect(kubepki_kube::ClusterSource::Kubeconfig(kubeconfig))
            .await
            .map_err(|e| CliError(e.to_string()))?;
        let changed = kubepki_kube::set_cluster_info_ca(client.clone(), &ca_pem)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        let root_ca = kubepki_kube::root_ca_report(client, &ca_pem)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        Ok::<_, CliError>((changed, root_ca))
    })?;
    if changed {
        eprintln!(
            "updated configmap {}: its CA data is now {}",
            kubepki_kube::CLUSTER_INFO,
            ca_crt.display()
        );
    } else {
        eprintln!(
            "configmap {} already carries {} (or does not exist): unchanged",
            kubepki_kube::CLUSTER_INFO,
            ca_crt.display()
        );
    }
    print_root_ca(&root_ca, ca_crt);
    Ok(())
}

/// Tells what the namespaces' `kube-root-ca.crt` (what pods trust) carry against `ca.crt`.
fn print_root_ca(report: &kubepki_kube::RootCaReport, ca_crt: &std::path::Path) {
    let total = report.current.len() + report.stale.len();
    if total == 0 {
        eprintln!(
            "configmap {} is in no namespace yet: kube-controller-manager's root-ca-cert-publisher writes its --root-ca-file there",
            kubepki_kube::ROOT_CA_CONFIG_MAP
        );
        return;
    }
    if report.stale.is_empty() {
        eprintln!(
            "configmap {} carries {} in all {total} namespaces",
            kubepki_kube::ROOT_CA_CONFIG_MAP,
            ca_crt.display()
        );
        return;
    }
    let shown: Vec<&str> = report.stale.iter().take(5).map(String::as_str).collect();
    eprintln!(
        "configmap {} carries {} in {} of {total} namespaces; not yet in {}{}: kube-controller-manager publishes its --root-ca-file ({}) there once restarted, and pods read it within a minute; wait for that before the next phase",
        kubepki_kube::ROOT_CA_CONFIG_MAP,
        ca_crt.display(),
        report.current.len(),
        shown.join(", "),
        if report.stale.len() > shown.len() {
            ", ..."
        } else {
            ""
        },
        ca_crt.display()
    );
}

fn run_status(args: &StatusArgs) -> CliResult<ExitCode> {
    let status = rotation_status(
        &args.dirs.cert_dir,
        &args.dirs.kubeconfig_dir,
        &args.ca.cas(),
    )?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&status)?),
        OutputFormat::Text => print_status(&status),
    }
    Ok(if status.is_consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INCONSISTENT)
    })
}

fn print_status(status: &RotationStatus) {
    for ca in &status.cas {
        println!(
            "{:<12} {:<9} trusted: {}  signing: {}",
            ca.ca.name(),
            ca.phase.name(),
            ca.trusted.join(", "),
            ca.signing.as_deref().unwrap_or("-")
        );
        for problem in &ca.inconsistencies {
            println!("  inconsistent: {problem}");
        }
    }
}

fn print_phase(report: &PhaseReport, output: OutputFormat) -> CliResult<()> {
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let would = if report.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    println!("{}{would}", report.phase);
    for ca in &report.cas {
        let what = if ca.changed {
            ""
        } else {
            " (already; nothing to do)"
        };
        println!(
            "  {:<12} {} -> {}{what}",
            ca.ca.name(),
            ca.from.name(),
            ca.to.name()
        );
    }
    for file in &report.files {
        println!("  {:<6} {}", file.action, file.path.display());
    }
    println!("restart, in order, one instance at a time:");
    for (n, step) in report.plan.steps.iter().enumerate() {
        println!("  {}. {}: {}", n + 1, step.component, step.why);
        for flag in &step.flags {
            println!("     set {}={} ({})", flag.flag, flag.value, flag.why);
        }
    }
    for note in &report.plan.notes {
        println!("note: {note}");
    }
    println!("rollback: {}", report.rollback);
    Ok(())
}
