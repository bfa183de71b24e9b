//! CertificateSigningRequests on the cluster, read and written as kubepki's own
//! [`CertificateSigningRequest`] type so that the embedded controller's rules apply unchanged.
//! Writes go through the `/status` and `/approval` subresources, each conditional on the
//! `resourceVersion` that was read; a conflict is retried from a fresh read.

use std::future::Future;

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

/// Whether `fresh` is the very object `evaluated` was read from: the same name can be
/// deleted and created again between a read and a write, and a decision made on one request
/// must never be written onto another. An object without a UID (the API server always sets
/// one) cannot be shown to be the same.
///
/// # Errors
/// [`KubeError::Replaced`] naming both UIDs.
pub fn same_object(
    evaluated: &CertificateSigningRequest,
    fresh: &CertificateSigningRequest,
) -> Result<(), KubeError> {
    match (&evaluated.metadata.uid, &fresh.metadata.uid) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (a, b) => Err(KubeError::Replaced {
            name: fresh.metadata.name.clone(),
            evaluated: a.clone().unwrap_or_else(|| "<none>".to_owned()),
            found: b.clone().unwrap_or_else(|| "<none>".to_owned()),
        }),
    }
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

    /// Writes `csr` through `subresource`, once, conditional on its `resourceVersion`;
    /// returns the object as stored.
    ///
    /// # Errors
    /// [`KubeError::Api`] (409 on a conflict, see [`KubeError::is_conflict`]),
    /// [`KubeError::Convert`].
    pub async fn write(
        &self,
        subresource: Subresource,
        csr: &CertificateSigningRequest,
    ) -> Result<CertificateSigningRequest, KubeError> {
        let name = &csr.metadata.name;
        let stored = self
            .api
            .replace_subresource(subresource.path(), name, &PostParams::default(), csr)
            .await
            .map_err(|e| {
                KubeError::api(format!("update {} of csr/{name}", subresource.path()), e)
            })?;
        from_kube(&stored)
    }

    /// Lets `change` edit a copy of `current` and writes the result through `subresource`,
    /// conditional on the `resourceVersion` it was read at. On a conflict the request is read
    /// again and, if it is still the same object ([`same_object`]), `change` runs again on
    /// the fresh object, so a decision is always made on what is stored. `change` is async
    /// (the signing step runs off the async workers) and returns the edited object with what it
    /// says, or `None` when there is nothing to write (for example, another replica already
    /// issued the certificate); the returned pair is the object as stored and what `change`
    /// said.
    ///
    /// # Errors
    /// Whatever `change` returns; [`KubeError::Replaced`] when the name now holds another
    /// object; [`KubeError::Conflict`] after repeated conflicts; [`KubeError::Api`] for other
    /// refusals.
    pub async fn modify<T, Change, Edited>(
        &self,
        mut current: CertificateSigningRequest,
        subresource: Subresource,
        mut change: Change,
    ) -> Result<(CertificateSigningRequest, Option<T>), KubeError>
    where
        Change: FnMut(CertificateSigningRequest) -> Edited,
        Edited: Future<Output = Result<Option<(CertificateSigningRequest, T)>, KubeError>>,
    {
        let name = current.metadata.name.clone();
        let action = format!("update {} of csr/{name}", subresource.path());
        let evaluated = current.clone();
        for _ in 0..CONFLICT_ATTEMPTS {
            let Some((edited, said)) = change(current.clone()).await? else {
                return Ok((current, None));
            };
            match self.write(subresource, &edited).await {
                Ok(stored) => return Ok((stored, Some(said))),
                Err(e) if e.is_conflict() => {
                    let fresh = self.get(&name).await?;
                    same_object(&evaluated, &fresh)?;
                    current = fresh;
                }
                Err(e) => return Err(e),
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

    fn with_uid(uid: Option<&str>) -> CertificateSigningRequest {
        let mut csr = CertificateSigningRequest::new(
            "node-csr-1",
            b"-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
            kubepki_api::KUBELET_SERVING,
            &["digital signature", "server auth"],
        );
        csr.metadata.uid = uid.map(str::to_owned);
        csr
    }

    #[test]
    fn only_the_object_decided_on_may_be_written() {
        let evaluated = with_uid(Some("uid-a"));
        let mut newer = with_uid(Some("uid-a"));
        newer.metadata.resource_version = Some("43".into());
        same_object(&evaluated, &newer).unwrap();
        // Deleted and created again under the same name: another request.
        match same_object(&evaluated, &with_uid(Some("uid-b"))) {
            Err(e @ KubeError::Replaced { .. }) => assert_eq!(
                e.to_string(),
                "csr/node-csr-1 was replaced: decided on uid uid-a, found uid uid-b"
            ),
            other => panic!("expected Replaced, got {other:?}"),
        }
        // Without a UID nothing proves it is the same object.
        match same_object(&with_uid(None), &with_uid(None)) {
            Err(KubeError::Replaced {
                evaluated, found, ..
            }) => assert_eq!((evaluated.as_str(), found.as_str()), ("<none>", "<none>")),
            other => panic!("expected Replaced, got {other:?}"),
        }
        assert!(matches!(
            same_object(&evaluated, &with_uid(None)),
            Err(KubeError::Replaced { .. })
        ));
    }

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
