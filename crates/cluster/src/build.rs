//! Making what a [`Survey`] says is to be made: the keys (all at once, in parallel), the
//! CAs, the leaves, the service-account key pair and the kubeconfig files, in kubeadm's
//! order. The files are collected, not written: `init` writes them as one change of the
//! tree, `generate` hands them over in memory.

use std::time::SystemTime;

use kubepki_fs::FileKind;
use kubepki_keys::{KeyError, KeyPair};
use kubepki_sign::{Ca, IssueOptions};

use crate::ClusterError;
use crate::files::Writes;
use crate::keygen::generate_keys;
use crate::kubeconfig::ClientKubeconfig;
use crate::plan::{InitOptions, Plan, issue_fixed, subject_of};
use crate::report::{Action, InitReport};
use crate::survey::{CaState, FileState, SaState, Survey};
use crate::tree::{CaName, crt, key};

/// The tree made: the files to write and what was done to each.
pub(crate) struct Built {
    pub(crate) writes: Writes,
    pub(crate) report: InitReport,
}

/// The keys made for a tree, taken one by one.
struct Keys(std::vec::IntoIter<KeyPair>);

impl Keys {
    /// Exactly the keys `survey` needs, made in parallel.
    fn for_survey(survey: &Survey, options: &InitOptions) -> Result<Self, ClusterError> {
        let algorithms = vec![options.algorithm; survey.keys_needed()];
        Ok(Keys(
            generate_keys(&algorithms, options.threads)?.into_iter(),
        ))
    }

    fn take(&mut self) -> Result<KeyPair, ClusterError> {
        self.0.next().ok_or_else(|| {
            ClusterError::KeyGeneration(KeyError::Generation("too few keys generated".to_owned()))
        })
    }
}

/// Makes what `survey` says, with the files under `options.cert_dir` and
/// `options.kubeconfig_dir`, at `now`.
pub(crate) fn build(
    plan: &Plan,
    options: &InitOptions,
    survey: Survey,
    now: SystemTime,
) -> Result<Built, ClusterError> {
    let dir = &options.cert_dir;
    let issue = IssueOptions::at(now);
    let mut keys = Keys::for_survey(&survey, options)?;
    let mut writes = Writes::default();
    let mut report = InitReport {
        warnings: survey.warnings,
        ..InitReport::default()
    };

    let mut signers: Vec<(CaName, Box<Ca>)> = Vec::new();
    for (ca, state) in survey.cas {
        let crt_path = crt(dir, ca.base());
        let (signer, action) = match state {
            CaState::Present { signer, place } => match place {
                Some(pem) => {
                    writes.file(&crt_path, pem, FileKind::Public);
                    (signer, Action::Written)
                }
                None => (signer, Action::Kept),
            },
            CaState::New(given) => {
                let profile = plan.profile(ca.name())?;
                let signer = match given {
                    Some(signer) => signer,
                    None => {
                        let key_pair = keys.take()?;
                        writes.key(&key(dir, ca.base()), &key_pair)?;
                        Box::new(key_pair)
                    }
                };
                let created = Ca::self_signed(signer, &subject_of(&profile), &profile, &issue)
                    .map_err(|source| ClusterError::Sign {
                        name: ca.name().to_owned(),
                        source,
                    })?;
                writes.file(&crt_path, created.certificate_pem(), FileKind::Public);
                (Some(Box::new(created)), Action::Written)
            }
        };
        signers.extend(signer.map(|s| (ca, s)));
        report.push(ca.name(), crt_path, action);
    }
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

    for (leaf, state) in survey.leaves {
        let crt_path = crt(dir, leaf.base);
        let action = match state {
            FileState::Keep => Action::Kept,
            FileState::Missing(ca) => Action::Missing { ca },
            FileState::New => {
                let profile = plan.profile(leaf.name)?;
                let ca = signer(leaf.ca, leaf.name)?;
                let key_pair = keys.take()?;
                let issued = issue_fixed(ca, &key_pair, &profile, leaf.name, &issue)?;
                writes.key(&key(dir, leaf.base), &key_pair)?;
                writes.file(&crt_path, issued.pem(), FileKind::Public);
                Action::Written
            }
        };
        report.push(leaf.name, crt_path, action);
    }

    let (sa_key, sa_pub) = (dir.join("sa.key"), dir.join("sa.pub"));
    // sa.pub is 0600 as kubeadm writes it (client-go's keyutil.WriteKey), though it is public.
    let sa_action = match survey.sa {
        SaState::Keep => Action::Kept,
        SaState::WritePublic(pem) => {
            writes.file(&sa_pub, pem, FileKind::Secret);
            Action::Kept
        }
        SaState::New => {
            let key_pair = keys.take()?;
            writes.key(&sa_key, &key_pair)?;
            writes.file(&sa_pub, key_pair.public_key().to_pem(), FileKind::Secret);
            Action::Written
        }
    };
    report.push("sa", sa_key, sa_action);

    for (spec, state) in survey.kubeconfigs {
        let path = options.kubeconfig_dir.join(spec.file);
        let action = match state {
            FileState::Keep => Action::Kept,
            FileState::Missing(ca) => Action::Missing { ca },
            FileState::New => {
                let ca = signer(CaName::Ca, spec.file)?;
                let key_pair = keys.take()?;
                let profile = plan.profile(spec.profile)?;
                let text = ClientKubeconfig {
                    cluster_name: &plan.cluster_name,
                    server: plan.server_for(spec),
                    subject: &subject_of(&profile),
                    profile: &profile,
                    name: spec.file,
                }
                .issue(ca, &key_pair, &issue)?;
                writes.file(&path, text, FileKind::Secret);
                Action::Written
            }
        };
        report.push(spec.file, path, action);
    }
    Ok(Built { writes, report })
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

    /// The keys counted are the keys taken: one per key file and kubeconfig file made, in
    /// every shape of the tree. A count that is off either fails with "too few keys" or
    /// leaves keys unused, which this test sees.
    #[test]
    fn the_keys_counted_are_the_keys_taken() {
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
        for options in shapes {
            let plan = Plan::new(&options).expect("plan");
            let survey = Survey::empty(&plan, &options.ca).expect("survey");
            let needed = survey.keys_needed();
            let built = build(&plan, &options, survey, now).expect("build");
            let holding_a_key = built
                .writes
                .into_new_files()
                .iter()
                .filter(|(path, _, _)| path.extension().is_some_and(|e| e == "key" || e == "conf"))
                .count();
            assert_eq!(needed, holding_a_key, "{options:?}");
        }
    }
}
