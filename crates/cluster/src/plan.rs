//! The plan of a tree: what `init` is asked for (its options), and the cluster parameters,
//! server URLs and profiles derived from them. Nothing here reads or writes a file.

use core::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use kubepki_csr::{San, Subject};
use kubepki_keys::KeyAlgorithm;
use kubepki_profile::{
    ClusterParams, DEFAULT_BIND_PORT, DEFAULT_CLUSTER_NAME, DEFAULT_DNS_DOMAIN,
    DEFAULT_SERVICE_CIDR, KubeletClientGroup, Profile, builtin, format_duration,
};

use kubepki_keys::KeyPair;
use kubepki_sign::{Ca, IssueOptions, IssuedCert};

use crate::ClusterError;
use crate::ca_source::CaSource;
use crate::tree::{CaName, KUBECONFIGS, KubeconfigSpec, LEAVES, LeafSpec};

/// Which group names the admin and kubelet-client certificates carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupsCompat {
    /// kubeadm 1.29 and later: `admin.conf` in `kubeadm:cluster-admins`, a separate
    /// `super-admin.conf` in `system:masters`.
    #[default]
    Current,
    /// kubeadm 1.28: `admin.conf` and `apiserver-kubelet-client` in `system:masters`, no
    /// `super-admin.conf`.
    V1_28,
}

/// What `init` is to lay out: the flags of `kubepki init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitOptions {
    /// The certificate folder (kubeadm: `/etc/kubernetes/pki`).
    pub cert_dir: PathBuf,
    /// The kubeconfig folder (kubeadm: `/etc/kubernetes`).
    pub kubeconfig_dir: PathBuf,
    /// The control-plane node's name.
    pub node_name: String,
    /// The node's advertise address.
    pub advertise_address: IpAddr,
    /// The port the API server listens on (kubeadm's `--apiserver-bind-port`, default 6443):
    /// in the local kubeconfig files, and of the control-plane endpoint when it names none.
    pub apiserver_bind_port: u16,
    /// The service CIDR (default `10.96.0.0/12`).
    pub service_cidr: String,
    /// The cluster DNS domain (default `cluster.local`).
    pub dns_domain: String,
    /// The cluster name in kubeconfig files (default `kubernetes`).
    pub cluster_name: String,
    /// `HOST[:PORT]` of a shared control-plane endpoint (load balancer), if any.
    pub control_plane_endpoint: Option<String>,
    /// Extra SANs of the API server certificate (IP addresses or DNS names).
    pub apiserver_cert_extra_sans: Vec<String>,
    /// Extra SANs of the etcd server certificate (kubeadm's `etcd.local.serverCertSANs`).
    pub etcd_server_cert_extra_sans: Vec<String>,
    /// Extra SANs of the etcd peer certificate (kubeadm's `etcd.local.peerCertSANs`).
    pub etcd_peer_cert_extra_sans: Vec<String>,
    /// The key algorithm of every key.
    pub algorithm: KeyAlgorithm,
    /// Validity of the leaf certificates (default 365 days).
    pub cert_validity: Option<Duration>,
    /// Validity of the CAs (default 10 years).
    pub ca_validity: Option<Duration>,
    /// No local etcd: no `etcd/` folder, no `apiserver-etcd-client`.
    pub external_etcd: bool,
    /// Group names as current kubeadm or kubeadm 1.28.
    pub groups_compat: GroupsCompat,
    /// Threads generating keys; 0 means one per core.
    pub threads: usize,
    /// Where the cluster CA's key is: `ca.key` (the default), a signer, or nowhere here
    /// (external CA mode).
    pub ca: CaSource,
}

impl InitOptions {
    /// kubeadm's defaults for the given folders, node name and advertise address, with
    /// RSA-2048 keys as kubeadm.
    pub fn new(
        cert_dir: impl Into<PathBuf>,
        kubeconfig_dir: impl Into<PathBuf>,
        node_name: &str,
        advertise_address: IpAddr,
    ) -> Self {
        InitOptions {
            cert_dir: cert_dir.into(),
            kubeconfig_dir: kubeconfig_dir.into(),
            node_name: node_name.to_owned(),
            advertise_address,
            apiserver_bind_port: DEFAULT_BIND_PORT,
            service_cidr: DEFAULT_SERVICE_CIDR.to_owned(),
            dns_domain: DEFAULT_DNS_DOMAIN.to_owned(),
            cluster_name: DEFAULT_CLUSTER_NAME.to_owned(),
            control_plane_endpoint: None,
            apiserver_cert_extra_sans: Vec::new(),
            etcd_server_cert_extra_sans: Vec::new(),
            etcd_peer_cert_extra_sans: Vec::new(),
            algorithm: KeyAlgorithm::Rsa2048,
            cert_validity: None,
            ca_validity: None,
            external_etcd: false,
            groups_compat: GroupsCompat::Current,
            threads: 0,
            ca: CaSource::File,
        }
    }
}

/// The cluster parameters and the profiles derived from the options.
pub(crate) struct Plan {
    pub(crate) params: ClusterParams,
    pub(crate) cluster_name: String,
    pub(crate) server: String,
    pub(crate) local_server: String,
    pub(crate) cert_validity: Option<Duration>,
    pub(crate) ca_validity: Option<Duration>,
    pub(crate) groups_compat: GroupsCompat,
    pub(crate) external_etcd: bool,
}

/// Parses a SAN given on the command line: an IP address, else a DNS name.
///
/// # Errors
/// [`ClusterError::InvalidSan`] naming the value.
pub fn parse_san(value: &str) -> Result<San, ClusterError> {
    let value = value.trim();
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(San::Ip(ip));
    }
    San::dns(value).map_err(|_| ClusterError::InvalidSan {
        value: value.to_owned(),
    })
}

/// Parses the extra SANs given with `flag`. kubeadm warns about an invalid one and leaves it
/// out; `init` refuses it, naming the value and the flag, so that no certificate silently
/// lacks a name its admin asked for.
fn extra_sans(values: &[String], flag: &'static str) -> Result<Vec<San>, ClusterError> {
    values
        .iter()
        .map(|value| {
            parse_san(value).map_err(|_| ClusterError::InvalidExtraSan {
                value: value.clone(),
                flag,
            })
        })
        .collect()
}

fn host_url(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("https://[{ip}]:{port}"),
        _ => format!("https://{host}:{port}"),
    }
}

/// Splits `HOST[:PORT]` (IPv6 as `[addr]:port` or bare), `default_port` when it names none
/// (kubeadm takes the API server's bind port).
fn parse_endpoint(value: &str, default_port: u16) -> Result<(San, String), ClusterError> {
    let bad = |reason| ClusterError::InvalidEndpoint {
        value: value.to_owned(),
        reason,
    };
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad("text after ]")),
        }
    } else if value.parse::<IpAddr>().is_ok() {
        (value, None)
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| bad("the port is not a number"))?,
        None => default_port,
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let san =
        parse_san(host).map_err(|_| bad("the host is neither an IP address nor a DNS name"))?;
    Ok((san, host_url(host, port)))
}

impl Plan {
    pub(crate) fn new(options: &InitOptions) -> Result<Self, ClusterError> {
        let mut apiserver_extra_sans = Vec::new();
        let local_server = host_url(
            &options.advertise_address.to_string(),
            options.apiserver_bind_port,
        );
        let server = match &options.control_plane_endpoint {
            Some(endpoint) => {
                let (san, url) = parse_endpoint(endpoint, options.apiserver_bind_port)?;
                apiserver_extra_sans.push(san);
                url
            }
            None => local_server.clone(),
        };
        apiserver_extra_sans.extend(extra_sans(
            &options.apiserver_cert_extra_sans,
            "--apiserver-cert-extra-sans",
        )?);
        let etcd_extra_sans = extra_sans(
            &options.etcd_server_cert_extra_sans,
            "--etcd-server-cert-extra-sans",
        )?;
        let etcd_peer_extra_sans = extra_sans(
            &options.etcd_peer_cert_extra_sans,
            "--etcd-peer-cert-extra-sans",
        )?;
        let params = ClusterParams {
            node_name: Some(options.node_name.clone()),
            advertise_address: Some(options.advertise_address),
            service_cidr: options.service_cidr.clone(),
            dns_domain: options.dns_domain.clone(),
            apiserver_extra_sans,
            etcd_extra_sans,
            etcd_peer_extra_sans,
            kubelet_client_group: match options.groups_compat {
                GroupsCompat::Current => KubeletClientGroup::None,
                GroupsCompat::V1_28 => KubeletClientGroup::Masters,
            },
        };
        let plan = Plan {
            params,
            cluster_name: options.cluster_name.clone(),
            server,
            local_server,
            cert_validity: options.cert_validity,
            ca_validity: options.ca_validity,
            groups_compat: options.groups_compat,
            external_etcd: options.external_etcd,
        };
        // Every profile is built once up front, so a bad CIDR or node name stops before
        // anything is written.
        for leaf in LEAVES {
            plan.profile(leaf.name)?;
        }
        for kc in KUBECONFIGS {
            plan.profile(kc.profile)?;
        }
        Ok(plan)
    }

    /// The built-in profile `name` with the cluster's validity and groups.
    pub(crate) fn profile(&self, name: &str) -> Result<Profile, ClusterError> {
        let mut profile = builtin(name, &self.params)?;
        let validity = if profile.ca.is_some() {
            self.ca_validity
        } else {
            self.cert_validity
        };
        if let Some(v) = validity {
            profile.default_validity = v;
            profile.max_validity = profile.max_validity.max(v);
        }
        if name == "admin" && self.groups_compat == GroupsCompat::V1_28 {
            profile.subject.organizations = Some(vec!["system:masters".to_owned()]);
        }
        Ok(profile)
    }

    pub(crate) fn server_for(&self, spec: &KubeconfigSpec) -> &str {
        // kubeadm 1.28 pointed kubelet.conf at the control-plane endpoint.
        let kubelet_1_28 = self.groups_compat == GroupsCompat::V1_28 && spec.file == "kubelet.conf";
        if spec.local && !kubelet_1_28 {
            &self.local_server
        } else {
            &self.server
        }
    }

    /// The CAs of the tree: the etcd CA only with a local etcd.
    pub(crate) fn cas(&self) -> impl Iterator<Item = CaName> + use<> {
        let external_etcd = self.external_etcd;
        CaName::ALL
            .into_iter()
            .filter(move |ca| !(*ca == CaName::EtcdCa && external_etcd))
    }

    /// The leaves of the tree: the etcd ones only with a local etcd.
    pub(crate) fn leaves(&self) -> impl Iterator<Item = &'static LeafSpec> + use<> {
        let external_etcd = self.external_etcd;
        LEAVES.iter().filter(move |l| !(l.etcd && external_etcd))
    }

    /// What the options ask for that kubeadm warns about. kubeadm's validation warning, word
    /// for word; kubeadm then issues as asked, kubepki clamps each certificate to its CA's
    /// NotAfter (a certificate that outlives its CA fails verification from that day on).
    pub(crate) fn warnings(&self) -> Vec<String> {
        match (self.cert_validity, self.ca_validity) {
            (Some(leaf), Some(ca)) if leaf > ca => vec![format!(
                "certificateValidityPeriod: the value {} is more than the caCertificateValidityPeriod: {}; \
                 each certificate is clamped to its CA's NotAfter",
                format_duration(leaf),
                format_duration(ca)
            )],
            _ => Vec::new(),
        }
    }

    pub(crate) fn kubeconfigs(&self) -> impl Iterator<Item = &'static KubeconfigSpec> {
        let compat = self.groups_compat;
        KUBECONFIGS
            .iter()
            .filter(move |k| !(compat == GroupsCompat::V1_28 && k.file == "super-admin.conf"))
    }
}

/// The subject a profile fixes (every built-in leaf profile of the tree fixes one).
pub(crate) fn subject_of(profile: &Profile) -> Subject {
    profile
        .fixed_subject()
        .unwrap_or_else(|| Subject::from_parts(&profile.name, &[] as &[&str]))
}

/// Issues for `key` the certificate `profile` fixes (its subject; the SANs are the profile's
/// to add), signed by `ca`; `name` names it in the error.
pub(crate) fn issue_fixed(
    ca: &Ca,
    key: &KeyPair,
    profile: &Profile,
    name: &str,
    options: &IssueOptions,
) -> Result<IssuedCert, ClusterError> {
    ca.issue_for_key(
        key.public_key(),
        &subject_of(profile),
        &[],
        profile,
        options,
    )
    .map_err(|source| ClusterError::Sign {
        name: name.to_owned(),
        source,
    })
}

/// The SANs a certificate under `profile` must carry.
pub(crate) fn required_sans(profile: &Profile) -> Result<Vec<San>, ClusterError> {
    Ok(profile.check_request(&subject_of(profile), &[])?.sans)
}
