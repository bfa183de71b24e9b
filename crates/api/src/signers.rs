//! The built-in signers' rules (`pkg/controller/certificates/signer`,
//! `pkg/apis/certificates/helpers.go`) and custom signers backed by profiles.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kubepki_csr::{Csr, SanKind};
use kubepki_profile::{BACKDATE, Profile, ProfileSet, SanPolicy, SubjectPolicy, Usage};

use crate::ApiError;
use crate::validation::{
    KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING, LEGACY_UNKNOWN,
};

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn usage_set(usages: &[String]) -> BTreeSet<String> {
    usages.iter().cloned().collect()
}

fn sans_of(csr: &Csr, kind: SanKind) -> usize {
    csr.sans().iter().filter(|s| s.kind() == kind).count()
}

/// The CN of a node's request: `system:node:<name>`.
fn require_node_common_name(csr: &Csr) -> Result<(), ApiError> {
    let cn = csr.subject().common_name().unwrap_or_default();
    if cn.starts_with("system:node:") {
        Ok(())
    } else {
        Err(ApiError::CommonNameNotSystemNode)
    }
}

/// The usages a request for `signer_name` asks for when its author names none: the full set
/// each built-in signer accepts (what kubeadm and the kubelet ask for), `client auth` for
/// `kube-apiserver-client`; none for any other signer, whose profile decides.
pub fn default_usages(signer_name: &str) -> &'static [&'static str] {
    match signer_name {
        KUBE_APISERVER_CLIENT => &["client auth"],
        KUBE_APISERVER_CLIENT_KUBELET => &["digital signature", "key encipherment", "client auth"],
        KUBELET_SERVING => &["digital signature", "key encipherment", "server auth"],
        _ => &[],
    }
}

/// `ValidateKubeletClientCSR`: O exactly `system:nodes`, no SANs, CN `system:node:...`, usages
/// {digital signature, key encipherment, client auth} or {digital signature, client auth}.
///
/// # Errors
/// The first rule broken, with Kubernetes' message.
pub fn validate_kubelet_client(csr: &Csr, usages: &[String]) -> Result<(), ApiError> {
    if csr.subject().organizations() != ["system:nodes"] {
        return Err(ApiError::OrganizationNotSystemNodes);
    }
    for (kind, name) in [
        (SanKind::Dns, "DNS"),
        (SanKind::Email, "Email"),
        (SanKind::Ip, "IP"),
        (SanKind::Uri, "URI"),
    ] {
        if sans_of(csr, kind) > 0 {
            return Err(ApiError::SanNotAllowed { kind: name });
        }
    }
    require_node_common_name(csr)?;
    let got = usage_set(usages);
    let full = set(&["client auth", "digital signature", "key encipherment"]);
    if got != full && got != set(&["client auth", "digital signature"]) {
        return Err(ApiError::UsagesMismatch {
            expected: full.into_iter().collect(),
        });
    }
    Ok(())
}

/// `ValidateKubeletServingCSR`: O exactly `system:nodes`, a DNS or IP SAN, no email or URI
/// SAN, usages {digital signature, key encipherment, server auth} or {digital signature,
/// server auth}, CN `system:node:...`.
///
/// # Errors
/// The first rule broken, with Kubernetes' message.
pub fn validate_kubelet_serving(csr: &Csr, usages: &[String]) -> Result<(), ApiError> {
    if csr.subject().organizations() != ["system:nodes"] {
        return Err(ApiError::OrganizationNotSystemNodes);
    }
    if sans_of(csr, SanKind::Dns) == 0 && sans_of(csr, SanKind::Ip) == 0 {
        return Err(ApiError::DnsOrIpSanRequired);
    }
    if sans_of(csr, SanKind::Email) > 0 {
        return Err(ApiError::SanNotAllowed { kind: "Email" });
    }
    if sans_of(csr, SanKind::Uri) > 0 {
        return Err(ApiError::SanNotAllowed { kind: "URI" });
    }
    let got = usage_set(usages);
    let full = set(&["digital signature", "key encipherment", "server auth"]);
    if got != full && got != set(&["digital signature", "server auth"]) {
        return Err(ApiError::UsagesMismatch {
            expected: full.into_iter().collect(),
        });
    }
    require_node_common_name(csr)?;
    Ok(())
}

/// `kube-apiserver-client`: only digital signature, key encipherment and client auth, and
/// client auth present.
///
/// # Errors
/// [`ApiError::InvalidClientUsage`] or [`ApiError::MissingClientAuth`].
pub fn validate_apiserver_client(usages: &[String]) -> Result<(), ApiError> {
    let mut client_auth = false;
    for u in usages {
        match u.as_str() {
            "digital signature" | "key encipherment" => {}
            "client auth" => client_auth = true,
            other => {
                return Err(ApiError::InvalidClientUsage {
                    usage: other.to_owned(),
                });
            }
        }
    }
    if client_auth {
        Ok(())
    } else {
        Err(ApiError::MissingClientAuth)
    }
}

/// The signers a controller knows: the built-in `kubernetes.io/*` ones and custom names
/// mapped to profiles.
#[derive(Clone, Debug, Default)]
pub struct Signers {
    custom: BTreeMap<String, Profile>,
    /// Custom signers explicitly allowed to sign with the cluster-signing (default) CA.
    on_cluster_ca: BTreeSet<String>,
}

impl Signers {
    /// Only the built-in signers.
    pub fn new() -> Self {
        Signers::default()
    }

    /// Maps the custom signer `signer_name` to `profile`.
    pub fn with_profile(mut self, signer_name: &str, profile: Profile) -> Self {
        self.custom.insert(signer_name.to_owned(), profile);
        self
    }

    /// Maps `<domain>/<profile name>` to each profile of `set`, e.g. `example.com/etcd-peer`.
    pub fn with_profile_set(mut self, domain: &str, set: &ProfileSet) -> Self {
        for name in set.names() {
            if let Ok(p) = set.get(name) {
                self.custom.insert(format!("{domain}/{name}"), p.clone());
            }
        }
        self
    }

    /// Lets the custom signer `signer_name` sign with the cluster-signing (default) CA. Without
    /// this a custom signer signs only with a CA of its own: the cluster-signing CA is the one
    /// kube-apiserver trusts for client certificates (`--client-ca-file`), and a custom signer
    /// that borrowed it silently could mint any user.
    pub fn with_cluster_ca(mut self, signer_name: &str) -> Self {
        self.on_cluster_ca.insert(signer_name.to_owned());
        self
    }

    /// Whether `signer_name` may sign with the cluster-signing (default) CA: the built-in
    /// signers, and custom ones named by [`Signers::with_cluster_ca`].
    pub fn may_use_cluster_ca(&self, signer_name: &str) -> bool {
        is_builtin(signer_name)
            || (self.custom.contains_key(signer_name) && self.on_cluster_ca.contains(signer_name))
    }

    /// Whether `signer_name` is built in or configured.
    pub fn knows(&self, signer_name: &str) -> bool {
        is_builtin(signer_name) || self.custom.contains_key(signer_name)
    }

    /// The custom signer names.
    pub fn custom_names(&self) -> Vec<&str> {
        self.custom.keys().map(String::as_str).collect()
    }

    /// Checks a request against its signer's rules and returns the profile to issue under:
    /// for the built-in signers, one made from the usages (subject and SANs copied as the
    /// Kubernetes signer does); for a custom signer, its profile narrowed to the requested
    /// usages, each of which the profile must allow (as kube-controller-manager issues what
    /// was asked for, never more). A custom signer whose certificates would be valid for
    /// client auth refuses `O=system:masters`.
    ///
    /// # Errors
    /// The signer's refusal (put by the controller in a `Failed` condition):
    /// [`ApiError::UsageNotAllowed`], [`ApiError::SystemMastersRefused`], the profile's
    /// refusal; or [`ApiError::UnknownSigner`].
    pub fn check(
        &self,
        signer_name: &str,
        csr: &Csr,
        usages: &[String],
        validity: Duration,
    ) -> Result<Profile, ApiError> {
        match signer_name {
            KUBE_APISERVER_CLIENT => validate_apiserver_client(usages)?,
            KUBE_APISERVER_CLIENT_KUBELET => validate_kubelet_client(csr, usages)?,
            KUBELET_SERVING => validate_kubelet_serving(csr, usages)?,
            LEGACY_UNKNOWN => {}
            other => {
                let profile = self
                    .custom
                    .get(other)
                    .ok_or_else(|| ApiError::UnknownSigner {
                        signer: other.to_owned(),
                    })?;
                let mut requested: Vec<Usage> = Vec::new();
                for u in usages {
                    let usage: Usage = u.parse()?;
                    if !profile.usages.contains(&usage) {
                        return Err(ApiError::UsageNotAllowed {
                            usage: u.clone(),
                            signer: other.to_owned(),
                        });
                    }
                    if !requested.contains(&usage) {
                        requested.push(usage);
                    }
                }
                if (valid_for_client_auth(&profile.usages) || valid_for_client_auth(&requested))
                    && csr.subject().organizations().contains(&SYSTEM_MASTERS)
                {
                    return Err(ApiError::SystemMastersRefused {
                        signer: other.to_owned(),
                    });
                }
                profile.check_request(csr.subject(), csr.sans())?;
                let mut p = profile.clone();
                p.usages = requested;
                p.ca = None;
                p.backdate = BACKDATE;
                p.default_validity = validity.min(p.max_validity);
                return Ok(p);
            }
        }
        usage_profile(signer_name, usages, validity)
    }
}

/// The group kube-apiserver lets do anything, whatever RBAC says.
const SYSTEM_MASTERS: &str = "system:masters";

/// Whether a certificate issued with `usages` passes Go's `crypto/x509` check for client
/// auth (kube-apiserver's): it has `client auth` or `any`, or no extended key usage at all.
fn valid_for_client_auth(usages: &[Usage]) -> bool {
    let (_, ekus) = kubepki_profile::key_usage_and_eku(usages);
    ekus.is_empty()
        || usages
            .iter()
            .any(|u| matches!(u, Usage::ClientAuth | Usage::Any))
}

fn is_builtin(name: &str) -> bool {
    [
        KUBE_APISERVER_CLIENT,
        KUBE_APISERVER_CLIENT_KUBELET,
        KUBELET_SERVING,
        LEGACY_UNKNOWN,
    ]
    .contains(&name)
}

/// A profile made from a request's usages: CA:FALSE, subject and every SAN copied, the given
/// validity, 5 minutes backdate.
///
/// # Errors
/// [`ApiError::Profile`] for an unknown usage word.
pub fn usage_profile(
    name: &str,
    usages: &[String],
    validity: Duration,
) -> Result<Profile, ApiError> {
    let usages = usages
        .iter()
        .map(|u| u.parse::<Usage>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Profile {
        name: name.to_owned(),
        description: format!("signer {name}"),
        usages,
        ca: None,
        default_validity: validity,
        max_validity: validity,
        backdate: BACKDATE,
        subject: SubjectPolicy::default(),
        sans: SanPolicy {
            allowed: vec![SanKind::Dns, SanKind::Ip, SanKind::Uri, SanKind::Email],
            required: Vec::new(),
            require_any_san: false,
            keep_requested: true,
            extra: Vec::new(),
            ..SanPolicy::default()
        },
    })
}
