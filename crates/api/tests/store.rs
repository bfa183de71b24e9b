//! The file store: round trips, conflicts, and concurrent writers losing nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Barrier;
use std::thread;

use common::*;
use kubepki_api::*;

fn client(name: &str) -> CertificateSigningRequest {
    object(
        name,
        KUBE_APISERVER_CLIENT,
        &["client auth"],
        name,
        &["dev"],
        &[],
    )
}

#[test]
fn round_trip_and_delete() {
    let (_dir, store) = store();
    assert!(store.list().unwrap().is_empty());
    let created = create_request(&store, client("jane"), &admin(), now()).unwrap();
    assert_eq!(store.get("jane").unwrap(), created);
    assert_eq!(store.list().unwrap(), vec![created]);
    // The file is the JSON Kubernetes writes.
    let text = std::fs::read_to_string(store.dir().join("jane.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["kind"], "CertificateSigningRequest");
    assert_eq!(json["spec"]["signerName"], KUBE_APISERVER_CLIENT);
    store.delete("jane").unwrap();
    let err = store.delete("jane").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"certificatesigningrequests.certificates.k8s.io "jane" not found"#
    );
    assert!(matches!(
        store.get("../etc/passwd"),
        Err(ApiError::NotFound { .. })
    ));
}

#[test]
fn stale_update_conflicts() {
    let (_dir, store) = store();
    let created = create_request(&store, client("jane"), &admin(), now()).unwrap();
    let mut a = created.clone();
    let mut b = created;
    approve(&mut a, false, now()).unwrap();
    deny(&mut b, false, now()).unwrap();
    let stored = store.update(a).unwrap();
    let err = store.update(b).unwrap_err();
    assert!(matches!(err, ApiError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("the object has been modified; please apply your changes to the latest version and try again"));
    assert_eq!(store.get("jane").unwrap(), stored);
    assert!(stored.is_approved());
}

#[test]
fn threads_with_their_own_handles_lose_nothing_and_sign_once() {
    let (dir, store) = store();
    let names: Vec<String> = (0..12).map(|i| format!("user-{i}")).collect();
    for n in &names {
        create_request(&store, client(n), &admin(), now()).unwrap();
    }
    let path = store.dir().to_owned();
    let barrier = Barrier::new(4);
    let issued: Vec<Vec<String>> = thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (path, names, barrier) = (&path, &names, &barrier);
                s.spawn(move || {
                    let store = FileStore::new(path);
                    let controller = controller();
                    let mut mine = Vec::new();
                    barrier.wait();
                    for n in names {
                        // Two threads approve, all four try to sign, in different orders.
                        if t % 2 == 0 {
                            update_request(&store, n, |c| {
                                Ok((approve(c, false, now())? == Decision::Changed, ()))
                            })
                            .unwrap();
                        }
                        let (_, outcome) = update_request(&store, n, |c| {
                            let o = controller.sign(c, now())?;
                            Ok((o != SignOutcome::Skipped, o))
                        })
                        .unwrap();
                        if matches!(outcome, SignOutcome::Issued { .. }) {
                            mine.push(n.clone());
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<&String> = issued.iter().flatten().collect();
    assert_eq!(
        all.len(),
        names.len(),
        "each certificate issued exactly once: {issued:?}"
    );
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), names.len());
    for csr in FileStore::new(&path).list().unwrap() {
        assert_eq!(csr.condition_string(), "Approved,Issued");
        assert_eq!(csr.status.conditions.len(), 1);
    }
    drop(dir);
}
