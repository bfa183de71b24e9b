//! External-CA mode: the keys and CSRs of the tree for a CA that is not here.

use std::path::PathBuf;

use kubepki_csr::CsrBuilder;
use kubepki_fs::{FileKind, FileWrite, Journal, Overwrite, Undo, write_atomic_all};
use kubepki_keys::KeyPair;
use kubepki_profile::Profile;

use crate::ClusterError;
use crate::files::{ensure_dir, key_pem, load_cert, lock_tree, pending_csr, read};
use crate::keygen::generate_keys;
use crate::kubeconfig::Kubeconfig;
use crate::plan::{InitOptions, Plan, required_sans, subject_of};
use crate::tree::{LEAVES, crt, key};

/// External-CA mode, kubeadm's `certs generate-csr`: for every leaf, `<base>.key` and
/// `<base>.csr` in the cert dir; for every kubeconfig file, a partial kubeconfig (key, no
/// certificate) and `<file>.csr` in the kubeconfig dir. Keys are generated in parallel.
/// Returns the CSR paths.
///
/// The cluster CA's certificate (`ca.crt`, without its key: external CA mode) must be in the
/// cert dir, as the kubeconfig files embed it. Nothing is written unless every file can be.
///
/// # Errors
/// As [`crate::init`] for bad options; [`ClusterError::NoCaCertificate`] without `ca.crt`,
/// [`ClusterError::Sign`] when it does not parse; [`ClusterError::Fs`] when a file exists.
pub fn generate_csrs(options: &InitOptions) -> Result<Vec<PathBuf>, ClusterError> {
    let plan = Plan::new(options)?;
    // The kubeconfig files embed the cluster CA (init checks that they do): without it they
    // would be written unusable.
    let ca_path = crt(&options.cert_dir, "ca");
    if !ca_path.exists() {
        return Err(ClusterError::NoCaCertificate { path: ca_path });
    }
    ensure_dir(&options.cert_dir)?;
    ensure_dir(&options.kubeconfig_dir)?;
    let (lock, _recovered) = lock_tree(&options.cert_dir, &options.kubeconfig_dir)?;
    let ca_pem = String::from_utf8(read(&ca_path)?).map_err(|_| ClusterError::Sign {
        name: ca_path.display().to_string(),
        source: kubepki_sign::SignError::MalformedCertificate(
            "PEM text is not valid UTF-8".to_owned(),
        ),
    })?;
    kubepki_sign::parse_certificate(&load_cert(&ca_path)?).map_err(|source| {
        ClusterError::Sign {
            name: ca_path.display().to_string(),
            source,
        }
    })?;
    let leaves: Vec<_> = LEAVES
        .iter()
        .filter(|l| !(l.etcd && options.external_etcd))
        .collect();
    if leaves.iter().any(|l| l.etcd) {
        ensure_dir(&options.cert_dir.join("etcd"))?;
    }
    let kubeconfigs: Vec<_> = plan.kubeconfigs().collect();
    let mut keys = generate_keys(
        &vec![options.algorithm; leaves.len() + kubeconfigs.len()],
        options.threads,
    )?
    .into_iter();
    let mut out = Vec::new();
    // Every file is written in one journaled change: all of them, or (after a crash, at the
    // next run) none.
    let mut files: Vec<(PathBuf, Vec<u8>, FileKind)> = Vec::new();
    let csr_of = |profile: &Profile, key: &KeyPair| -> Result<String, ClusterError> {
        let csr = CsrBuilder::new(subject_of(profile))
            .sans(required_sans(profile)?)
            .build(key)
            .map_err(|e| ClusterError::Sign {
                name: profile.name.clone(),
                source: e.into(),
            })?;
        Ok(csr.to_pem())
    };
    for (leaf, key_pair) in leaves.iter().zip(keys.by_ref()) {
        let profile = plan.profile(leaf.name)?;
        let key_path = key(&options.cert_dir, leaf.base);
        let csr_path = pending_csr(&crt(&options.cert_dir, leaf.base));
        let csr = csr_of(&profile, &key_pair)?;
        let pem = key_pem(&key_path, &key_pair)?;
        files.push((key_path, pem.as_bytes().to_vec(), FileKind::Secret));
        files.push((csr_path.clone(), csr.into_bytes(), FileKind::Public));
        out.push(csr_path);
    }
    for (spec, key_pair) in kubeconfigs.iter().zip(keys) {
        let profile = plan.profile(spec.profile)?;
        let path = options.kubeconfig_dir.join(spec.file);
        let csr_path = pending_csr(&options.kubeconfig_dir.join(spec.file));
        let csr = csr_of(&profile, &key_pair)?;
        let subject = subject_of(&profile);
        let user = subject.common_name().unwrap_or(spec.profile);
        let text = Kubeconfig::for_client(
            &plan.cluster_name,
            plan.server_for(spec),
            &ca_pem,
            user,
            "",
            &key_pem(&path, &key_pair)?,
        )
        .to_yaml()
        .map_err(|reason| ClusterError::Kubeconfig {
            path: path.clone(),
            reason,
        })?;
        files.push((path, text.into_bytes(), FileKind::Secret));
        files.push((csr_path.clone(), csr.into_bytes(), FileKind::Public));
        out.push(csr_path);
    }
    if let Some((existing, _, _)) = files.iter().find(|(p, _, _)| p.exists()) {
        return Err(kubepki_fs::FsError::Exists {
            path: existing.clone(),
        }
        .into());
    }
    let undo: Vec<Undo> = files
        .iter()
        .map(|(p, _, _)| Undo::Remove(p.clone()))
        .collect();
    let journal = Journal::begin(&lock, &undo)?;
    let writes: Vec<FileWrite<'_>> = files
        .iter()
        .map(|(path, bytes, kind)| FileWrite {
            path,
            bytes,
            kind: *kind,
        })
        .collect();
    write_atomic_all(&writes, Overwrite::Refuse)?;
    journal.commit()?;
    Ok(out)
}
