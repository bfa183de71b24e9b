//! `certs renew` (by name, all, or what a timer finds due) and `certs recover` (an expired
//! cluster, offline): arguments and the report they print.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kubepki::cluster::{
    RecoverOptions, RenewOptions, RenewReport, parse_san, recover, renew_due, renew_with_ca,
};
use kubepki::profile::parse_duration;
use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::files::warn_tree_ca_keys;
use crate::tree_dirs::TreeDirs;

/// The exit status when some due certificates could not be renewed here.
const EXIT_NOT_ALL_RENEWED: u8 = 3;

/// Output of renew and recover.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    /// One line per certificate, then what to restart.
    Text,
    /// The same report as one JSON object.
    Json,
}

/// What renew and recover share: how the new certificates are made and where old files go.
#[derive(Debug, Args)]
pub(crate) struct RenewalArgs {
    #[command(flatten)]
    pub(crate) dirs: TreeDirs,
    /// SANs added to the renewed serving certificates, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) add_san: Vec<String>,
    /// The new keys' algorithm (default: each key's current one).
    #[arg(long)]
    pub(crate) algorithm: Option<String>,
    /// The new validity.
    #[arg(long, default_value = kubepki::profile::DEFAULT_CERT_VALIDITY_TEXT)]
    pub(crate) cert_validity: String,
    /// Move the replaced certificates, keys and kubeconfig files to DIR/<time of the
    /// renewal>/ (folders created 0700, keys staying 0600) instead of removing them. Without
    /// it no old file stays: the copies the renewal keeps while it writes (*.bak) are
    /// removed once the new pair is in place.
    #[arg(long, value_name = "DIR")]
    pub(crate) keep_old: Option<PathBuf>,
    /// The cluster CA's key on a PKCS#11 token (`pkcs11:` URI); default: `ca.key`, else the
    /// URI `init --ca-key-uri` recorded in `ca.key.uri`.
    #[arg(long)]
    pub(crate) ca_key_uri: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: ReportFormat,
}

impl RenewalArgs {
    fn options(&self) -> CliResult<RenewOptions> {
        Ok(RenewOptions {
            cert_dir: self.dirs.cert_dir.clone(),
            kubeconfig_dir: self.dirs.kubeconfig_dir.clone(),
            algorithm: self.algorithm.as_deref().map(str::parse).transpose()?,
            validity: Some(parse_duration(&self.cert_validity)?),
            add_sans: self
                .add_san
                .iter()
                .map(|s| parse_san(s))
                .collect::<Result<_, _>>()?,
            keep_old: self.keep_old.clone(),
        })
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status:
  0  nothing was due, or everything due (or named) was renewed
  1  a renewal failed: the message names the file; what was renewed before it stays renewed
  2  the command line is wrong
  3  with --if-expiring-within: some due certificates were not renewed because their CA's
     key is not here (external CA); they are listed as skipped

Old files: each pair is replaced as one (a journal restores the old pair if the process is
killed half-way); once the new pair is in place the old one is removed, or moved under
--keep-old DIR. No *.bak file and no old key stays in the tree.")]
pub(crate) struct RenewArgs {
    /// `all`, or a name as check-expiration shows it (apiserver, admin.conf, ...). Leave it
    /// out with --if-expiring-within.
    #[arg(required_unless_present = "if_expiring_within")]
    pub(crate) name: Option<String>,
    /// Renew exactly the certificates and kubeconfig client certificates that expire within
    /// DURATION (e.g. 720h, as check-expiration's --warn-within) or have expired, nothing
    /// else: what a timer runs. A second run renews nothing.
    #[arg(long, value_name = "DURATION", conflicts_with = "name")]
    pub(crate) if_expiring_within: Option<String>,
    #[command(flatten)]
    pub(crate) renewal: RenewalArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "\
For a cluster whose certificates expired and whose API server is unreachable: works offline
from the tree alone. Renews every leaf certificate and kubeconfig (kubelet.conf included) that
expired or ends within --within; keeps the CAs, and refuses when a CA itself expired. Then it
tries each kubeconfig's credentials against its API server with a TLS handshake and a request
(a refused connection means that server is not running), and says what to restart.

Exit status: 0 renewed (or nothing due); 1 a renewal failed or a CA expired;
3 some credentials were rejected by a running API server after the renewal.")]
pub(crate) struct RecoverArgs {
    /// Renew what ends within this margin too, not only what has expired.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub(crate) within: String,
    /// The kubelet's certificate folder (kubelet's --cert-dir), where the file kubelet.conf
    /// names is to be found when it is not at the path written in it (a node's disk mounted
    /// elsewhere). The new pair goes there as kubelet-client-<time>.pem and
    /// kubelet-client-current.pem is moved to it.
    #[arg(long, value_name = "DIR")]
    pub(crate) kubelet_dir: Option<PathBuf>,
    /// Skip the TLS checks against running API servers.
    #[arg(long)]
    pub(crate) no_check: bool,
    #[command(flatten)]
    pub(crate) renewal: RenewalArgs,
}

/// One renewed certificate in `-o json`.
#[derive(Debug, Serialize)]
struct RenewedEntry<'a> {
    name: &'a str,
    path: String,
    /// The component to restart, `null` when it reloads the file by itself.
    restart: Option<&'a str>,
}

/// One certificate left alone in `-o json`.
#[derive(Debug, Serialize)]
struct SkippedEntry<'a> {
    name: &'a str,
    ca: &'a str,
    reason: &'static str,
}

/// The report of renew and recover, as `-o json` prints it.
#[derive(Debug, Serialize)]
struct ReportJson<'a> {
    renewed: Vec<RenewedEntry<'a>>,
    skipped: Vec<SkippedEntry<'a>>,
    /// Components to restart, each once, in the order first needed.
    restart: Vec<&'a str>,
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checks: Vec<crate::tls_check::CheckResult>,
}

/// Each component to restart once, in the order first needed.
fn restarts(report: &RenewReport) -> Vec<&'static str> {
    let mut restart = Vec::new();
    for needed in report.renewed.iter().filter_map(|r| r.restart_needed()) {
        if !restart.contains(&needed) {
            restart.push(needed);
        }
    }
    restart
}

const EXTERNAL: &str =
    "detected external CA: its key is not here, so this certificate can't be renewed";

fn print_report(
    report: &RenewReport,
    format: ReportFormat,
    checks: Vec<crate::tls_check::CheckResult>,
) -> CliResult<()> {
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if format == ReportFormat::Json {
        let json = ReportJson {
            renewed: report
                .renewed
                .iter()
                .map(|r| RenewedEntry {
                    name: &r.name,
                    path: r.path.display().to_string(),
                    restart: r.restart_needed(),
                })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|s| SkippedEntry {
                    name: &s.name,
                    ca: &s.ca,
                    reason: EXTERNAL,
                })
                .collect(),
            restart: restarts(report),
            warnings: &report.warnings,
            checks,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    for skipped in &report.skipped {
        println!(
            "skipped {:<26} {EXTERNAL} (CA {})",
            skipped.name, skipped.ca
        );
    }
    for r in &report.renewed {
        let note = match r.restart_needed() {
            Some(_) => String::new(),
            None => format!(
                " ({})",
                r.restart
                    .trim_start_matches("nothing (")
                    .trim_end_matches(')')
            ),
        };
        println!("renewed {:<26} {}{note}", r.name, r.path.display());
    }
    if report.renewed.is_empty() && report.skipped.is_empty() {
        println!("nothing was due: no certificate renewed");
    }
    for check in &checks {
        println!("{check}");
    }
    let restart = restarts(report);
    if !restart.is_empty() {
        println!(
            "restart so they use the new certificates: {}",
            restart.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn run_renew(args: &RenewArgs) -> CliResult<ExitCode> {
    let renewal = &args.renewal;
    warn_tree_ca_keys(&renewal.dirs.cert_dir);
    let options = renewal.options()?;
    let within = args
        .if_expiring_within
        .as_deref()
        .map(parse_duration)
        .transpose()?;
    let ca = crate::hsm::cluster_ca(&renewal.dirs.cert_dir, renewal.ca_key_uri.as_deref())?;
    let now = crate::clock::now()?;
    let report = match (within, &args.name) {
        (Some(within), _) => renew_due(&options, within, now, ca.as_ref())?,
        (None, Some(name)) => renew_with_ca(&options, name, now, ca.as_ref())?,
        (None, None) => {
            return Err(CliError(
                "name a certificate (or all), or give --if-expiring-within".to_owned(),
            ));
        }
    };
    print_report(&report, renewal.output, Vec::new())?;
    if within.is_some() && !report.skipped.is_empty() {
        return Ok(ExitCode::from(EXIT_NOT_ALL_RENEWED));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_recover(args: &RecoverArgs) -> CliResult<ExitCode> {
    let renewal = &args.renewal;
    warn_tree_ca_keys(&renewal.dirs.cert_dir);
    let options = RecoverOptions {
        renew: renewal.options()?,
        within: parse_duration(&args.within)?,
        kubelet_dir: args.kubelet_dir.clone(),
    };
    let ca = crate::hsm::cluster_ca(&renewal.dirs.cert_dir, renewal.ca_key_uri.as_deref())?;
    let report = recover(&options, crate::clock::now()?, ca.as_ref())?;
    let checks = if args.no_check {
        Vec::new()
    } else {
        crate::tls_check::check_kubeconfigs(
            &renewal.dirs.kubeconfig_dir,
            args.kubelet_dir.as_deref(),
        )
    };
    let rejected = checks.iter().any(crate::tls_check::CheckResult::rejected);
    print_report(&report, renewal.output, checks)?;
    if rejected {
        return Ok(ExitCode::from(EXIT_NOT_ALL_RENEWED));
    }
    Ok(ExitCode::SUCCESS)
}
