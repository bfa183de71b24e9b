//! Messages that point the way out instead of to a command that refuses.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use kubepki_cluster::{ClusterError, Misfit, init};

#[test]
fn init_on_an_expired_ca_does_not_suggest_certs_renew() {
    let tree = tree_at(pinned());
    // Past the CA's ten years.
    let later = pinned() + Duration::from_secs(11 * 365 * 86_400);
    let err = init(&tree.options, later).unwrap_err();
    assert!(
        matches!(&err, ClusterError::Misfit { reason: Misfit::CaExpired { .. }, path } if path.ends_with("ca.crt")),
        "{err}"
    );
    let message = err.to_string();
    assert!(!message.contains("certs renew`)"), "{message}");
    assert!(!message.contains("--force"), "{message}");
    assert!(message.contains("run `kubepki init` again"), "{message}");
}
