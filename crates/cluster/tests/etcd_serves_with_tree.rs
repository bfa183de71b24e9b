//! etcd, as a kubeadm static pod runs it, with the generated etcd certificates: a client
//! with `apiserver-etcd-client` puts and gets, `healthcheck-client` checks health, and a
//! client certificate from another CA is refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::SystemTime;

use common::{exercise_etcd, have, start_etcd, tree_at};

#[test]
fn etcd_runs_with_the_generated_certificates() {
    if !have("etcd") || !have("etcdctl") {
        return;
    }
    // etcd checks against the real clock.
    let tree = tree_at(SystemTime::now());
    let foreign = tree_at(SystemTime::now());
    let (guard, endpoint) = start_etcd(&tree.pki(), &tree.dir.path().join("etcd-data"));
    exercise_etcd(&tree.pki(), &endpoint, &foreign.pki());
    drop(guard);
}
