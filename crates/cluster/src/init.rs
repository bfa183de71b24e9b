//! `init`: lay out the kubeadm tree on disk, keeping what fits and creating what is missing.
//! Plan (the options), survey (what the tree holds), build (what is missing), then one
//! journaled write.

use std::path::Path;
use std::time::SystemTime;

use kubepki_fs::FileKind;

use crate::ClusterError;
use crate::build::{Built, build};
use crate::ca_source::{CaSource, KeyUri};
use crate::files::{Writes, ensure_dir, lock_tree, read};
use crate::plan::{InitOptions, Plan};
use crate::report::InitReport;
use crate::survey::Survey;
use crate::tree::{CaName, key_uri_file};

/// Lays out kubeadm's tree under `options.cert_dir` and `options.kubeconfig_dir` at time
/// `now`: the three CAs, the leaf certificates, `sa.key`/`sa.pub`, and the kubeconfig files.
/// What exists and fits is kept; a CA is never replaced; what is missing is created, keys
/// generated in parallel. A CA whose certificate is present without its key (external CA
/// mode) signs nothing: what it would sign is reported as [`crate::Action::Missing`].
///
/// The cluster CA's key comes from `options.ca` ([`CaSource`]): a file; a signer (no
/// `ca.key`, and the key's URI recorded in `ca.key.uri` when given); or nowhere (external CA
/// mode, its certificate placed as `ca.crt` when absent). The CA certificate placed and the
/// record are written with the rest, under the tree's lock, as one journaled change.
///
/// # Errors
/// [`ClusterError::Misfit`] naming the first existing file that does not fit and why, before
/// anything is written (a `ca.key` where the key is on a signer, a `ca.crt` that is not the
/// certificate given); [`ClusterError::IncompletePair`] for a certificate without its key or
/// the reverse; [`ClusterError::InvalidSan`], [`ClusterError::InvalidEndpoint`],
/// [`ClusterError::Profile`] for bad options; [`ClusterError::Fs`] when writing fails.
pub fn init(options: &InitOptions, now: SystemTime) -> Result<InitReport, ClusterError> {
    let plan = Plan::new(options)?;
    let dir = &options.cert_dir;
    ensure_dir(dir)?;
    ensure_dir(&options.kubeconfig_dir)?;
    let (lock, recovered) = lock_tree(dir, &options.kubeconfig_dir)?;
    if !options.external_etcd {
        ensure_dir(&dir.join("etcd"))?;
    }
    let mut survey = Survey::read(&plan, options, now)?;
    survey.warnings.splice(0..0, recovered);
    let Built { mut writes, report } = build(&plan, options, survey, now)?;
    if let CaSource::Signer {
        key_uri: Some(uri), ..
    } = &options.ca
    {
        record_key_uri(&mut writes, dir, uri)?;
    }
    writes.flush(&lock)?;
    Ok(report)
}

/// Adds `ca.key.uri` to `writes`, unless it already says `uri`.
fn record_key_uri(writes: &mut Writes, cert_dir: &Path, uri: &KeyUri) -> Result<(), ClusterError> {
    let path = key_uri_file(cert_dir, CaName::Ca);
    if !path.exists() {
        writes.file(&path, uri.record(), FileKind::Public);
    } else if String::from_utf8_lossy(&read(&path)?).trim() != uri.as_str() {
        writes.replace(&path, uri.record(), FileKind::Public);
    }
    Ok(())
}
