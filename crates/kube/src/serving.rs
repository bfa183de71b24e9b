//! The kubelet-serving approval rule, as a pure function: what the operator allows
//! ([`ServingConstraints`], kubelet-csr-approver's model), what is never approved whatever the
//! flags say, and the Node's addresses as an extra check. The cluster calls (reading the
//! Node, resolving names) are the caller's: see [`crate::Approver`].
//!
//! Source of truth: the operator's flags. The requester writes its own
//! `Node.status.addresses` (NodeRestriction lets it), so the Node is never the only
//! authority: a name must be allowed by the flags AND be an address of the Node.
//!
//! `constraints` holds what the operator allows ([`ServingConstraints`]); this module holds
//! the verdicts.

mod constraints;

use std::net::IpAddr;

use kubepki_api::validate_kubelet_serving;
use kubepki_csr::{Csr, San};

use crate::verdict::{Policy, Refusal, Verdict};
use constraints::normal;
pub use constraints::{
    DEFAULT_CLUSTER_DOMAIN, DEFAULT_SERVICE_CLUSTER_IP_RANGE, ServingConstraints,
};

/// Who asked: `spec.username` and `spec.groups` as the API server set them.
#[derive(Clone, Copy, Debug)]
pub struct Requester<'a> {
    /// `spec.username`.
    pub username: &'a str,
    /// `spec.groups`.
    pub groups: &'a [String],
}

impl Requester<'_> {
    /// The node a `system:node:<name>` requester is.
    pub fn node_name(&self) -> Option<&str> {
        self.username.strip_prefix("system:node:")
    }
}

fn leave(reason: Refusal, message: String) -> Verdict {
    Verdict::Leave {
        policy: Policy::KubeletServing,
        reason,
        message,
    }
}

/// The verdict on a `kubernetes.io/kubelet-serving` request, in this order: it is a valid
/// kubelet serving request (`usages` as asked); the requester is `system:node:<n>` in
/// `system:nodes` and the CN; no name is one that is never approved (the API server's and
/// any Service's names and addresses, loopback, link-local, unspecified, multicast,
/// broadcast, `localhost`, wildcards); every name is an address of Node `<n>`
/// (`node_addresses`, `None` when the Node does not exist); every IP SAN lies in
/// `--serving-ip-prefixes` (none given: no IP SAN is approved); every DNS SAN is the node
/// name, `<n>.<suffix>` for a `--serving-dns-suffix`, or matches `--serving-dns-regex` with
/// `<n>` as its first label. Resolution (`--serving-resolve-dns`) is checked afterwards by
/// [`resolution_verdict`].
pub fn serving_verdict(
    request: &Csr,
    usages: &[String],
    requester: &Requester<'_>,
    node_addresses: Option<&[String]>,
    constraints: &ServingConstraints,
) -> Verdict {
    if let Err(e) = validate_kubelet_serving(request, usages) {
        return leave(
            Refusal::InvalidRequest,
            format!("not a kubelet serving request: {e}"),
        );
    }
    let user = requester.username;
    let Some(node) = requester.node_name() else {
        return leave(
            Refusal::RequesterNotNode,
            format!("requested by {user:?}, not by a node (system:node:<name>)"),
        );
    };
    if !requester.groups.iter().any(|g| g == "system:nodes") {
        return leave(
            Refusal::RequesterNotNode,
            format!("{user} is not in group system:nodes"),
        );
    }
    if request.subject().common_name() != Some(user) {
        return leave(
            Refusal::CommonNameMismatch,
            format!(
                "CN {:?} is not the requester {user}",
                request.subject().common_name().unwrap_or_default()
            ),
        );
    }
    let node = node.to_ascii_lowercase();
    for san in request.sans() {
        let why = match san {
            San::Dns(name) => constraints
                .forbidden_dns(&normal(name))
                .map(|why| (Refusal::ForbiddenDnsName, why)),
            San::Ip(ip) => constraints
                .forbidden_ip(ip.to_canonical())
                .map(|why| (Refusal::ForbiddenIp, why)),
            // validate_kubelet_serving refused these already.
            San::Uri(_) | San::Email(_) => Some((Refusal::InvalidRequest, "not a DNS or IP name")),
        };
        if let Some((reason, why)) = why {
            return leave(reason, format!("{san} is never approved: {why}"));
        }
    }
    let Some(addresses) = node_addresses else {
        return leave(Refusal::NodeNotFound, format!("node {node} does not exist"));
    };
    for san in request.sans() {
        let known = match san {
            San::Dns(name) => {
                let name = normal(name);
                addresses.iter().any(|a| normal(a) == name)
            }
            San::Ip(ip) => addresses.iter().any(|a| {
                a.trim()
                    .parse::<IpAddr>()
                    .is_ok_and(|a| a.to_canonical() == ip.to_canonical())
            }),
            San::Uri(_) | San::Email(_) => false,
        };
        if !known {
            return leave(
                Refusal::NotNodeAddress,
                format!("{san} is not an address of node {node}"),
            );
        }
    }
    for san in request.sans() {
        match san {
            San::Ip(_) if constraints.ip_prefixes.is_empty() => {
                return leave(
                    Refusal::IpPrefixesUnset,
                    format!(
                        "{san}: no IP name is approved without --serving-ip-prefixes; set it to the nodes' networks"
                    ),
                );
            }
            San::Ip(ip) if !constraints.in_prefixes(ip.to_canonical()) => {
                return leave(
                    Refusal::IpOutsidePrefixes,
                    format!("{san} is outside --serving-ip-prefixes"),
                );
            }
            San::Dns(name) if !constraints.dns_allowed(&normal(name), &node) => {
                return leave(
                    Refusal::DnsNotAllowed,
                    format!(
                        "{san} is neither the node name {node}, nor {node}.<--serving-dns-suffix>, nor a --serving-dns-regex match with {node} as its first label"
                    ),
                );
            }
            _ => {}
        }
    }
    Verdict::Approve {
        policy: Policy::KubeletServing,
        message: format!(
            "kubepki approved the kubelet serving certificate: every name is allowed by the operator's constraints and is an address of node {node}."
        ),
    }
}

/// The DNS names of `request`, for resolving (`--serving-resolve-dns`).
pub fn dns_names(request: &Csr) -> Vec<String> {
    request
        .sans()
        .iter()
        .filter_map(|san| match san {
            San::Dns(name) => Some(normal(name)),
            _ => None,
        })
        .collect()
}

/// The refusal, if any, of the DNS name `name` that resolved to `resolved` (empty: it did
/// not resolve): with `--serving-resolve-dns` every address must lie in the IP prefixes and
/// be none that is never approved.
pub fn resolution_verdict(
    name: &str,
    resolved: &[IpAddr],
    constraints: &ServingConstraints,
) -> Option<Verdict> {
    if resolved.is_empty() {
        return Some(leave(
            Refusal::DnsUnresolved,
            format!("DNS:{name} does not resolve"),
        ));
    }
    for ip in resolved {
        let ip = ip.to_canonical();
        if let Some(why) = constraints.forbidden_ip(ip) {
            return Some(leave(
                Refusal::ForbiddenIp,
                format!("DNS:{name} resolves to {ip}, which is never approved: {why}"),
            ));
        }
        if !constraints.in_prefixes(ip) {
            return Some(leave(
                Refusal::DnsResolvesOutsidePrefixes,
                format!("DNS:{name} resolves to {ip}, outside --serving-ip-prefixes"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use kubepki_csr::{CsrBuilder, Subject};
    use kubepki_keys::{KeyAlgorithm, KeyPair};

    use super::*;

    static KEY: LazyLock<KeyPair> =
        LazyLock::new(|| KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap());

    const USAGES: &[&str] = &["digital signature", "server auth"];

    fn request(cn: &str, sans: &[&str]) -> Csr {
        let sans: Vec<San> = sans.iter().map(|s| San::parse(s).unwrap()).collect();
        let pem = CsrBuilder::new(Subject::from_parts(cn, &["system:nodes"]))
            .sans(sans)
            .build(&*KEY)
            .unwrap()
            .to_pem();
        Csr::from_bytes(pem.as_bytes()).unwrap()
    }

    fn groups() -> Vec<String> {
        vec!["system:nodes".to_owned(), "system:authenticated".to_owned()]
    }

    /// worker-1 at 192.0.2.21, with what NodeRestriction lets it write into its addresses.
    fn worker_addresses() -> Vec<String> {
        [
            "worker-1",
            "worker-1.nodes.example.com",
            "192.0.2.21",
            "10.96.0.1",
            "kubernetes.default.svc",
            "10.96.0.10",
            "127.0.0.1",
            "203.0.113.9",
            "worker-1.evil.example.com",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn constraints() -> ServingConstraints {
        ServingConstraints::new()
            .with_ip_prefixes("192.0.2.0/24")
            .unwrap()
            .with_dns_suffix("nodes.example.com")
            .unwrap()
    }

    /// The verdict for worker-1 asking for `sans` under `constraints`.
    fn verdict(sans: &[&str], constraints: &ServingConstraints) -> Verdict {
        let groups = groups();
        let usages: Vec<String> = USAGES.iter().map(|u| (*u).to_owned()).collect();
        let addresses = worker_addresses();
        serving_verdict(
            &request("system:node:worker-1", sans),
            &usages,
            &Requester {
                username: "system:node:worker-1",
                groups: &groups,
            },
            Some(&addresses),
            constraints,
        )
    }

    fn refusal(sans: &[&str], constraints: &ServingConstraints) -> (Refusal, String) {
        match verdict(sans, constraints) {
            Verdict::Leave {
                policy: Policy::KubeletServing,
                reason,
                message,
            } => (reason, message),
            other => panic!("{sans:?}: expected Leave, got {other:?}"),
        }
    }

    #[test]
    fn own_names_inside_the_constraints_are_approved() {
        for sans in [
            &["DNS:worker-1", "IP:192.0.2.21"][..],
            &["DNS:worker-1.nodes.example.com"],
            &["DNS:worker-1"],
        ] {
            assert!(
                matches!(
                    verdict(sans, &constraints()),
                    Verdict::Approve {
                        policy: Policy::KubeletServing,
                        ..
                    }
                ),
                "{sans:?}"
            );
        }
    }

    #[test]
    fn the_api_servers_names_are_never_approved_even_if_the_node_claims_them() {
        // The attack of issue 20: worker-1 wrote these into its own Node.status.addresses.
        let everything = ServingConstraints::new()
            .with_ip_prefixes("0.0.0.0/0,::/0")
            .unwrap()
            .with_dns_regex(".*")
            .unwrap();
        assert_eq!(
            refusal(&["DNS:worker-1", "IP:10.96.0.1"], &everything),
            (
                Refusal::ForbiddenIp,
                "IP:10.96.0.1 is never approved: the API server's Service address (the first of --service-cluster-ip-range)".to_owned()
            )
        );
        assert_eq!(
            refusal(&["DNS:kubernetes.default.svc"], &everything),
            (
                Refusal::ForbiddenDnsName,
                "DNS:kubernetes.default.svc is never approved: a name of a Service (the API server's among them)".to_owned()
            )
        );
        for name in [
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc.cluster.local",
            "DNS:worker-1.default.svc",
            "DNS:metrics.kube-system.svc.cluster.local",
        ] {
            assert_eq!(
                refusal(&[name], &everything).0,
                Refusal::ForbiddenDnsName,
                "{name}"
            );
        }
        assert_eq!(
            refusal(&["DNS:localhost"], &everything).0,
            Refusal::ForbiddenDnsName
        );
        for ip in [
            "IP:10.96.0.10",
            "IP:127.0.0.1",
            "IP:::1",
            "IP:169.254.169.254",
            "IP:fe80::1",
            "IP:0.0.0.0",
            "IP:::",
            "IP:224.0.0.1",
            "IP:ff02::1",
            "IP:255.255.255.255",
        ] {
            assert_eq!(refusal(&[ip], &everything).0, Refusal::ForbiddenIp, "{ip}");
        }
        // An IPv4-mapped loopback never gets this far: Csr::from_der refuses it (Go would
        // read it as 127.0.0.1).
        let mapped = San::parse("IP:::ffff:127.0.0.1").unwrap();
        let refused = CsrBuilder::new(Subject::from_parts("system:node:n1", &["system:nodes"]))
            .san(mapped)
            .build(&*KEY)
            .unwrap_err();
        assert!(refused.to_string().contains("IPv4-mapped"), "{refused}");
    }

    #[test]
    fn a_wildcard_is_never_approved() {
        let everything = ServingConstraints::new().with_dns_regex(".*").unwrap();
        assert_eq!(
            refusal(&["DNS:*.nodes.example.com"], &everything),
            (
                Refusal::ForbiddenDnsName,
                "DNS:*.nodes.example.com is never approved: a wildcard name".to_owned()
            )
        );
    }

    #[test]
    fn the_cluster_domain_and_service_range_follow_the_flags() {
        let custom = constraints()
            .with_cluster_domain("corp.internal")
            .unwrap()
            .with_service_cluster_ip_range("172.20.0.0/16,fd00:10::/108")
            .unwrap()
            .with_ip_prefixes("10.96.0.0/12,172.20.0.0/16,fd00::/8")
            .unwrap();
        assert_eq!(
            refusal(&["DNS:kubernetes.default.svc.corp.internal"], &custom).0,
            Refusal::ForbiddenDnsName
        );
        assert_eq!(refusal(&["IP:172.20.0.1"], &custom).0, Refusal::ForbiddenIp);
        assert_eq!(refusal(&["IP:fd00:10::1"], &custom).0, Refusal::ForbiddenIp);
        // 10.96.0.1 is no longer a service address: only the Node check stands in the way
        // (worker-1 claims it), and the prefixes allow it.
        assert!(matches!(
            verdict(&["IP:10.96.0.1"], &custom),
            Verdict::Approve { .. }
        ));
    }

    #[test]
    fn ip_names_need_prefixes_and_must_lie_in_them() {
        assert_eq!(
            refusal(&["DNS:worker-1", "IP:192.0.2.21"], &ServingConstraints::new()),
            (
                Refusal::IpPrefixesUnset,
                "IP:192.0.2.21: no IP name is approved without --serving-ip-prefixes; set it to the nodes' networks".to_owned()
            )
        );
        assert_eq!(
            refusal(&["IP:203.0.113.9"], &constraints()),
            (
                Refusal::IpOutsidePrefixes,
                "IP:203.0.113.9 is outside --serving-ip-prefixes".to_owned()
            )
        );
    }

    #[test]
    fn dns_names_are_the_node_name_a_suffix_or_a_regex_match_on_the_node() {
        assert_eq!(
            refusal(&["DNS:worker-1.evil.example.com"], &constraints()),
            (
                Refusal::DnsNotAllowed,
                "DNS:worker-1.evil.example.com is neither the node name worker-1, nor worker-1.<--serving-dns-suffix>, nor a --serving-dns-regex match with worker-1 as its first label".to_owned()
            )
        );
        let regex = constraints()
            .with_dns_regex(r"[a-z0-9-]+\.evil\.example\.com")
            .unwrap();
        assert!(matches!(
            verdict(&["DNS:worker-1.evil.example.com"], &regex),
            Verdict::Approve { .. }
        ));
        // A match must also start with the node's own label, and match in full.
        let loose = constraints().with_dns_regex("evil").unwrap();
        assert_eq!(
            refusal(&["DNS:worker-1.evil.example.com"], &loose).0,
            Refusal::DnsNotAllowed
        );
    }

    #[test]
    fn every_name_must_also_be_an_address_of_the_node() {
        let everything = ServingConstraints::new()
            .with_ip_prefixes("192.0.2.0/24")
            .unwrap()
            .with_dns_regex(".*")
            .unwrap();
        assert_eq!(
            refusal(&["DNS:worker-1", "IP:192.0.2.99"], &everything),
            (
                Refusal::NotNodeAddress,
                "IP:192.0.2.99 is not an address of node worker-1".to_owned()
            )
        );
        let groups = groups();
        let usages: Vec<String> = USAGES.iter().map(|u| (*u).to_owned()).collect();
        let gone = serving_verdict(
            &request("system:node:worker-1", &["DNS:worker-1"]),
            &usages,
            &Requester {
                username: "system:node:worker-1",
                groups: &groups,
            },
            None,
            &everything,
        );
        assert!(matches!(
            gone,
            Verdict::Leave {
                reason: Refusal::NodeNotFound,
                ..
            }
        ));
    }

    #[test]
    fn only_the_node_itself_may_ask() {
        let usages: Vec<String> = USAGES.iter().map(|u| (*u).to_owned()).collect();
        let groups = groups();
        let addresses = worker_addresses();
        let ask = |cn: &str, username: &str, groups: &[String]| match serving_verdict(
            &request(cn, &["DNS:worker-1"]),
            &usages,
            &Requester { username, groups },
            Some(&addresses),
            &constraints(),
        ) {
            Verdict::Leave { reason, .. } => reason,
            other => panic!("expected Leave, got {other:?}"),
        };
        assert_eq!(
            ask("system:node:worker-1", "jane", &groups),
            Refusal::RequesterNotNode
        );
        assert_eq!(
            ask("system:node:worker-1", "system:node:worker-1", &[]),
            Refusal::RequesterNotNode
        );
        assert_eq!(
            ask("system:node:worker-2", "system:node:worker-1", &groups),
            Refusal::CommonNameMismatch
        );
        assert_eq!(
            ask("jane", "system:node:worker-1", &groups),
            Refusal::InvalidRequest
        );
    }

    #[test]
    fn resolved_addresses_must_lie_in_the_prefixes() {
        let c = constraints().with_resolve_dns(true);
        assert!(c.resolve_dns());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            resolution_verdict("worker-1", &[ip("192.0.2.21")], &c),
            None
        );
        let reason = |v: Option<Verdict>| match v {
            Some(Verdict::Leave {
                reason, message, ..
            }) => (reason, message),
            other => panic!("expected Leave, got {other:?}"),
        };
        assert_eq!(
            reason(resolution_verdict("worker-1", &[], &c)),
            (
                Refusal::DnsUnresolved,
                "DNS:worker-1 does not resolve".to_owned()
            )
        );
        assert_eq!(
            reason(resolution_verdict(
                "worker-1",
                &[ip("192.0.2.21"), ip("203.0.113.9")],
                &c
            )),
            (
                Refusal::DnsResolvesOutsidePrefixes,
                "DNS:worker-1 resolves to 203.0.113.9, outside --serving-ip-prefixes".to_owned()
            )
        );
        assert_eq!(
            reason(resolution_verdict("worker-1", &[ip("127.0.0.1")], &c)).0,
            Refusal::ForbiddenIp
        );
    }
}
