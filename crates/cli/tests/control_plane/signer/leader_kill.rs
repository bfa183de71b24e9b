//! Two leader-elected `kubepki controller cluster` replicas sign in place of
//! kube-controller-manager's csrsigning, under load from concurrent clients and through a
//! kill -9 of the leader; every certificate is checked by openssl.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::fixture::{
    Kind, Replica, Request, boot, certificate, csrs, failed_reason, issued_lines, lease_holder,
    openssl_csr, submit,
};
use super::serving_approval::{kubelet_serving_approval, register_serving_node};
use crate::cluster::service_account_kubeconfig;
use crate::common::succeeded;
use crate::harness::{ControlPlane, exclusive};

/// `kubepki controller`'s default `--workers`: requests in flight at once.
const WORKERS: usize = 5;

/// The 200 requests of the load test: 20 clients of 10 requests, across the three built-in
/// signers and the custom one, with one refusal per client.
fn load_requests(dir: &Path, prefix: &str, clients: usize) -> Vec<Request> {
    let plan = [
        Kind::ApiserverClient,
        Kind::ApiserverClient,
        Kind::ApiserverClient,
        Kind::KubeletClient,
        Kind::KubeletClient,
        Kind::KubeletServing,
        Kind::KubeletServing,
        Kind::Custom,
        Kind::Custom,
        Kind::Refused,
    ];
    (0..clients)
        .flat_map(|c| plan.iter().enumerate().map(move |(i, k)| (c, i, *k)))
        .map(|(c, i, kind)| openssl_csr(dir, &format!("{prefix}-{c:02}-{i}"), kind))
        .collect()
}

/// Checks every certificate of `kinds` with `openssl verify -purpose` against `ca`.
fn openssl_verifies(
    dir: &Path,
    certs: &[(String, Kind, Vec<u8>)],
    ca: &str,
    purpose: &str,
    kinds: &[Kind],
) {
    let files: Vec<String> = certs
        .iter()
        .filter(|(_, k, _)| kinds.contains(k))
        .map(|(name, _, pem)| {
            let file = dir.join(format!("{name}.crt"));
            std::fs::write(&file, pem).unwrap();
            file.display().to_string()
        })
        .collect();
    assert!(!files.is_empty());
    let out = Command::new("openssl")
        .args(["verify", "-CAfile", ca, "-purpose", purpose])
        .args(&files)
        .output()
        .expect("run openssl verify");
    let text = succeeded("openssl verify", out);
    assert_eq!(text.matches(": OK").count(), files.len(), "{text}");
}

#[test]
fn two_kubepki_controllers_sign_for_the_cluster_through_a_leader_kill() {
    let _machine = exclusive();
    // csrsigning is kubepki's; csrapproving (kubelet client rule) stays on, as in the issue.
    let Some((dir, cp)) = boot("*,-csrsigning,bootstrapsigner,tokencleaner") else {
        return;
    };
    let dir = dir.path();
    let conf = service_account_kubeconfig(&cp, dir);
    let mut a = Replica::start(&cp, dir, "replica-a", &conf, true);
    let mut b = Replica::start(&cp, dir, "replica-b", &conf, true);
    cp.budget
        .wait_for("a replica to lead", Duration::from_secs(60), || {
            a.process.assert_running();
            b.process.assert_running();
            let holder = lease_holder(&cp);
            if holder == a.name || holder == b.name {
                Ok(())
            } else {
                Err(format!("lease held by {holder:?}"))
            }
        });
    for replica in [&a, &b] {
        cp.budget.wait_for("/readyz", Duration::from_secs(30), || {
            let out = String::from_utf8_lossy(&replica.get("/readyz").stdout).into_owned();
            if out.ends_with("200") {
                Ok(())
            } else {
                Err(out)
            }
        });
    }
    register_serving_node(&cp, dir);

    // 200 requests from 20 clients, in two halves; the leader is killed -9 as the second half
    // arrives, and the other replica finishes.
    let requests = load_requests(dir, "load", 20);
    let (first, second) = requests.split_at(100);
    submit(&cp, dir, first, 10);
    let settled = |cp: &ControlPlane, wanted: &[Request]| {
        let now = csrs(cp);
        wanted
            .iter()
            .filter(|r| {
                now.get(&r.name)
                    .is_some_and(|c| certificate(c).is_some() || failed_reason(c).is_some())
            })
            .count()
    };
    cp.budget.wait_for(
        "the first 100 to be signed or failed",
        Duration::from_secs(120),
        || {
            let n = settled(&cp, first);
            if n == first.len() {
                Ok(())
            } else {
                Err(format!("{n} of 100"))
            }
        },
    );
    let leader_name = lease_holder(&cp);
    let (leader, survivor) = if leader_name == a.name {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let killer = std::thread::scope(|scope| {
        let submitting = scope.spawn(|| submit(&cp, dir, second, 10));
        // Kill as soon as the second half starts arriving.
        cp.budget
            .wait_for("the second half to arrive", Duration::from_secs(60), || {
                let now = csrs(&cp);
                if second.iter().any(|r| now.contains_key(&r.name)) {
                    Ok(())
                } else {
                    Err("none yet".into())
                }
            });
        leader.process.kill9();
        let killed_at = Instant::now();
        submitting.join().unwrap();
        killed_at
    });
    cp.budget.wait_for(
        "the survivor to take the lease",
        Duration::from_secs(40),
        || {
            survivor.process.assert_running();
            let holder = lease_holder(&cp);
            if holder == survivor.name {
                Ok(())
            } else {
                Err(format!("lease held by {holder:?}"))
            }
        },
    );
    let takeover = killer.elapsed();
    // client-go's rule: the lease (15 s) must run out unrenewed, seen by a 2 s retry.
    assert!(
        takeover < Duration::from_secs(30),
        "takeover took {takeover:?}"
    );
    cp.budget.wait_for(
        "all 200 to be signed or failed",
        Duration::from_secs(120),
        || {
            let n = settled(&cp, &requests);
            if n == requests.len() {
                Ok(())
            } else {
                Err(format!("{n} of 200"))
            }
        },
    );

    // Each approved request has exactly one certificate, valid under its signer's rules; each
    // refused one is Failed with SignerValidationFailure; no request was issued twice.
    let now = csrs(&cp);
    let logs = format!("{}\n{}", leader.log(), survivor.log());
    let mut issued = Vec::new();
    for r in &requests {
        let csr = &now[&r.name];
        assert!(
            issued_lines(&logs, &r.name) <= 1,
            "{} issued more than once:\n{logs}",
            r.name
        );
        if r.kind == Kind::Refused {
            assert_eq!(
                failed_reason(csr).as_deref(),
                Some("SignerValidationFailure"),
                "{csr}"
            );
            assert!(certificate(csr).is_none(), "{csr}");
            continue;
        }
        assert_eq!(failed_reason(csr), None, "{csr}");
        let pem = certificate(csr).unwrap_or_else(|| panic!("{} has no certificate", r.name));
        issued.push((r.name.clone(), r.kind, pem));
    }
    // Every certificate was logged as issued once, except those whose write was in flight
    // when the leader was killed (the API server stored them; the log line never came): at
    // most one per worker.
    let logged: usize = requests.iter().map(|r| issued_lines(&logs, &r.name)).sum();
    assert!(
        logged <= issued.len() && logged + WORKERS >= issued.len(),
        "{logged} issued lines for {} certificates",
        issued.len()
    );
    let (cluster_ca, app_ca) = (
        cp.tree.pki("ca.crt"),
        dir.join("app-ca.crt").display().to_string(),
    );
    openssl_verifies(
        dir,
        &issued,
        &cluster_ca,
        "sslclient",
        &[Kind::ApiserverClient, Kind::KubeletClient],
    );
    openssl_verifies(
        dir,
        &issued,
        &cluster_ca,
        "sslserver",
        &[Kind::KubeletServing],
    );
    // The custom signer's certificates chain to its own CA, not to the cluster's.
    openssl_verifies(dir, &issued, &app_ca, "sslclient", &[Kind::Custom]);
    // expirationSeconds 3600 on the custom signer: NotAfter is an hour away, not 720h.
    for (name, kind, pem) in &issued {
        if *kind == Kind::Custom {
            let file = dir.join(format!("{name}.crt"));
            std::fs::write(&file, pem).unwrap();
            let checkend = |secs: &str| {
                Command::new("openssl")
                    .args(["x509", "-noout", "-checkend", secs, "-in"])
                    .arg(&file)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap()
                    .success()
            };
            assert!(
                checkend("3300") && !checkend("3700"),
                "{name}: not a one-hour certificate"
            );
        }
    }
    let by_survivor = second
        .iter()
        .filter(|r| issued_lines(&survivor.log(), &r.name) == 1)
        .count();
    eprintln!(
        "leader {leader_name} killed -9; {} took over in {:.1}s and issued {by_survivor} of the second half; {} writes were in flight at the kill",
        survivor.name,
        takeover.as_secs_f64(),
        issued.len() - logged
    );
    let metrics = String::from_utf8_lossy(&survivor.get("/metrics").stdout).into_owned();
    assert!(metrics.contains("kubepki_csr_leader 1"), "{metrics}");
    assert!(
        metrics.contains("kubepki_csr_signed_total{signer=\"example.com/app\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kubepki_csr_failed_total{reason=\"SignerValidationFailure\"}"),
        "{metrics}"
    );

    kubelet_serving_approval(&cp, dir, survivor);

    // A graceful stop releases the lease at once.
    let _ = Command::new("kill")
        .args(["-TERM", &survivor.process.id().to_string()])
        .status();
    cp.budget.wait_for(
        "the survivor to stop and release",
        Duration::from_secs(20),
        || {
            if survivor.process.running() {
                return Err("still running".into());
            }
            let holder = lease_holder(&cp);
            if holder.is_empty() {
                Ok(())
            } else {
                Err(format!("lease still held by {holder:?}"))
            }
        },
    );
}
