//! The one error type of this crate.

use std::time::Duration;

use crate::duration::format_duration;

/// Everything that can go wrong with usages, profiles, profile files and requests checked
/// against a profile.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// A usage word that is not one of the 23 of certificates.k8s.io.
    #[error(
        "unknown usage {usage:?} (expected a certificates.k8s.io usage such as \"client auth\")"
    )]
    UnknownUsage {
        /// The word given.
        usage: String,
    },
    /// A profile name that is not known.
    #[error("unknown profile {name:?} (known: {})", known.join(", "))]
    UnknownProfile {
        /// The name given.
        name: String,
        /// The names that are known.
        known: Vec<String>,
    },
    /// A field of a profile file that is missing or wrong.
    #[error("profile {profile:?}: field {field}: {reason}")]
    InvalidField {
        /// The profile the field belongs to.
        profile: String,
        /// The field, dotted for nested fields (`sans.allowed`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry of a profile file's `signers:` section that is not a profile of the file or
    /// does not name one CA.
    #[error("signers: {name:?}: {reason}")]
    InvalidSigner {
        /// The entry's name, a profile name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A profile file that is not YAML of the expected shape.
    #[error("invalid profile file: {0}")]
    Yaml(String),
    /// A requested SAN of a kind the profile does not allow.
    #[error("profile {profile} does not allow the subject alternative name {san}")]
    SanNotAllowed {
        /// The profile.
        profile: String,
        /// The SAN in OpenSSL form (`DNS:x`).
        san: String,
    },
    /// More O values than the profile allows.
    #[error("profile {profile} allows at most {max} O values, the request has {count}")]
    TooManyOrganizations {
        /// The profile.
        profile: String,
        /// How many the request has.
        count: usize,
        /// The profile's limit.
        max: usize,
    },
    /// More SANs than the profile allows.
    #[error(
        "profile {profile} allows at most {max} subject alternative names, the request has {count}"
    )]
    TooManySans {
        /// The profile.
        profile: String,
        /// How many the request has.
        count: usize,
        /// The profile's limit.
        max: usize,
    },
    /// A SAN kind the profile requires is missing.
    #[error("profile {profile} requires a {kind} subject alternative name, the request has none")]
    SanRequired {
        /// The profile.
        profile: String,
        /// The kind (`DNS`, `IP`, … or `DNS or IP`).
        kind: String,
    },
    /// The common name does not match the profile's rule.
    #[error(
        "profile {profile} requires the common name {expected:?}, the request has {}",
        found.as_ref().map_or_else(|| "none".to_owned(), |cn| format!("{cn:?}"))
    )]
    CommonNameMismatch {
        /// The profile.
        profile: String,
        /// The rule: the exact name, `prefix*`, or `*` for any non-empty name.
        expected: String,
        /// The common name of the request.
        found: Option<String>,
    },
    /// An organization (group) the profile forbids.
    #[error("profile {profile} does not allow the organization (group) {organization:?}")]
    OrganizationNotAllowed {
        /// The profile.
        profile: String,
        /// The forbidden value.
        organization: String,
    },
    /// An organization (group) the profile requires is missing.
    #[error("profile {profile} requires the organization (group) {organization:?}")]
    OrganizationRequired {
        /// The profile.
        profile: String,
        /// The missing value.
        organization: String,
    },
    /// The organizations are not exactly the profile's.
    #[error(
        "profile {profile} requires the organizations (groups) {expected:?}, the request has {found:?}"
    )]
    OrganizationsMismatch {
        /// The profile.
        profile: String,
        /// The organizations the profile requires, sorted.
        expected: Vec<String>,
        /// The organizations of the request, sorted.
        found: Vec<String>,
    },
    /// A validity longer than the profile's maximum.
    #[error(
        "validity {} is longer than the maximum {} of profile {profile}",
        format_duration(*requested),
        format_duration(*max)
    )]
    ValidityTooLong {
        /// The profile.
        profile: String,
        /// The validity asked for.
        requested: Duration,
        /// The profile's maximum.
        max: Duration,
    },
    /// A validity that cannot be used (zero).
    #[error("invalid validity for profile {profile}: {reason}")]
    InvalidValidity {
        /// The profile.
        profile: String,
        /// What is wrong.
        reason: String,
    },
    /// A service CIDR that does not parse or has no room for a first address.
    #[error("invalid CIDR {cidr:?}: {reason}")]
    InvalidCidr {
        /// The CIDR given.
        cidr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A built-in profile needs a cluster parameter that was not given.
    #[error("profile {profile} needs the {parameter}")]
    MissingParameter {
        /// The profile.
        profile: String,
        /// The parameter, e.g. `node name`.
        parameter: &'static str,
    },
    /// A cluster parameter that a built-in profile cannot use.
    #[error("profile {profile}: invalid {parameter}: {reason}")]
    InvalidParameter {
        /// The profile.
        profile: String,
        /// The parameter, e.g. `node name`.
        parameter: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A duration that does not parse.
    #[error("invalid duration {text:?}: {reason}")]
    InvalidDuration {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}
