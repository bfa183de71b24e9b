//! Profiles from a YAML file, cfssl-like: named profiles and a default.

use std::collections::BTreeMap;
use std::time::Duration;

use kubepki_csr::{San, SanKind};
use serde_json::{Map, Value};

use crate::signers::load_signers;
use crate::{
    CaConstraint, NameRule, Profile, ProfileError, SanPolicy, SignerCa, SubjectPolicy, Usage,
    parse_duration,
};

/// A set of named profiles, as loaded from a YAML file, with an optional default.
///
/// ```yaml
/// default: client
/// profiles:
///   client:
///     usages: [digital signature, key encipherment, client auth]
///     expiry: 8760h
///     subject: {forbidden_organizations: [system:masters]}
///     sans: {allowed: [DNS, email], keep_requested: true}
/// signers:
///   client: {cert_file: client-ca.crt, key_file: client-ca.key}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileSet {
    profiles: BTreeMap<String, Profile>,
    default: Option<String>,
    signers: BTreeMap<String, SignerCa>,
}

/// A mapping whose keys are checked against the known fields, each error naming the profile
/// and the dotted field.
struct Fields<'a> {
    profile: &'a str,
    prefix: &'a str,
    map: &'a Map<String, Value>,
}

fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, true) => "(body)".to_owned(),
        (true, false) => key.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{key}"),
    }
}

fn invalid_field(profile: &str, field: String, reason: &str) -> ProfileError {
    ProfileError::InvalidField {
        profile: profile.to_owned(),
        field,
        reason: reason.to_owned(),
    }
}

impl<'a> Fields<'a> {
    fn new(
        profile: &'a str,
        prefix: &'a str,
        value: &'a Value,
        known: &[&str],
    ) -> Result<Self, ProfileError> {
        let map = match value {
            Value::Object(map) => map,
            Value::Null => {
                return Err(invalid_field(
                    profile,
                    join(prefix, ""),
                    "expected a mapping, found nothing",
                ));
            }
            _ => {
                return Err(invalid_field(
                    profile,
                    join(prefix, ""),
                    "expected a mapping",
                ));
            }
        };
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                return Err(invalid_field(
                    profile,
                    join(prefix, key),
                    &format!("unknown field (expected one of: {})", known.join(", ")),
                ));
            }
        }
        Ok(Fields {
            profile,
            prefix,
            map,
        })
    }

    fn error(&self, key: &str, reason: &str) -> ProfileError {
        invalid_field(self.profile, join(self.prefix, key), reason)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<String>, ProfileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.error(key, "expected a string")),
        }
    }

    fn count(&self, key: &str) -> Result<Option<usize>, ProfileError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| self.error(key, "expected a positive number")),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ProfileError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.error(key, "expected true or false")),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ProfileError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.error(key, "expected a list"));
        };
        items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(self.error(key, "expected a list of strings")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, ProfileError> {
        self.string(key)?
            .map(|text| parse_duration(&text).map_err(|e| self.error(key, &e.to_string())))
            .transpose()
    }

    /// A nested mapping; nesting is one level deep, so its key is its prefix.
    fn sub(&self, key: &'a str, known: &[&str]) -> Result<Option<Fields<'a>>, ProfileError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        Fields::new(self.profile, key, value, known).map(Some)
    }
}

const PROFILE_FIELDS: &[&str] = &[
    "description",
    "usages",
    "expiry",
    "max_expiry",
    "backdate",
    "ca",
    "subject",
    "sans",
];
const CA_FIELDS: &[&str] = &["path_len"];
const SUBJECT_FIELDS: &[&str] = &[
    "common_name",
    "common_name_prefix",
    "require_common_name",
    "organizations",
    "required_organizations",
    "forbidden_organizations",
    "max_organizations",
];
const SAN_FIELDS: &[&str] = &[
    "allowed",
    "required",
    "require_any",
    "keep_requested",
    "extra",
    "max_sans",
];

fn san_kinds(fields: &Fields<'_>, key: &str) -> Result<Vec<SanKind>, ProfileError> {
    fields
        .strings(key)?
        .unwrap_or_default()
        .iter()
        .map(|k| {
            k.parse::<SanKind>().map_err(|_| {
                fields.error(
                    key,
                    &format!("unknown SAN kind {k:?} (use DNS, IP, URI or email)"),
                )
            })
        })
        .collect()
}

fn load_profile(name: &str, value: &Value) -> Result<Profile, ProfileError> {
    let f = Fields::new(name, "", value, PROFILE_FIELDS)?;
    let usages = f
        .strings("usages")?
        .ok_or_else(|| f.error("usages", "missing"))?
        .iter()
        .map(|u| {
            u.parse::<Usage>()
                .map_err(|e| f.error("usages", &e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if usages.is_empty() {
        return Err(f.error("usages", "empty"));
    }
    let default_validity = f
        .duration("expiry")?
        .ok_or_else(|| f.error("expiry", "missing"))?;
    if default_validity.is_zero() {
        return Err(f.error("expiry", "zero"));
    }
    let max_validity = f.duration("max_expiry")?.unwrap_or(default_validity);
    if max_validity < default_validity {
        return Err(f.error("max_expiry", "shorter than expiry"));
    }
    let backdate = f.duration("backdate")?.unwrap_or(crate::BACKDATE);

    let ca = match f.sub("ca", CA_FIELDS)? {
        None => None,
        Some(c) => {
            let path_len = match c.get("path_len") {
                None => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| c.error("path_len", "expected a number from 0 to 255"))?,
                ),
            };
            Some(CaConstraint { path_len })
        }
    };

    let mut subject = SubjectPolicy::default();
    if let Some(s) = f.sub("subject", SUBJECT_FIELDS)? {
        let exact = s.string("common_name")?;
        let prefix = s.string("common_name_prefix")?;
        let required = s.bool("require_common_name")?.unwrap_or(false);
        subject.common_name = match (exact, prefix) {
            (Some(_), Some(_)) => {
                return Err(s.error(
                    "common_name_prefix",
                    "common_name and common_name_prefix exclude each other",
                ));
            }
            (Some(cn), None) => Some(NameRule::Exact(cn)),
            (None, Some(p)) => Some(NameRule::Prefix(p)),
            (None, None) => required.then_some(NameRule::Any),
        };
        subject.organizations = s.strings("organizations")?;
        subject.required_organizations = s.strings("required_organizations")?.unwrap_or_default();
        subject.forbidden_organizations = s.strings("forbidden_organizations")?.unwrap_or_default();
        if let Some(max) = s.count("max_organizations")? {
            subject.max_organizations = max;
        }
        if let Some(bad) = subject
            .required_organizations
            .iter()
            .find(|r| subject.forbidden_organizations.contains(r))
        {
            return Err(s.error(
                "forbidden_organizations",
                &format!("{bad:?} is both required and forbidden"),
            ));
        }
    }

    let mut sans = SanPolicy::default();
    if let Some(s) = f.sub("sans", SAN_FIELDS)? {
        sans.allowed = san_kinds(&s, "allowed")?;
        sans.required = san_kinds(&s, "required")?;
        sans.require_any_san = s.bool("require_any")?.unwrap_or(false);
        if let Some(max) = s.count("max_sans")? {
            sans.max_sans = max;
        }
        sans.keep_requested = s
            .bool("keep_requested")?
            .unwrap_or(!sans.allowed.is_empty());
        if sans.keep_requested && sans.allowed.is_empty() {
            return Err(s.error("allowed", "keep_requested needs at least one allowed kind"));
        }
        sans.extra = s
            .strings("extra")?
            .unwrap_or_default()
            .iter()
            .map(|text| San::parse(text).map_err(|e| s.error("extra", &e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
    }

    Ok(Profile {
        name: name.to_owned(),
        description: f.string("description")?.unwrap_or_default(),
        usages,
        ca,
        default_validity,
        max_validity,
        backdate,
        subject,
        sans,
    })
}

/// The largest profile file read, in bytes; a real one is a few KiB.
pub const MAX_PROFILE_FILE_BYTES: usize = 1024 * 1024;

/// The deepest nesting read from a profile file; a real one is five levels deep.
const MAX_PROFILE_DEPTH: usize = 16;

/// How profile files are read: at most [`MAX_PROFILE_DEPTH`] levels, checked by the parser as
/// it reads, a repeated key refused, and one-line messages without a snippet of the input.
fn read_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_PROFILE_DEPTH,
            flow_nesting_limit: MAX_PROFILE_DEPTH,
        },
        with_snippet: false,
    }
}

impl ProfileSet {
    /// An empty set.
    pub fn new() -> Self {
        ProfileSet::default()
    }

    /// Loads profiles from YAML: `default` (optional, a profile name), `profiles`, a
    /// mapping from name to `usages`, `expiry`, `max_expiry`, `backdate`, `ca`, `subject`,
    /// `sans`, `description`, and `signers` (optional), the CA of each custom signer by
    /// profile name ([`SignerCa`]). Unknown fields are errors.
    ///
    /// # Errors
    /// [`ProfileError::Yaml`] for text that is not YAML, longer than
    /// [`MAX_PROFILE_FILE_BYTES`], nested more than 16 levels deep, with a repeated key, or
    /// with a top level of the wrong shape;
    /// [`ProfileError::InvalidField`] naming the profile and the field for everything else
    /// (an unknown usage word or SAN kind, a bad duration, an unknown field, …);
    /// [`ProfileError::InvalidSigner`] naming the entry of `signers` that is not a profile
    /// of the file or not one CA.
    pub fn from_yaml(text: &str) -> Result<ProfileSet, ProfileError> {
        if text.len() > MAX_PROFILE_FILE_BYTES {
            return Err(ProfileError::Yaml(format!(
                "the file is {} bytes long, more than the limit of {MAX_PROFILE_FILE_BYTES}",
                text.len()
            )));
        }
        let doc: Value = serde_saphyr::from_str_with_options(text, read_options())
            .map_err(|e| ProfileError::Yaml(e.without_snippet().to_string()))?;
        let Value::Object(top) = doc else {
            return Err(ProfileError::Yaml(
                "the top level is not a mapping with `profiles`".to_owned(),
            ));
        };
        for key in top.keys() {
            match key.as_str() {
                "default" | "profiles" | "signers" => {}
                other => {
                    return Err(ProfileError::Yaml(format!(
                        "unknown top-level field {other:?} (expected default, profiles, signers)"
                    )));
                }
            }
        }
        let Some(Value::Object(profiles)) = top.get("profiles") else {
            return Err(ProfileError::Yaml(
                "`profiles` is missing or not a mapping".to_owned(),
            ));
        };
        let mut set = ProfileSet::new();
        for (name, value) in profiles {
            if name.trim().is_empty() {
                return Err(ProfileError::Yaml("a profile name is empty".to_owned()));
            }
            set.insert(load_profile(name, value)?);
        }
        set.signers = load_signers(top.get("signers"), profiles)?;
        match top.get("default") {
            None | Some(Value::Null) => {}
            Some(Value::String(default)) => {
                if !set.profiles.contains_key(default) {
                    return Err(ProfileError::InvalidField {
                        profile: default.clone(),
                        field: "default".to_owned(),
                        reason: format!("no profile {default:?} in the file"),
                    });
                }
                set.default = Some(default.clone());
            }
            Some(_) => {
                return Err(ProfileError::Yaml(
                    "`default` is not a profile name".to_owned(),
                ));
            }
        }
        Ok(set)
    }

    /// Adds a profile, replacing one of the same name.
    pub fn insert(&mut self, profile: Profile) {
        self.profiles.insert(profile.name.clone(), profile);
    }

    /// The profile called `name`.
    ///
    /// # Errors
    /// [`ProfileError::UnknownProfile`] listing the names in the set.
    pub fn get(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.profiles
            .get(name)
            .ok_or_else(|| ProfileError::UnknownProfile {
                name: name.to_owned(),
                known: self.profiles.keys().cloned().collect(),
            })
    }

    /// The profile named by `default`, if the file has one.
    pub fn default_profile(&self) -> Option<&Profile> {
        self.default.as_deref().and_then(|d| self.profiles.get(d))
    }

    /// The names of the profiles, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.profiles.keys().map(String::as_str).collect()
    }

    /// The `signers:` section: each profile that names a CA of its own (or opts in to the
    /// cluster-signing CA), sorted by profile name.
    pub fn signers(&self) -> impl Iterator<Item = (&str, &SignerCa)> {
        self.signers.iter().map(|(name, ca)| (name.as_str(), ca))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubepki_csr::Subject;

    const GOOD: &str = r#"
default: client
profiles:
  client:
    description: users
    usages: [digital signature, key encipherment, client auth]
    expiry: 8760h
    subject:
      require_common_name: true
      forbidden_organizations: [system:masters]
    sans: {allowed: [DNS, IP, URI, email]}
  node:
    usages: [digital signature, key encipherment, server auth]
    expiry: 720h
    max_expiry: 90d
    backdate: 1m
    subject:
      common_name_prefix: "system:node:"
      organizations: [system:nodes]
    sans: {allowed: [DNS, IP], required: [DNS], extra: ["DNS:x", "IP:1.2.3.4"]}
  sub-ca:
    usages: [digital signature, cert sign, crl sign]
    expiry: 43800h
    ca: {path_len: 0}
    subject: {common_name: intermediate, required_organizations: [kubepki]}
"#;

    fn invalid(text: &str) -> (String, String, String) {
        match ProfileSet::from_yaml(text) {
            Err(ProfileError::InvalidField {
                profile,
                field,
                reason,
            }) => (profile, field, reason),
            other => panic!("expected InvalidField, got {other:?}"),
        }
    }

    fn with_client(body: &str) -> String {
        format!("profiles:\n  client:\n{body}")
    }

    #[test]
    fn limits_are_read_and_must_be_positive() {
        let set = ProfileSet::from_yaml(&with_client(
            "    usages: [client auth]\n    expiry: 1h\n    subject: {max_organizations: 3}\n    sans: {allowed: [DNS], max_sans: 5}\n",
        ))
        .unwrap();
        let client = set.get("client").unwrap();
        assert_eq!(client.subject.max_organizations, 3);
        assert_eq!(client.sans.max_sans, 5);
        let default = ProfileSet::from_yaml(GOOD).unwrap();
        assert_eq!(
            default.get("node").unwrap().sans.max_sans,
            crate::DEFAULT_MAX_SANS
        );
        let (_, field, reason) = invalid(&with_client(
            "    usages: [client auth]\n    expiry: 1h\n    sans: {allowed: [DNS], max_sans: 0}\n",
        ));
        assert_eq!(
            (field.as_str(), reason.as_str()),
            ("sans.max_sans", "expected a positive number")
        );
    }

    #[test]
    fn loads_a_good_file() {
        let set = ProfileSet::from_yaml(GOOD).unwrap();
        assert_eq!(set.names(), vec!["client", "node", "sub-ca"]);
        assert_eq!(set.default_profile().unwrap().name, "client");

        let client = set.get("client").unwrap();
        assert_eq!(client.description, "users");
        assert_eq!(
            client.usages,
            vec![
                Usage::DigitalSignature,
                Usage::KeyEncipherment,
                Usage::ClientAuth
            ]
        );
        assert_eq!(client.default_validity, Duration::from_secs(8_760 * 3_600));
        assert_eq!(client.max_validity, client.default_validity);
        assert_eq!(client.backdate, Duration::from_secs(300));
        assert_eq!(client.subject.common_name, Some(NameRule::Any));
        assert!(client.sans.keep_requested);
        assert!(matches!(
            client.check_request(&Subject::parse("/CN=x/O=system:masters").unwrap(), &[]),
            Err(ProfileError::OrganizationNotAllowed { .. })
        ));

        let node = set.get("node").unwrap();
        assert_eq!(node.max_validity, Duration::from_secs(90 * 86_400));
        assert_eq!(node.backdate, Duration::from_secs(60));
        assert_eq!(
            node.subject.common_name,
            Some(NameRule::Prefix("system:node:".into()))
        );
        assert_eq!(
            node.subject.organizations,
            Some(vec!["system:nodes".into()])
        );
        assert_eq!(node.sans.required, vec![SanKind::Dns]);
        assert_eq!(
            node.sans.extra,
            vec![
                San::parse("DNS:x").unwrap(),
                San::parse("IP:1.2.3.4").unwrap()
            ]
        );

        let ca = set.get("sub-ca").unwrap();
        assert_eq!(ca.ca, Some(CaConstraint { path_len: Some(0) }));
        assert_eq!(
            ca.fixed_subject().unwrap().to_string(),
            "/O=kubepki/CN=intermediate"
        );
        assert!(!ca.sans.keep_requested);

        assert!(matches!(
            set.get("nope"),
            Err(ProfileError::UnknownProfile { name, known }) if name == "nope" && known.len() == 3
        ));
    }

    #[test]
    fn unknown_usage_names_profile_and_field() {
        let (profile, field, reason) = invalid(&with_client(
            "    usages: [client auth, client-auth]\n    expiry: 1h\n",
        ));
        assert_eq!((profile.as_str(), field.as_str()), ("client", "usages"));
        assert!(reason.contains("\"client-auth\""), "{reason}");
        let err = ProfileSet::from_yaml(&with_client("    usages: [bogus]\n    expiry: 1h\n"))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("profile \"client\": field usages:"),
            "{err}"
        );
    }

    #[test]
    fn bad_duration_names_profile_and_field() {
        let (profile, field, reason) =
            invalid(&with_client("    usages: [client auth]\n    expiry: 1y\n"));
        assert_eq!((profile.as_str(), field.as_str()), ("client", "expiry"));
        assert!(reason.contains("\"1y\""), "{reason}");
        let (_, field, _) = invalid(&with_client(
            "    usages: [client auth]\n    expiry: 2h\n    max_expiry: 1h\n",
        ));
        assert_eq!(field, "max_expiry");
        let (_, field, _) = invalid(&with_client(
            "    usages: [client auth]\n    expiry: 2h\n    backdate: soon\n",
        ));
        assert_eq!(field, "backdate");
        let (_, field, reason) = invalid(&with_client("    usages: [client auth]\n"));
        assert_eq!((field.as_str(), reason.as_str()), ("expiry", "missing"));
    }

    #[test]
    fn unknown_fields_are_errors() {
        let (profile, field, reason) = invalid(&with_client(
            "    usages: [client auth]\n    expiry: 1h\n    is_ca: true\n",
        ));
        assert_eq!((profile.as_str(), field.as_str()), ("client", "is_ca"));
        assert!(reason.contains("unknown field"), "{reason}");
        let (_, field, _) = invalid(&with_client(
            "    usages: [client auth]\n    expiry: 1h\n    subject: {cn: x}\n",
        ));
        assert_eq!(field, "subject.cn");
        let (_, field, _) = invalid(&with_client(
            "    usages: [client auth]\n    expiry: 1h\n    sans: {allowed: [DNS], extras: []}\n",
        ));
        assert_eq!(field, "sans.extras");
        assert!(matches!(
            ProfileSet::from_yaml("profiles: {}\nsigning: {}\n"),
            Err(ProfileError::Yaml(m)) if m.contains("\"signing\"")
        ));
    }

    #[test]
    fn other_bad_fields() {
        let base = "    usages: [client auth]\n    expiry: 1h\n";
        for (extra, want) in [
            ("    sans: {allowed: [DNS, FTP]}\n", "sans.allowed"),
            (
                "    sans: {allowed: [DNS], extra: [\"IP:300.0.0.1\"]}\n",
                "sans.extra",
            ),
            ("    sans: {keep_requested: true}\n", "sans.allowed"),
            ("    ca: {path_len: 300}\n", "ca.path_len"),
            ("    ca: {path_len: 1, critical: true}\n", "ca.critical"),
            (
                "    subject: {common_name: a, common_name_prefix: b}\n",
                "subject.common_name_prefix",
            ),
            (
                "    subject: {required_organizations: [a], forbidden_organizations: [a]}\n",
                "subject.forbidden_organizations",
            ),
            ("    subject: {organizations: a}\n", "subject.organizations"),
            ("    subject: x\n", "subject"),
        ] {
            let (profile, field, _) = invalid(&with_client(&format!("{base}{extra}")));
            assert_eq!(
                (profile.as_str(), field.as_str()),
                ("client", want),
                "{extra}"
            );
        }
        let (profile, field, _) = invalid(&with_client("    usages: []\n    expiry: 1h\n"));
        assert_eq!((profile.as_str(), field.as_str()), ("client", "usages"));
        let (profile, field, _) = invalid(&format!("default: nope\n{}", with_client(base)));
        assert_eq!((profile.as_str(), field.as_str()), ("nope", "default"));
    }

    #[test]
    fn not_yaml_or_wrong_shape() {
        for bad in [
            "profiles: [",
            "- a\n- b\n",
            "default: client\n",
            "profiles: 3\n",
        ] {
            assert!(
                matches!(ProfileSet::from_yaml(bad), Err(ProfileError::Yaml(_))),
                "{bad}"
            );
        }
        let (profile, field, _) = invalid("profiles:\n  client:\n");
        assert_eq!((profile.as_str(), field.as_str()), ("client", "(body)"));
    }

    #[test]
    fn oversized_deep_and_repeated_input_is_refused_naming_the_limit() {
        let big = format!("#{}\n", "x".repeat(MAX_PROFILE_FILE_BYTES));
        let err = ProfileSet::from_yaml(&big).unwrap_err();
        assert!(
            err.to_string().contains("more than the limit of 1048576"),
            "{err}"
        );
        let deep = format!("profiles: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let err = ProfileSet::from_yaml(&deep).unwrap_err();
        assert!(matches!(err, ProfileError::Yaml(_)), "{err}");
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
        let block: String = (0..40)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let err = ProfileSet::from_yaml(&block).unwrap_err();
        assert!(err.to_string().contains("depth"), "{err}");
        let twice = "profiles: {}\nprofiles: {}\n";
        let err = ProfileSet::from_yaml(twice).unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }
}
