//! The embedded store's controllers, one request at a time: auto-approval, signing and
//! cleaning through `StoreController::reconcile`, each step switched off as the CLI's flags do.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use kubepki_api::*;

fn self_node_client(store: &FileStore) {
    let csr = object(
        "node-csr-n1",
        KUBE_APISERVER_CLIENT_KUBELET,
        default_usages(KUBE_APISERVER_CLIENT_KUBELET),
        "system:node:n1",
        &["system:nodes"],
        &[],
    );
    let node = UserInfo {
        username: "system:node:n1".to_owned(),
        groups: vec!["system:nodes".to_owned()],
        ..UserInfo::default()
    };
    create_request(store, csr, &node, now()).unwrap();
}

#[test]
fn a_self_node_client_is_approved_and_signed_in_one_reconcile_and_cleaned_an_hour_later() {
    let (_dir, store) = store();
    self_node_client(&store);
    let controllers = StoreController::new(controller());
    let done = controllers.reconcile(&store, "node-csr-n1", now());
    assert_eq!(done.approval.unwrap(), Decision::Changed);
    assert!(matches!(done.signing.unwrap(), SignOutcome::Issued { .. }));
    assert_eq!(done.removal.unwrap(), None);
    let stored = store.get("node-csr-n1").unwrap();
    assert_eq!(stored.condition_string(), "Approved,Issued");
    assert_eq!(
        stored.condition(APPROVED).unwrap().message.as_deref(),
        Some(KubeletClientRequest::SelfNodeClient.approval_message())
    );

    // Nothing left to do a minute later; an hour and a minute later, the cleaner removes it.
    let again = controllers.reconcile(&store, "node-csr-n1", now() + Duration::from_secs(60));
    assert_eq!(again.approval.unwrap(), Decision::Unchanged);
    assert_eq!(again.signing.unwrap(), SignOutcome::Skipped);
    assert_eq!(again.removal.unwrap(), None);
    let later = now() + DECIDED_TTL + Duration::from_secs(60);
    let cleaned = controllers.reconcile(&store, "node-csr-n1", later);
    assert_eq!(
        cleaned.removal.unwrap(),
        Some("approved and issued more than 1h ago")
    );
    assert!(matches!(
        store.get("node-csr-n1"),
        Err(ApiError::NotFound { .. })
    ));
}

#[test]
fn without_the_auto_approver_a_self_node_client_waits_for_an_admin() {
    let (_dir, store) = store();
    self_node_client(&store);
    let controllers = StoreController::new(controller()).without_auto_approval();
    let done = controllers.reconcile(&store, "node-csr-n1", now());
    assert_eq!(done.approval.unwrap(), Decision::Unchanged);
    assert_eq!(done.signing.unwrap(), SignOutcome::Skipped);
    assert_eq!(
        store.get("node-csr-n1").unwrap().condition_string(),
        "Pending"
    );
}

#[test]
fn without_the_cleaner_an_old_pending_request_stays() {
    let (_dir, store) = store();
    let csr = object(
        "jane",
        KUBE_APISERVER_CLIENT,
        default_usages(KUBE_APISERVER_CLIENT),
        "jane",
        &["dev"],
        &[],
    );
    create_request(&store, csr, &admin(), now()).unwrap();
    let a_day_later = now() + PENDING_TTL + Duration::from_secs(60);
    let kept = StoreController::new(controller()).without_cleaner();
    assert_eq!(
        kept.reconcile(&store, "jane", a_day_later).removal.unwrap(),
        None
    );
    assert!(store.get("jane").is_ok());
    let cleaning = StoreController::new(controller());
    assert_eq!(
        cleaning
            .reconcile(&store, "jane", a_day_later)
            .removal
            .unwrap(),
        Some("pending for more than 24h")
    );
    assert!(store.get("jane").is_err());
}

#[test]
fn a_request_that_is_gone_is_reconciled_to_nothing() {
    let (_dir, store) = store();
    let done = StoreController::new(controller()).reconcile(&store, "never-made", now());
    assert_eq!(done.approval.unwrap(), Decision::Unchanged);
    assert_eq!(done.signing.unwrap(), SignOutcome::Skipped);
    assert_eq!(done.removal.unwrap(), None);
}

#[test]
fn a_signing_error_is_reported_and_the_request_left_as_it_was() {
    // An expired CA: the request is left as it was (kube-controller-manager retries) and the
    // error is returned.
    let (_dir, store) = store();
    let csr = object(
        "jane",
        KUBE_APISERVER_CLIENT,
        default_usages(KUBE_APISERVER_CLIENT),
        "jane",
        &["dev"],
        &[],
    );
    create_request(&store, csr, &admin(), now()).unwrap();
    update_request(&store, "jane", |c| Ok((true, approve(c, false, now())?))).unwrap();
    let expired = SigningController::new(Signers::new())
        .with_default_ca(ca_valid_for(Duration::from_secs(3600)));
    let later = now() + Duration::from_secs(2 * 3600);
    let done = StoreController::new(expired).reconcile(&store, "jane", later);
    assert!(
        matches!(done.signing, Err(ApiError::SignerExpired { .. })),
        "{:?}",
        done.signing
    );
    assert_eq!(store.get("jane").unwrap().condition_string(), "Approved");
    // The cleaner ran after the failed step: an approved, unissued request is not its.
    assert_eq!(done.removal.unwrap(), None);
}
