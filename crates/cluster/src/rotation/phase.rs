//! The four phase steps (`start`, `promote`, `finish`, `rollback` of a start): for each CA
//! asked for, the files it changes, collected into one [`ChangeSet`] written under the tree
//! lock as one journaled change.

use std::path::PathBuf;
use std::time::SystemTime;

use kubepki_fs::FileKind;
use kubepki_keys::{KeyPair, Signer};
use kubepki_profile::ca_profile;
use kubepki_sign::{Ca, CertificateInfo, IssueOptions, Timestamp, certificates_from_bytes};

use super::change::{ChangeSet, shred};
use super::cross_signed::{cross_signed, without_cross_signed};
use super::keys::{algorithm_of, current, signing_anchor};
use super::kubelet::promote_kubelet_client;
use super::plan::plan;
use super::state::{
    Anchor, Paths, State, bundle, from_unix, parse_anchors, read_anchors, read_key, read_state,
    rotation_dir, rotation_file, signing_cert, unix,
};
use super::{CaPhase, FileChange, Phase, PhaseReport, RotateOptions, RotatedCa, TokenKeys};
use crate::files::{key_pem, load_cert, load_key, lock_tree_with, read, read_kubeconfig};
use crate::kubeconfig_edit::{replace_ca_data, replace_credentials};
use crate::renew::{reissue, reissue_for_key};
use crate::tree::{KUBECONFIGS, LEAVES, crt, key};
use crate::{ClusterError, RenewOptions};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Promote,
    Finish,
    Rollback,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::Promote => "promote",
            Step::Finish => "finish",
            Step::Rollback => "rollback",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Step::Rollback => "roll back",
            other => other.name(),
        }
    }

    fn rollback_note(self) -> String {
        match self {
            Step::Start => "available: `kubepki ca rotate rollback` takes the new CA out of every trust location again (then restart as this plan says)".to_owned(),
            Step::Promote => "not available: every certificate was reissued under the new CA, which now signs; the old certificates are gone, so the way forward is finish".to_owned(),
            Step::Finish => "not available: the old CA is trusted nowhere any more (its key stays in rotation/<ca>/old.key unless shredded); to go back, rotate again".to_owned(),
            Step::Rollback => "done: the rotation is undone, the CA is idle".to_owned(),
        }
    }
}

/// Starts the rotation of `options.cas`: a new CA (or the one given) and key set aside in
/// `rotation/<ca>/new.*`; every trust location (`ca.crt`, the kubeconfig files'
/// `certificate-authority-data`, `front-proxy-ca.crt`, `etcd/ca.crt`, `sa.pub`) then holds
/// the old and the new one, the old one first; the old key still signs. A CA already
/// started is left as it is (a rerun completes nothing more).
///
/// # Errors
/// [`ClusterError::RotationOrder`] for a CA promoted and not finished;
/// [`ClusterError::BadNewCa`] for an unusable given CA; [`ClusterError::RotationFile`] for a
/// trust file that does not fit; read, key and write errors. Nothing is written on an error.
pub fn start(options: &RotateOptions, now: SystemTime) -> Result<PhaseReport, ClusterError> {
    run(options, Step::Start, now, TokenKeys::default())
}

/// As [`start`], with the cluster CA keys that are on a PKCS#11 token: the one `ca.key.uri`
/// names, and the new CA's (its certificate in `options.new_ca`, whose key bytes are then
/// empty), recorded in `rotation/ca/new.key.uri`.
///
/// # Errors
/// As [`start`]; [`ClusterError::BadNewCa`] for a token key given for another CA than the
/// cluster CA, without its certificate, or not the key of that certificate.
pub fn start_with(
    options: &RotateOptions,
    now: SystemTime,
    keys: TokenKeys,
) -> Result<PhaseReport, ClusterError> {
    run(options, Step::Start, now, keys)
}

/// Promotes the new CA of `options.cas`: every leaf certificate and kubeconfig client
/// certificate under it is reissued by the new CA (same subject, SANs, usages and key
/// algorithm, a fresh key); the new key becomes the signing key (`ca.key`, `sa.key`...),
/// trust still holds both (the new one first), and the old pair is set aside in
/// `rotation/<ca>/old.*`. For the cluster CA, `rotation/ca/signing.crt` holds only the new
/// certificate, for kube-controller-manager's `--cluster-signing-cert-file` (kubeadm#1350).
///
/// # Errors
/// [`ClusterError::RotationOrder`] for a CA not started; as [`start`] otherwise.
pub fn promote(options: &RotateOptions, now: SystemTime) -> Result<PhaseReport, ClusterError> {
    run(options, Step::Promote, now, TokenKeys::default())
}

/// As [`promote`], with the cluster CA keys that are on a PKCS#11 token: the one `ca.key.uri`
/// names (it cross-signs the new CA) and the one `rotation/ca/new.key.uri` names, which then
/// signs: `ca.key.uri` names it, and `ca.key` (if any) is set aside as `rotation/ca/old.key`.
///
/// # Errors
/// As [`promote`]; [`ClusterError::RotationFile`] when a key on a token is needed and not
/// given, or is not the key of its CA.
pub fn promote_with(
    options: &RotateOptions,
    now: SystemTime,
    keys: TokenKeys,
) -> Result<PhaseReport, ClusterError> {
    run(options, Step::Promote, now, keys)
}

/// Finishes the rotation of `options.cas`: the old CA and the old service-account key leave
/// every trust location. The old key stays in `rotation/<ca>/old.key`, or is shredded with
/// `options.shred`. The service-account key is not finished before `options.token_lifetime`
/// has passed since promote, unless `options.force`.
///
/// # Errors
/// [`ClusterError::RotationOrder`] for a CA not promoted; [`ClusterError::TokensStillValid`]
/// too early; as [`start`] otherwise.
pub fn finish(options: &RotateOptions, now: SystemTime) -> Result<PhaseReport, ClusterError> {
    run(options, Step::Finish, now, TokenKeys::default())
}

/// Rolls a started rotation of `options.cas` back: the new CA leaves every trust location and
/// `rotation/<ca>/` is emptied of it. A promoted rotation cannot be rolled back (its leaves
/// were reissued under the new CA): that is refused, naming finish as the way forward.
///
/// # Errors
/// [`ClusterError::RotationOrder`] for a promoted or finished rotation; as [`start`]
/// otherwise.
pub fn rollback(options: &RotateOptions, now: SystemTime) -> Result<PhaseReport, ClusterError> {
    run(options, Step::Rollback, now, TokenKeys::default())
}

fn run(
    options: &RotateOptions,
    step: Step,
    now: SystemTime,
    mut keys: TokenKeys,
) -> Result<PhaseReport, ClusterError> {
    let one_x509 = matches!(options.cas[..], [ca] if ca != RotatedCa::Sa);
    if keys.new.is_some() && step == Step::Start && options.cas[..] != [RotatedCa::Cluster] {
        return Err(ClusterError::BadNewCa {
            ca: options.cas.first().map_or("all", |c| c.name()),
            reason: "a new key on a PKCS#11 token is for `start --ca cluster`".to_owned(),
        });
    }
    if options.new_ca.is_some() && !(step == Step::Start && one_x509) {
        return Err(ClusterError::BadNewCa {
            ca: options.cas.first().map_or("all", |c| c.name()),
            reason: "a given CA is for `start` of one X.509 CA (cluster, front-proxy or etcd)"
                .to_owned(),
        });
    }
    let folders: Vec<PathBuf> = RotatedCa::ALL
        .iter()
        .map(|ca| Paths::of(&options.cert_dir, *ca).dir)
        .chain([rotation_dir(&options.cert_dir)])
        .collect();
    let folder_refs: Vec<&std::path::Path> = folders.iter().map(PathBuf::as_path).collect();
    // A dry run takes no lock: taking it writes the lock file.
    let (lock, mut warnings) = if options.dry_run {
        (None, Vec::new())
    } else {
        let (lock, note) =
            lock_tree_with(&options.cert_dir, &options.kubeconfig_dir, &folder_refs)?;
        (Some(lock), note.into_iter().collect::<Vec<_>>())
    };
    // Of several CAs, one whose trust file is absent (an external etcd) is left out and
    // said; one CA asked for alone must be there.
    let mut present = options.cas.clone();
    if present.len() > 1 {
        present.retain(|&ca| {
            let trust = Paths::of(&options.cert_dir, ca).trust;
            let here = trust.exists();
            if !here {
                warnings.push(format!(
                    "{} is absent (an external CA?): {} is not rotated",
                    trust.display(),
                    ca.name()
                ));
            }
            here
        });
    }
    let mut changes = ChangeSet::default();
    let mut cas = Vec::new();
    for &ca in &present {
        cas.push(plan_ca(options, ca, step, now, &mut keys, &mut changes)?);
    }
    let mut files = match &lock {
        Some(lock) => changes.apply(lock)?,
        None => changes.effective(),
    };
    if step == Step::Finish && options.shred {
        for &ca in &present {
            let old_key = Paths::of(&options.cert_dir, ca).old_key;
            if old_key.exists() {
                if !options.dry_run {
                    shred(&old_key)?;
                }
                files.push(FileChange {
                    path: old_key,
                    action: "shred",
                });
            }
        }
    }
    // The kubelet's own client pair, outside the tree: after the tree's change, so that a
    // rerun finds it still under the old CA and does it then.
    if step == Step::Promote && present.contains(&RotatedCa::Cluster) {
        files.extend(promote_kubelet_client(options, now, &mut warnings)?);
    }
    let cluster = Paths::of(&options.cert_dir, RotatedCa::Cluster);
    let key_on_token = (cluster.key_uri.exists() && !cluster.key.exists())
        || (step == Step::Promote && options.dry_run && cluster.new_key_uri.exists());
    let plan = plan(step.name(), &present, &options.cert_dir, key_on_token);
    if let Some(dir) = &options.manifests_dir {
        let edits = super::manifests::edits(dir, &plan)?;
        if !options.dry_run {
            super::manifests::write(&edits)?;
        }
        files.extend(edits.into_iter().map(|(path, _)| FileChange {
            path,
            action: "edit",
        }));
    }
    Ok(PhaseReport {
        phase: step.name(),
        dry_run: options.dry_run,
        plan,
        rollback: step.rollback_note(),
        cas,
        files,
        warnings,
    })
}

fn plan_ca(
    options: &RotateOptions,
    ca: RotatedCa,
    step: Step,
    now: SystemTime,
    keys: &mut TokenKeys,
    changes: &mut ChangeSet,
) -> Result<CaPhase, ClusterError> {
    let paths = Paths::of(&options.cert_dir, ca);
    // Keys on a token are the cluster CA's only.
    let mut none = TokenKeys::default();
    let keys = if ca == RotatedCa::Cluster {
        keys
    } else {
        &mut none
    };
    let state = read_state(&paths.state)?;
    let from = state.as_ref().map_or(Phase::Idle, |s| s.phase);
    let order = |hint| ClusterError::RotationOrder {
        ca: ca.name(),
        wanted: step.verb(),
        found: from.name(),
        hint,
    };
    let to = match (step, from) {
        (Step::Start, Phase::Started)
        | (Step::Promote, Phase::Promoted)
        | (Step::Finish, Phase::Finished)
        | (Step::Rollback, Phase::Idle) => {
            return Ok(CaPhase {
                ca,
                from,
                to: from,
                changed: false,
            });
        }
        (Step::Start, Phase::Idle | Phase::Finished) => {
            start_ca(options, ca, &paths, now, keys, changes)?;
            Phase::Started
        }
        (Step::Start, Phase::Promoted) => return Err(order("run finish first")),
        (Step::Promote, Phase::Started) => {
            promote_ca(options, ca, &paths, state, now, keys, changes)?;
            Phase::Promoted
        }
        (Step::Promote | Step::Finish, Phase::Idle | Phase::Finished) => {
            return Err(order("run start first"));
        }
        (Step::Finish, Phase::Started) => return Err(order("run promote first")),
        (Step::Finish, Phase::Promoted) => {
            finish_ca(options, ca, &paths, state, now, changes)?;
            Phase::Finished
        }
        (Step::Rollback, Phase::Started) => {
            rollback_ca(options, ca, &paths, changes)?;
            Phase::Idle
        }
        (Step::Rollback, Phase::Promoted) => {
            return Err(order(
                "a promoted rotation cannot be rolled back: every certificate was reissued under the new CA, which signs; run finish instead",
            ));
        }
        (Step::Rollback, Phase::Finished) => {
            return Err(order(
                "a finished rotation cannot be rolled back: rotate again instead",
            ));
        }
    };
    Ok(CaPhase {
        ca,
        from,
        to,
        changed: true,
    })
}

/// The signing key and the anchor of the trust file that is its own.
fn kubeconfigs_trust(
    options: &RotateOptions,
    ca_pem: &str,
    changes: &mut ChangeSet,
) -> Result<(), ClusterError> {
    for spec in KUBECONFIGS {
        let path = options.kubeconfig_dir.join(spec.file);
        if !path.exists() {
            continue;
        }
        let text = kubeconfig_text(&path)?;
        let text = replace_ca_data(&text, ca_pem).map_err(|reason| ClusterError::Kubeconfig {
            path: path.clone(),
            reason,
        })?;
        changes.write(&path, text, FileKind::Secret);
    }
    Ok(())
}

fn kubeconfig_text(path: &std::path::Path) -> Result<String, ClusterError> {
    String::from_utf8(read(path)?).map_err(|_| ClusterError::Kubeconfig {
        path: path.to_path_buf(),
        reason: "not UTF-8 text".to_owned(),
    })
}

fn start_ca(
    options: &RotateOptions,
    ca: RotatedCa,
    paths: &Paths,
    now: SystemTime,
    keys: &mut TokenKeys,
    changes: &mut ChangeSet,
) -> Result<(), ClusterError> {
    let trust = read_anchors(ca, &paths.trust)?;
    if trust.len() > 1 {
        return Err(rotation_file(
            &paths.trust,
            format!(
                "holds {} CAs while no rotation is recorded in {}: make it hold only the CA that signs before starting",
                trust.len(),
                paths.state.display()
            ),
        ));
    }
    let (old_key, old) = current(paths, &trust, keys.current.take())?;
    for set_aside in [&paths.old_key, &paths.old_key_uri] {
        if set_aside.exists() {
            return Err(rotation_file(
                set_aside,
                "the old key of an earlier rotation is still set aside here: move it out of the tree (or finish with --shred) before starting a new rotation",
            ));
        }
    }
    let algorithm = options
        .algorithm
        .unwrap_or_else(|| algorithm_of(old_key.public_key()));
    drop(old_key);
    let bad = |reason: String| ClusterError::BadNewCa {
        ca: ca.name(),
        reason,
    };
    let (new, new_key): (Anchor, NewKey) = match ca.ca() {
        Some(name) => {
            let (new_ca, new_key) = match (&options.new_ca, keys.new.take()) {
                (Some((cert, _)), Some(token)) => {
                    let mut certs =
                        certificates_from_bytes(cert).map_err(|e| bad(e.to_string()))?;
                    if certs.is_empty() {
                        return Err(bad("its certificate file holds no certificate".to_owned()));
                    }
                    let first = certs.remove(0);
                    let made = Ca::from_der(&first, token.signer, certs)
                        .map_err(|e| bad(e.to_string()))?;
                    (made, NewKey::Token(token.uri))
                }
                (None, Some(_)) => {
                    return Err(bad(
                        "a new key on a PKCS#11 token needs its CA certificate (--new-ca-cert)"
                            .to_owned(),
                    ));
                }
                (Some((cert, key_bytes)), None) => (
                    Ca::from_pem(cert, key_bytes, None).map_err(|e| bad(e.to_string()))?,
                    NewKey::File(key_bytes.clone()),
                ),
                (None, None) => {
                    let info = CertificateInfo::from_der(&old.cert_der).map_err(|source| {
                        ClusterError::Sign {
                            name: paths.trust.display().to_string(),
                            source,
                        }
                    })?;
                    let cn = info
                        .subject
                        .common_name()
                        .unwrap_or("kubernetes")
                        .to_owned();
                    let key = KeyPair::generate(algorithm).map_err(ClusterError::KeyGeneration)?;
                    let pem = key_pem(&paths.new_key, &key)?.as_bytes().to_vec();
                    let subject = kubepki_csr::Subject::from_parts(&cn, &[] as &[String]);
                    let profile = ca_profile(name.name(), &cn);
                    let made =
                        Ca::self_signed(Box::new(key), &subject, &profile, &IssueOptions::at(now))
                            .map_err(|source| ClusterError::Sign {
                                name: paths.new_anchor.display().to_string(),
                                source,
                            })?;
                    (made, NewKey::File(pem))
                }
            };
            if new_ca.not_after() <= now {
                return Err(bad(format!(
                    "it expired at {}",
                    Timestamp(new_ca.not_after())
                )));
            }
            let anchor = Anchor::from_cert_der(new_ca.certificate_der()).map_err(&bad)?;
            (anchor, new_key)
        }
        None => {
            let key = KeyPair::generate(algorithm).map_err(ClusterError::KeyGeneration)?;
            let pem = key_pem(&paths.new_key, &key)?.as_bytes().to_vec();
            (Anchor::from_public_key(key.public_key()), NewKey::File(pem))
        }
    };
    if new.spki == old.spki {
        return Err(bad("it has the key of the CA in use".to_owned()));
    }
    let trust_text = bundle(&[old, &new]);
    match new_key {
        NewKey::File(pem) => changes.write(&paths.new_key, pem, FileKind::Secret),
        NewKey::Token(uri) => changes.write(
            &paths.new_key_uri,
            format!("{uri}\n").into_bytes(),
            FileKind::Public,
        ),
    }
    changes.write(&paths.new_anchor, new.pem.clone(), FileKind::Public);
    changes.write(&paths.trust, trust_text.clone(), FileKind::Public);
    if ca == RotatedCa::Cluster {
        kubeconfigs_trust(options, &trust_text, changes)?;
        changes.write(
            &signing_cert(&options.cert_dir),
            old.pem.clone(),
            FileKind::Public,
        );
    }
    let state = State {
        phase: Phase::Started,
        started_at: unix(now),
        promoted_at: None,
        finished_at: None,
    };
    changes.write(&paths.state, state.to_bytes(), FileKind::Public);
    Ok(())
}

/// The new key set aside by start: a key file's PEM, or the `pkcs11:` URI of a key on a
/// token.
enum NewKey {
    File(Vec<u8>),
    Token(String),
}

fn promote_ca(
    options: &RotateOptions,
    ca: RotatedCa,
    paths: &Paths,
    state: Option<State>,
    now: SystemTime,
    keys: &mut TokenKeys,
    changes: &mut ChangeSet,
) -> Result<(), ClusterError> {
    let trust = read_anchors(ca, &paths.trust)?;
    let (old_key, old) = current(paths, &trust, keys.current.take())?;
    let new = parse_anchors(ca, &paths.new_anchor, &read(&paths.new_anchor)?)?
        .into_iter()
        .next()
        .ok_or_else(|| rotation_file(&paths.new_anchor, "is empty"))?;
    if !trust.iter().any(|a| a.spki == new.spki) {
        return Err(rotation_file(
            &paths.trust,
            format!(
                "does not hold the new CA of {}: was it changed since start?",
                paths.new_anchor.display()
            ),
        ));
    }
    // The new key: a file set aside by start, or on a token (its URI set aside).
    let (new_signer, new_key, key_file): (Box<dyn Signer>, NewKey, &std::path::Path) = if paths
        .new_key_uri
        .exists()
    {
        let token = keys.new.take().ok_or_else(|| {
                rotation_file(
                    &paths.new_key_uri,
                    "names the new key, on a PKCS#11 token: open it to promote (the CLI does, with the PIN in KUBEPKI_PKCS11_PIN)",
                )
            })?;
        let uri = String::from_utf8_lossy(&read(&paths.new_key_uri)?)
            .trim()
            .to_owned();
        (token.signer, NewKey::Token(uri), &paths.new_key_uri)
    } else {
        let bytes = read(&paths.new_key)?;
        (
            Box::new(read_key(&paths.new_key)?),
            NewKey::File(bytes),
            &paths.new_key,
        )
    };
    if new_signer.public_key().to_der() != new.spki {
        return Err(rotation_file(
            key_file,
            format!("is not the key of {}", paths.new_anchor.display()),
        ));
    }
    let trust_text = bundle(&[&new, old]);
    if let Some(name) = ca.ca() {
        let cross = cross_signed(
            paths,
            name,
            old_key,
            old,
            &new,
            new_signer.public_key(),
            now,
        )?;
        let new_ca = Ca::from_der(&new.cert_der, new_signer, Vec::new()).map_err(|source| {
            ClusterError::Sign {
                name: paths.new_anchor.display().to_string(),
                source,
            }
        })?;
        let renew = RenewOptions::defaults(&options.cert_dir, &options.kubeconfig_dir);
        // Each leaf keeps its key: only its certificate file changes, in one rename, so a
        // component that reloads its pair (etcd does at every handshake) never reads a
        // certificate beside a key that is not its own, even after a kill -9 half-way.
        for leaf in LEAVES.iter().filter(|l| l.ca == name) {
            let (crt_path, key_path) = (
                crt(&options.cert_dir, leaf.base),
                key(&options.cert_dir, leaf.base),
            );
            if !crt_path.exists() {
                continue;
            }
            let der = load_cert(&crt_path)?;
            let cert_pem = match load_key(&key_path) {
                Ok(leaf_key) => reissue_for_key(&new_ca, leaf.name, &der, &leaf_key, &renew, now)?,
                Err(_) => {
                    let (cert_pem, fresh) = reissue(&new_ca, leaf.name, &der, None, &renew, now)?;
                    let pem = key_pem(&key_path, &fresh)?;
                    changes.write(&key_path, pem.as_bytes().to_vec(), FileKind::Secret);
                    cert_pem
                }
            };
            changes.write(&crt_path, format!("{cert_pem}{cross}"), FileKind::Public);
        }
        if ca == RotatedCa::Cluster {
            for spec in KUBECONFIGS {
                let path = options.kubeconfig_dir.join(spec.file);
                if !path.exists() {
                    continue;
                }
                let (_, der, client_key) = read_kubeconfig(&path)?;
                let text = kubeconfig_text(&path)?;
                let edited = match (der, client_key) {
                    (Some(der), Some(client_key)) => {
                        let cert_pem =
                            reissue_for_key(&new_ca, spec.file, &der, &client_key, &renew, now)?;
                        let pem = key_pem(&path, &client_key)?;
                        replace_credentials(&text, &trust_text, &cert_pem, &pem)
                    }
                    (Some(der), None) => {
                        let (cert_pem, fresh) =
                            reissue(&new_ca, spec.file, &der, None, &renew, now)?;
                        let pem = key_pem(&path, &fresh)?;
                        replace_credentials(&text, &trust_text, &cert_pem, &pem)
                    }
                    // A client certificate in a file the kubelet rotates: only the trust here.
                    (None, _) => replace_ca_data(&text, &trust_text),
                }
                .map_err(|reason| ClusterError::Kubeconfig {
                    path: path.clone(),
                    reason,
                })?;
                changes.write(&path, edited, FileKind::Secret);
            }
            changes.write(
                &signing_cert(&options.cert_dir),
                new.pem.clone(),
                FileKind::Public,
            );
        }
        changes.write(&paths.cross, cross.into_bytes(), FileKind::Public);
    }
    // The old key set aside (its file, or the URI of its token key), the new one in place.
    let old_on_token = !paths.key.exists();
    if old_on_token {
        changes.write(&paths.old_key_uri, read(&paths.key_uri)?, FileKind::Public);
    } else {
        changes.write(&paths.old_key, read(&paths.key)?, FileKind::Secret);
    }
    match new_key {
        NewKey::File(bytes) => {
            changes.write(&paths.key, bytes, FileKind::Secret);
            if old_on_token {
                changes.remove(&paths.key_uri, FileKind::Public);
            }
            changes.remove(&paths.new_key, FileKind::Secret);
        }
        NewKey::Token(uri) => {
            changes.write(
                &paths.key_uri,
                format!("{uri}\n").into_bytes(),
                FileKind::Public,
            );
            if !old_on_token {
                changes.remove(&paths.key, FileKind::Secret);
            }
            changes.remove(&paths.new_key_uri, FileKind::Public);
        }
    }
    changes.write(&paths.old_anchor, old.pem.clone(), FileKind::Public);
    changes.write(&paths.trust, trust_text, FileKind::Public);
    changes.remove(&paths.new_anchor, FileKind::Public);
    let state = State {
        phase: Phase::Promoted,
        started_at: state.map_or(unix(now), |s| s.started_at),
        promoted_at: Some(unix(now)),
        finished_at: None,
    };
    changes.write(&paths.state, state.to_bytes(), FileKind::Public);
    Ok(())
}

fn finish_ca(
    options: &RotateOptions,
    ca: RotatedCa,
    paths: &Paths,
    state: Option<State>,
    now: SystemTime,
    changes: &mut ChangeSet,
) -> Result<(), ClusterError> {
    let promoted_at = state
        .as_ref()
        .and_then(|s| s.promoted_at)
        .ok_or_else(|| rotation_file(&paths.state, "says promoted but not when"))?;
    if ca == RotatedCa::Sa && !options.force {
        let until = from_unix(promoted_at) + options.token_lifetime;
        if now < until {
            return Err(ClusterError::TokensStillValid {
                ca: ca.name(),
                promoted_at: Timestamp(from_unix(promoted_at)),
                until: Timestamp(until),
                lifetime_secs: options.token_lifetime.as_secs(),
            });
        }
    }
    let trust = read_anchors(ca, &paths.trust)?;
    let current = signing_anchor(paths, &trust)?;
    changes.write(&paths.trust, current.pem.clone(), FileKind::Public);
    if ca == RotatedCa::Cluster {
        kubeconfigs_trust(options, &current.pem, changes)?;
    }
    if let Some(name) = ca.ca() {
        without_cross_signed(options, name, changes)?;
        changes.remove(&paths.cross, FileKind::Public);
    }
    let state = State {
        phase: Phase::Finished,
        started_at: state.map_or(promoted_at, |s| s.started_at),
        promoted_at: Some(promoted_at),
        finished_at: Some(unix(now)),
    };
    changes.write(&paths.state, state.to_bytes(), FileKind::Public);
    Ok(())
}

fn rollback_ca(
    options: &RotateOptions,
    ca: RotatedCa,
    paths: &Paths,
    changes: &mut ChangeSet,
) -> Result<(), ClusterError> {
    let trust = read_anchors(ca, &paths.trust)?;
    let current = signing_anchor(paths, &trust)?;
    changes.write(&paths.trust, current.pem.clone(), FileKind::Public);
    if ca == RotatedCa::Cluster {
        kubeconfigs_trust(options, &current.pem, changes)?;
    }
    changes.remove(&paths.new_key, FileKind::Secret);
    changes.remove(&paths.new_key_uri, FileKind::Public);
    changes.remove(&paths.new_anchor, FileKind::Public);
    changes.remove(&paths.state, FileKind::Public);
    Ok(())
}

#[cfg(test)]
#[path = "phase_tests.rs"]
mod tests;
