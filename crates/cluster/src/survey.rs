//! What the tree holds already and what becomes of each of its files: kept (it fits), made,
//! or missing (its CA's key is elsewhere). Read from the disk for `init`, or assumed empty
//! for `generate`. Nothing here writes.

use std::path::Path;
use std::time::SystemTime;

use kubepki_keys::{PublicKey, Signer};
use kubepki_sign::Ca;

use crate::ca_source::CaSource;
use crate::check::{CaCert, check_cert, check_kubeconfig, existing_ca, misfit};
use crate::files::{load_cert, load_key, pending_csr, read};
use crate::plan::{InitOptions, Plan};
use crate::tree::{CaName, KubeconfigSpec, LeafSpec, crt, key};
use crate::{ClusterError, Misfit};

/// What becomes of a CA.
pub(crate) enum CaState {
    /// In the tree, or given and to be placed as its certificate (`place`, the PEM): with
    /// the key that signs for it, or without (external CA mode).
    Present {
        signer: Option<Box<Ca>>,
        place: Option<String>,
    },
    /// To be made, self-signed with a new key file (`None`) or with the given signer.
    New(Option<Box<dyn Signer>>),
}

/// What becomes of a leaf certificate or a kubeconfig file.
pub(crate) enum FileState {
    /// It exists and fits.
    Keep,
    /// It is made now.
    New,
    /// Its CA (named) has no key here: it is to be signed elsewhere.
    Missing(&'static str),
}

/// What becomes of the service-account key pair.
pub(crate) enum SaState {
    /// Both files exist and match.
    Keep,
    /// `sa.key` exists without `sa.pub`: the public half (this PEM) is written from it.
    WritePublic(String),
    /// Both are made now.
    New,
}

/// Every file of the tree and what becomes of it, in kubeadm's order.
pub(crate) struct Survey {
    pub(crate) cas: Vec<(CaName, CaState)>,
    pub(crate) leaves: Vec<(&'static LeafSpec, FileState)>,
    pub(crate) sa: SaState,
    pub(crate) kubeconfigs: Vec<(&'static KubeconfigSpec, FileState)>,
    /// What is kept though not as it would be written.
    pub(crate) warnings: Vec<String>,
}

impl Survey {
    /// An empty tree: everything is made. External CA mode has nowhere to leave what it
    /// cannot sign.
    pub(crate) fn empty(plan: &Plan, source: &CaSource) -> Result<Self, ClusterError> {
        let cas = plan
            .cas()
            .map(|ca| {
                let state = match source {
                    _ if ca != CaName::Ca => CaState::New(None),
                    CaSource::File => CaState::New(None),
                    CaSource::Signer {
                        signer,
                        certificate: None,
                        ..
                    } => CaState::New(Some(signer.boxed())),
                    CaSource::Signer {
                        signer,
                        certificate: Some(given),
                        ..
                    } => CaState::Present {
                        signer: Some(Box::new(given_ca(given.der(), signer.boxed())?)),
                        place: Some(given.pem()),
                    },
                    CaSource::External(_) => return Err(ClusterError::ExternalCaInMemory),
                };
                Ok((ca, state))
            })
            .collect::<Result<_, ClusterError>>()?;
        Ok(Survey {
            cas,
            leaves: plan.leaves().map(|l| (l, FileState::New)).collect(),
            sa: SaState::New,
            kubeconfigs: plan.kubeconfigs().map(|k| (k, FileState::New)).collect(),
            warnings: Vec::new(),
        })
    }

    /// The tree under `options.cert_dir` and `options.kubeconfig_dir` as found at `now`:
    /// what fits is kept, what is missing is made; a file that does not fit, or half a pair,
    /// stops everything before anything is written.
    pub(crate) fn read(
        plan: &Plan,
        options: &InitOptions,
        now: SystemTime,
    ) -> Result<Self, ClusterError> {
        let dir = &options.cert_dir;
        let mut cas = Vec::new();
        let mut ca_certs: Vec<(CaName, CaCert)> = Vec::new();
        for ca in plan.cas() {
            let source = (ca == CaName::Ca).then_some(&options.ca);
            let (state, cert) = read_ca(dir, ca, source, now)?;
            ca_certs.extend(cert.map(|c| (ca, c)));
            cas.push((ca, state));
        }
        let ca_cert = |name: CaName| ca_certs.iter().find(|(ca, _)| *ca == name).map(|c| &c.1);
        let external = |name: CaName| {
            cas.iter().any(|(ca, state)| {
                *ca == name && matches!(state, CaState::Present { signer: None, .. })
            })
        };

        let mut leaves = Vec::new();
        for leaf in plan.leaves() {
            let state = read_leaf(plan, dir, leaf, ca_cert(leaf.ca), external(leaf.ca), now)?;
            leaves.push((leaf, state));
        }
        let sa = read_sa(dir)?;

        let mut warnings = plan.warnings();
        let mut kubeconfigs = Vec::new();
        for spec in plan.kubeconfigs() {
            let path = options.kubeconfig_dir.join(spec.file);
            let state = if path.exists() {
                let profile = plan.profile(spec.profile)?;
                let Some(ca) = ca_cert(CaName::Ca) else {
                    return Err(misfit(&path)(Misfit::WrongCaData {
                        ca: "ca".to_owned(),
                    }));
                };
                match check_kubeconfig(&path, ca, &profile, plan.server_for(spec), now) {
                    Ok(warning) => {
                        warnings.extend(warning.map(|w| format!("{}: {w}", path.display())));
                        FileState::Keep
                    }
                    // A partial kubeconfig from `certs generate-csr`, its request not signed yet.
                    Err(ClusterError::Misfit {
                        reason: Misfit::KubeconfigIncomplete("client certificate"),
                        ..
                    }) if external(CaName::Ca) && pending_csr(&path).exists() => {
                        FileState::Missing("ca")
                    }
                    Err(e) => return Err(e),
                }
            } else if external(CaName::Ca) {
                FileState::Missing("ca")
            } else {
                FileState::New
            };
            kubeconfigs.push((spec, state));
        }
        Ok(Survey {
            cas,
            leaves,
            sa,
            kubeconfigs,
            warnings,
        })
    }
}

/// A CA whose certificate `der` is given (not read from the tree) with the key that signs
/// for it.
fn given_ca(der: &[u8], signer: Box<dyn Signer>) -> Result<Ca, ClusterError> {
    Ca::from_der(der, signer, Vec::new()).map_err(|source| ClusterError::Sign {
        name: "the given CA certificate".to_owned(),
        source,
    })
}

/// What becomes of CA `ca`, and its certificate (for checking what it signed) when it has
/// one. `source` is where its key comes from (`None`: a file, as for every CA but the
/// cluster CA).
fn read_ca(
    dir: &Path,
    ca: CaName,
    source: Option<&CaSource>,
    now: SystemTime,
) -> Result<(CaState, Option<CaCert>), ClusterError> {
    let (crt_path, key_path) = (crt(dir, ca.base()), key(dir, ca.base()));
    let given = source.and_then(CaSource::given_certificate);
    let signer = match source {
        Some(CaSource::Signer { signer, .. }) => Some(signer),
        _ => None,
    };
    // The certificate: the tree's (which must be the one given, if any), else the one given.
    let (der, place) = match (crt_path.exists(), given) {
        (true, given) => {
            let der = load_cert(&crt_path)?;
            if given.is_some_and(|g| g.der() != der.as_slice()) {
                return Err(misfit(&crt_path)(Misfit::NotTheGivenCa));
            }
            (Some(der), None)
        }
        (false, Some(given)) => (Some(given.der().to_vec()), Some(given.pem())),
        (false, None) => (None, None),
    };
    let state = match (der, key_path.exists(), signer) {
        (_, true, Some(_)) => return Err(misfit(&key_path)(Misfit::KeyOnToken)),
        (Some(der), false, Some(signer)) => CaState::Present {
            signer: Some(Box::new(existing_ca(&crt_path, &der, signer.boxed(), now)?)),
            place,
        },
        (None, false, Some(signer)) => CaState::New(Some(signer.boxed())),
        (Some(der), true, None) => {
            let key = Box::new(load_key(&key_path)?);
            CaState::Present {
                signer: Some(Box::new(existing_ca(&crt_path, &der, key, now)?)),
                place,
            }
        }
        (Some(der), false, None) => {
            let cert = ca_cert(&crt_path, ca, der)?;
            return Ok((
                CaState::Present {
                    signer: None,
                    place,
                },
                Some(cert),
            ));
        }
        (None, true, None) => {
            return Err(ClusterError::IncompletePair {
                present: key_path,
                missing: crt_path,
            });
        }
        (None, false, None) => CaState::New(None),
    };
    let cert = match &state {
        CaState::Present {
            signer: Some(loaded),
            ..
        } => Some(ca_cert(&crt_path, ca, loaded.certificate_der().to_vec())?),
        _ => None,
    };
    Ok((state, cert))
}

fn ca_cert(crt_path: &Path, ca: CaName, der: Vec<u8>) -> Result<CaCert, ClusterError> {
    CaCert::from_der(ca.name(), der).map_err(|source| ClusterError::Sign {
        name: crt_path.display().to_string(),
        source,
    })
}

/// What becomes of leaf `leaf`, signed by `ca` (`None`: its CA is to be made), which has no
/// key here when `external`.
fn read_leaf(
    plan: &Plan,
    dir: &Path,
    leaf: &LeafSpec,
    ca: Option<&CaCert>,
    external: bool,
    now: SystemTime,
) -> Result<FileState, ClusterError> {
    let (crt_path, key_path) = (crt(dir, leaf.base), key(dir, leaf.base));
    Ok(match (crt_path.exists(), key_path.exists()) {
        (true, true) => {
            let profile = plan.profile(leaf.name)?;
            let der = load_cert(&crt_path)?;
            let key = load_key(&key_path)?;
            let Some(ca) = ca else {
                return Err(misfit(&crt_path)(Misfit::NotSignedBy {
                    ca: leaf.ca.name().to_owned(),
                }));
            };
            check_cert(&crt_path, &der, key.public_key(), ca, &profile, now)?;
            FileState::Keep
        }
        (true, false) => {
            return Err(ClusterError::IncompletePair {
                present: crt_path,
                missing: key_path,
            });
        }
        // `certs generate-csr` left a key and a request for the external CA to sign.
        (false, true) if external && pending_csr(&crt_path).exists() => {
            FileState::Missing(leaf.ca.name())
        }
        (false, true) => {
            return Err(ClusterError::IncompletePair {
                present: key_path,
                missing: crt_path,
            });
        }
        (false, false) if external => FileState::Missing(leaf.ca.name()),
        (false, false) => FileState::New,
    })
}

/// What becomes of `sa.key` and `sa.pub`.
fn read_sa(dir: &Path) -> Result<SaState, ClusterError> {
    let sa_key = dir.join("sa.key");
    let sa_pub = dir.join("sa.pub");
    Ok(match (sa_key.exists(), sa_pub.exists()) {
        (true, true) => {
            let key = load_key(&sa_key)?;
            let text = String::from_utf8(read(&sa_pub)?).unwrap_or_default();
            let public = PublicKey::from_pem(&text).map_err(|source| ClusterError::Key {
                path: sa_pub.clone(),
                source,
            })?;
            if public != *key.public_key() {
                return Err(misfit(&sa_pub)(Misfit::WrongKey));
            }
            SaState::Keep
        }
        (true, false) => SaState::WritePublic(load_key(&sa_key)?.public_key().to_pem()),
        (false, true) => {
            return Err(ClusterError::IncompletePair {
                present: sa_pub,
                missing: sa_key,
            });
        }
        (false, false) => SaState::New,
    })
}
