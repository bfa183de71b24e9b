//! The built-in profiles: kubeadm's certificates, and generic server, client, peer and CA.
//! [`builtin`] names them; `params` holds what they need to know about the cluster, `shapes`
//! the leaf, client, server and CA shapes they are made from, `from_params` the ones whose
//! names and SANs come from the cluster.

mod from_params;
mod params;
mod shapes;

use kubepki_csr::{San, SanKind, check_node_name};

use crate::{NameRule, Profile, ProfileError, SanPolicy, SubjectPolicy, Usage};
use from_params::{apiserver, dns, etcd_member, kubelet_subject};
pub use params::{
    ClusterParams, KubeletClientGroup, ServiceNetworks, first_address, first_service_ip,
    service_networks,
};
pub use shapes::{BACKDATE, ca_profile};
use shapes::{fixed_client, leaf, server_sans};

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

    use super::shapes::{CA_VALIDITY, LEAF_VALIDITY};
    use super::*;
    use crate::CaConstraint;

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
