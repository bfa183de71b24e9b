//! The file store: round trips, conflicts, and concurrent writers losing nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Barrier;
use std::thread;

use common::*;
use kubepki_api::*;

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

#[test]
fn a_corrupt_object_is_skipped_and_named() {
    let (_dir, store) = store();
    create_request(&store, client("jane"), &admin(), now()).unwrap();
    create_request(&store, client("joe"), &admin(), now()).unwrap();
    // Truncated JSON, as a crash of some other tool or a full disk leaves it.
    let path = store.dir().join("jane.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let scan = store.scan().unwrap();
    assert_eq!(scan.objects.len(), 1);
    assert_eq!(scan.objects[0].metadata.name, "joe");
    assert_eq!(scan.unreadable.len(), 1);
    let ApiError::Corrupt { path: bad, .. } = &scan.unreadable[0] else {
        panic!("{:?}", scan.unreadable);
    };
    assert_eq!(bad, &path);
    assert!(
        scan.unreadable[0]
            .to_string()
            .starts_with(&format!("{}: unreadable object: ", path.display())),
        "{}",
        scan.unreadable[0]
    );
    let names: Vec<String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|c| c.metadata.name)
        .collect();
    assert_eq!(names, ["joe"]);
    let err = store.get("jane").unwrap_err();
    assert!(matches!(err, ApiError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("jane.json"), "{err}");
    // An object file too large to be a request is not read whole.
    std::fs::write(&path, vec![b' '; MAX_OBJECT_BYTES + 10]).unwrap();
    let err = store.get("jane").unwrap_err();
    assert!(
        err.to_string()
            .contains("larger than the limit of 3145728 bytes"),
        "{err}"
    );
    // The rest keeps working.
    update_request(&store, "joe", |c| {
        Ok((approve(c, false, now())? == Decision::Changed, ()))
    })
    .unwrap();
    store.delete("jane").unwrap();
    assert!(store.scan().unwrap().unreadable.is_empty());
}

#[test]
fn stale_temp_files_of_killed_writers_are_removed() {
    let (_dir, store) = store();
    create_request(&store, client("jane"), &admin(), now()).unwrap();
    let dir = store.dir();
    // What `write_atomic` leaves when its process is killed between write and rename.
    for stale in [
        ".jane.json.tmp.4242.0",
        ".joe.json.tmp.4242.1",
        ".resource-version.tmp.4242.2",
    ] {
        std::fs::write(dir.join(stale), b"{").unwrap();
    }
    let names = store.list().unwrap();
    assert_eq!(names.len(), 1);
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".lock", ".resource-version", "jane.json"]);
}
