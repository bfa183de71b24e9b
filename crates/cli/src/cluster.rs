//! `kubepki init` and the cluster commands: the kubeadm tree, kubeconfig files.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use kubepki::KeyAlgorithm;
use kubepki::cluster::{Action, GroupsCompat, InitOptions, init};
use kubepki::profile::parse_duration;

use crate::commands::{CliError, CliResult};

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
    /// The service CIDR; its first address is a SAN of the API server.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub(crate) service_cidr: String,
    /// The cluster DNS domain.
    #[arg(long, default_value = "cluster.local")]
    pub(crate) dns_domain: String,
    /// The cluster name in the kubeconfig files.
    #[arg(long, default_value = "kubernetes")]
    pub(crate) cluster_name: String,
    /// HOST[:PORT] of a shared endpoint (load balancer) for the kubeconfig files.
    #[arg(long)]
    pub(crate) control_plane_endpoint: Option<String>,
    /// Extra SANs (IPs or DNS names) of the API server certificate, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) apiserver_cert_extra_sans: Vec<String>,
    /// Extra SANs of the etcd server and peer certificates, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) etcd_server_cert_extra_sans: Vec<String>,
    /// RSA-2048, RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384.
    #[arg(long, default_value = "RSA-2048")]
    pub(crate) algorithm: String,
    /// Validity of the leaf certificates, e.g. 8760h.
    #[arg(long, default_value = "8760h")]
    pub(crate) cert_validity: String,
    /// Validity of the CAs, e.g. 87600h.
    #[arg(long, default_value = "87600h")]
    pub(crate) ca_validity: String,
    /// No local etcd: leave out etcd/ and apiserver-etcd-client.
    #[arg(long)]
    pub(crate) external_etcd: bool,
    /// Group names as current kubeadm or kubeadm 1.28.
    #[arg(long, value_enum, default_value = "current")]
    pub(crate) groups_compat: GroupsCompatArg,
}

/// This host's name as kubeadm takes it: lower case.
fn host_name() -> String {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let name = from_proc.or_else(|| {
        std::process::Command::new("hostname")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
    });
    match name.map(|n| n.trim().to_lowercase()) {
        Some(n) if !n.is_empty() => n,
        _ => "localhost".to_owned(),
    }
}

pub(crate) fn run_init(args: &InitArgs) -> CliResult<ExitCode> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let node_name = args.node_name.clone().unwrap_or_else(host_name);
    let mut options = InitOptions::new(
        &args.cert_dir,
        &args.kubeconfig_dir,
        &node_name,
        args.advertise_address,
    );
    options.service_cidr = args.service_cidr.clone();
    options.dns_domain = args.dns_domain.clone();
    options.cluster_name = args.cluster_name.clone();
    options.control_plane_endpoint = args.control_plane_endpoint.clone();
    options.apiserver_cert_extra_sans = args.apiserver_cert_extra_sans.clone();
    options.etcd_server_cert_extra_sans = args.etcd_server_cert_extra_sans.clone();
    options.algorithm = algorithm;
    options.cert_validity = Some(parse_duration(&args.cert_validity)?);
    options.ca_validity = Some(parse_duration(&args.ca_validity)?);
    options.external_etcd = args.external_etcd;
    options.groups_compat = match args.groups_compat {
        GroupsCompatArg::Current => GroupsCompat::Current,
        GroupsCompatArg::V128 => GroupsCompat::V1_28,
    };
    let report = init(&options, SystemTime::now()).map_err(|e| CliError(e.to_string()))?;
    println!(
        "[certs] node {node_name}, advertise address {}, {algorithm}",
        args.advertise_address
    );
    for entry in &report.entries {
        let what = match &entry.action {
            Action::Written => "wrote".to_owned(),
            Action::Kept => "kept ".to_owned(),
            Action::Missing { ca } => format!("MISSING (CA {ca} has no key here: sign it elsewhere)"),
        };
        println!("{what:5} {:<26} {}", entry.name, entry.path.display());
    }
    if report.is_incomplete() {
        println!("external CA mode: the files marked MISSING must be provided before the control plane can start");
    }
    Ok(ExitCode::SUCCESS)
}
