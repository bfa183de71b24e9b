//! `kubepki controller cluster --kubeconfig FILE` (or `--in-cluster`): the signing (and
//! approving) controller on a real cluster, through `kubepki-kube`. The embedded store's
//! controller is `embedded_controller.rs`; both take the same signing flags and build the
//! same `SigningController`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Args;
use kubepki_kube::{
    ApprovalPolicy, ClusterSource, ControllerOptions, DEFAULT_CLUSTER_DOMAIN,
    DEFAULT_SERVICE_CLUSTER_IP_RANGE, LeaseConfig, Metrics, ServingConstraints,
};

use crate::daemon::{LogFormat, init_logs, terminated};
use crate::error::{CliError, CliResult};
use crate::signing_flags::{SigningArgs, build_controller};

/// The flags of the cluster mode.
#[derive(Debug, Args)]
pub(crate) struct ClusterControllerArgs {
    #[command(flatten)]
    pub(crate) signing: SigningArgs,
    /// Sign the requests of the cluster of this kubeconfig.
    #[arg(long, value_name = "FILE", required_unless_present = "in_cluster")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Sign the requests of the cluster this pod runs in, through its service account (never
    /// $KUBECONFIG or ~/.kube/config).
    #[arg(long, conflicts_with = "kubeconfig")]
    pub(crate) in_cluster: bool,
    /// Approve on our own: kubelet-client (kube-controller-manager's rule, with a
    /// SubjectAccessReview), kubelet-serving (the requester is the node, every name allowed
    /// by the --serving-* flags and one of its Node's addresses). Comma-separated or repeated.
    #[arg(long, value_name = "POLICIES")]
    pub(crate) approve: Vec<String>,
    /// Decide, log and count every approval verdict, but never write an approval.
    #[arg(long)]
    pub(crate) approve_dry_run: bool,
    /// kubelet-serving: every IP name must lie in one of these prefixes. Without it no
    /// request with an IP name is approved. Comma-separated or repeated.
    #[arg(long, value_name = "CIDR[,CIDR...]")]
    pub(crate) serving_ip_prefixes: Vec<String>,
    /// kubelet-serving: `<node>.<SUFFIX>` is an allowed DNS name (besides the node name).
    /// Repeatable.
    #[arg(long, value_name = "SUFFIX")]
    pub(crate) serving_dns_suffix: Vec<String>,
    /// kubelet-serving: a DNS name that fully matches REGEX and whose first label is the
    /// node name is allowed.
    #[arg(long, value_name = "REGEX")]
    pub(crate) serving_dns_regex: Option<String>,
    /// kubelet-serving: every DNS name must also resolve, only to addresses in
    /// --serving-ip-prefixes.
    #[arg(long)]
    pub(crate) serving_resolve_dns: bool,
    /// The Services' range (kube-apiserver's flag): no address in it is ever approved for a
    /// kubelet, the API server's own (the first) above all.
    #[arg(long, value_name = "CIDR[,CIDR]", default_value = DEFAULT_SERVICE_CLUSTER_IP_RANGE)]
    pub(crate) service_cluster_ip_range: String,
    /// The cluster's DNS domain: `*.svc.<DOMAIN>` is never approved for a kubelet.
    #[arg(long, value_name = "DOMAIN", default_value = DEFAULT_CLUSTER_DOMAIN)]
    pub(crate) cluster_domain: String,
    /// Sign only while holding a coordination.k8s.io Lease (lease 15s, renew 10s, retry 2s).
    #[arg(long)]
    pub(crate) leader_elect: bool,
    /// The Lease's namespace.
    #[arg(long, value_name = "NAMESPACE", default_value = "kube-system")]
    pub(crate) leader_elect_resource_namespace: String,
    /// The Lease's name.
    #[arg(long, value_name = "NAME", default_value = "kubepki-controller")]
    pub(crate) leader_elect_resource_name: String,
    /// This replica's identity in the Lease (default: host name and process id).
    #[arg(long, value_name = "ID")]
    pub(crate) leader_elect_identity: Option<String>,
    /// Serve Prometheus /metrics, /healthz and /readyz here.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_addr: Option<SocketAddr>,
    /// Requests handled at once.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub(crate) workers: u16,
    /// Log lines as text or JSON.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

fn identity(args: &ClusterControllerArgs) -> String {
    if let Some(id) = &args.leader_elect_identity {
        return id.clone();
    }
    let host = crate::host::host_name().unwrap_or_else(|| "kubepki".to_owned());
    format!("{host}_{}", std::process::id())
}

/// The kubelet-serving constraints of the flags.
fn serving_constraints(args: &ClusterControllerArgs) -> CliResult<ServingConstraints> {
    let flag = |e: kubepki_kube::KubeError| CliError(e.to_string());
    let mut c = ServingConstraints::new()
        .with_service_cluster_ip_range(&args.service_cluster_ip_range)
        .map_err(flag)?
        .with_cluster_domain(&args.cluster_domain)
        .map_err(flag)?
        .with_resolve_dns(args.serving_resolve_dns);
    for list in &args.serving_ip_prefixes {
        c = c.with_ip_prefixes(list).map_err(flag)?;
    }
    for suffix in &args.serving_dns_suffix {
        c = c.with_dns_suffix(suffix).map_err(flag)?;
    }
    if let Some(pattern) = &args.serving_dns_regex {
        c = c.with_dns_regex(pattern).map_err(flag)?;
    }
    Ok(c)
}

/// Runs the controller against the cluster until SIGTERM (or Ctrl-C).
pub(crate) fn run(args: &ClusterControllerArgs) -> CliResult<()> {
    let signing = build_controller(&args.signing)?;
    let approval =
        ApprovalPolicy::from_words(args.approve.iter().map(String::as_str)).map_err(CliError)?;
    let serving = serving_constraints(args)?;
    if args.workers == 0 {
        return Err(CliError("--workers must be at least 1".to_owned()));
    }
    init_logs(args.log_format);
    let lease = args.leader_elect.then(|| {
        LeaseConfig::new(
            &args.leader_elect_resource_namespace,
            &args.leader_elect_resource_name,
            &identity(args),
        )
    });
    let options = ControllerOptions {
        signing,
        approval,
        serving,
        approve_dry_run: args.approve_dry_run,
        lease,
        workers: args.workers,
        clock: SystemTime::now,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("starting the async runtime: {e}")))?;
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::new());
        if let Some(addr) = args.metrics_addr {
            let (bound, _task) = kubepki_kube::serve(addr, Arc::clone(&metrics))
                .await
                .map_err(|e| CliError(e.to_string()))?;
            tracing::info!(%bound, "serving /metrics, /healthz and /readyz");
        }
        let source = match &args.kubeconfig {
            Some(path) => ClusterSource::Kubeconfig(path),
            None => ClusterSource::InCluster,
        };
        let client = kubepki_kube::connect(source)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        kubepki_kube::run(client, options, metrics, terminated())
            .await
            .map_err(|e| CliError(e.to_string()))
    })
}
