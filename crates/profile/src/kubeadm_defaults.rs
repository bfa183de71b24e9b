//! kubeadm's defaults, the one definition: the library's options, the CLI's flags, the C
//! ABI and (checked by a test of `ffi/`) the Go binding take them from here.

use core::net::Ipv4Addr;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net};

const DAY: u64 = 86_400;

/// The service CIDR (`--service-cidr`); its first address is the API server's ClusterIP.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// [`DEFAULT_SERVICE_CIDR`] as a network (kube-apiserver's default
/// `--service-cluster-ip-range` too).
pub const DEFAULT_SERVICE_NETWORK: IpNet =
    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(10, 96, 0, 0), 12));
/// The cluster DNS domain (`--service-dns-domain`).
pub const DEFAULT_DNS_DOMAIN: &str = "cluster.local";
/// The API server's port (`--apiserver-bind-port`).
pub const DEFAULT_BIND_PORT: u16 = 6443;
/// The cluster's name in kubeconfig files.
pub const DEFAULT_CLUSTER_NAME: &str = "kubernetes";
/// The validity of a leaf certificate: one year (365 days).
pub const DEFAULT_CERT_VALIDITY: Duration = Duration::from_secs(365 * DAY);
/// [`DEFAULT_CERT_VALIDITY`] as a flag's default value.
pub const DEFAULT_CERT_VALIDITY_TEXT: &str = "8760h";
/// The validity of a CA: ten years (3,650 days).
pub const DEFAULT_CA_VALIDITY: Duration = Duration::from_secs(3_650 * DAY);
/// [`DEFAULT_CA_VALIDITY`] as a flag's default value.
pub const DEFAULT_CA_VALIDITY_TEXT: &str = "87600h";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{first_service_ip, parse_duration};

    #[test]
    fn the_texts_say_the_durations() {
        assert_eq!(
            parse_duration(DEFAULT_CERT_VALIDITY_TEXT).expect("parses"),
            DEFAULT_CERT_VALIDITY
        );
        assert_eq!(
            parse_duration(DEFAULT_CA_VALIDITY_TEXT).expect("parses"),
            DEFAULT_CA_VALIDITY
        );
    }

    #[test]
    fn the_service_cidr_gives_kubeadm_s_cluster_ip() {
        assert_eq!(
            first_service_ip(DEFAULT_SERVICE_CIDR)
                .expect("a CIDR")
                .to_string(),
            "10.96.0.1"
        );
        assert_eq!(
            DEFAULT_SERVICE_CIDR.parse::<IpNet>().expect("a CIDR"),
            DEFAULT_SERVICE_NETWORK
        );
    }
}
