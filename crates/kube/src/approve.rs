//! Approval policies: kube-controller-manager's `csrapproving` rule for kubelet client
//! certificates (a SubjectAccessReview per request), and kubelet-serving approval as
//! kubelet-csr-approver does it (the requester is the node, every name is allowed by the
//! operator's constraints and is one of that Node's addresses; see [`crate::serving`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::PostParams;
use kubepki_api::{
    APPROVED, CertificateSigningRequest, DENIED, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING,
    kubelet_client_request, parse_request,
};

use crate::KubeError;
use crate::serving::{
    Requester, ServingConstraints, dns_names, resolution_verdict, serving_verdict,
};
use crate::verdict::{Policy, Refusal, Verdict};

/// How long one DNS name may take to resolve (`--serving-resolve-dns`).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which requests the controller approves on its own. Everything else is left Pending for an
/// admin (`kubectl certificate approve`) or another approver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApprovalPolicy {
    /// `kubernetes.io/kube-apiserver-client-kubelet` requests whose requester may create
    /// `certificatesigningrequests/nodeclient` (bootstrap) or `/selfnodeclient` (renewal), as
    /// a SubjectAccessReview says: kube-controller-manager's `csrapproving` controller.
    pub kubelet_client: bool,
    /// `kubernetes.io/kubelet-serving` requests from `system:node:<n>` (group `system:nodes`)
    /// for CN `system:node:<n>` whose every DNS and IP name the operator's
    /// [`ServingConstraints`] allow and is an address of Node `<n>`.
    pub kubelet_serving: bool,
}

impl ApprovalPolicy {
    /// Reads `--approve` words: `kubelet-client`, `kubelet-serving` (comma-separated or
    /// repeated).
    ///
    /// # Errors
    /// The unknown word, in a sentence.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut policy = ApprovalPolicy::default();
        for word in words.into_iter().flat_map(|w| w.split(',')) {
            match word.trim() {
                "kubelet-client" => policy.kubelet_client = true,
                "kubelet-serving" => policy.kubelet_serving = true,
                "" => {}
                other => {
                    return Err(format!(
                        "--approve {other:?}: the policies are kubelet-client and kubelet-serving"
                    ));
                }
            }
        }
        Ok(policy)
    }

    /// Whether any policy is on.
    pub fn any(&self) -> bool {
        self.kubelet_client || self.kubelet_serving
    }
}

/// Decides on requests with the cluster's help (SubjectAccessReviews, Node objects).
#[derive(Clone)]
pub struct Approver {
    policy: ApprovalPolicy,
    serving: ServingConstraints,
    reviews: Api<SubjectAccessReview>,
    nodes: Api<Node>,
}

impl std::fmt::Debug for Approver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approver")
            .field("policy", &self.policy)
            .field("serving", &self.serving)
            .finish()
    }
}

impl Approver {
    /// An approver for `policy` on the cluster of `client`, kubelet serving requests held to
    /// `serving`.
    pub fn new(client: kube::Client, policy: ApprovalPolicy, serving: ServingConstraints) -> Self {
        Approver {
            policy,
            serving,
            reviews: Api::all(client.clone()),
            nodes: Api::all(client),
        }
    }

    /// The verdict on `csr`.
    ///
    /// # Errors
    /// [`KubeError::Api`] when a SubjectAccessReview or the Node cannot be read (the request
    /// is retried later).
    pub async fn verdict(&self, csr: &CertificateSigningRequest) -> Result<Verdict, KubeError> {
        if csr.condition(APPROVED).is_some() || csr.condition(DENIED).is_some() {
            return Ok(Verdict::NotOurs);
        }
        match csr.spec.signer_name.as_str() {
            KUBE_APISERVER_CLIENT_KUBELET if self.policy.kubelet_client => {
                self.kubelet_client(csr).await
            }
            KUBELET_SERVING if self.policy.kubelet_serving => self.kubelet_serving(csr).await,
            _ => Ok(Verdict::NotOurs),
        }
    }

    async fn kubelet_client(&self, csr: &CertificateSigningRequest) -> Result<Verdict, KubeError> {
        let leave = |reason, message| Verdict::Leave {
            policy: Policy::KubeletClient,
            reason,
            message,
        };
        let request = match parse_request(csr) {
            Ok(r) => r,
            Err(e) => return Ok(leave(Refusal::InvalidRequest, e.to_string())),
        };
        // As csrapproving: a node renewing its own certificate needs `selfnodeclient`, a
        // bootstrap token asking for a node's first certificate needs `nodeclient`.
        let kind = match kubelet_client_request(csr, &request) {
            Ok(kind) => kind,
            Err(e) => {
                return Ok(leave(
                    Refusal::InvalidRequest,
                    format!("not a kubelet client request: {e}"),
                ));
            }
        };
        let (subresource, message) = (kind.subresource(), kind.approval_message());
        if self.allowed(csr, subresource).await? {
            Ok(Verdict::Approve {
                policy: Policy::KubeletClient,
                message: message.to_owned(),
            })
        } else {
            Ok(leave(
                Refusal::NotAuthorized,
                format!(
                    "{} may not create certificatesigningrequests/{subresource}",
                    csr.spec.username.as_deref().unwrap_or("<no user>")
                ),
            ))
        }
    }

    async fn allowed(
        &self,
        csr: &CertificateSigningRequest,
        subresource: &str,
    ) -> Result<bool, KubeError> {
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: csr.spec.username.clone(),
                groups: Some(csr.spec.groups.clone()),
                uid: csr.spec.uid.clone(),
                extra: Some(
                    csr.spec
                        .extra
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<BTreeMap<_, _>>(),
                ),
                resource_attributes: Some(ResourceAttributes {
                    group: Some("certificates.k8s.io".to_owned()),
                    resource: Some("certificatesigningrequests".to_owned()),
                    verb: Some("create".to_owned()),
                    subresource: Some(subresource.to_owned()),
                    ..ResourceAttributes::default()
                }),
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        };
        let answer = self
            .reviews
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| KubeError::api("create subjectaccessreview", e))?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }

    /// The serving rule ([`serving_verdict`]) with the cluster's facts: the Node's addresses
    /// and, with `--serving-resolve-dns`, what each DNS name resolves to.
    async fn kubelet_serving(&self, csr: &CertificateSigningRequest) -> Result<Verdict, KubeError> {
        let request = match parse_request(csr) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Verdict::Leave {
                    policy: Policy::KubeletServing,
                    reason: Refusal::InvalidRequest,
                    message: e.to_string(),
                });
            }
        };
        let requester = Requester {
            username: csr.spec.username.as_deref().unwrap_or_default(),
            groups: &csr.spec.groups,
        };
        let addresses = match requester.node_name() {
            Some(node) => self.node_addresses(node).await?,
            None => None,
        };
        let verdict = serving_verdict(
            &request,
            &csr.spec.usages,
            &requester,
            addresses.as_deref(),
            &self.serving,
        );
        if !matches!(verdict, Verdict::Approve { .. }) || !self.serving.resolve_dns() {
            return Ok(verdict);
        }
        for name in dns_names(&request) {
            let resolved = resolve(&name).await;
            if let Some(refusal) = resolution_verdict(&name, &resolved, &self.serving) {
                return Ok(refusal);
            }
        }
        Ok(verdict)
    }

    /// Node `node`'s addresses; `None` when it does not exist.
    async fn node_addresses(&self, node: &str) -> Result<Option<Vec<String>>, KubeError> {
        match self.nodes.get_opt(node).await {
            Ok(Some(node)) => Ok(Some(
                node.status
                    .and_then(|s| s.addresses)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| a.address)
                    .collect(),
            )),
            Ok(None) => Ok(None),
            Err(e) => Err(KubeError::api(format!("get node/{node}"), e)),
        }
    }
}

/// The addresses `name` resolves to; none when it does not resolve in time.
async fn resolve(name: &str) -> Vec<IpAddr> {
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, 0))).await {
        Ok(Ok(addresses)) => addresses.map(|a| a.ip()).collect(),
        Ok(Err(e)) => {
            tracing::debug!(name, error = %e, "does not resolve");
            Vec::new()
        }
        Err(_) => {
            tracing::debug!(name, "resolution timed out");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_read_from_words_and_an_unknown_word_is_named() {
        let p = ApprovalPolicy::from_words(["kubelet-client,kubelet-serving"]).unwrap();
        assert!(p.kubelet_client && p.kubelet_serving);
        let p = ApprovalPolicy::from_words(["kubelet-serving"]).unwrap();
        assert!(!p.kubelet_client && p.kubelet_serving && p.any());
        assert!(!ApprovalPolicy::from_words([]).unwrap().any());
        let err = ApprovalPolicy::from_words(["kubelet-client,everything"]).unwrap_err();
        assert!(err.contains("\"everything\""), "{err}");
    }
}
