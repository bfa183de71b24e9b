//! The `signers:` section of a profile file: the CA of each custom signer, by profile name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::ProfileError;

/// The CA of one custom signer, as the profile file's `signers:` section names it.
///
/// ```yaml
/// signers:
///   internal: {cert_file: internal-ca.crt, key_file: internal-ca.key}
///   hsm: {cert_file: hsm-ca.crt, key_file: "pkcs11:token=ca;object=hsm"}
///   ops: {cluster_ca: true}
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerCa {
    /// Its own CA: a certificate file and a key file or a `pkcs11:` URI. The file paths are as
    /// written in the file; [`SignerCa::relative_to`] places them.
    Own {
        /// The CA certificate (PEM).
        cert_file: PathBuf,
        /// The CA key (PEM), or a `pkcs11:` URI of a key on a token.
        key_file: PathBuf,
    },
    /// The cluster-signing CA, by the explicit opt-in `cluster_ca: true` (kube-apiserver
    /// trusts that CA for client certificates, so it is never borrowed implicitly).
    ClusterCa,
}

impl SignerCa {
    /// This CA with its file paths taken relative to `dir`, the profile file's folder. An
    /// absolute path stays as it is, and a `pkcs11:` URI is not a path.
    pub fn relative_to(&self, dir: &Path) -> SignerCa {
        match self {
            SignerCa::Own {
                cert_file,
                key_file,
            } => SignerCa::Own {
                cert_file: dir.join(cert_file),
                key_file: if is_pkcs11_uri(key_file) {
                    key_file.clone()
                } else {
                    dir.join(key_file)
                },
            },
            SignerCa::ClusterCa => SignerCa::ClusterCa,
        }
    }
}

fn is_pkcs11_uri(key_file: &Path) -> bool {
    key_file.to_string_lossy().starts_with("pkcs11:")
}

const SIGNER_FIELDS: &[&str] = &["cert_file", "key_file", "cluster_ca"];

fn invalid(name: &str, reason: impl Into<String>) -> ProfileError {
    ProfileError::InvalidSigner {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn path(
    name: &str,
    entry: &Map<String, Value>,
    key: &str,
) -> Result<Option<PathBuf>, ProfileError> {
    match entry.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(PathBuf::from(s))),
        Some(_) => Err(invalid(name, format!("{key}: expected a file name"))),
    }
}

fn signer_ca(name: &str, value: &Value) -> Result<SignerCa, ProfileError> {
    let Value::Object(entry) = value else {
        return Err(invalid(
            name,
            "expected a mapping ({cert_file, key_file} or {cluster_ca: true})",
        ));
    };
    if let Some(key) = entry.keys().find(|k| !SIGNER_FIELDS.contains(&k.as_str())) {
        return Err(invalid(
            name,
            format!(
                "unknown field {key:?} (expected one of: {})",
                SIGNER_FIELDS.join(", ")
            ),
        ));
    }
    let cluster_ca = match entry.get("cluster_ca") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid(name, "cluster_ca: expected true or false")),
    };
    match (
        path(name, entry, "cert_file")?,
        path(name, entry, "key_file")?,
        cluster_ca,
    ) {
        (None, None, true) => Ok(SignerCa::ClusterCa),
        (Some(cert_file), Some(key_file), false) => Ok(SignerCa::Own {
            cert_file,
            key_file,
        }),
        _ => Err(invalid(
            name,
            "give cert_file and key_file, or cluster_ca: true (not both)",
        )),
    }
}

/// The `signers:` section, each name checked to be one of `profiles`.
pub(crate) fn load_signers(
    section: Option<&Value>,
    profiles: &Map<String, Value>,
) -> Result<BTreeMap<String, SignerCa>, ProfileError> {
    let section = match section {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(section)) => section,
        Some(_) => {
            return Err(ProfileError::Yaml(
                "`signers` is not a mapping from profile name to CA".to_owned(),
            ));
        }
    };
    section
        .iter()
        .map(|(name, value)| {
            if !profiles.contains_key(name) {
                return Err(invalid(name, "not a profile of the file"));
            }
            Ok((name.clone(), signer_ca(name, value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{ProfileError, ProfileSet, SignerCa};
    use std::path::{Path, PathBuf};

    const PROFILES: &str = "profiles:\n  internal: {usages: [client auth], expiry: 1h}\n  ops: {usages: [client auth], expiry: 1h}\n";

    fn load(signers: &str) -> Result<ProfileSet, ProfileError> {
        ProfileSet::from_yaml(&format!("{PROFILES}signers:\n{signers}"))
    }

    fn reason(signers: &str) -> (String, String) {
        match load(signers) {
            Err(ProfileError::InvalidSigner { name, reason }) => (name, reason),
            other => panic!("expected InvalidSigner, got {other:?}"),
        }
    }

    #[test]
    fn reads_own_cas_and_the_cluster_ca_opt_in() {
        let set =
            load("  internal: {cert_file: ca.crt, key_file: ca.key}\n  ops: {cluster_ca: true}\n")
                .unwrap();
        let signers: Vec<_> = set.signers().collect();
        assert_eq!(
            signers,
            vec![
                (
                    "internal",
                    &SignerCa::Own {
                        cert_file: "ca.crt".into(),
                        key_file: "ca.key".into()
                    }
                ),
                ("ops", &SignerCa::ClusterCa),
            ]
        );
        assert_eq!(
            ProfileSet::from_yaml(PROFILES).unwrap().signers().count(),
            0
        );
    }

    #[test]
    fn paths_are_relative_to_the_file_but_a_token_uri_is_not_a_path() {
        let own = SignerCa::Own {
            cert_file: "ca.crt".into(),
            key_file: "pkcs11:token=t;object=k".into(),
        };
        assert_eq!(
            own.relative_to(Path::new("/etc/kubepki")),
            SignerCa::Own {
                cert_file: PathBuf::from("/etc/kubepki/ca.crt"),
                key_file: "pkcs11:token=t;object=k".into()
            }
        );
        let files = SignerCa::Own {
            cert_file: "/abs/ca.crt".into(),
            key_file: "keys/ca.key".into(),
        };
        assert_eq!(
            files.relative_to(Path::new("dir")),
            SignerCa::Own {
                cert_file: PathBuf::from("/abs/ca.crt"),
                key_file: PathBuf::from("dir/keys/ca.key")
            }
        );
    }

    #[test]
    fn bad_entries_name_the_signer() {
        let both = "  internal: {cert_file: ca.crt, key_file: ca.key, cluster_ca: true}\n";
        let (name, why) = reason(both);
        assert_eq!(name, "internal");
        assert_eq!(
            why,
            "give cert_file and key_file, or cluster_ca: true (not both)"
        );
        assert_eq!(
            load(both).unwrap_err().to_string(),
            "signers: \"internal\": give cert_file and key_file, or cluster_ca: true (not both)"
        );
        for (entry, want) in [
            ("  internal: {cert_file: ca.crt}\n", "give cert_file"),
            ("  internal: {cluster_ca: false}\n", "give cert_file"),
            (
                "  internal: {cluster_ca: yes please}\n",
                "expected true or false",
            ),
            (
                "  internal: {cert_file: [a], key_file: b}\n",
                "expected a file name",
            ),
            ("  internal: {cert: ca.crt}\n", "unknown field \"cert\""),
            ("  internal: ca.crt\n", "expected a mapping"),
            ("  nope: {cluster_ca: true}\n", "not a profile of the file"),
        ] {
            let (_, why) = reason(entry);
            assert!(why.contains(want), "{entry}: {why}");
        }
        assert!(matches!(
            ProfileSet::from_yaml(&format!("{PROFILES}signers: [a]\n")),
            Err(ProfileError::Yaml(m)) if m.contains("`signers`")
        ));
    }
}
