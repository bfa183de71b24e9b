//! The shapes every built-in profile is made from: a leaf with kubeadm's validity, a fixed
//! client, a server's SANs, a CA.

use std::time::Duration;

use kubepki_csr::{San, SanKind};

use crate::kubeadm_defaults::{DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY};
use crate::{CaConstraint, NameRule, Profile, SanPolicy, SubjectPolicy, Usage};

/// kubeadm's leaf validity: 365 days.
pub(super) const LEAF_VALIDITY: Duration = DEFAULT_CERT_VALIDITY;
/// kubeadm's CA validity: 10 years.
pub(super) const CA_VALIDITY: Duration = DEFAULT_CA_VALIDITY;
/// How far NotBefore is set before the signing time (5 minutes), as kubeadm and the
/// Kubernetes signer do: the one definition, used by every built-in profile, the profile
/// file's default, renewal and the API's signing controller.
pub const BACKDATE: Duration = Duration::from_secs(5 * 60);

pub(super) fn leaf_usages(extended: &[Usage]) -> Vec<Usage> {
    let mut usages = vec![Usage::DigitalSignature, Usage::KeyEncipherment];
    usages.extend_from_slice(extended);
    usages
}

pub(super) fn exact_subject(common_name: &str, organizations: Vec<String>) -> SubjectPolicy {
    SubjectPolicy {
        common_name: Some(NameRule::Exact(common_name.to_owned())),
        organizations: Some(organizations),
        ..SubjectPolicy::default()
    }
}

pub(super) fn leaf(
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
pub(super) fn fixed_client(
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
pub(super) fn server_sans(extra: Vec<San>) -> SanPolicy {
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
