//! `kubepki certs exporter`: the tree's certificate expiry as Prometheus metrics, with enix
//! x509-certificate-exporter's names, on `--listen`. The reading is `kubepki-exporter`'s; the
//! serving is `kubepki-kube`'s hardened metrics server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use kubepki::profile::parse_duration;
use kubepki_exporter::{Exporter, ExporterOptions, Scrape, Sources};
use kubepki_kube::{Page, Pages};

use crate::daemon::{LogFormat, init_logs, terminated};
use crate::error::{CliError, CliResult};
use crate::tree_dirs::TreeDirs;

#[derive(Debug, Args)]
pub(crate) struct ExporterArgs {
    #[command(flatten)]
    pub(crate) dirs: TreeDirs,
    /// Also a certificate file (PEM or DER; symlinks followed); repeat for more.
    #[arg(long, value_name = "FILE")]
    pub(crate) watch_file: Vec<PathBuf>,
    /// Also the `*.crt` and `*.pem` files of a folder (not recursive; symlinks followed, such
    /// as kubelet's pki/kubelet-client-current.pem); repeat for more.
    #[arg(long, value_name = "DIR")]
    pub(crate) watch_dir: Vec<PathBuf>,
    /// Where to serve /metrics: HOST:PORT, or :PORT for every address (enix's port).
    #[arg(long, default_value = ":9793")]
    pub(crate) listen: String,
    /// Also expose x509_cert_expires_in_seconds and x509_cert_valid_since_seconds.
    #[arg(long)]
    pub(crate) expose_relative_metrics: bool,
    /// The --if-expiring-within window `certs renew` runs with (e.g. 720h), for
    /// kubepki_certificate_renewal_timestamp_seconds; default: two thirds of the validity.
    #[arg(long, value_name = "DURATION")]
    pub(crate) renew_if_expiring_within: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

/// `HOST:PORT`, or Go's `:PORT` for every IPv4 address.
fn listen_address(text: &str) -> CliResult<SocketAddr> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_owned()
    };
    full.parse().map_err(|_| {
        CliError(format!(
            "--listen {text:?} is not HOST:PORT or :PORT (an IP address, not a name)"
        ))
    })
}

/// The exporter behind the metrics server.
struct ExporterPages(Exporter);

impl Pages for ExporterPages {
    fn page(&self, path: &str) -> Page {
        match path {
            "/metrics" => {
                // A read of the files blocks: off the runtime's async path.
                let scrape = tokio::task::block_in_place(|| scrape_and_log(&self.0));
                Page::ok(scrape.text, scrape.content_type)
            }
            "/healthz" | "/livez" | "/readyz" => Page::ok("ok".to_owned(), "text/plain"),
            _ => Page::not_found(),
        }
    }
}

/// A scrape, its failed reads and watch problems logged.
fn scrape_and_log(exporter: &Exporter) -> Scrape {
    let scrape = exporter.scrape(SystemTime::now());
    for error in &scrape.errors {
        tracing::warn!(
            source_kind = error.source_kind.as_str(),
            source_name = %error.source_name,
            reason = error.reason.as_str(),
            path = %error.path.display(),
            "{}",
            error.detail
        );
    }
    for problem in &scrape.watch_problems {
        tracing::warn!("{problem}; tried again at the next read");
    }
    scrape
}

pub(crate) fn run(args: &ExporterArgs) -> CliResult<()> {
    let addr = listen_address(&args.listen)?;
    let mut options = ExporterOptions::new(Sources {
        cert_dir: Some(args.dirs.cert_dir.clone()),
        kubeconfig_dir: Some(args.dirs.kubeconfig_dir.clone()),
        watch_files: args.watch_file.clone(),
        watch_dirs: args.watch_dir.clone(),
    });
    options.expose_relative = args.expose_relative_metrics;
    options.renewal_window = args
        .renew_if_expiring_within
        .as_deref()
        .map(parse_duration)
        .transpose()?;
    init_logs(args.log_format);
    let exporter = Exporter::new(options);
    if let Some(why) = exporter.watch_unavailable() {
        tracing::warn!("{why}; files are read again every 5 minutes and after failed reads");
    }
    // The first read now: its errors are logged at start, not at the first scrape.
    scrape_and_log(&exporter);
    let pages = Arc::new(ExporterPages(exporter));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("starting the async runtime: {e}")))?;
    runtime.block_on(async {
        let (bound, _task) = kubepki_kube::serve(addr, pages)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        println!("serving /metrics on http://{bound}/metrics");
        tracing::info!(%bound, "serving /metrics");
        terminated().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_gos_port_only_form() {
        assert_eq!(
            listen_address(":9793").unwrap(),
            "0.0.0.0:9793".parse().unwrap()
        );
        assert_eq!(
            listen_address("127.0.0.1:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        let err = listen_address("localhost:9793").unwrap_err();
        assert!(err.0.contains("\"localhost:9793\""), "{}", err.0);
    }
}
