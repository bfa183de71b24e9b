//! Approval policies: kube-controller-manager's `csrapproving` rule for kubelet client
//! certificates (a SubjectAccessReview per request), and kubelet-serving approval as
//! kubelet-csr-approver does it (the requester is the node, and every name it asks for is one
//! of that Node's addresses).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::PostParams;
use kubepki_api::{
    APPROVED, CertificateSigningRequest, CertificateSigningRequestCondition, DENIED,
    KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING, format_time, parse_request,
    validate_kubelet_client, validate_kubelet_serving,
};
use kubepki_csr::San;

use crate::KubeError;

/// Which requests the controller approves on its own. Everything else is left Pending for an
/// admin (`kubectl certificate approve`) or another approver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApprovalPolicy {
    /// `kubernetes.io/kube-apiserver-client-kubelet` requests whose requester may create
    /// `certificatesigningrequests/nodeclient` (bootstrap) or `/selfnodeclient` (renewal), as
    /// a SubjectAccessReview says: kube-controller-manager's `csrapproving` controller.
    pub kubelet_client: bool,
    /// `kubernetes.io/kubelet-serving` requests from `system:node:<n>` (group `system:nodes`)
    /// for CN `system:node:<n>` whose every DNS and IP name is an address of Node `<n>`.
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

/// What the approver concluded about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not a request any enabled policy governs, or decided already: nothing to say.
    NotOurs,
    /// Approve, with this message on the `Approved` condition.
    Approve(String),
    /// Leave it Pending; the reason goes to the log.
    Leave(String),
}

/// Decides on requests with the cluster's help (SubjectAccessReviews, Node objects).
#[derive(Clone)]
pub struct Approver {
    policy: ApprovalPolicy,
    reviews: Api<SubjectAccessReview>,
    nodes: Api<Node>,
}

impl std::fmt::Debug for Approver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approver")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Approver {
    /// An approver for `policy` on the cluster of `client`.
    pub fn new(client: kube::Client, policy: ApprovalPolicy) -> Self {
        Approver {
            policy,
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
        let request = match parse_request(csr) {
            Ok(r) => r,
            Err(e) => return Ok(Verdict::Leave(e.to_string())),
        };
        if let Err(e) = validate_kubelet_client(&request, &csr.spec.usages) {
            return Ok(Verdict::Leave(format!("not a kubelet client request: {e}")));
        }
        // As csrapproving: a node renewing its own certificate needs `selfnodeclient`, a
        // bootstrap token asking for a node's first certificate needs `nodeclient`.
        let own = csr.spec.username.as_deref() == request.subject().common_name();
        let (subresource, message) = if own {
            (
                "selfnodeclient",
                "Auto approving self kubelet client certificate after SubjectAccessReview.",
            )
        } else {
            (
                "nodeclient",
                "Auto approving kubelet client certificate after SubjectAccessReview.",
            )
        };
        if self.allowed(csr, subresource).await? {
            Ok(Verdict::Approve(message.to_owned()))
        } else {
            Ok(Verdict::Leave(format!(
                "{} may not create certificatesigningrequests/{subresource}",
                csr.spec.username.as_deref().unwrap_or("<no user>")
            )))
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

    async fn kubelet_serving(&self, csr: &CertificateSigningRequest) -> Result<Verdict, KubeError> {
        let request = match parse_request(csr) {
            Ok(r) => r,
            Err(e) => return Ok(Verdict::Leave(e.to_string())),
        };
        if let Err(e) = validate_kubelet_serving(&request, &csr.spec.usages) {
            return Ok(Verdict::Leave(format!(
                "not a kubelet serving request: {e}"
            )));
        }
        let user = csr.spec.username.as_deref().unwrap_or_default();
        let Some(node_name) = user.strip_prefix("system:node:") else {
            return Ok(Verdict::Leave(format!(
                "requested by {user:?}, not by a node (system:node:<name>)"
            )));
        };
        if !csr.spec.groups.iter().any(|g| g == "system:nodes") {
            return Ok(Verdict::Leave(format!(
                "{user} is not in group system:nodes"
            )));
        }
        if request.subject().common_name() != Some(user) {
            return Ok(Verdict::Leave(format!(
                "CN {:?} is not the requester {user}",
                request.subject().common_name().unwrap_or_default()
            )));
        }
        let node = match self.nodes.get_opt(node_name).await {
            Ok(Some(node)) => node,
            Ok(None) => return Ok(Verdict::Leave(format!("node {node_name} does not exist"))),
            Err(e) => return Err(KubeError::api(format!("get node/{node_name}"), e)),
        };
        let addresses: Vec<String> = node
            .status
            .and_then(|s| s.addresses)
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.address.to_ascii_lowercase())
            .collect();
        for san in request.sans() {
            let known = match san {
                San::Dns(name) => addresses.iter().any(|a| a == name),
                San::Ip(ip) => addresses
                    .iter()
                    .any(|a| a.parse::<IpAddr>().is_ok_and(|a| a == *ip)),
                // validate_kubelet_serving refused these already.
                San::Uri(_) | San::Email(_) => false,
            };
            if !known {
                return Ok(Verdict::Leave(format!(
                    "{san} is not an address of node {node_name}"
                )));
            }
        }
        Ok(Verdict::Approve(format!(
            "kubepki approved the kubelet serving certificate: every name is an address of node {node_name}."
        )))
    }
}

/// Adds the `Approved` condition (reason `AutoApproved`) with `message`; `None` when the
/// request is decided already.
pub fn approve_condition(
    csr: &mut CertificateSigningRequest,
    message: &str,
    now: SystemTime,
) -> Option<()> {
    if csr.condition(APPROVED).is_some() || csr.condition(DENIED).is_some() {
        return None;
    }
    csr.status
        .conditions
        .push(CertificateSigningRequestCondition {
            type_: APPROVED.to_owned(),
            status: "True".to_owned(),
            reason: Some("AutoApproved".to_owned()),
            message: Some(message.to_owned()),
            last_update_time: Some(format_time(now)),
            last_transition_time: Some(format_time(now)),
            unknown: BTreeMap::new(),
        });
    Some(())
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

    #[test]
    fn approval_adds_one_condition_and_never_overrides_a_decision() {
        let mut csr = CertificateSigningRequest::new(
            "n1-serving",
            b"-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
            KUBELET_SERVING,
            &["digital signature", "server auth"],
        );
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert_eq!(approve_condition(&mut csr, "ok", now), Some(()));
        let c = csr.condition(APPROVED).unwrap();
        assert_eq!(c.reason.as_deref(), Some("AutoApproved"));
        assert_eq!(c.last_update_time.as_deref(), Some("2027-01-15T08:00:00Z"));
        assert_eq!(approve_condition(&mut csr, "again", now), None);
        assert_eq!(csr.status.conditions.len(), 1);

        let mut denied = csr.clone();
        denied.status.conditions[0].type_ = DENIED.to_owned();
        assert_eq!(approve_condition(&mut denied, "ok", now), None);
    }
}
