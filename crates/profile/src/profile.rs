//! What a profile allows, and checking a request against it.

use std::time::Duration;

use const_oid::ObjectIdentifier;
use flagset::FlagSet;
use kubepki_csr::{San, SanKind, Subject};
use x509_cert::ext::pkix::KeyUsages;

use crate::{ProfileError, Usage, key_usage_and_eku};

/// The profile issues CA certificates (BasicConstraints cA TRUE).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaConstraint {
    /// The pathLenConstraint, if any.
    pub path_len: Option<u8>,
}

/// A rule for the subject's common name (the Kubernetes user name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// Exactly this name.
    Exact(String),
    /// A name that starts with this prefix and has more after it (`system:node:` + node name).
    Prefix(String),
    /// Any name, but there must be one and it must not be empty.
    Any,
}

impl NameRule {
    /// The rule as shown in errors: the name, `prefix*`, or `*`.
    pub fn describe(&self) -> String {
        match self {
            NameRule::Exact(name) => name.clone(),
            NameRule::Prefix(prefix) => format!("{prefix}*"),
            NameRule::Any => "*".to_owned(),
        }
    }

    /// Whether `common_name` satisfies the rule.
    pub fn matches(&self, common_name: Option<&str>) -> bool {
        match (self, common_name) {
            (_, None) => false,
            (NameRule::Exact(name), Some(cn)) => cn == name,
            (NameRule::Prefix(prefix), Some(cn)) => {
                cn.len() > prefix.len() && cn.starts_with(prefix.as_str())
            }
            (NameRule::Any, Some(cn)) => !cn.trim().is_empty(),
        }
    }
}

/// The default of [`SubjectPolicy::max_organizations`]: generous (Kubernetes groups), finite.
pub const DEFAULT_MAX_ORGANIZATIONS: usize = 64;
/// The default of [`SanPolicy::max_sans`]: generous, finite (openssl loads the result).
pub const DEFAULT_MAX_SANS: usize = 256;

/// Rules for the subject. Kubernetes reads the user from CN and the groups from every O.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectPolicy {
    /// The rule for the common name; `None` accepts any CN or none.
    pub common_name: Option<NameRule>,
    /// `Some`: the O values must be exactly these (order-insensitive, `Some(vec![])` = no O).
    pub organizations: Option<Vec<String>>,
    /// O values that must be present.
    pub required_organizations: Vec<String>,
    /// O values that must not be present (e.g. `system:masters`).
    pub forbidden_organizations: Vec<String>,
    /// The most O values a request may have ([`DEFAULT_MAX_ORGANIZATIONS`] by default).
    pub max_organizations: usize,
}

impl Default for SubjectPolicy {
    fn default() -> Self {
        SubjectPolicy {
            common_name: None,
            organizations: None,
            required_organizations: Vec::new(),
            forbidden_organizations: Vec::new(),
            max_organizations: DEFAULT_MAX_ORGANIZATIONS,
        }
    }
}

/// Rules for the subject alternative names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SanPolicy {
    /// The kinds a requested SAN may be (applies to the request's SANs, not to `extra`).
    pub allowed: Vec<SanKind>,
    /// Kinds of which the result must hold at least one SAN each.
    pub required: Vec<SanKind>,
    /// The result must hold at least one SAN of one of the `allowed` kinds (a server needs a
    /// DNS name or an IP address).
    pub require_any_san: bool,
    /// Whether the request's SANs are kept; if not they are dropped (with a warning).
    pub keep_requested: bool,
    /// SANs the profile adds, after the kept requested ones.
    pub extra: Vec<San>,
    /// The most SANs a request may have ([`DEFAULT_MAX_SANS`] by default).
    pub max_sans: usize,
}

impl Default for SanPolicy {
    fn default() -> Self {
        SanPolicy {
            allowed: Vec::new(),
            required: Vec::new(),
            require_any_san: false,
            keep_requested: false,
            extra: Vec::new(),
            max_sans: DEFAULT_MAX_SANS,
        }
    }
}

/// A signing profile: what a certificate issued under it says, and what a request must look
/// like to get one. The request contributes only the subject and the SANs, both checked here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name, e.g. `apiserver`.
    pub name: String,
    /// One line saying what the profile is for.
    pub description: String,
    /// The usages in Kubernetes words; see [`key_usage_and_eku`].
    pub usages: Vec<Usage>,
    /// `Some` for a CA profile.
    pub ca: Option<CaConstraint>,
    /// The validity when none is asked for.
    pub default_validity: Duration,
    /// The longest validity that may be asked for.
    pub max_validity: Duration,
    /// How far NotBefore is set before the signing time (clock skew).
    pub backdate: Duration,
    /// Rules for the subject.
    pub subject: SubjectPolicy,
    /// Rules for the SANs.
    pub sans: SanPolicy,
}

/// What a request gets under a profile: its subject, the SANs to write, and warnings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approved {
    /// The subject to write (the request's, checked).
    pub subject: Subject,
    /// The SANs to write: the kept requested ones, then the profile's extra ones, without
    /// duplicates.
    pub sans: Vec<San>,
    /// Things the caller should tell the user, e.g. a group in OU.
    pub warnings: Vec<String>,
}

fn sorted_unique(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = values.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

impl Profile {
    /// Checks a request's subject and SANs against the profile.
    ///
    /// SANs: the requested ones are dropped if the profile does not keep them; a kept SAN of
    /// a kind not allowed is refused; the profile's `extra` SANs are appended; duplicates are
    /// removed keeping the first; then every required kind must be present. Subject: the CN
    /// rule, the exact O set, required and forbidden O values. An OU value that looks like a
    /// group (contains `system:`) gives a warning, because Kubernetes reads groups only from O.
    ///
    /// # Errors
    /// [`ProfileError::CommonNameMismatch`], [`ProfileError::OrganizationNotAllowed`],
    /// [`ProfileError::OrganizationsMismatch`], [`ProfileError::OrganizationRequired`],
    /// [`ProfileError::SanNotAllowed`] or [`ProfileError::SanRequired`], each naming the value;
    /// [`ProfileError::TooManyOrganizations`] and [`ProfileError::TooManySans`] stating the limit.
    pub fn check_request(
        &self,
        subject: &Subject,
        requested_sans: &[San],
    ) -> Result<Approved, ProfileError> {
        let mut warnings = Vec::new();
        let orgs = subject.organizations().len();
        if orgs > self.subject.max_organizations {
            return Err(ProfileError::TooManyOrganizations {
                profile: self.name.clone(),
                count: orgs,
                max: self.subject.max_organizations,
            });
        }
        if requested_sans.len() > self.sans.max_sans {
            return Err(ProfileError::TooManySans {
                profile: self.name.clone(),
                count: requested_sans.len(),
                max: self.sans.max_sans,
            });
        }
        self.check_subject(subject, &mut warnings)?;
        let sans = self.approve_sans(requested_sans, &mut warnings)?;
        Ok(Approved {
            subject: subject.clone(),
            sans,
            warnings,
        })
    }

    fn check_subject(
        &self,
        subject: &Subject,
        warnings: &mut Vec<String>,
    ) -> Result<(), ProfileError> {
        let policy = &self.subject;
        if let Some(rule) = &policy.common_name {
            let found = subject.common_name();
            if !rule.matches(found) {
                return Err(ProfileError::CommonNameMismatch {
                    profile: self.name.clone(),
                    expected: rule.describe(),
                    found: found.map(str::to_owned),
                });
            }
        }
        let orgs = subject.organizations();
        if let Some(bad) = orgs
            .iter()
            .find(|o| policy.forbidden_organizations.iter().any(|f| f == *o))
        {
            return Err(ProfileError::OrganizationNotAllowed {
                profile: self.name.clone(),
                organization: (*bad).to_owned(),
            });
        }
        if let Some(expected) = &policy.organizations {
            let expected = sorted_unique(expected.iter().cloned());
            let found = sorted_unique(orgs.iter().map(|o| (*o).to_owned()));
            if expected != found {
                return Err(ProfileError::OrganizationsMismatch {
                    profile: self.name.clone(),
                    expected,
                    found,
                });
            }
        }
        if let Some(missing) = policy
            .required_organizations
            .iter()
            .find(|r| !orgs.contains(&r.as_str()))
        {
            return Err(ProfileError::OrganizationRequired {
                profile: self.name.clone(),
                organization: missing.clone(),
            });
        }
        for ou in subject.organizational_units() {
            if ou.contains("system:") {
                warnings.push(format!(
                    "OU={ou} looks like a Kubernetes group, but Kubernetes reads groups from O only: use O={ou}"
                ));
            }
        }
        Ok(())
    }

    fn approve_sans(
        &self,
        requested: &[San],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<San>, ProfileError> {
        let policy = &self.sans;
        let mut sans: Vec<San> = Vec::new();
        if policy.keep_requested {
            for san in requested {
                if !policy.allowed.contains(&san.kind()) {
                    return Err(ProfileError::SanNotAllowed {
                        profile: self.name.clone(),
                        san: san.to_string(),
                    });
                }
                sans.push(san.clone());
            }
        } else if !requested.is_empty() {
            let dropped: Vec<String> = requested.iter().map(ToString::to_string).collect();
            warnings.push(format!(
                "profile {} does not take SANs from the request; dropped {}",
                self.name,
                dropped.join(", ")
            ));
        }
        sans.extend(policy.extra.iter().cloned());
        let mut unique: Vec<San> = Vec::with_capacity(sans.len());
        for san in sans {
            if !unique.contains(&san) {
                unique.push(san);
            }
        }
        if let Some(kind) = policy
            .required
            .iter()
            .find(|k| !unique.iter().any(|s| s.kind() == **k))
        {
            return Err(ProfileError::SanRequired {
                profile: self.name.clone(),
                kind: kind.to_string(),
            });
        }
        if policy.require_any_san && !unique.iter().any(|s| policy.allowed.contains(&s.kind())) {
            let kinds: Vec<String> = policy.allowed.iter().map(ToString::to_string).collect();
            return Err(ProfileError::SanRequired {
                profile: self.name.clone(),
                kind: kinds.join(" or "),
            });
        }
        Ok(unique)
    }

    /// The KeyUsage bits: the usages' bits, plus keyCertSign for a CA profile.
    pub fn key_usage(&self) -> FlagSet<KeyUsages> {
        let (mut bits, _) = key_usage_and_eku(&self.usages);
        if self.ca.is_some() {
            bits |= KeyUsages::KeyCertSign;
        }
        bits
    }

    /// The ExtendedKeyUsage OIDs, in the Kubernetes signer's order (empty: no extension).
    pub fn extended_key_usage(&self) -> Vec<ObjectIdentifier> {
        key_usage_and_eku(&self.usages).1
    }

    /// The validity to use: `requested`, or the profile's default.
    ///
    /// # Errors
    /// [`ProfileError::ValidityTooLong`] past the profile's maximum,
    /// [`ProfileError::InvalidValidity`] for zero.
    pub fn validity(&self, requested: Option<Duration>) -> Result<Duration, ProfileError> {
        let validity = requested.unwrap_or(self.default_validity);
        if validity.is_zero() {
            return Err(ProfileError::InvalidValidity {
                profile: self.name.clone(),
                reason: "the validity is zero".to_owned(),
            });
        }
        if validity > self.max_validity {
            return Err(ProfileError::ValidityTooLong {
                profile: self.name.clone(),
                requested: validity,
                max: self.max_validity,
            });
        }
        Ok(validity)
    }

    /// The subject the profile implies when it fixes the CN exactly (and the O values exactly,
    /// or only requires some): O values first, then CN, as kubeadm writes them. Used to issue
    /// without a request.
    pub fn fixed_subject(&self) -> Option<Subject> {
        let Some(NameRule::Exact(cn)) = &self.subject.common_name else {
            return None;
        };
        let orgs = self
            .subject
            .organizations
            .as_ref()
            .unwrap_or(&self.subject.required_organizations);
        Some(Subject::from_parts(cn, orgs))
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn too_many_organizations_and_sans_are_refused_with_the_limit() {
        let profile = crate::builtin::ca_profile("ca", "x");
        let orgs: Vec<String> = (0..80).map(|i| format!("o{i}")).collect();
        let err = profile
            .check_request(&Subject::from_parts("jane", &orgs), &[])
            .unwrap_err();
        assert!(
            matches!(
                err,
                ProfileError::TooManyOrganizations {
                    count: 80,
                    max: 64,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "profile ca allows at most 64 O values, the request has 80"
        );
        let sans: Vec<San> = (0..300)
            .map(|i| San::parse(&format!("DNS:h{i}.example")).unwrap())
            .collect();
        let err = profile
            .check_request(&Subject::from_parts("jane", &[] as &[&str]), &sans)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile ca allows at most 256 subject alternative names, the request has 300"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClusterParams, builtin};

    fn params() -> ClusterParams {
        ClusterParams {
            node_name: Some("cp-1".into()),
            advertise_address: Some("192.168.1.10".parse().unwrap()),
            ..ClusterParams::default()
        }
    }

    fn profile(name: &str) -> Profile {
        builtin(name, &params()).unwrap()
    }

    fn subject(text: &str) -> Subject {
        Subject::parse(text).unwrap()
    }

    fn san(text: &str) -> San {
        San::parse(text).unwrap()
    }

    #[test]
    fn common_name_rules() {
        let err = profile("admin")
            .check_request(&subject("/O=kubeadm:cluster-admins/CN=root"), &[])
            .unwrap_err();
        assert_eq!(
            err,
            ProfileError::CommonNameMismatch {
                profile: "admin".into(),
                expected: "kubernetes-admin".into(),
                found: Some("root".into()),
            }
        );
        assert!(err.to_string().contains("\"root\""), "{err}");

        let kubelet = builtin("kubelet-client", &ClusterParams::default()).unwrap();
        assert!(
            kubelet
                .check_request(&subject("/O=system:nodes/CN=system:node:w1"), &[])
                .is_ok()
        );
        for bad in [
            "/O=system:nodes/CN=system:node:",
            "/O=system:nodes/CN=w1",
            "/O=system:nodes",
        ] {
            assert!(
                matches!(
                    kubelet.check_request(&subject(bad), &[]),
                    Err(ProfileError::CommonNameMismatch { expected, .. }) if expected == "system:node:*"
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            profile("client").check_request(&subject("/O=dev"), &[]),
            Err(ProfileError::CommonNameMismatch { expected, found: None, .. }) if expected == "*"
        ));
    }

    #[test]
    fn organization_rules() {
        assert_eq!(
            profile("apiserver-etcd-client")
                .check_request(
                    &subject("/O=system:masters/CN=kube-apiserver-etcd-client"),
                    &[]
                )
                .unwrap_err(),
            ProfileError::OrganizationsMismatch {
                profile: "apiserver-etcd-client".into(),
                expected: vec![],
                found: vec!["system:masters".into()],
            }
        );
        let mut p = profile("client");
        p.subject.forbidden_organizations = vec!["system:masters".into()];
        p.subject.required_organizations = vec!["dev".into()];
        assert_eq!(
            p.check_request(&subject("/CN=jane/O=dev/O=system:masters"), &[])
                .unwrap_err(),
            ProfileError::OrganizationNotAllowed {
                profile: "client".into(),
                organization: "system:masters".into(),
            }
        );
        assert_eq!(
            p.check_request(&subject("/CN=jane/O=ops"), &[])
                .unwrap_err(),
            ProfileError::OrganizationRequired {
                profile: "client".into(),
                organization: "dev".into(),
            }
        );
        // Exact O sets are order-insensitive.
        p.subject.organizations = Some(vec!["ops".into(), "dev".into()]);
        assert!(
            p.check_request(&subject("/CN=jane/O=dev/O=ops"), &[])
                .is_ok()
        );
    }

    #[test]
    fn group_in_ou_is_a_warning() {
        let approved = profile("client")
            .check_request(&subject("/CN=kube-admin/OU=system:masters"), &[])
            .unwrap();
        assert_eq!(approved.warnings.len(), 1);
        assert!(approved.warnings[0].contains("OU=system:masters"));
        assert_eq!(
            approved.subject,
            subject("/CN=kube-admin/OU=system:masters")
        );
    }

    #[test]
    fn san_rules() {
        let server = profile("server");
        assert_eq!(
            server.check_request(&subject("/CN=web"), &[]).unwrap_err(),
            ProfileError::SanRequired {
                profile: "server".into(),
                kind: "DNS or IP".into(),
            }
        );
        assert_eq!(
            server
                .check_request(&subject("/CN=web"), &[san("DNS:web"), san("email:a@b.c")])
                .unwrap_err(),
            ProfileError::SanNotAllowed {
                profile: "server".into(),
                san: "email:a@b.c".into(),
            }
        );
        let approved = server
            .check_request(
                &subject("/CN=web"),
                &[san("DNS:web"), san("IP:10.0.0.1"), san("DNS:web")],
            )
            .unwrap();
        assert_eq!(approved.sans, vec![san("DNS:web"), san("IP:10.0.0.1")]);

        let mut p = profile("client");
        p.sans.required = vec![SanKind::Uri];
        assert_eq!(
            p.check_request(&subject("/CN=jane"), &[san("DNS:x")])
                .unwrap_err(),
            ProfileError::SanRequired {
                profile: "client".into(),
                kind: "URI".into(),
            }
        );
        p.sans.extra = vec![san("URI:spiffe://cluster.local/jane"), san("DNS:x")];
        let approved = p
            .check_request(&subject("/CN=jane"), &[san("DNS:x")])
            .unwrap();
        assert_eq!(
            approved.sans,
            vec![san("DNS:x"), san("URI:spiffe://cluster.local/jane")]
        );
    }

    #[test]
    fn requested_sans_dropped_with_a_warning() {
        let approved = profile("admin")
            .check_request(
                &subject("/O=kubeadm:cluster-admins/CN=kubernetes-admin"),
                &[san("DNS:evil.example")],
            )
            .unwrap();
        assert!(approved.sans.is_empty());
        assert!(approved.warnings[0].contains("DNS:evil.example"));
    }

    #[test]
    fn validity() {
        let p = profile("client");
        let year = Duration::from_secs(365 * 86_400);
        assert_eq!(p.validity(None).unwrap(), year);
        assert_eq!(
            p.validity(Some(Duration::from_secs(3_600))).unwrap(),
            Duration::from_secs(3_600)
        );
        assert_eq!(
            p.validity(Some(year * 2)).unwrap_err(),
            ProfileError::ValidityTooLong {
                profile: "client".into(),
                requested: year * 2,
                max: year,
            }
        );
        assert_eq!(
            p.validity(Some(year * 2)).unwrap_err().to_string(),
            "validity 17520h0m0s is longer than the maximum 8760h0m0s of profile client"
        );
        assert!(matches!(
            p.validity(Some(Duration::ZERO)),
            Err(ProfileError::InvalidValidity { .. })
        ));
    }

    #[test]
    fn fixed_subjects() {
        assert_eq!(
            profile("super-admin").fixed_subject().unwrap().to_string(),
            "/O=system:masters/CN=kubernetes-super-admin"
        );
        assert_eq!(
            profile("ca").fixed_subject().unwrap().to_string(),
            "/CN=kubernetes"
        );
        assert_eq!(
            profile("etcd-server").fixed_subject().unwrap().to_string(),
            "/CN=cp-1"
        );
        assert_eq!(
            profile("kubelet-client")
                .fixed_subject()
                .unwrap()
                .to_string(),
            "/O=system:nodes/CN=system:node:cp-1"
        );
        assert!(profile("client").fixed_subject().is_none());
        assert!(
            builtin("kubelet-client", &ClusterParams::default())
                .unwrap()
                .fixed_subject()
                .is_none()
        );
        // Every fixed subject passes its own profile.
        for name in crate::BUILTIN_NAMES {
            let p = profile(name);
            if let Some(s) = p.fixed_subject() {
                p.check_request(&s, &[]).unwrap();
            }
        }
    }
}
