//! CertificateSigningRequests on the cluster, read and written as kubepki's own
//! [`CertificateSigningRequest`] type so that the embedded controller's rules apply unchanged.
//! Writes go through the `/status` and `/approval` subresources, each conditional on the
//! `resourceVersion` that was read; a conflict is retried from a fresh read.

use k8s_openapi::api::certificates::v1::CertificateSigningRequest as KubeCsr;
use kube::Api;
use kube::api::PostParams;
use kubepki_api::CertificateSigningRequest;

use crate::KubeError;

/// How many fresh reads a write gets before a conflict is reported.
const CONFLICT_ATTEMPTS: u32 = 5;

/// The subresource a change is written through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    /// `/status`: the certificate and the `Failed` condition (a signer's write).
    Status,
    /// `/approval`: the `Approved` and `Denied` conditions (an approver's write).
    Approval,
}

impl Subresource {
    fn path(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Approval => "approval",
        }
    }
}

/// The cluster's CertificateSigningRequests.
#[derive(Clone)]
pub struct KubeCsrs {
    api: Api<KubeCsr>,
}

impl std::fmt::Debug for KubeCsrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubeCsrs")
    }
}

/// Converts the API's object into kubepki's.
///
/// # Errors
/// [`KubeError::Convert`] when the object does not decode (it always should: both types
/// follow certificates.k8s.io/v1).
pub fn from_kube(csr: &KubeCsr) -> Result<CertificateSigningRequest, KubeError> {
    let what = || format!("csr/{}", csr.metadata.name.as_deref().unwrap_or_default());
    let value = serde_json::to_value(csr).map_err(|source| KubeError::Convert {
        what: what(),
        source,
    })?;
    let mut ours: CertificateSigningRequest =
        serde_json::from_value(value).map_err(|source| KubeError::Convert {
            what: what(),
            source,
        })?;
    // k8s-openapi leaves the type fields out of the object it decodes.
    ours.api_version = kubepki_api::API_VERSION.to_owned();
    ours.kind = kubepki_api::KIND.to_owned();
    Ok(ours)
}

impl KubeCsrs {
    /// CertificateSigningRequests through `client`.
    pub fn new(client: kube::Client) -> Self {
        KubeCsrs {
            api: Api::all(client),
        }
    }

    /// The API handle, for watching.
    pub fn api(&self) -> &Api<KubeCsr> {
        &self.api
    }

    /// The request named `name`, as it is now.
    ///
    /// # Errors
    /// [`KubeError::Api`] (404 when it is gone), [`KubeError::Convert`].
    pub async fn get(&self, name: &str) -> Result<CertificateSigningRequest, KubeError> {
        let csr = self
            .api
            .get(name)
            .await
            .map_err(|e| KubeError::api(format!("get csr/{name}"), e))?;
        from_kube(&csr)
    }

    /// Lets `change` edit `current` and writes the result through `subresource`, conditional
    /// on the `resourceVersion` it was read at. On a conflict the request is read again and
    /// `change` runs again on the fresh object, so a decision is always made on what is
    /// stored. `change` returns `None` when there is nothing to write (for example, another
    /// replica already issued the certificate); the returned pair is the object as stored and
    /// what `change` said.
    ///
    /// # Errors
    /// Whatever `change` returns; [`KubeError::Conflict`] after repeated conflicts;
    /// [`KubeError::Api`] for other refusals.
    pub async fn modify<T>(
        &self,
        mut current: CertificateSigningRequest,
        subresource: Subresource,
        mut change: impl FnMut(&mut CertificateSigningRequest) -> Result<Option<T>, KubeError>,
    ) -> Result<(CertificateSigningRequest, Option<T>), KubeError> {
        let name = current.metadata.name.clone();
        let action = format!("update {} of csr/{name}", subresource.path());
        for _ in 0..CONFLICT_ATTEMPTS {
            let mut edited = current.clone();
            let Some(said) = change(&mut edited)? else {
                return Ok((current, None));
            };
            match self
                .api
                .replace_subresource(subresource.path(), &name, &PostParams::default(), &edited)
                .await
            {
                Ok(stored) => return Ok((from_kube(&stored)?, Some(said))),
                Err(e) => {
                    let e = KubeError::api(action.clone(), e);
                    if !e.is_conflict() {
                        return Err(e);
                    }
                    current = self.get(&name).await?;
                }
            }
        }
        Err(KubeError::Conflict {
            action,
            attempts: CONFLICT_ATTEMPTS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_object_converts_with_every_field_kept() {
        let json = serde_json::json!({
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {
                "name": "node-csr-1",
                "resourceVersion": "42",
                "uid": "0b5f6a4e-1",
                "creationTimestamp": "2026-12-03T07:00:00Z",
                "managedFields": [{"manager": "kubectl", "operation": "Update"}],
            },
            "spec": {
                "request": "LS0tLS1CRUdJTg==",
                "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                "usages": ["digital signature", "client auth"],
                "username": "system:node:n1",
                "groups": ["system:nodes", "system:authenticated"],
                "expirationSeconds": 3600,
            },
            "status": {"conditions": [{
                "type": "Approved", "status": "True", "reason": "AutoApproved",
                "lastUpdateTime": "2026-12-03T07:00:01Z",
            }]},
        });
        let theirs: KubeCsr = serde_json::from_value(json).unwrap();
        let ours = from_kube(&theirs).unwrap();
        assert_eq!(ours.metadata.name, "node-csr-1");
        assert_eq!(ours.metadata.resource_version.as_deref(), Some("42"));
        assert!(ours.metadata.unknown.contains_key("managedFields"));
        assert_eq!(ours.spec.expiration_seconds, Some(3600));
        assert_eq!(ours.spec.username.as_deref(), Some("system:node:n1"));
        assert!(ours.is_approved());
        assert_eq!(ours.api_version, kubepki_api::API_VERSION);
        // And back: what we write is what the API server gave, plus our change.
        let back: KubeCsr = serde_json::from_value(serde_json::to_value(&ours).unwrap()).unwrap();
        assert_eq!(back, theirs);
    }
}
