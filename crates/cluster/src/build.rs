//! Making what a [`Survey`] says is to be made: the CAs, the leaves, the service-account key
//! pair and the kubeconfig files, in kubeadm's order. Each new file is one job (its key
//! generated, its certificate signed and encoded), and the jobs run in parallel: first the
//! CAs, then everything they sign. The files are collected, not written: `init` writes them
//! as one change of the tree, `generate` hands them over in memory.

use std::path::PathBuf;
use std::time::SystemTime;

use kubepki_fs::FileKind;
use kubepki_keys::{KeyError, KeyPair, KeyPem, Signer};
use kubepki_parallel::parallel_map;
use kubepki_sign::{Ca, IssueOptions};

use crate::ClusterError;
use crate::files::{Writes, key_pem};
use crate::kubeconfig::ClientKubeconfig;
use crate::plan::{InitOptions, Plan, issue_fixed, subject_of};
use crate::report::{Action, InitReport};
use crate::survey::{CaState, FileState, SaState, Survey};
use crate::tree::{CaName, KubeconfigSpec, LeafSpec, crt, key};

/// The tree made: the files to write and what was done to each.
pub(crate) struct Built {
    pub(crate) writes: Writes,
    pub(crate) report: InitReport,
}

/// A file to write: its path, content and kind.
type NewFile = (PathBuf, KeyPem, FileKind);

/// One line of the report and the files behind it.
struct Made {
    name: &'static str,
    path: PathBuf,
    action: Action,
    files: Vec<NewFile>,
}

/// A file (or pair) of the tree below the CAs, with what becomes of it.
enum Item<'s> {
    Leaf(&'static LeafSpec, &'s FileState),
    Sa(&'s SaState),
    Kubeconfig(&'static KubeconfigSpec, &'s FileState),
}

/// What `build` works with: the plan, the options, the time, and the CAs once made.
struct Builder<'a> {
    plan: &'a Plan,
    options: &'a InitOptions,
    issue: IssueOptions,
    threads: usize,
}

/// Makes what `survey` says, with the files under `options.cert_dir` and
/// `options.kubeconfig_dir`, at `now`.
pub(crate) fn build(
    plan: &Plan,
    options: &InitOptions,
    survey: Survey,
    now: SystemTime,
) -> Result<Built, ClusterError> {
    let builder = Builder {
        plan,
        options,
        issue: IssueOptions::at(now),
        threads: if options.threads == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            options.threads
        },
    };
    let mut writes = Writes::default();
    let mut report = InitReport {
        warnings: survey.warnings,
        ..InitReport::default()
    };

    // The CAs first, each new one with its new key made in parallel: they sign the rest.
    let fresh = parallel_map(&survey.cas, builder.threads, |(ca, state)| {
        matches!(state, CaState::New(None)).then(|| builder.new_ca_with_key(*ca))
    });
    let mut signers: Vec<(CaName, Box<Ca>)> = Vec::new();
    for ((ca, state), fresh) in survey.cas.into_iter().zip(fresh) {
        let crt_path = crt(&options.cert_dir, ca.base());
        let (signer, action) = match (state, fresh) {
            (_, Some(made)) => {
                let (key_file, created) = made?;
                writes.push(key_file);
                writes.file(&crt_path, created.certificate_pem(), FileKind::Public);
                (Some(Box::new(created)), Action::Written)
            }
            (CaState::Present { signer, place }, None) => match place {
                Some(pem) => {
                    writes.file(&crt_path, pem, FileKind::Public);
                    (signer, Action::Written)
                }
                None => (signer, Action::Kept),
            },
            // Made above: `fresh` is `Some` for exactly these.
            (CaState::New(None), None) => {
                return Err(ClusterError::KeyGeneration(KeyError::Generation(format!(
                    "no key was made for the new CA {}",
                    ca.name()
                ))));
            }
            (CaState::New(Some(signer)), None) => {
                let created = builder.self_signed(ca, signer)?;
                writes.file(&crt_path, created.certificate_pem(), FileKind::Public);
                (Some(Box::new(created)), Action::Written)
            }
        };
        signers.extend(signer.map(|s| (ca, s)));
        report.push(ca.name(), crt_path, action);
    }

    // Then everything the CAs sign, one job per file or pair, in parallel.
    let items: Vec<Item<'_>> = survey
        .leaves
        .iter()
        .map(|(leaf, state)| Item::Leaf(leaf, state))
        .chain([Item::Sa(&survey.sa)])
        .chain(
            survey
                .kubeconfigs
                .iter()
                .map(|(spec, state)| Item::Kubeconfig(spec, state)),
        )
        .collect();
    let made = parallel_map(&items, builder.threads, |item| builder.make(item, &signers));
    for made in made {
        let Made {
            name,
            path,
            action,
            files,
        } = made?;
        writes.extend(files);
        report.push(name, path, action);
    }
    Ok(Built { writes, report })
}

impl Builder<'_> {
    /// A new CA: a new key, self-signed; with the key file to write.
    fn new_ca_with_key(&self, ca: CaName) -> Result<(NewFile, Ca), ClusterError> {
        let key_pair = self.new_key()?;
        let key_file = self.key_file(key(&self.options.cert_dir, ca.base()), &key_pair)?;
        Ok((key_file, self.self_signed(ca, Box::new(key_pair))?))
    }

    /// A new CA self-signed with `signer`.
    fn self_signed(&self, ca: CaName, signer: Box<dyn Signer>) -> Result<Ca, ClusterError> {
        let profile = self.plan.profile(ca.name())?;
        Ca::self_signed(signer, &subject_of(&profile), &profile, &self.issue).map_err(|source| {
            ClusterError::Sign {
                name: ca.name().to_owned(),
                source,
            }
        })
    }

    fn new_key(&self) -> Result<KeyPair, ClusterError> {
        KeyPair::generate(self.options.algorithm).map_err(ClusterError::KeyGeneration)
    }

    fn key_file(&self, path: PathBuf, key_pair: &KeyPair) -> Result<NewFile, ClusterError> {
        let pem = key_pem(&path, key_pair)?;
        Ok((path, pem, FileKind::Secret))
    }

    /// What becomes of `item`, with `signers` the CAs that have their key here.
    fn make(&self, item: &Item<'_>, signers: &[(CaName, Box<Ca>)]) -> Result<Made, ClusterError> {
        let dir = &self.options.cert_dir;
        let signer = |ca: CaName, what: &str| {
            signers
                .iter()
                .find(|(name, _)| *name == ca)
                .map(|(_, signer)| signer)
                .ok_or_else(|| ClusterError::NoCaKey {
                    ca: ca.name().to_owned(),
                    path: key(dir, ca.base()),
                    what: what.to_owned(),
                })
        };
        let kept_or_missing = |name, path, state: &FileState| {
            let action = match state {
                FileState::Missing(ca) => Action::Missing { ca },
                _ => Action::Kept,
            };
            Made {
                name,
                path,
                action,
                files: Vec::new(),
            }
        };
        Ok(match *item {
            Item::Leaf(leaf, state) => {
                let crt_path = crt(dir, leaf.base);
                if !matches!(state, FileState::New) {
                    return Ok(kept_or_missing(leaf.name, crt_path, state));
                }
                let profile = self.plan.profile(leaf.name)?;
                let ca = signer(leaf.ca, leaf.name)?;
                let key_pair = self.new_key()?;
                let issued = issue_fixed(ca, &key_pair, &profile, leaf.name, &self.issue)?;
                let key_file = self.key_file(key(dir, leaf.base), &key_pair)?;
                let cert_file = (
                    crt_path.clone(),
                    KeyPem::new(issued.pem()),
                    FileKind::Public,
                );
                Made {
                    name: leaf.name,
                    path: crt_path,
                    action: Action::Written,
                    files: vec![key_file, cert_file],
                }
            }
            Item::Sa(state) => {
                let (sa_key, sa_pub) = (dir.join("sa.key"), dir.join("sa.pub"));
                // sa.pub is 0600 as kubeadm writes it (client-go's keyutil.WriteKey), though
                // it is public.
                let (action, files) = match state {
                    SaState::Keep => (Action::Kept, Vec::new()),
                    SaState::WritePublic(pem) => (
                        Action::Kept,
                        vec![(sa_pub, KeyPem::new(pem.clone()), FileKind::Secret)],
                    ),
                    SaState::New => {
                        let key_pair = self.new_key()?;
                        let public = KeyPem::new(key_pair.public_key().to_pem());
                        let key_file = self.key_file(sa_key.clone(), &key_pair)?;
                        (
                            Action::Written,
                            vec![key_file, (sa_pub, public, FileKind::Secret)],
                        )
                    }
                };
                Made {
                    name: "sa",
                    path: sa_key,
                    action,
                    files,
                }
            }
            Item::Kubeconfig(spec, state) => {
                let path = self.options.kubeconfig_dir.join(spec.file);
                if !matches!(state, FileState::New) {
                    return Ok(kept_or_missing(spec.file, path, state));
                }
                let ca = signer(CaName::Ca, spec.file)?;
                let key_pair = self.new_key()?;
                let profile = self.plan.profile(spec.profile)?;
                let text = ClientKubeconfig {
                    cluster_name: &self.plan.cluster_name,
                    server: self.plan.server_for(spec),
                    subject: &subject_of(&profile),
                    profile: &profile,
                    name: spec.file,
                }
                .issue(ca, &key_pair, &self.issue)?;
                Made {
                    name: spec.file,
                    path: path.clone(),
                    action: Action::Written,
                    files: vec![(path, KeyPem::new(text), FileKind::Secret)],
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use crate::ca_source::{CaSigner, CaSource};
    use crate::plan::GroupsCompat;

    fn options() -> InitOptions {
        let mut options = InitOptions::new("pki", "", "node-1", "10.0.0.5".parse().expect("ip"));
        options.algorithm = kubepki_keys::KeyAlgorithm::EcdsaP256;
        options
    }

    /// The files made do not depend on how many threads make them: the same paths, of the
    /// same kinds, in kubeadm's order, each certificate after its key, in every shape of
    /// the tree.
    #[test]
    fn the_files_made_are_the_same_on_any_number_of_threads() {
        let signer = Arc::new(
            kubepki_keys::KeyPair::generate(kubepki_keys::KeyAlgorithm::EcdsaP256).expect("key"),
        );
        let mut shapes = Vec::new();
        shapes.push(options());
        let mut external_etcd = options();
        external_etcd.external_etcd = true;
        shapes.push(external_etcd);
        let mut v1_28 = options();
        v1_28.groups_compat = GroupsCompat::V1_28;
        shapes.push(v1_28);
        let mut on_signer = options();
        on_signer.ca = CaSource::signer(signer.clone());
        shapes.push(on_signer);
        let mut both = options();
        both.external_etcd = true;
        both.ca = CaSource::Signer {
            signer: CaSigner(signer),
            certificate: None,
            key_uri: None,
        };
        shapes.push(both);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for mut options in shapes {
            let mut made = Vec::new();
            for threads in [1, 2, 5] {
                options.threads = threads;
                let plan = Plan::new(&options).expect("plan");
                let survey = Survey::empty(&plan, &options.ca).expect("survey");
                let built = build(&plan, &options, survey, now).expect("build");
                let files: Vec<(PathBuf, FileKind)> = built
                    .writes
                    .into_new_files()
                    .into_iter()
                    .map(|(path, _, kind)| (path, kind))
                    .collect();
                for (i, (path, _)) in files.iter().enumerate() {
                    if path.extension().is_some_and(|e| e == "crt") && !path.ends_with("ca.crt") {
                        let key = path.with_extension("key");
                        let before = files[..i].iter().any(|(p, _)| *p == key);
                        assert!(
                            before || !path.starts_with("pki"),
                            "{path:?} before its key"
                        );
                    }
                }
                made.push(files);
            }
            assert_eq!(made[0], made[1], "{options:?}");
            assert_eq!(made[0], made[2], "{options:?}");
            let keys = made[0]
                .iter()
                .filter(|(p, _)| p.extension().is_some_and(|e| e == "key"))
                .count();
            let expected = if options.external_etcd { 6 } else { 11 };
            let expected = expected - usize::from(!matches!(options.ca, CaSource::File));
            assert_eq!(keys, expected, "{options:?}");
        }
    }
}
