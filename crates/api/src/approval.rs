//! Approval, written once for every approver: `kubectl certificate approve|deny`, the
//! embedded store's auto-approver and the cluster controller's policies. The `Approved`
//! condition is built here only, and so is kube-controller-manager's `csrapproving` rule for
//! kubelet client requests (which of `nodeclient` and `selfnodeclient` a requester needs, and
//! the message the approval carries).

use std::collections::BTreeMap;
use std::time::SystemTime;

use kubepki_csr::Csr;

use crate::ApiError;
use crate::signers::validate_kubelet_client;
use crate::time::format_time;
use crate::types::{
    APPROVED, CertificateSigningRequest, CertificateSigningRequestCondition, DENIED,
};
use crate::validation::{KUBE_APISERVER_CLIENT_KUBELET, parse_request};

/// The reason an approving controller writes on `Approved` (kube-controller-manager's).
pub const AUTO_APPROVED: &str = "AutoApproved";

/// A condition of `type_` with status `True`, updated and transitioned at `now`.
pub(crate) fn condition(
    type_: &str,
    reason: &str,
    message: &str,
    now: SystemTime,
) -> CertificateSigningRequestCondition {
    CertificateSigningRequestCondition {
        type_: type_.to_owned(),
        status: "True".to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_update_time: Some(format_time(now)),
        last_transition_time: Some(format_time(now)),
        unknown: BTreeMap::new(),
    }
}

/// Whether a decision changed the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The condition was added (or replaced with `--force`).
    Changed,
    /// It was there already: nothing to write.
    Unchanged,
}

fn decide(
    csr: &mut CertificateSigningRequest,
    must_not: &str,
    type_: &str,
    reason: &str,
    message: &str,
    force: bool,
    now: SystemTime,
) -> Result<Decision, ApiError> {
    if let Some(c) = csr.status.conditions.iter().find(|c| c.type_ == must_not) {
        return Err(ApiError::AlreadyDecided {
            name: csr.metadata.name.clone(),
            condition: c.type_.clone(),
        });
    }
    if let Some(pos) = csr.status.conditions.iter().position(|c| c.type_ == type_) {
        if !force {
            return Ok(Decision::Unchanged);
        }
        csr.status.conditions[pos] = condition(type_, reason, message, now);
        return Ok(Decision::Changed);
    }
    csr.status
        .conditions
        .push(condition(type_, reason, message, now));
    Ok(Decision::Changed)
}

/// `kubectl certificate approve`: adds Approved, reason `KubectlApprove`. Already approved is
/// a no-op unless `force` (which rewrites the condition).
///
/// # Errors
/// [`ApiError::AlreadyDecided`] for a denied request.
pub fn approve(
    csr: &mut CertificateSigningRequest,
    force: bool,
    now: SystemTime,
) -> Result<Decision, ApiError> {
    decide(
        csr,
        DENIED,
        APPROVED,
        "KubectlApprove",
        "This CSR was approved by kubectl certificate approve.",
        force,
        now,
    )
}

/// `kubectl certificate deny`: adds Denied, reason `KubectlDeny`.
///
/// # Errors
/// [`ApiError::AlreadyDecided`] for an approved request.
pub fn deny(
    csr: &mut CertificateSigningRequest,
    force: bool,
    now: SystemTime,
) -> Result<Decision, ApiError> {
    decide(
        csr,
        APPROVED,
        DENIED,
        "KubectlDeny",
        "This CSR was denied by kubectl certificate deny.",
        force,
        now,
    )
}

/// An approving controller's approval: adds `Approved`, reason [`AUTO_APPROVED`], with
/// `message`. A request decided already (approved or denied) is left as it is.
pub fn approve_automatically(
    csr: &mut CertificateSigningRequest,
    message: &str,
    now: SystemTime,
) -> Decision {
    // Never an error: a denied request is simply not ours to approve.
    decide(csr, DENIED, APPROVED, AUTO_APPROVED, message, false, now).unwrap_or(Decision::Unchanged)
}

/// Which kubelet client request `csrapproving` recognises, by who asks: the permission the
/// requester needs (a SubjectAccessReview on `certificatesigningrequests/<subresource>`) and
/// the message of the approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeletClientRequest {
    /// A node renewing its own certificate: the requester is the CN.
    SelfNodeClient,
    /// Anyone else (a bootstrap token) asking for a node's first certificate.
    NodeClient,
}

impl KubeletClientRequest {
    /// The subresource the requester must be allowed to `create`: `selfnodeclient` or
    /// `nodeclient`.
    pub fn subresource(self) -> &'static str {
        match self {
            KubeletClientRequest::SelfNodeClient => "selfnodeclient",
            KubeletClientRequest::NodeClient => "nodeclient",
        }
    }

    /// The `Approved` condition's message, kube-controller-manager's word for word.
    pub fn approval_message(self) -> &'static str {
        match self {
            KubeletClientRequest::SelfNodeClient => {
                "Auto approving self kubelet client certificate after SubjectAccessReview."
            }
            KubeletClientRequest::NodeClient => {
                "Auto approving kubelet client certificate after SubjectAccessReview."
            }
        }
    }
}

/// `csrapproving`'s rule for `kubernetes.io/kube-apiserver-client-kubelet`: `request` (the
/// parsed `spec.request` of `csr`) must be a valid kubelet client request; a requester
/// (`spec.username`) that is the CN renews its own certificate, anyone else asks for a node's.
///
/// # Errors
/// The kubelet client rule the request breaks ([`validate_kubelet_client`]).
pub fn kubelet_client_request(
    csr: &CertificateSigningRequest,
    request: &Csr,
) -> Result<KubeletClientRequest, ApiError> {
    validate_kubelet_client(request, &csr.spec.usages)?;
    if csr.spec.username.as_deref() == request.subject().common_name() {
        Ok(KubeletClientRequest::SelfNodeClient)
    } else {
        Ok(KubeletClientRequest::NodeClient)
    }
}

/// The embedded store's `csrapproving` controller, for kubelet client requests only: a
/// `kube-apiserver-client-kubelet` request that is a valid kubelet client request and whose
/// requester is the node itself ([`KubeletClientRequest::SelfNodeClient`]) is approved with
/// reason `AutoApproved`. (The SubjectAccessReview is implied: only nodes reach the store.)
///
/// # Errors
/// None for requests it does not recognise; [`ApiError::Invalid`] for an unreadable request.
pub fn auto_approve(
    csr: &mut CertificateSigningRequest,
    now: SystemTime,
) -> Result<Decision, ApiError> {
    if csr.spec.signer_name != KUBE_APISERVER_CLIENT_KUBELET
        || csr.condition(APPROVED).is_some()
        || csr.condition(DENIED).is_some()
    {
        return Ok(Decision::Unchanged);
    }
    let request = parse_request(csr)?;
    match kubelet_client_request(csr, &request) {
        Ok(own @ KubeletClientRequest::SelfNodeClient) => {
            Ok(approve_automatically(csr, own.approval_message(), now))
        }
        Ok(KubeletClientRequest::NodeClient) | Err(_) => Ok(Decision::Unchanged),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::KUBELET_SERVING;

    #[test]
    fn an_automatic_approval_adds_one_condition_and_never_overrides_a_decision() {
        let mut csr = CertificateSigningRequest::new(
            "n1-serving",
            b"-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
            KUBELET_SERVING,
            &["digital signature", "server auth"],
        );
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        assert_eq!(
            approve_automatically(&mut csr, "ok", now),
            Decision::Changed
        );
        let c = csr.condition(APPROVED).unwrap();
        assert_eq!(c.reason.as_deref(), Some(AUTO_APPROVED));
        assert_eq!(c.message.as_deref(), Some("ok"));
        assert_eq!(c.last_update_time.as_deref(), Some("2027-01-15T08:00:00Z"));
        assert_eq!(
            approve_automatically(&mut csr, "again", now),
            Decision::Unchanged
        );
        assert_eq!(csr.status.conditions.len(), 1);

        let mut denied = csr.clone();
        denied.status.conditions[0].type_ = DENIED.to_owned();
        assert_eq!(
            approve_automatically(&mut denied, "ok", now),
            Decision::Unchanged
        );
        assert_eq!(denied.status.conditions.len(), 1);
    }
}
