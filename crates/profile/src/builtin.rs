//! The built-in profiles: kubeadm's certificates, and generic server, client, peer and CA.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use kubepki_csr::{NODE_USER_PREFIX, San, SanKind, check_node_name};

use crate::{CaConstraint, NameRule, Profile, ProfileError, SanPolicy, SubjectPolicy, Usage};

use crate::kubeadm_defaults::{
    DEFAULT_CA_VALIDITY as CA_VALIDITY, DEFAULT_CERT_VALIDITY as LEAF_VALIDITY, DEFAULT_DNS_DOMAIN,
    DEFAULT_SERVICE_CIDR,
};

/// How far NotBefore is set before the signing time (5 minutes), as kubeadm and the
/// Kubernetes signer do: the one definition, used by every built-in profile, the profile
/// file's default, renewal and the API's signing controller.
pub const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// kubeadm's group for administrators, bound to cluster-admin (kubeadm 1.29+).
const CLUSTER_ADMINS: &str = "kubeadm:cluster-admins";
/// The group that bypasses RBAC.
const MASTERS: &str = "system:masters";
/// The group of kubelets.
const NODES: &str = "system:nodes";

/// The names of the built-in profiles, in the order `kubepki profiles` lists them.
pub const BUILTIN_NAMES: &[&str] = &[
    "ca",
    "etcd-ca",
    "front-proxy-ca",
    "apiserver",
    "apiserver-kubelet-client",
    "apiserver-etcd-client",
    "front-proxy-client",
    "etcd-server",
    "etcd-peer",
    "etcd-healthcheck-client",
    "admin",
    "super-admin",
    "controller-manager",
    "scheduler",
    "kube-proxy",
    "kubelet-client",
    "kubelet-serving",
    "server",
    "client",
    "peer",
];

/// The group the API server's kubelet client certificate carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KubeletClientGroup {
    /// `kubeadm:cluster-admins`, as kubeadm 1.29 to 1.3x wrote it.
    ClusterAdmins,
    /// No group, as current kubeadm (checked at 1.37.2): the user
    /// `kube-apiserver-kubelet-client` is bound to `system:kubelet-api-admin` by the
    /// ClusterRoleBinding `kubeadm:apiserver-kubelet-client`.
    #[default]
    None,
    /// `system:masters`, as kubeadm before 1.29.
    Masters,
}

impl KubeletClientGroup {
    fn organizations(self) -> Vec<String> {
        match self {
            KubeletClientGroup::ClusterAdmins => vec![CLUSTER_ADMINS.to_owned()],
            KubeletClientGroup::None => Vec::new(),
            KubeletClientGroup::Masters => vec![MASTERS.to_owned()],
        }
    }
}

/// What the built-in profiles need to know about the cluster (kubeadm's InitConfiguration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterParams {
    /// The control-plane node's name (`nodeRegistration.name`): a SAN of the API server and
    /// etcd certificates, and the CN of etcd's.
    pub node_name: Option<String>,
    /// The node's advertise address (`localAPIEndpoint.advertiseAddress`).
    pub advertise_address: Option<IpAddr>,
    /// The service CIDR (`networking.serviceSubnet`), default `10.96.0.0/12`; for a
    /// dual-stack list (`a,b`) the first is used, as kubeadm does.
    pub service_cidr: String,
    /// The cluster DNS domain (`networking.dnsDomain`), default `cluster.local`.
    pub dns_domain: String,
    /// Extra SANs of the API server certificate (`apiServer.certSANs`).
    pub apiserver_extra_sans: Vec<San>,
    /// Extra SANs of the etcd server certificate (`etcd.local.serverCertSANs`).
    pub etcd_extra_sans: Vec<San>,
    /// Extra SANs of the etcd peer certificate (`etcd.local.peerCertSANs`).
    pub etcd_peer_extra_sans: Vec<San>,
    /// The group of `apiserver-kubelet-client`.
    pub kubelet_client_group: KubeletClientGroup,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            node_name: None,
            advertise_address: None,
            service_cidr: DEFAULT_SERVICE_CIDR.to_owned(),
            dns_domain: DEFAULT_DNS_DOMAIN.to_owned(),
            apiserver_extra_sans: Vec::new(),
            etcd_extra_sans: Vec::new(),
            etcd_peer_extra_sans: Vec::new(),
            kubelet_client_group: KubeletClientGroup::default(),
        }
    }
}

/// The first address of a service CIDR (network address + 1): the ClusterIP of the
/// `kubernetes` service, e.g. `10.96.0.1` for `10.96.0.0/12`, `fd00:10:96::1` for
/// `fd00:10:96::/112`. Of a comma-separated dual-stack list the first CIDR is used.
///
/// # Errors
/// [`ProfileError::InvalidCidr`] naming the CIDR when it does not parse or has no room for a
/// first address (`/32`, `/128`).
pub fn first_service_ip(cidr: &str) -> Result<IpAddr, ProfileError> {
    let invalid = |reason: &str| ProfileError::InvalidCidr {
        cidr: cidr.to_owned(),
        reason: reason.to_owned(),
    };
    let first = cidr.split(',').next().unwrap_or_default().trim();
    let (addr, prefix) = first
        .split_once('/')
        .ok_or_else(|| invalid("no prefix length (expected ADDRESS/BITS)"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| invalid("not an IPv4 or IPv6 address"))?;
    let prefix: u32 = prefix
        .parse()
        .map_err(|_| invalid("the prefix length is not a number"))?;
    let no_room = || invalid("the network has no room for a first address");
    match addr {
        IpAddr::V4(v4) => {
            if prefix > 32 {
                return Err(invalid("the prefix length is over 32"));
            }
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            let network = u32::from(v4) & mask;
            let ip = network.checked_add(1).ok_or_else(no_room)?;
            if ip & mask != network {
                return Err(no_room());
            }
            Ok(IpAddr::V4(Ipv4Addr::from(ip)))
        }
        IpAddr::V6(v6) => {
            if prefix > 128 {
                return Err(invalid("the prefix length is over 128"));
            }
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            let network = u128::from(v6) & mask;
            let ip = network.checked_add(1).ok_or_else(no_room)?;
            if ip & mask != network {
                return Err(no_room());
            }
            Ok(IpAddr::V6(Ipv6Addr::from(ip)))
        }
    }
}

fn leaf_usages(extended: &[Usage]) -> Vec<Usage> {
    let mut usages = vec![Usage::DigitalSignature, Usage::KeyEncipherment];
    usages.extend_from_slice(extended);
    usages
}

fn exact_subject(common_name: &str, organizations: Vec<String>) -> SubjectPolicy {
    SubjectPolicy {
        common_name: Some(NameRule::Exact(common_name.to_owned())),
        organizations: Some(organizations),
        ..SubjectPolicy::default()
    }
}

fn leaf(
    name: &str,
    description: &str,
    usages: &[Usage],
    subject: SubjectPolicy,
    sans: SanPolicy,
) -> Profile {
    Profile {
        name: name.to_owned(),
        description: description.to_owned(),
        usages: leaf_usages(usages),
        ca: None,
        default_validity: LEAF_VALIDITY,
        max_validity: LEAF_VALIDITY,
        backdate: BACKDATE,
        subject,
        sans,
    }
}

/// A client certificate with a fixed CN and O values and no SANs.
fn fixed_client(
    name: &str,
    description: &str,
    common_name: &str,
    organizations: Vec<String>,
) -> Profile {
    leaf(
        name,
        description,
        &[Usage::ClientAuth],
        exact_subject(common_name, organizations),
        SanPolicy::default(),
    )
}

/// SANs for a server certificate: requested DNS names and IPs kept, at least one needed.
fn server_sans(extra: Vec<San>) -> SanPolicy {
    SanPolicy {
        allowed: vec![SanKind::Dns, SanKind::Ip],
        required: Vec::new(),
        require_any_san: true,
        keep_requested: true,
        extra,
        ..SanPolicy::default()
    }
}

/// A CA profile for any common name, as kubeadm makes its CAs: KeyUsage digitalSignature,
/// keyEncipherment and keyCertSign, no EKU, no path length, 10 years, the CN as a DNS SAN
/// (when it is a valid DNS name). The subject must be exactly `CN=common_name`.
pub fn ca_profile(name: &str, common_name: &str) -> Profile {
    Profile {
        name: name.to_owned(),
        description: format!("certificate authority {common_name}"),
        usages: vec![
            Usage::DigitalSignature,
            Usage::KeyEncipherment,
            Usage::CertSign,
        ],
        ca: Some(CaConstraint { path_len: None }),
        default_validity: CA_VALIDITY,
        max_validity: CA_VALIDITY,
        backdate: BACKDATE,
        subject: exact_subject(common_name, Vec::new()),
        sans: SanPolicy {
            extra: San::dns(common_name).into_iter().collect(),
            ..SanPolicy::default()
        },
    }
}

fn node_name<'a>(profile: &str, params: &'a ClusterParams) -> Result<&'a str, ProfileError> {
    params
        .node_name
        .as_deref()
        .ok_or_else(|| ProfileError::MissingParameter {
            profile: profile.to_owned(),
            parameter: "node name",
        })
}

fn dns(profile: &str, parameter: &'static str, name: &str) -> Result<San, ProfileError> {
    San::dns(name).map_err(|e| ProfileError::InvalidParameter {
        profile: profile.to_owned(),
        parameter,
        reason: e.to_string(),
    })
}

fn apiserver(params: &ClusterParams) -> Result<Profile, ProfileError> {
    let name = "apiserver";
    let mut extra = Vec::new();
    if let Some(node) = &params.node_name {
        extra.push(dns(name, "node name", node)?);
    }
    for svc in ["kubernetes", "kubernetes.default", "kubernetes.default.svc"] {
        extra.push(San::Dns(svc.to_owned()));
    }
    extra.push(dns(
        name,
        "DNS domain",
        &format!("kubernetes.default.svc.{}", params.dns_domain),
    )?);
    extra.push(San::Ip(first_service_ip(&params.service_cidr)?));
    if let Some(ip) = params.advertise_address {
        extra.push(San::Ip(ip));
    }
    extra.extend(params.apiserver_extra_sans.iter().cloned());
    Ok(leaf(
        name,
        "serving certificate of the Kubernetes API server",
        &[Usage::ServerAuth],
        exact_subject("kube-apiserver", Vec::new()),
        server_sans(extra),
    ))
}

fn etcd_member(
    name: &str,
    description: &str,
    params: &ClusterParams,
    extra_sans: &[San],
) -> Result<Profile, ProfileError> {
    let node = node_name(name, params)?;
    let mut extra = vec![
        dns(name, "node name", node)?,
        San::Dns("localhost".to_owned()),
    ];
    if let Some(ip) = params.advertise_address {
        extra.push(San::Ip(ip));
    }
    extra.push(San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    extra.push(San::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    extra.extend(extra_sans.iter().cloned());
    Ok(leaf(
        name,
        description,
        &[Usage::ServerAuth, Usage::ClientAuth],
        exact_subject(node, Vec::new()),
        server_sans(extra),
    ))
}

fn kubelet_subject(params: &ClusterParams) -> SubjectPolicy {
    SubjectPolicy {
        common_name: Some(match &params.node_name {
            Some(node) => NameRule::Exact(format!("{NODE_USER_PREFIX}{node}")),
            None => NameRule::Prefix(NODE_USER_PREFIX.to_owned()),
        }),
        organizations: Some(vec![NODES.to_owned()]),
        ..SubjectPolicy::default()
    }
}

/// A built-in profile. kubeadm's certificates take the node name, addresses and networks from
/// `params`; `server`, `client`, `peer` are generic.
///
/// # Errors
/// [`ProfileError::UnknownProfile`] listing the known names;
/// [`ProfileError::MissingParameter`] when `etcd-server` or `etcd-peer` has no node name;
/// [`ProfileError::InvalidCidr`] for a bad service CIDR;
/// [`ProfileError::InvalidParameter`] for a node name that is not a Kubernetes node name
/// ([`kubepki_csr::check_node_name`]) or a DNS domain that is not a DNS name.
pub fn builtin(name: &str, params: &ClusterParams) -> Result<Profile, ProfileError> {
    if let Some(node) = &params.node_name {
        check_node_name(node).map_err(|e| ProfileError::InvalidParameter {
            profile: name.to_owned(),
            parameter: "node name",
            reason: e.to_string(),
        })?;
    }
    let client = |cn: &str, orgs: &[&str], description: &str| {
        fixed_client(
            name,
            description,
            cn,
            orgs.iter().map(|o| (*o).to_owned()).collect(),
        )
    };
    Ok(match name {
        "ca" => ca_profile(name, "kubernetes"),
        "etcd-ca" => ca_profile(name, "etcd-ca"),
        "front-proxy-ca" => ca_profile(name, "front-proxy-ca"),
        "apiserver" => apiserver(params)?,
        "apiserver-kubelet-client" => fixed_client(
            name,
            "client certificate of the API server to kubelets",
            "kube-apiserver-kubelet-client",
            params.kubelet_client_group.organizations(),
        ),
        "apiserver-etcd-client" => client(
            "kube-apiserver-etcd-client",
            &[],
            "client certificate of the API server to etcd",
        ),
        "front-proxy-client" => client(
            "front-proxy-client",
            &[],
            "client certificate of the API server's aggregation proxy",
        ),
        "etcd-server" => etcd_member(
            name,
            "serving certificate of etcd",
            params,
            &params.etcd_extra_sans,
        )?,
        "etcd-peer" => etcd_member(
            name,
            "peer certificate between etcd members",
            params,
            &params.etcd_peer_extra_sans,
        )?,
        "etcd-healthcheck-client" => client(
            "kube-etcd-healthcheck-client",
            &[],
            "client certificate of etcd's liveness probe",
        ),
        "admin" => client(
            "kubernetes-admin",
            &[CLUSTER_ADMINS],
            "administrator (admin.conf), bound to cluster-admin",
        ),
        "super-admin" => client(
            "kubernetes-super-admin",
            &[MASTERS],
            "break-glass administrator (super-admin.conf), bypasses RBAC",
        ),
        "controller-manager" => client(
            "system:kube-controller-manager",
            &[],
            "kube-controller-manager (controller-manager.conf)",
        ),
        "scheduler" => client(
            "system:kube-scheduler",
            &[],
            "kube-scheduler (scheduler.conf)",
        ),
        "kube-proxy" => client("system:kube-proxy", &["system:node-proxier"], "kube-proxy"),
        "kubelet-client" => leaf(
            name,
            "client certificate of a kubelet to the API server",
            &[Usage::ClientAuth],
            kubelet_subject(params),
            SanPolicy::default(),
        ),
        "kubelet-serving" => {
            let mut extra = Vec::new();
            if let Some(node) = &params.node_name {
                extra.push(dns(name, "node name", node)?);
            }
            if let Some(ip) = params.advertise_address {
                extra.push(San::Ip(ip));
            }
            leaf(
                name,
                "serving certificate of a kubelet",
                &[Usage::ServerAuth],
                kubelet_subject(params),
                server_sans(extra),
            )
        }
        "server" => leaf(
            name,
            "generic TLS server: needs a DNS or IP SAN",
            &[Usage::ServerAuth],
            SubjectPolicy::default(),
            server_sans(Vec::new()),
        ),
        "client" => leaf(
            name,
            "generic TLS client (a Kubernetes user: CN = user, O = groups)",
            &[Usage::ClientAuth],
            SubjectPolicy {
                common_name: Some(NameRule::Any),
                ..SubjectPolicy::default()
            },
            SanPolicy {
                allowed: vec![SanKind::Dns, SanKind::Ip, SanKind::Uri, SanKind::Email],
                keep_requested: true,
                ..SanPolicy::default()
            },
        ),
        "peer" => leaf(
            name,
            "generic peer: server and client, needs a DNS or IP SAN",
            &[Usage::ServerAuth, Usage::ClientAuth],
            SubjectPolicy {
                common_name: Some(NameRule::Any),
                ..SubjectPolicy::default()
            },
            server_sans(Vec::new()),
        ),
        _ => {
            return Err(ProfileError::UnknownProfile {
                name: name.to_owned(),
                known: BUILTIN_NAMES.iter().map(|n| (*n).to_owned()).collect(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
    use flagset::FlagSet;
    use x509_cert::ext::pkix::KeyUsages;

    use super::*;

    fn san(text: &str) -> San {
        San::parse(text).unwrap()
    }

    fn sans(texts: &[&str]) -> Vec<San> {
        texts.iter().map(|t| san(t)).collect()
    }

    fn leaf_bits() -> FlagSet<KeyUsages> {
        KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
    }

    #[test]
    fn first_service_ips() {
        assert_eq!(
            first_service_ip("10.96.0.0/12").unwrap().to_string(),
            "10.96.0.1"
        );
        assert_eq!(
            first_service_ip("10.100.3.7/16").unwrap().to_string(),
            "10.100.0.1"
        );
        assert_eq!(
            first_service_ip("fd00:10:96::/112").unwrap().to_string(),
            "fd00:10:96::1"
        );
        assert_eq!(
            first_service_ip("10.96.0.0/12,fd00:10:96::/112")
                .unwrap()
                .to_string(),
            "10.96.0.1"
        );
        assert_eq!(
            first_service_ip("10.0.0.0/31").unwrap().to_string(),
            "10.0.0.1"
        );
        for bad in [
            "10.96.0.0",
            "10.96.0.0/33",
            "x/12",
            "10.0.0.1/32",
            "::1/128",
            "::/x",
        ] {
            assert!(
                matches!(first_service_ip(bad), Err(ProfileError::InvalidCidr { cidr, .. }) if cidr == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn cas() {
        for (name, cn) in [
            ("ca", "kubernetes"),
            ("etcd-ca", "etcd-ca"),
            ("front-proxy-ca", "front-proxy-ca"),
        ] {
            let p = builtin(name, &ClusterParams::default()).unwrap();
            assert_eq!(p.ca, Some(CaConstraint { path_len: None }));
            assert_eq!(p.key_usage(), leaf_bits() | KeyUsages::KeyCertSign);
            assert!(p.extended_key_usage().is_empty());
            assert_eq!(p.default_validity, CA_VALIDITY);
            assert_eq!(p.max_validity, CA_VALIDITY);
            assert_eq!(p.backdate, BACKDATE);
            assert_eq!(p.subject.common_name, Some(NameRule::Exact(cn.into())));
            assert_eq!(p.subject.organizations, Some(vec![]));
            assert_eq!(p.sans.extra, vec![San::Dns(cn.into())]);
            assert!(!p.sans.keep_requested);
        }
        let custom = ca_profile("ca", "KUBERNETES-CA");
        assert_eq!(custom.sans.extra, sans(&["DNS:kubernetes-ca"]));
        assert!(ca_profile("ca", "My CA").sans.extra.is_empty());
    }

    #[test]
    fn apiserver_with_node_advertise_and_extra() {
        let params = ClusterParams {
            node_name: Some("cp-1".into()),
            advertise_address: Some("192.168.1.10".parse().unwrap()),
            dns_domain: "k8s.example".into(),
            apiserver_extra_sans: sans(&["DNS:lb.example.com", "IP:203.0.113.5"]),
            ..ClusterParams::default()
        };
        let p = builtin("apiserver", &params).unwrap();
        assert_eq!(p.key_usage(), leaf_bits());
        assert_eq!(p.extended_key_usage(), vec![ID_KP_SERVER_AUTH]);
        assert_eq!(
            p.subject.common_name,
            Some(NameRule::Exact("kube-apiserver".into()))
        );
        assert_eq!(
            p.sans.extra,
            sans(&[
                "DNS:cp-1",
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.k8s.example",
                "IP:10.96.0.1",
                "IP:192.168.1.10",
                "DNS:lb.example.com",
                "IP:203.0.113.5",
            ])
        );
        assert_eq!(p.default_validity, LEAF_VALIDITY);
        assert_eq!(p.max_validity, LEAF_VALIDITY);
    }

    #[test]
    fn apiserver_ipv6_and_minimal() {
        let params = ClusterParams {
            service_cidr: "fd00:10:96::/112".into(),
            ..ClusterParams::default()
        };
        let p = builtin("apiserver", &params).unwrap();
        assert_eq!(
            p.sans.extra,
            sans(&[
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local",
                "IP:fd00:10:96::1",
            ])
        );
        let bad = ClusterParams {
            service_cidr: "nonsense".into(),
            ..ClusterParams::default()
        };
        assert!(matches!(
            builtin("apiserver", &bad),
            Err(ProfileError::InvalidCidr { .. })
        ));
        let bad = ClusterParams {
            node_name: Some("bad name".into()),
            ..ClusterParams::default()
        };
        assert!(matches!(
            builtin("apiserver", &bad),
            Err(ProfileError::InvalidParameter {
                parameter: "node name",
                ..
            })
        ));
    }

    #[test]
    fn etcd_members() {
        for name in ["etcd-server", "etcd-peer"] {
            assert_eq!(
                builtin(name, &ClusterParams::default()).unwrap_err(),
                ProfileError::MissingParameter {
                    profile: name.into(),
                    parameter: "node name",
                }
            );
            let params = ClusterParams {
                node_name: Some("cp-1".into()),
                advertise_address: Some("192.168.1.10".parse().unwrap()),
                // kubeadm's serverCertSANs and peerCertSANs: each for its own certificate.
                etcd_extra_sans: if name == "etcd-server" {
                    sans(&["DNS:etcd.example"])
                } else {
                    Vec::new()
                },
                etcd_peer_extra_sans: if name == "etcd-peer" {
                    sans(&["DNS:etcd.example"])
                } else {
                    Vec::new()
                },
                ..ClusterParams::default()
            };
            let p = builtin(name, &params).unwrap();
            assert_eq!(
                p.extended_key_usage(),
                vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH]
            );
            assert_eq!(p.key_usage(), leaf_bits());
            assert_eq!(p.subject.common_name, Some(NameRule::Exact("cp-1".into())));
            assert_eq!(
                p.sans.extra,
                sans(&[
                    "DNS:cp-1",
                    "DNS:localhost",
                    "IP:192.168.1.10",
                    "IP:127.0.0.1",
                    "IP:::1",
                    "DNS:etcd.example"
                ])
            );
            let without = ClusterParams {
                node_name: Some("cp-1".into()),
                ..ClusterParams::default()
            };
            assert_eq!(
                builtin(name, &without).unwrap().sans.extra,
                sans(&["DNS:cp-1", "DNS:localhost", "IP:127.0.0.1", "IP:::1"])
            );
        }
    }

    #[test]
    fn fixed_clients() {
        let params = ClusterParams::default();
        for (name, cn, orgs) in [
            (
                "apiserver-kubelet-client",
                "kube-apiserver-kubelet-client",
                vec![],
            ),
            (
                "apiserver-etcd-client",
                "kube-apiserver-etcd-client",
                vec![],
            ),
            ("front-proxy-client", "front-proxy-client", vec![]),
            (
                "etcd-healthcheck-client",
                "kube-etcd-healthcheck-client",
                vec![],
            ),
            ("admin", "kubernetes-admin", vec!["kubeadm:cluster-admins"]),
            (
                "super-admin",
                "kubernetes-super-admin",
                vec!["system:masters"],
            ),
            (
                "controller-manager",
                "system:kube-controller-manager",
                vec![],
            ),
            ("scheduler", "system:kube-scheduler", vec![]),
            (
                "kube-proxy",
                "system:kube-proxy",
                vec!["system:node-proxier"],
            ),
        ] {
            let p = builtin(name, &params).unwrap();
            assert_eq!(p.name, name);
            assert_eq!(
                p.usages,
                vec![
                    Usage::DigitalSignature,
                    Usage::KeyEncipherment,
                    Usage::ClientAuth
                ]
            );
            assert_eq!(p.extended_key_usage(), vec![ID_KP_CLIENT_AUTH], "{name}");
            assert_eq!(p.key_usage(), leaf_bits(), "{name}");
            assert!(p.ca.is_none());
            assert_eq!(
                p.subject.common_name,
                Some(NameRule::Exact(cn.into())),
                "{name}"
            );
            let orgs: Vec<String> = orgs.into_iter().map(String::from).collect();
            assert_eq!(p.subject.organizations, Some(orgs), "{name}");
            assert_eq!(p.sans, SanPolicy::default(), "{name}");
            assert_eq!(p.backdate, BACKDATE);
        }
        for (group, orgs) in [
            (
                KubeletClientGroup::ClusterAdmins,
                vec!["kubeadm:cluster-admins".to_owned()],
            ),
            (
                KubeletClientGroup::Masters,
                vec!["system:masters".to_owned()],
            ),
        ] {
            let params = ClusterParams {
                kubelet_client_group: group,
                ..ClusterParams::default()
            };
            let p = builtin("apiserver-kubelet-client", &params).unwrap();
            assert_eq!(p.subject.organizations, Some(orgs));
        }
    }

    #[test]
    fn kubelets() {
        let any = builtin("kubelet-serving", &ClusterParams::default()).unwrap();
        assert_eq!(
            any.subject.common_name,
            Some(NameRule::Prefix("system:node:".into()))
        );
        assert_eq!(any.subject.organizations, Some(vec!["system:nodes".into()]));
        assert_eq!(any.extended_key_usage(), vec![ID_KP_SERVER_AUTH]);
        assert_eq!(any.sans.allowed, vec![SanKind::Dns, SanKind::Ip]);
        assert!(any.sans.extra.is_empty());
        let params = ClusterParams {
            node_name: Some("w1".into()),
            advertise_address: Some("10.0.0.7".parse().unwrap()),
            ..ClusterParams::default()
        };
        let p = builtin("kubelet-serving", &params).unwrap();
        assert_eq!(
            p.subject.common_name,
            Some(NameRule::Exact("system:node:w1".into()))
        );
        assert_eq!(p.sans.extra, sans(&["DNS:w1", "IP:10.0.0.7"]));
        let c = builtin("kubelet-client", &params).unwrap();
        assert_eq!(c.extended_key_usage(), vec![ID_KP_CLIENT_AUTH]);
        assert_eq!(
            c.subject.common_name,
            Some(NameRule::Exact("system:node:w1".into()))
        );
        assert!(c.sans.extra.is_empty());
    }

    #[test]
    fn generic_profiles() {
        let params = ClusterParams::default();
        let server = builtin("server", &params).unwrap();
        assert_eq!(server.extended_key_usage(), vec![ID_KP_SERVER_AUTH]);
        assert!(server.sans.require_any_san && server.sans.keep_requested);
        assert_eq!(server.subject, SubjectPolicy::default());
        let client = builtin("client", &params).unwrap();
        assert_eq!(client.extended_key_usage(), vec![ID_KP_CLIENT_AUTH]);
        assert_eq!(client.subject.common_name, Some(NameRule::Any));
        assert_eq!(client.sans.allowed.len(), 4);
        let peer = builtin("peer", &params).unwrap();
        assert_eq!(
            peer.extended_key_usage(),
            vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH]
        );
        assert!(peer.sans.require_any_san);
    }

    #[test]
    fn every_name_builds_and_unknown_is_listed() {
        let params = ClusterParams {
            node_name: Some("cp-1".into()),
            ..ClusterParams::default()
        };
        for name in BUILTIN_NAMES {
            let p = builtin(name, &params).unwrap();
            assert_eq!(p.name, *name);
            assert!(!p.description.is_empty());
        }
        match builtin("kubelet", &params) {
            Err(ProfileError::UnknownProfile { name, known }) => {
                assert_eq!(name, "kubelet");
                assert_eq!(known.len(), BUILTIN_NAMES.len());
            }
            other => panic!("{other:?}"),
        }
    }
}
