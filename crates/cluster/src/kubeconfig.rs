//! kubeconfig files as kubeadm writes them: one cluster, one user, one context.

use std::path::PathBuf;

use base64ct::{Base64, Encoding};
use kubepki_csr::Subject;
use kubepki_keys::{KeyFormat, KeyPair};
use kubepki_profile::Profile;
use kubepki_sign::{Ca, IssueOptions};
use serde::{Deserialize, Serialize};

use crate::ClusterError;

/// A kubeconfig file (`apiVersion: v1`, `kind: Config`), the fields kubeadm writes.
///
/// Fields it does not name (`preferences`, which client-go 1.37's clientcmd leaves out when
/// empty, as here; extensions; other users' credentials) are ignored on reading: a file
/// someone else owns is edited in place (renewal), never round-tripped through this model.
/// No YAML type appears here: the YAML crate is this crate's own business.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    /// `v1`. (The struct's kebab-case renaming would make it `api-version`, which kubectl
    /// only tolerates because a missing `apiVersion` defaults to v1.)
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    /// The clusters.
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    /// The contexts.
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
    /// The context used by default.
    #[serde(default)]
    pub current_context: String,
    /// `Config`.
    #[serde(default)]
    pub kind: String,
    /// The users.
    #[serde(default)]
    pub users: Vec<NamedUser>,
}

/// A named cluster entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCluster {
    /// Where and whom to trust.
    pub cluster: ClusterEntry,
    /// Its name.
    pub name: String,
}

/// A cluster: server URL and CA.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterEntry {
    /// The CA certificate PEM, base64.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate_authority_data: String,
    /// The API server URL.
    pub server: String,
}

/// A named context entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedContext {
    /// Which cluster and user.
    pub context: ContextEntry,
    /// Its name (`user@cluster`).
    pub name: String,
}

/// A context: a cluster and a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextEntry {
    /// The cluster's name.
    pub cluster: String,
    /// The user's name.
    pub user: String,
}

/// A named user entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedUser {
    /// The name.
    pub name: String,
    /// The credentials.
    pub user: UserEntry,
}

/// A user's client certificate and key, base64 of their PEM.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UserEntry {
    /// The client certificate PEM, base64.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate_data: String,
    /// The private key PEM, base64.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_key_data: String,
    /// A client certificate file instead of data (kubeadm's kubelet.conf after
    /// kubelet-finalize: `/var/lib/kubelet/pki/kubelet-client-current.pem`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate: String,
    /// A client key file instead of data (the same file as the certificate for the kubelet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_key: String,
}

impl core::fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserEntry")
            .field("client_certificate_data", &self.client_certificate_data)
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &self.client_key)
            .finish_non_exhaustive()
    }
}

impl Kubeconfig {
    /// A kubeconfig for one user of one cluster, as kubeadm writes it: context
    /// `user@cluster`, current context set, certificate and key embedded. `key_pem` may be
    /// empty (a partial kubeconfig whose key lives elsewhere).
    pub fn for_client(
        cluster_name: &str,
        server: &str,
        ca_pem: &str,
        user: &str,
        cert_pem: &str,
        key_pem: &str,
    ) -> Self {
        let context = format!("{user}@{cluster_name}");
        Kubeconfig {
            api_version: "v1".to_owned(),
            clusters: vec![NamedCluster {
                cluster: ClusterEntry {
                    certificate_authority_data: Base64::encode_string(ca_pem.as_bytes()),
                    server: server.to_owned(),
                },
                name: cluster_name.to_owned(),
            }],
            contexts: vec![NamedContext {
                context: ContextEntry {
                    cluster: cluster_name.to_owned(),
                    user: user.to_owned(),
                },
                name: context.clone(),
            }],
            current_context: context,
            kind: "Config".to_owned(),
            users: vec![NamedUser {
                name: user.to_owned(),
                user: UserEntry {
                    client_certificate_data: if cert_pem.is_empty() {
                        String::new()
                    } else {
                        Base64::encode_string(cert_pem.as_bytes())
                    },
                    client_key_data: if key_pem.is_empty() {
                        String::new()
                    } else {
                        Base64::encode_string(key_pem.as_bytes())
                    },
                    ..UserEntry::default()
                },
            }],
        }
    }

    /// Parses kubeconfig YAML.
    ///
    /// # Errors
    /// The YAML parser's message when the text is not a kubeconfig.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        crate::yaml::from_yaml(text)
    }

    /// The YAML text.
    ///
    /// # Errors
    /// The serializer's message (not expected for these plain types).
    pub fn to_yaml(&self) -> Result<String, String> {
        crate::yaml::to_yaml(self)
    }

    /// The cluster and user of the current context.
    pub fn current(&self) -> Option<(&ClusterEntry, &UserEntry)> {
        let context = self
            .contexts
            .iter()
            .find(|c| c.name == self.current_context)?;
        let cluster = self
            .clusters
            .iter()
            .find(|c| c.name == context.context.cluster)?;
        let user = self.users.iter().find(|u| u.name == context.context.user)?;
        Some((&cluster.cluster, &user.user))
    }
}

/// A user's kubeconfig file to issue: the one way `init` and `kubeconfig user` make one.
pub(crate) struct ClientKubeconfig<'a> {
    /// The cluster's name in the file.
    pub(crate) cluster_name: &'a str,
    /// The API server URL.
    pub(crate) server: &'a str,
    /// The client certificate's subject (its CN is the user's name in the file).
    pub(crate) subject: &'a Subject,
    /// The profile the client certificate is issued under.
    pub(crate) profile: &'a Profile,
    /// What names this kubeconfig in errors (its file name, or the user's).
    pub(crate) name: &'a str,
}

impl ClientKubeconfig<'_> {
    /// Issues the client certificate for `key` with `ca` and returns the file's text, in
    /// kubeadm's layout (see [`Kubeconfig::for_client`]).
    pub(crate) fn issue(
        &self,
        ca: &Ca,
        key: &KeyPair,
        issue: &IssueOptions,
    ) -> Result<String, ClusterError> {
        let issued = ca
            .issue_for_key(key.public_key(), self.subject, &[], self.profile, issue)
            .map_err(|source| ClusterError::Sign {
                name: self.name.to_owned(),
                source,
            })?;
        let key_pem = key
            .to_pem(KeyFormat::Traditional)
            .map_err(|source| ClusterError::Key {
                path: PathBuf::from(self.name),
                source,
            })?;
        let user = self.subject.common_name().unwrap_or(&self.profile.name);
        Kubeconfig::for_client(
            self.cluster_name,
            self.server,
            &ca.certificate_pem(),
            user,
            &issued.pem(),
            &key_pem,
        )
        .to_yaml()
        .map_err(|reason| ClusterError::Kubeconfig {
            path: PathBuf::from(self.name),
            reason,
        })
    }
}

/// Decodes a `*-data` field (base64 of PEM) to bytes; `None` when it is not base64.
pub fn decode_data(data: &str) -> Option<Vec<u8>> {
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    Base64::decode_vec(&compact).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_current() {
        let k = Kubeconfig::for_client("kubernetes", "https://x:6443", "CA", "u", "C", "K");
        let text = k.to_yaml().unwrap();
        assert!(text.contains("current-context: u@kubernetes"));
        assert!(!text.contains("preferences"), "{text}");
        assert!(text.starts_with("apiVersion: v1\n"), "{text}");
        assert!(text.contains("\nkind: Config\n"), "{text}");
        let back = Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(back, k);
        let (cluster, user) = back.current().unwrap();
        assert_eq!(cluster.server, "https://x:6443");
        assert_eq!(decode_data(&user.client_key_data).unwrap(), b"K");
    }

    #[test]
    fn bad_yaml_is_an_error() {
        assert!(Kubeconfig::from_yaml("clusters: 3").is_err());
    }
}
