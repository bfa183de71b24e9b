//! What the built-in profiles need to know about the cluster, and the service CIDR's first
//! address.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use kubepki_csr::San;

use super::{CLUSTER_ADMINS, MASTERS};
use crate::ProfileError;
use crate::kubeadm_defaults::{DEFAULT_DNS_DOMAIN, DEFAULT_SERVICE_CIDR};

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
    pub(super) fn organizations(self) -> Vec<String> {
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

/// The service networks of `--service-cidr`, checked: one IPv4 or IPv6 network, or one of
/// each (dual stack).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceNetworks {
    /// The first network given, whose first address is the `kubernetes` Service's ClusterIP.
    pub primary: IpNet,
    /// The first address of `primary`.
    pub primary_first_address: IpAddr,
    /// The network of the other family, in a dual-stack value.
    pub secondary: Option<IpNet>,
}

/// The service networks of `--service-cidr`: one IPv4 or IPv6 network, or one of each
/// separated by a comma (dual stack), as kubeadm validates it. Each must leave room for a
/// first address.
///
/// # Errors
/// [`ProfileError::InvalidCidr`] naming the whole value: a network that does not parse or has
/// no room for a first address (`/32`, `/128`), more than two networks, or two of one family.
pub fn service_networks(cidr: &str) -> Result<ServiceNetworks, ProfileError> {
    let invalid = |reason: &str| ProfileError::InvalidCidr {
        cidr: cidr.to_owned(),
        reason: reason.to_owned(),
    };
    let network = |part: &str| -> Result<(IpNet, IpAddr), ProfileError> {
        let part = part.trim();
        if !part.contains('/') {
            return Err(invalid("no prefix length (expected ADDRESS/BITS)"));
        }
        let net: IpNet = part.parse().map_err(|_| {
            invalid("not an IPv4 or IPv6 network (expected ADDRESS/BITS, BITS at most 32 or 128)")
        })?;
        let first = first_address(&net)
            .ok_or_else(|| invalid("the network has no room for a first address"))?;
        Ok((net, first))
    };
    let (primary, secondary) = match cidr.split_once(',') {
        Some((_, rest)) if rest.contains(',') => return Err(invalid("more than two networks")),
        Some((first, second)) => (first, Some(second)),
        None => (cidr, None),
    };
    let (primary, primary_first_address) = network(primary)?;
    let secondary = secondary.map(network).transpose()?.map(|(net, _)| net);
    if let Some(secondary) = secondary
        && matches!(primary, IpNet::V4(_)) == matches!(secondary, IpNet::V4(_))
    {
        return Err(invalid(
            "a dual-stack value needs one IPv4 and one IPv6 network",
        ));
    }
    Ok(ServiceNetworks {
        primary,
        primary_first_address,
        secondary,
    })
}

/// The first address of a service CIDR (network address + 1): the ClusterIP of the
/// `kubernetes` service, e.g. `10.96.0.1` for `10.96.0.0/12`, `fd00:10:96::1` for
/// `fd00:10:96::/112`. Of a dual-stack value the first network is used, as kubeadm does.
///
/// # Errors
/// As [`service_networks`], which checks the whole value.
pub fn first_service_ip(cidr: &str) -> Result<IpAddr, ProfileError> {
    Ok(service_networks(cidr)?.primary_first_address)
}

/// The address after `net`'s network address (host bits of `net` ignored): kube-apiserver's
/// `kubernetes` Service in a service range. `None` when the network has no room for it
/// (`/32`, `/128`).
#[must_use]
pub fn first_address(net: &IpNet) -> Option<IpAddr> {
    let ip = match net.trunc() {
        IpNet::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4.network()).checked_add(1)?)),
        IpNet::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6.network()).checked_add(1)?)),
    };
    net.contains(&ip).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "10.96.0.0/-1",
            "",
            // Dual stack: one network of each family, at most two, every one valid.
            "10.96.0.0/12,10.97.0.0/16",
            "fd00::/112,fd01::/112",
            "10.96.0.0/12,fd00::/112,fd01::/112",
            "10.96.0.0/12,garbage",
            "10.96.0.0/12,",
        ] {
            assert!(
                matches!(first_service_ip(bad), Err(ProfileError::InvalidCidr { cidr, .. }) if cidr == bad),
                "{bad}"
            );
        }
    }
}
