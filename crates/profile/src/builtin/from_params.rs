//! The kubeadm profiles whose names and SANs come from the cluster's parameters: the API
//! server, the etcd members, the kubelets.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kubepki_csr::{NODE_USER_PREFIX, San};

use super::shapes::{exact_subject, leaf, server_sans};
use super::{ClusterParams, NODES, first_service_ip};
use crate::{NameRule, Profile, ProfileError, SubjectPolicy, Usage};

pub(super) fn node_name<'a>(
    profile: &str,
    params: &'a ClusterParams,
) -> Result<&'a str, ProfileError> {
    params
        .node_name
        .as_deref()
        .ok_or_else(|| ProfileError::MissingParameter {
            profile: profile.to_owned(),
            parameter: "node name",
        })
}

pub(super) fn dns(profile: &str, parameter: &'static str, name: &str) -> Result<San, ProfileError> {
    San::dns(name).map_err(|e| ProfileError::InvalidParameter {
        profile: profile.to_owned(),
        parameter,
        reason: e.to_string(),
    })
}

pub(super) fn apiserver(params: &ClusterParams) -> Result<Profile, ProfileError> {
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

pub(super) fn etcd_member(
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

pub(super) fn kubelet_subject(params: &ClusterParams) -> SubjectPolicy {
    SubjectPolicy {
        common_name: Some(match &params.node_name {
            Some(node) => NameRule::Exact(format!("{NODE_USER_PREFIX}{node}")),
            None => NameRule::Prefix(NODE_USER_PREFIX.to_owned()),
        }),
        organizations: Some(vec![NODES.to_owned()]),
        ..SubjectPolicy::default()
    }
}
