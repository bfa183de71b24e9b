//! `ca rotate status`: the phase of each CA read from the files themselves (which CAs each
//! trust location holds, which key signs, which CA signed each certificate), and what does
//! not agree.

use std::path::{Path, PathBuf};

use der::Decode;
use serde::Serialize;
use x509_cert::Certificate;

use super::state::{
    Anchor, Paths, parse_anchors, read_anchors, read_key, read_state, signing_cert,
};
use super::{Phase, RotatedCa};
use crate::ClusterError;
use crate::check::CaCert;
use crate::files::{data_field, load_cert, read, read_kubeconfig};
use crate::tree::{KUBECONFIGS, LEAVES, crt};

/// One file's view of a CA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileTrust {
    /// The file (a kubeconfig file for its `certificate-authority-data` or client
    /// certificate).
    pub path: PathBuf,
    /// The CAs (or service-account keys) it trusts, by short key id; empty for a leaf.
    pub trusts: Vec<String>,
    /// The CA that signed it, by short key id (`unknown` when none of the rotation's);
    /// `None` for a trust file.
    pub signed_by: Option<String>,
}

/// Where one CA's rotation stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaStatus {
    /// The CA.
    pub ca: RotatedCa,
    /// The phase the files show.
    pub phase: Phase,
    /// The phase the rotation's state file records (`None`: no state file).
    pub recorded: Option<Phase>,
    /// The CAs its main trust file holds, by short key id, in order.
    pub trusted: Vec<String>,
    /// The CA whose key signs, by short key id.
    pub signing: Option<String>,
    /// The new CA set aside by start, by short key id.
    pub new: Option<String>,
    /// The old CA set aside by promote, by short key id.
    pub old: Option<String>,
    /// Every file looked at.
    pub files: Vec<FileTrust>,
    /// What does not agree with the phase; empty when the tree is consistent.
    pub inconsistencies: Vec<String>,
}

/// The status of every CA of the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RotationStatus {
    /// One per CA, in [`RotatedCa::ALL`]'s order.
    pub cas: Vec<CaStatus>,
}

impl RotationStatus {
    /// Whether no CA has an inconsistency.
    pub fn is_consistent(&self) -> bool {
        self.cas.iter().all(|c| c.inconsistencies.is_empty())
    }
}

/// Reads the rotation status of `cas` from the tree, without writing or locking anything.
/// A CA whose trust file is absent (an external etcd) is left out.
///
/// # Errors
/// [`ClusterError::RotationFile`] for a trust file or state file that does not read;
/// read errors.
pub fn status(
    cert_dir: &Path,
    kubeconfig_dir: &Path,
    cas: &[RotatedCa],
) -> Result<RotationStatus, ClusterError> {
    let mut out = Vec::new();
    for &ca in cas {
        let paths = Paths::of(cert_dir, ca);
        if paths.trust.exists() {
            out.push(ca_status(cert_dir, kubeconfig_dir, ca, &paths)?);
        }
    }
    Ok(RotationStatus { cas: out })
}

fn optional_anchor(ca: RotatedCa, path: &Path) -> Result<Option<Anchor>, ClusterError> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(parse_anchors(ca, path, &read(path)?)?.into_iter().next())
}

fn ids(anchors: &[Anchor]) -> Vec<String> {
    anchors.iter().map(Anchor::id).collect()
}

fn ca_status(
    cert_dir: &Path,
    kubeconfig_dir: &Path,
    ca: RotatedCa,
    paths: &Paths,
) -> Result<CaStatus, ClusterError> {
    let trust = read_anchors(ca, &paths.trust)?;
    let new = optional_anchor(ca, &paths.new_anchor)?;
    let old = optional_anchor(ca, &paths.old_anchor)?;
    let recorded = read_state(&paths.state)?.map(|s| s.phase);
    let mut problems = Vec::new();
    let on_token = !paths.key.exists() && paths.key_uri.exists();
    let signer = match read_key(&paths.key) {
        // A key on a token (`ca.key.uri`): the signing certificate names its CA.
        _ if on_token => match super::keys::signing_anchor(paths, &trust) {
            Ok(anchor) => Some(anchor.clone()),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        },
        Ok(key) => {
            let found = trust.iter().find(|a| a.spki == key.public_key().to_der());
            if found.is_none() {
                problems.push(format!(
                    "{} is the key of no CA in {}",
                    paths.key.display(),
                    paths.trust.display()
                ));
            }
            found.cloned()
        }
        Err(e) => {
            problems.push(format!("the signing key does not read: {e}"));
            None
        }
    };
    let holds = |a: &Option<Anchor>| a.as_ref().is_some_and(|a| trust.contains(a));
    let phase = match trust.len() {
        1 if old.as_ref().is_some_and(|o| !trust.contains(o)) => Phase::Finished,
        1 => Phase::Idle,
        _ if holds(&new) => Phase::Started,
        _ if holds(&old) => Phase::Promoted,
        n => {
            problems.push(format!(
                "{} holds {n} CAs, none of them set aside by a rotation",
                paths.trust.display()
            ));
            Phase::Started
        }
    };
    if let Some(recorded) = recorded {
        if recorded != phase {
            problems.push(format!(
                "the files show {} but {} records {}: rerun that phase to complete it",
                phase.name(),
                paths.state.display(),
                recorded.name()
            ));
        }
    } else if phase != Phase::Idle {
        problems.push(format!("{} is missing", paths.state.display()));
    }
    if let (Some(s), Some(first)) = (&signer, trust.first())
        && s != first
    {
        problems.push(format!(
            "the first CA of {} is not the one that signs",
            paths.trust.display()
        ));
    }
    let mut files = vec![FileTrust {
        path: paths.trust.clone(),
        trusts: ids(&trust),
        signed_by: None,
    }];
    let known: Vec<&Anchor> = trust.iter().chain(new.iter()).chain(old.iter()).collect();
    if let Some(name) = ca.ca() {
        let signed = |path: &Path,
                      der: &[u8],
                      problems: &mut Vec<String>,
                      files: &mut Vec<FileTrust>| {
            let by = signer_of(&known, der);
            let text = by.map_or_else(|| "unknown".to_owned(), Anchor::id);
            if !by.is_some_and(|a| trust.contains(a)) {
                problems.push(format!(
                    "{} is signed by a CA that {} does not hold",
                    path.display(),
                    paths.trust.display()
                ));
            } else if matches!(phase, Phase::Promoted | Phase::Finished) && by != signer.as_ref() {
                problems.push(format!(
                    "{} is still signed by the old CA: rerun promote",
                    path.display()
                ));
            }
            files.push(FileTrust {
                path: path.to_path_buf(),
                trusts: Vec::new(),
                signed_by: Some(text),
            });
        };
        for leaf in LEAVES.iter().filter(|l| l.ca == name) {
            let path = crt(cert_dir, leaf.base);
            if path.exists() {
                signed(&path, &load_cert(&path)?, &mut problems, &mut files);
            }
        }
        if ca == RotatedCa::Cluster {
            for spec in KUBECONFIGS {
                let path = kubeconfig_dir.join(spec.file);
                if !path.exists() {
                    continue;
                }
                let (config, der, _) = read_kubeconfig(&path)?;
                if let Some(der) = der {
                    signed(&path, &der, &mut problems, &mut files);
                }
                let data = config
                    .current()
                    .map(|(cluster, _)| cluster.certificate_authority_data.clone())
                    .unwrap_or_default();
                let held = match data_field(&path, "certificate-authority-data", &data)? {
                    Some(bytes) => parse_anchors(ca, &path, &bytes)?,
                    None => Vec::new(),
                };
                if held != trust {
                    problems.push(format!(
                        "{}'s certificate-authority-data holds {:?}, {} holds {:?}",
                        path.display(),
                        ids(&held),
                        paths.trust.display(),
                        ids(&trust)
                    ));
                }
                files.push(FileTrust {
                    path,
                    trusts: ids(&held),
                    signed_by: None,
                });
            }
            let signing = signing_cert(cert_dir);
            if signing.exists() && matches!(phase, Phase::Started | Phase::Promoted) {
                let held = read_anchors(ca, &signing)?;
                if held.len() != 1 || Some(&held[0]) != signer.as_ref() {
                    problems.push(format!(
                        "{} is not the one certificate of the signing key",
                        signing.display()
                    ));
                }
            }
        }
    }
    Ok(CaStatus {
        ca,
        phase,
        recorded,
        trusted: ids(&trust),
        signing: signer.as_ref().map(Anchor::id),
        new: new.as_ref().map(Anchor::id),
        old: old.as_ref().map(Anchor::id),
        files,
        inconsistencies: problems,
    })
}

/// The anchor among `known` whose signature `der` carries.
fn signer_of<'a>(known: &[&'a Anchor], der: &[u8]) -> Option<&'a Anchor> {
    let cert = Certificate::from_der(der).ok()?;
    known
        .iter()
        .copied()
        .find(|a| CaCert::from_der("", a.cert_der.clone()).is_ok_and(|ca| ca.signed(&cert)))
}
