//! `certs renew`: renewal of the tree's leaf certificates and kubeconfig client
//! certificates, by name, all, or those due.

mod options;
mod reissue;
mod replace;

use std::time::{Duration, SystemTime};

use kubepki_fs::TreeLock;
use kubepki_sign::Ca;

use crate::ClusterError;
use crate::files::lock_tree;
use crate::tree::{CaName, LEAVES, crt, key};

pub(crate) use options::restart_for;
pub use options::{
    RENEWABLE_KUBECONFIGS, RenewOptions, RenewReport, Renewed, Skipped, renewable_names,
};
pub(crate) use reissue::{reissue, reissue_for_key};
use replace::renew_with_key;
pub(crate) use replace::{keep_old_copy, renew_embedded_kubeconfig};

/// Renews `name` into `report`, or records it as skipped when its CA key is absent.
fn renew_one(
    lock: &TreeLock,
    name: &str,
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
    report: &mut RenewReport,
) -> Result<(), ClusterError> {
    let ca = LEAVES
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.ca)
        .or_else(|| RENEWABLE_KUBECONFIGS.contains(&name).then_some(CaName::Ca));
    // External: the CA certificate is here, its key neither here nor given (on a token).
    let external = |ca: CaName| {
        !(ca == CaName::Ca && cluster_ca.is_some())
            && crt(&options.cert_dir, ca.base()).exists()
            && !key(&options.cert_dir, ca.base()).exists()
    };
    if let Some(ca) = ca.filter(|&ca| external(ca)) {
        report.skipped.push(Skipped {
            name: name.to_owned(),
            ca: ca.name().to_owned(),
        });
        return Ok(());
    }
    report
        .renewed
        .push(renew_with_key(lock, name, options, now, cluster_ca)?);
    Ok(())
}

/// Renews `which` (a name of [`renewable_names`], or `all` for every one present): a fresh
/// key and serial, the same subject, SANs (plus `add_sans` on serving certificates) and
/// usages, signed by the same CA. The old files do not stay in the tree: they are removed
/// once the new pair is in place, or moved under `keep_old` when set. A kubeconfig file is
/// edited in place (its user's certificate and key, its cluster's CA data), every other
/// field kept. A certificate whose CA key is absent (external CA) is skipped and reported,
/// as kubeadm does; CAs are never renewed.
///
/// # Errors
/// [`ClusterError::CaNotRenewed`] for a CA, [`ClusterError::UnknownCertificate`], read and
/// write errors. Each certificate is renewed whole (key, then certificate) before the next
/// is started; on an error the error says which file, and the files renewed before it stay
/// renewed.
pub fn renew(
    options: &RenewOptions,
    which: &str,
    now: SystemTime,
) -> Result<RenewReport, ClusterError> {
    renew_with_ca(options, which, now, None)
}

/// As [`renew`], with the cluster CA given when its key is not `ca.key` in the tree (a key
/// on a PKCS#11 token): what the cluster CA signs is signed by `cluster_ca`; the
/// front-proxy and etcd CAs are still read from their files.
///
/// # Errors
/// As [`renew`].
pub fn renew_with_ca(
    options: &RenewOptions,
    which: &str,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<RenewReport, ClusterError> {
    renew_each(options, &[which], now, cluster_ca)
}

/// As [`renew_with_ca`] for each of `names` in order, under one lock: each is a name of
/// [`renewable_names`] or `all`; a name given twice (or also covered by `all`) is renewed
/// once.
///
/// # Errors
/// As [`renew`]. When the failing certificate is not the one name asked for,
/// [`ClusterError::RenewIncomplete`] names it and those renewed before it, which stay renewed.
pub fn renew_each(
    options: &RenewOptions,
    names: &[&str],
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<RenewReport, ClusterError> {
    let (lock, mut report) = lock_for_renewal(options)?;
    if let [which] = names
        && *which != "all"
    {
        renew_one(&lock, which, options, now, cluster_ca, &mut report)?;
        return Ok(report);
    }
    let mut list: Vec<&str> = Vec::new();
    for &name in names {
        let expanded: Vec<&str> = if name == "all" {
            let leaves = LEAVES
                .iter()
                .filter(|l| crt(&options.cert_dir, l.base).exists())
                .map(|l| l.name);
            let kubeconfigs = RENEWABLE_KUBECONFIGS
                .iter()
                .copied()
                .filter(|f| options.kubeconfig_dir.join(f).exists());
            leaves.chain(kubeconfigs).collect()
        } else {
            vec![name]
        };
        for name in expanded {
            if !list.contains(&name) {
                list.push(name);
            }
        }
    }
    renew_names(&lock, &list, options, now, cluster_ca, &mut report)?;
    Ok(report)
}

/// Takes the tree's lock, and starts the report with what the lock's recovery repaired (a
/// renewal a killed process left half-done).
fn lock_for_renewal(options: &RenewOptions) -> Result<(TreeLock, RenewReport), ClusterError> {
    let (lock, recovered) = lock_tree(&options.cert_dir, &options.kubeconfig_dir)?;
    let report = RenewReport {
        warnings: recovered.into_iter().collect(),
        ..RenewReport::default()
    };
    Ok((lock, report))
}

/// Renews `names` in order into `report`; the first failure stops it, naming what was
/// renewed before.
fn renew_names(
    lock: &TreeLock,
    names: &[&str],
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
    report: &mut RenewReport,
) -> Result<(), ClusterError> {
    for &name in names {
        renew_one(lock, name, options, now, cluster_ca, report).map_err(|source| {
            ClusterError::RenewIncomplete {
                at: name.to_owned(),
                renewed: report.renewed.iter().map(|r| r.name.clone()).collect(),
                source: Box::new(source),
            }
        })?;
    }
    Ok(())
}

/// Renews exactly the certificates and kubeconfig client certificates of the tree that are
/// [`crate::due_for_renewal`] at `now` with the margin `within` (expired, or ending before
/// `now + within`), as [`renew_with_ca`] renews one: what a timer runs. Nothing else is
/// touched, so a second run at once renews nothing. CAs are not renewed (check-expiration
/// reports them); a due certificate whose CA key is absent is reported as skipped.
///
/// # Errors
/// As [`renew_with_ca`]; [`ClusterError::Sign`] or [`ClusterError::Kubeconfig`] for a present
/// file whose expiration cannot be read.
pub fn renew_due(
    options: &RenewOptions,
    within: Duration,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<RenewReport, ClusterError> {
    let (lock, mut report) = lock_for_renewal(options)?;
    renew_due_locked(&lock, options, within, now, cluster_ca, &mut report)?;
    Ok(report)
}

/// [`renew_due`] under a lock the caller holds.
pub(crate) fn renew_due_locked(
    lock: &TreeLock,
    options: &RenewOptions,
    within: Duration,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
    report: &mut RenewReport,
) -> Result<(), ClusterError> {
    let expiration = crate::check_expiration(&options.cert_dir, &options.kubeconfig_dir, now)?;
    let due: Vec<&str> = expiration
        .due_certificates(now, within)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    // check-expiration lists kubeconfig files before leaves, by name; renew in kubeadm's
    // order as `renew all` does.
    let order = renewable_names();
    let names: Vec<&str> = order.into_iter().filter(|n| due.contains(n)).collect();
    renew_names(lock, &names, options, now, cluster_ca, report)
}
