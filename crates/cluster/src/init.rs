//! `init`: lay out the kubeadm tree, keeping what fits and creating what is missing.

use std::path::PathBuf;
use std::time::SystemTime;

use kubepki_fs::FileKind;
use kubepki_keys::{KeyError, PublicKey, Signer};
use kubepki_profile::format_duration;
use kubepki_sign::{Ca, IssueOptions};

use crate::check::{CaCert, check_cert, check_kubeconfig, existing_ca, misfit};
use crate::files::{Writes, ensure_dir, load_cert, load_key, lock_tree, pending_csr, read};
use crate::keygen::generate_keys;
use crate::kubeconfig::ClientKubeconfig;
use crate::plan::{InitOptions, Plan, subject_of};
use crate::tree::{CaName, KubeconfigSpec, LEAVES, LeafSpec, crt, key};
use crate::{ClusterError, Misfit};

/// What happened to one file (or key/certificate pair).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Created now.
    Written,
    /// Existed, fits, left untouched.
    Kept,
    /// Not written: its CA's key is absent (external CA mode); it must be signed elsewhere.
    Missing {
        /// The CA whose key is missing.
        ca: &'static str,
    },
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportEntry {
    /// kubeadm's name (`ca`, `apiserver`, `admin.conf`, `sa`).
    pub name: String,
    /// The certificate, kubeconfig or `sa.key` file.
    pub path: PathBuf,
    /// What was done.
    pub action: Action,
}

/// What `init` did, file by file, in kubeadm's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitReport {
    /// The entries.
    pub entries: Vec<ReportEntry>,
    /// What was kept although it is not as `init` would write it (a kubeconfig file's
    /// server URL, a kubelet-managed client certificate), one line each.
    pub warnings: Vec<String>,
}

impl InitReport {
    /// The entries with this action.
    pub fn with(&self, action: &Action) -> impl Iterator<Item = &ReportEntry> {
        let action = action.clone();
        self.entries.iter().filter(move |e| e.action == action)
    }

    /// Whether some files could not be made (external CA mode).
    pub fn is_incomplete(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.action, Action::Missing { .. }))
    }
}

enum CaState {
    /// Certificate and key present.
    Loaded(Ca),
    /// Certificate present, key absent: external CA mode.
    External(Box<CaCert>),
    /// To be created.
    New,
    /// To be created with the caller's signer (a key on a token): no key file.
    NewWithSigner(Box<dyn Signer>),
    /// Not part of this tree (etcd CA with an external etcd).
    Skipped,
}

enum LeafState {
    Keep,
    New,
    Missing(&'static str),
}

/// Lays out kubeadm's tree under `options.cert_dir` and `options.kubeconfig_dir` at time
/// `now`: the three CAs, the leaf certificates, `sa.key`/`sa.pub`, and the kubeconfig files.
/// What exists and fits is kept; a CA is never replaced; what is missing is created, keys
/// generated in parallel. A CA whose certificate is present without its key (external CA
/// mode) signs nothing: what it would sign is reported as [`Action::Missing`].
///
/// # Errors
/// [`ClusterError::Misfit`] naming the first existing file that does not fit and why, before
/// anything is written; [`ClusterError::IncompletePair`] for a certificate without its key or
/// the reverse; [`ClusterError::InvalidSan`], [`ClusterError::InvalidEndpoint`],
/// [`ClusterError::Profile`] for bad options; [`ClusterError::Fs`] when writing fails.
pub fn init(options: &InitOptions, now: SystemTime) -> Result<InitReport, ClusterError> {
    init_with_ca_signer(options, now, None)
}

/// As [`init`], with the cluster CA's key held by `ca_signer` (a key on a PKCS#11 token)
/// instead of `ca.key`: a missing `ca.crt` is self-signed with it, an existing one must be
/// its certificate, and no `ca.key` is written. The front-proxy and etcd CAs are files as
/// usual.
///
/// # Errors
/// As [`init`]; [`ClusterError::Misfit`] when `ca.key` exists (the key cannot be both a file
/// and on the token) or `ca.crt` is not the signer's certificate.
pub fn init_with_ca_signer(
    options: &InitOptions,
    now: SystemTime,
    mut ca_signer: Option<Box<dyn Signer>>,
) -> Result<InitReport, ClusterError> {
    let plan = Plan::new(options)?;
    let dir = &options.cert_dir;
    let kdir = &options.kubeconfig_dir;
    ensure_dir(dir)?;
    ensure_dir(kdir)?;
    let (lock, recovered) = lock_tree(dir, kdir)?;
    if !options.external_etcd {
        ensure_dir(&dir.join("etcd"))?;
    }
    let issue = IssueOptions::at(now);

    // Phase 1: read what exists and decide; nothing is written yet.
    let mut cas: Vec<CaState> = Vec::new();
    for ca in CaName::ALL {
        let (crt_path, key_path) = (crt(dir, ca.base()), key(dir, ca.base()));
        let given = if ca == CaName::Ca {
            ca_signer.take()
        } else {
            None
        };
        let state = match (crt_path.exists(), key_path.exists(), given) {
            _ if ca == CaName::EtcdCa && options.external_etcd => CaState::Skipped,
            (_, true, Some(_)) => {
                return Err(misfit(&key_path)(Misfit::KeyOnToken));
            }
            (true, false, Some(signer)) => CaState::Loaded(existing_ca(&crt_path, signer, now)?),
            (false, false, Some(signer)) => CaState::NewWithSigner(signer),
            (true, true, None) => {
                let key = Box::new(load_key(&key_path)?);
                CaState::Loaded(existing_ca(&crt_path, key, now)?)
            }
            (true, false, None) => {
                let der = load_cert(&crt_path)?;
                CaState::External(Box::new(CaCert::from_der(ca.name(), der).map_err(
                    |source| ClusterError::Sign {
                        name: crt_path.display().to_string(),
                        source,
                    },
                )?))
            }
            (false, true, None) => {
                return Err(ClusterError::IncompletePair {
                    present: key_path,
                    missing: crt_path,
                });
            }
            (false, false, None) => CaState::New,
        };
        cas.push(state);
    }
    let ca_certs: Vec<Option<CaCert>> = CaName::ALL
        .iter()
        .zip(&cas)
        .map(|(ca, state)| match state {
            CaState::Loaded(loaded) => {
                CaCert::from_der(ca.name(), loaded.certificate_der().to_vec())
                    .map(Some)
                    .map_err(|source| ClusterError::Sign {
                        name: crt(dir, ca.base()).display().to_string(),
                        source,
                    })
            }
            CaState::External(cert) => Ok(Some(CaCert {
                name: cert.name,
                der: cert.der.clone(),
                cert: cert.cert.clone(),
            })),
            CaState::New | CaState::NewWithSigner(_) | CaState::Skipped => Ok(None),
        })
        .collect::<Result<_, ClusterError>>()?;
    let external = |ca: CaName| matches!(cas.get(ca.index()), Some(CaState::External(_)));

    let leaves: Vec<&LeafSpec> = LEAVES
        .iter()
        .filter(|l| !(l.etcd && options.external_etcd && l.ca == CaName::EtcdCa))
        .collect();
    // With an external etcd, kubeadm still needs apiserver-etcd-client only when it has the
    // etcd CA; we leave all etcd certificates out.
    let mut leaf_states = Vec::new();
    for leaf in &leaves {
        let (crt_path, key_path) = (crt(dir, leaf.base), key(dir, leaf.base));
        let state = match (crt_path.exists(), key_path.exists()) {
            (true, true) => {
                let profile = plan.profile(leaf.name)?;
                let der = load_cert(&crt_path)?;
                let key = load_key(&key_path)?;
                let Some(ca) = ca_certs.get(leaf.ca.index()).and_then(Option::as_ref) else {
                    return Err(misfit(&crt_path)(Misfit::NotSignedBy {
                        ca: leaf.ca.name().to_owned(),
                    }));
                };
                check_cert(&crt_path, &der, key.public_key(), ca, &profile, now)?;
                LeafState::Keep
            }
            (true, false) => {
                return Err(ClusterError::IncompletePair {
                    present: crt_path,
                    missing: key_path,
                });
            }
            // `certs generate-csr` left a key and a request for the external CA to sign.
            (false, true) if external(leaf.ca) && pending_csr(&crt_path).exists() => {
                LeafState::Missing(leaf.ca.name())
            }
            (false, true) => {
                return Err(ClusterError::IncompletePair {
                    present: key_path,
                    missing: crt_path,
                });
            }
            (false, false) if external(leaf.ca) => LeafState::Missing(leaf.ca.name()),
            (false, false) => LeafState::New,
        };
        leaf_states.push(state);
    }

    let sa_key = dir.join("sa.key");
    let sa_pub = dir.join("sa.pub");
    let sa_new = match (sa_key.exists(), sa_pub.exists()) {
        (true, pub_exists) => {
            let key = load_key(&sa_key)?;
            if pub_exists {
                let text = String::from_utf8(read(&sa_pub)?).unwrap_or_default();
                let public = PublicKey::from_pem(&text).map_err(|source| ClusterError::Key {
                    path: sa_pub.clone(),
                    source,
                })?;
                if public != *key.public_key() {
                    return Err(misfit(&sa_pub)(Misfit::WrongKey));
                }
                None
            } else {
                Some(key)
            }
        }
        (false, true) => {
            return Err(ClusterError::IncompletePair {
                present: sa_pub,
                missing: sa_key,
            });
        }
        (false, false) => None,
    };
    let sa_generate = !sa_key.exists();

    let kubeconfigs: Vec<&KubeconfigSpec> = plan.kubeconfigs().collect();
    let mut kc_states = Vec::new();
    let mut warnings: Vec<String> = recovered.into_iter().collect();
    // kubeadm's validation warning, word for word; kubeadm then issues as asked, kubepki
    // clamps each certificate to its CA's NotAfter (a certificate that outlives its CA
    // fails verification from that day on).
    if let (Some(leaf), Some(ca)) = (plan.cert_validity, plan.ca_validity)
        && leaf > ca
    {
        warnings.push(format!(
            "certificateValidityPeriod: the value {} is more than the caCertificateValidityPeriod: {}; \
             each certificate is clamped to its CA's NotAfter",
            format_duration(leaf),
            format_duration(ca)
        ));
    }
    for spec in &kubeconfigs {
        let path = kdir.join(spec.file);
        let state = if path.exists() {
            let profile = plan.profile(spec.profile)?;
            let Some(ca) = ca_certs.first().and_then(Option::as_ref) else {
                return Err(misfit(&path)(Misfit::WrongCaData {
                    ca: "ca".to_owned(),
                }));
            };
            match check_kubeconfig(&path, ca, &profile, plan.server_for(spec), now) {
                Ok(warning) => {
                    warnings.extend(warning.map(|w| format!("{}: {w}", path.display())));
                    LeafState::Keep
                }
                // A partial kubeconfig from `certs generate-csr`, its request not signed yet.
                Err(ClusterError::Misfit {
                    reason: Misfit::KubeconfigIncomplete("client certificate"),
                    ..
                }) if external(CaName::Ca) && pending_csr(&path).exists() => {
                    LeafState::Missing("ca")
                }
                Err(e) => return Err(e),
            }
        } else if external(CaName::Ca) {
            LeafState::Missing("ca")
        } else {
            LeafState::New
        };
        kc_states.push(state);
    }

    // Phase 2: generate every key needed, in parallel.
    let mut wanted = 0;
    wanted += cas.iter().filter(|c| matches!(c, CaState::New)).count();
    wanted += leaf_states
        .iter()
        .filter(|s| matches!(s, LeafState::New))
        .count();
    wanted += kc_states
        .iter()
        .filter(|s| matches!(s, LeafState::New))
        .count();
    wanted += usize::from(sa_generate);
    let mut keys = generate_keys(&vec![options.algorithm; wanted], options.threads)?.into_iter();
    let mut take_key = || {
        keys.next().ok_or_else(|| {
            ClusterError::KeyGeneration(KeyError::Generation("too few keys generated".to_owned()))
        })
    };

    // Phase 3: issue, then write everything.
    let mut writes = Writes::default();
    let mut report = InitReport {
        warnings,
        ..InitReport::default()
    };
    let mut signers: Vec<Option<Ca>> = Vec::new();
    for (ca, state) in CaName::ALL.iter().zip(cas) {
        let crt_path = crt(dir, ca.base());
        let action = match state {
            CaState::Loaded(loaded) => {
                signers.push(Some(loaded));
                Action::Kept
            }
            CaState::External(_) => {
                signers.push(None);
                Action::Kept
            }
            CaState::Skipped => {
                signers.push(None);
                continue;
            }
            CaState::New => {
                let profile = plan.profile(ca.name())?;
                let key = take_key()?;
                let key_path = crate::tree::key(dir, ca.base());
                writes.key(&key_path, &key)?;
                let created =
                    Ca::self_signed(Box::new(key), &subject_of(&profile), &profile, &issue)
                        .map_err(|source| ClusterError::Sign {
                            name: ca.name().to_owned(),
                            source,
                        })?;
                writes.file(&crt_path, created.certificate_pem(), FileKind::Public);
                signers.push(Some(created));
                Action::Written
            }
            CaState::NewWithSigner(signer) => {
                let profile = plan.profile(ca.name())?;
                let created = Ca::self_signed(signer, &subject_of(&profile), &profile, &issue)
                    .map_err(|source| ClusterError::Sign {
                        name: ca.name().to_owned(),
                        source,
                    })?;
                writes.file(&crt_path, created.certificate_pem(), FileKind::Public);
                signers.push(Some(created));
                Action::Written
            }
        };
        report.entries.push(ReportEntry {
            name: ca.name().to_owned(),
            path: crt_path,
            action,
        });
    }
    let signer = |ca: CaName| signers.get(ca.index()).and_then(Option::as_ref);

    for (leaf, state) in leaves.iter().zip(leaf_states) {
        let crt_path = crt(dir, leaf.base);
        let action = match state {
            LeafState::Keep => Action::Kept,
            LeafState::Missing(ca) => Action::Missing { ca },
            LeafState::New => {
                let profile = plan.profile(leaf.name)?;
                let ca = signer(leaf.ca).ok_or_else(|| ClusterError::NoCaKey {
                    ca: leaf.ca.name().to_owned(),
                    path: key(dir, leaf.ca.base()),
                    what: leaf.name.to_owned(),
                })?;
                let key = take_key()?;
                let issued = ca
                    .issue_for_key(
                        key.public_key(),
                        &subject_of(&profile),
                        &[],
                        &profile,
                        &issue,
                    )
                    .map_err(|source| ClusterError::Sign {
                        name: leaf.name.to_owned(),
                        source,
                    })?;
                writes.key(&crate::tree::key(dir, leaf.base), &key)?;
                writes.file(&crt_path, issued.pem(), FileKind::Public);
                Action::Written
            }
        };
        report.entries.push(ReportEntry {
            name: leaf.name.to_owned(),
            path: crt_path,
            action,
        });
    }

    let sa_action = if sa_generate {
        let key = take_key()?;
        writes.key(&sa_key, &key)?;
        // 0600 as kubeadm writes it (client-go's keyutil.WriteKey), though it is public.
        writes.file(&sa_pub, key.public_key().to_pem(), FileKind::Secret);
        Action::Written
    } else {
        if let Some(key) = sa_new {
            // 0600 as kubeadm writes it (client-go's keyutil.WriteKey), though it is public.
            writes.file(&sa_pub, key.public_key().to_pem(), FileKind::Secret);
        }
        Action::Kept
    };
    report.entries.push(ReportEntry {
        name: "sa".to_owned(),
        path: sa_key,
        action: sa_action,
    });

    for (spec, state) in kubeconfigs.iter().zip(kc_states) {
        let path = kdir.join(spec.file);
        let action = match state {
            LeafState::Keep => Action::Kept,
            LeafState::Missing(ca) => Action::Missing { ca },
            LeafState::New => {
                let ca = signer(CaName::Ca).ok_or_else(|| ClusterError::NoCaKey {
                    ca: "ca".to_owned(),
                    path: key(dir, "ca"),
                    what: spec.file.to_owned(),
                })?;
                let key = take_key()?;
                let profile = plan.profile(spec.profile)?;
                let text = ClientKubeconfig {
                    cluster_name: &plan.cluster_name,
                    server: plan.server_for(spec),
                    subject: &subject_of(&profile),
                    profile: &profile,
                    name: spec.file,
                }
                .issue(ca, &key, &issue)?;
                writes.file(&path, text, FileKind::Secret);
                Action::Written
            }
        };
        report.entries.push(ReportEntry {
            name: spec.file.to_owned(),
            path,
            action,
        });
    }
    writes.flush(&lock)?;
    Ok(report)
}
