//! The phases' order, reruns, dry runs and refusals, on trees made by `init`.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::InitOptions;
use crate::rotation::status::status;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn tree(dir: &Path) -> RotateOptions {
    let mut init = InitOptions::new(
        dir.join("pki"),
        dir,
        "node-1",
        "10.0.0.5".parse().expect("ip"),
    );
    init.algorithm = kubepki_keys::KeyAlgorithm::EcdsaP256;
    crate::init(&init, now()).expect("init");
    RotateOptions::new(dir.join("pki"), dir.to_path_buf(), RotatedCa::ALL.to_vec())
}

fn phases(options: &RotateOptions) -> Vec<Phase> {
    let status = status(&options.cert_dir, &options.kubeconfig_dir, &options.cas).expect("status");
    assert!(status.is_consistent(), "{status:#?}");
    status.cas.iter().map(|c| c.phase).collect()
}

#[test]
fn phases_go_in_order_and_reruns_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = tree(dir.path());
    assert_eq!(phases(&options), [Phase::Idle; 4]);
    let err = promote(&options, now()).expect_err("promote before start");
    assert!(
        matches!(
            err,
            ClusterError::RotationOrder {
                ca: "cluster",
                wanted: "promote",
                found: "idle",
                ..
            }
        ),
        "{err}"
    );
    let started = start(&options, now()).expect("start");
    assert!(
        started
            .cas
            .iter()
            .all(|c| c.changed && c.to == Phase::Started)
    );
    assert_eq!(phases(&options), [Phase::Started; 4]);
    let again = start(&options, now()).expect("start again");
    assert!(again.files.is_empty() && again.cas.iter().all(|c| !c.changed));
    let err = finish(&options, now()).expect_err("finish before promote");
    assert!(
        matches!(
            err,
            ClusterError::RotationOrder {
                found: "started",
                ..
            }
        ),
        "{err}"
    );
    promote(&options, now()).expect("promote");
    assert_eq!(phases(&options), [Phase::Promoted; 4]);
    let err = rollback(&options, now()).expect_err("rollback after promote");
    assert!(
        matches!(
            err,
            ClusterError::RotationOrder {
                wanted: "roll back",
                ..
            }
        ),
        "{err}"
    );
    let err = finish(&options, now()).expect_err("finish at once");
    assert!(
        matches!(
            err,
            ClusterError::TokensStillValid {
                ca: "sa",
                lifetime_secs: 3607,
                ..
            }
        ),
        "{err}"
    );
    finish(&options, now() + Duration::from_secs(3607)).expect("finish");
    assert_eq!(phases(&options), [Phase::Finished; 4]);
}

#[test]
fn an_external_etcd_is_left_out_of_all_and_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut init = InitOptions::new(
        dir.path().join("pki"),
        dir.path(),
        "node-1",
        "10.0.0.5".parse().expect("ip"),
    );
    init.algorithm = kubepki_keys::KeyAlgorithm::EcdsaP256;
    init.external_etcd = true;
    crate::init(&init, now()).expect("init");
    let options = RotateOptions::new(
        dir.path().join("pki"),
        dir.path().to_path_buf(),
        RotatedCa::ALL.to_vec(),
    );
    let report = start(&options, now()).expect("start");
    let cas: Vec<RotatedCa> = report.cas.iter().map(|c| c.ca).collect();
    assert_eq!(
        cas,
        [RotatedCa::Cluster, RotatedCa::FrontProxy, RotatedCa::Sa]
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("etcd is not rotated"))
    );
    assert!(report.plan.steps.iter().all(|s| s.component != "etcd"));
}

#[test]
fn a_dry_run_writes_nothing_and_a_given_ca_must_be_for_one_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = tree(dir.path());
    options.dry_run = true;
    let report = start(&options, now()).expect("dry start");
    assert!(report.dry_run && !report.files.is_empty());
    assert!(!options.cert_dir.join("rotation").exists());
    options.dry_run = false;
    options.new_ca = Some((Vec::new(), Vec::new()));
    let err = start(&options, now()).expect_err("a given CA for all");
    assert!(
        matches!(err, ClusterError::BadNewCa { ca: "cluster", .. }),
        "{err}"
    );
}

#[test]
fn a_given_ca_that_is_a_leaf_or_not_its_keys_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = tree(dir.path());
    options.cas = vec![RotatedCa::Cluster];
    let read = |name: &str| std::fs::read(options.cert_dir.join(name)).expect("read");
    let cases = [
        // The API server's own pair: a leaf, not a CA.
        (read("apiserver.crt"), read("apiserver.key"), "is not a CA"),
        // The front-proxy CA's certificate with the cluster CA's key.
        (read("front-proxy-ca.crt"), read("ca.key"), "does not match"),
    ];
    for (cert, key, said) in cases {
        options.new_ca = Some((cert, key));
        let err = start(&options, now()).expect_err("a bad given CA");
        assert!(
            matches!(&err, ClusterError::BadNewCa { ca: "cluster", reason } if reason.contains(said)),
            "{err}"
        );
        assert!(!options.cert_dir.join("rotation").exists(), "{err}");
        assert_eq!(phases(&options), [Phase::Idle]);
    }
}
