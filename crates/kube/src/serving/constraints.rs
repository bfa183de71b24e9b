//! What the operator allows in a kubelet serving certificate (the `--serving-*` flags), and
//! what is never approved whatever they say.

use std::net::IpAddr;

use ipnet::IpNet;
use kubepki_profile::first_address;
use regex::Regex;

use crate::KubeError;

/// kube-apiserver's default `--service-cluster-ip-range` (kubeadm's service CIDR).
pub const DEFAULT_SERVICE_CLUSTER_IP_RANGE: &str = kubepki_profile::DEFAULT_SERVICE_CIDR;
/// The kubelet's default `--cluster-domain`.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// What the operator allows in a kubelet serving certificate, from `kubepki controller`'s
/// `--serving-*`, `--service-cluster-ip-range` and `--cluster-domain` flags.
#[derive(Clone, Debug)]
pub struct ServingConstraints {
    pub(super) ip_prefixes: Vec<IpNet>,
    dns_suffixes: Vec<String>,
    dns_regex: Option<Regex>,
    resolve_dns: bool,
    service_ranges: Vec<IpNet>,
    cluster_domain: String,
}

impl Default for ServingConstraints {
    fn default() -> Self {
        ServingConstraints {
            ip_prefixes: Vec::new(),
            dns_suffixes: Vec::new(),
            dns_regex: None,
            resolve_dns: false,
            service_ranges: vec![kubepki_profile::DEFAULT_SERVICE_NETWORK],
            cluster_domain: DEFAULT_CLUSTER_DOMAIN.to_owned(),
        }
    }
}

fn prefixes(flag: &'static str, list: &str) -> Result<Vec<IpNet>, KubeError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .map(|net| net.trunc())
                .map_err(|source| KubeError::Prefix {
                    flag,
                    value: p.to_owned(),
                    source,
                })
        })
        .collect()
}

/// `name` lower-cased, without a trailing dot: the form names are compared in.
pub(super) fn normal(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

fn dns_flag_value(flag: &'static str, value: &str) -> Result<String, KubeError> {
    let name = normal(value.trim().trim_start_matches('.'));
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(name)
    } else {
        Err(KubeError::DnsName {
            flag,
            value: value.to_owned(),
        })
    }
}

impl ServingConstraints {
    /// No IP prefix (so no IP SAN is approved), no DNS suffix or pattern (so only the node
    /// name), no resolution; service range `10.96.0.0/12`, cluster domain `cluster.local`.
    pub fn new() -> Self {
        ServingConstraints::default()
    }

    /// `--serving-ip-prefixes CIDR[,CIDR...]` (repeatable): every IP SAN, and with
    /// `--serving-resolve-dns` every address a DNS SAN resolves to, must lie in one.
    ///
    /// # Errors
    /// [`KubeError::Prefix`] naming the prefix that does not parse.
    pub fn with_ip_prefixes(mut self, list: &str) -> Result<Self, KubeError> {
        self.ip_prefixes
            .extend(prefixes("--serving-ip-prefixes", list)?);
        Ok(self)
    }

    /// `--serving-dns-suffix SUFFIX` (repeatable): `<node>.<suffix>` is allowed.
    ///
    /// # Errors
    /// [`KubeError::DnsName`] for a suffix that is not a DNS name.
    pub fn with_dns_suffix(mut self, suffix: &str) -> Result<Self, KubeError> {
        self.dns_suffixes
            .push(dns_flag_value("--serving-dns-suffix", suffix)?);
        Ok(self)
    }

    /// `--serving-dns-regex REGEX`: a DNS SAN that fully matches it (lower-cased) and whose
    /// first label is the node name is allowed.
    ///
    /// # Errors
    /// [`KubeError::Regex`] for a pattern that does not compile.
    pub fn with_dns_regex(mut self, pattern: &str) -> Result<Self, KubeError> {
        let anchored = format!("^(?:{pattern})$");
        self.dns_regex = Some(Regex::new(&anchored).map_err(|source| KubeError::Regex {
            value: pattern.to_owned(),
            source: Box::new(source),
        })?);
        Ok(self)
    }

    /// `--serving-resolve-dns`: every DNS SAN must also resolve, and only to addresses in the
    /// IP prefixes.
    pub fn with_resolve_dns(mut self, resolve: bool) -> Self {
        self.resolve_dns = resolve;
        self
    }

    /// `--service-cluster-ip-range CIDR[,CIDR]` (kube-apiserver's flag; dual-stack is two).
    /// No address in it is ever approved: its first is the API server's `kubernetes`
    /// Service, the others are other Services' cluster IPs.
    ///
    /// # Errors
    /// [`KubeError::Prefix`] naming the range that does not parse.
    pub fn with_service_cluster_ip_range(mut self, list: &str) -> Result<Self, KubeError> {
        self.service_ranges = prefixes("--service-cluster-ip-range", list)?;
        Ok(self)
    }

    /// `--cluster-domain` (the kubelet's flag): `*.svc.<domain>` is never approved.
    ///
    /// # Errors
    /// [`KubeError::DnsName`] for a domain that is not a DNS name.
    pub fn with_cluster_domain(mut self, domain: &str) -> Result<Self, KubeError> {
        self.cluster_domain = dns_flag_value("--cluster-domain", domain)?;
        Ok(self)
    }

    /// Whether DNS SANs must resolve into the IP prefixes.
    pub fn resolve_dns(&self) -> bool {
        self.resolve_dns
    }

    pub(super) fn in_prefixes(&self, ip: IpAddr) -> bool {
        self.ip_prefixes.iter().any(|net| net.contains(&ip))
    }

    /// Why `name` (normalised) is never approved, if it is not.
    pub(super) fn forbidden_dns(&self, name: &str) -> Option<&'static str> {
        let domain = &self.cluster_domain;
        if name.contains('*') {
            return Some("a wildcard name");
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return Some("a name of the local host");
        }
        if ["kubernetes", "kubernetes.default"].contains(&name)
            || name == "svc"
            || name.ends_with(".svc")
            || name == format!("svc.{domain}")
            || name.ends_with(&format!(".svc.{domain}"))
        {
            return Some("a name of a Service (the API server's among them)");
        }
        None
    }

    /// Why `ip` is never approved, if it is not.
    pub(super) fn forbidden_ip(&self, ip: IpAddr) -> Option<&'static str> {
        if ip.is_unspecified() {
            return Some("the unspecified address");
        }
        if ip.is_loopback() {
            return Some("a loopback address");
        }
        if ip.is_multicast() {
            return Some("a multicast address");
        }
        match ip {
            IpAddr::V4(v4) if v4.is_broadcast() => return Some("the broadcast address"),
            IpAddr::V4(v4) if v4.is_link_local() => return Some("a link-local address"),
            IpAddr::V6(v6) if v6.is_unicast_link_local() => {
                return Some("a link-local address");
            }
            _ => {}
        }
        for range in &self.service_ranges {
            if first_address(range) == Some(ip) {
                return Some(
                    "the API server's Service address (the first of --service-cluster-ip-range)",
                );
            }
            if range.contains(&ip) {
                return Some("a Service's cluster IP (in --service-cluster-ip-range)");
            }
        }
        None
    }

    /// Whether the operator allows the DNS name `name` (normalised) for node `node`.
    pub(super) fn dns_allowed(&self, name: &str, node: &str) -> bool {
        if name == node {
            return true;
        }
        if self
            .dns_suffixes
            .iter()
            .any(|suffix| name.strip_prefix(node).and_then(|r| r.strip_prefix('.')) == Some(suffix))
        {
            return true;
        }
        self.dns_regex
            .as_ref()
            .is_some_and(|re| re.is_match(name) && name.split('.').next() == Some(node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_flag_values_are_named() {
        match ServingConstraints::new().with_ip_prefixes("192.0.2.0/24,10.0.0.0/33") {
            Err(e @ KubeError::Prefix { .. }) => assert_eq!(
                e.to_string(),
                "--serving-ip-prefixes \"10.0.0.0/33\": invalid IP address syntax"
            ),
            other => panic!("expected Prefix, got {other:?}"),
        }
        match ServingConstraints::new().with_dns_suffix("nodes example") {
            Err(e @ KubeError::DnsName { .. }) => assert_eq!(
                e.to_string(),
                "--serving-dns-suffix \"nodes example\": not a DNS name (letters, digits, '-' and '.')"
            ),
            other => panic!("expected DnsName, got {other:?}"),
        }
        assert!(matches!(
            ServingConstraints::new().with_dns_regex("("),
            Err(KubeError::Regex { value, .. }) if value == "("
        ));
        assert!(matches!(
            ServingConstraints::new().with_service_cluster_ip_range("10.96.0.0"),
            Err(KubeError::Prefix {
                flag: "--service-cluster-ip-range",
                ..
            })
        ));
        // A leading dot on a suffix is forgiven.
        let c = ServingConstraints::new()
            .with_dns_suffix(".Nodes.Example.com.")
            .unwrap();
        assert_eq!(c.dns_suffixes, ["nodes.example.com"]);
    }
}
