//! `generate`: the tree `init` lays out, made in memory for installers that store it
//! elsewhere (Secrets, cloud-init, a vault) rather than in two folders.

use std::path::Path;
use std::time::SystemTime;

use kubepki_keys::{KeyFormat, KeyPair, KeyPem, Signer};
use kubepki_sign::{Ca, IssueOptions};

use crate::ClusterError;
use crate::keygen::generate_keys;
use crate::kubeconfig::ClientKubeconfig;
use crate::plan::{InitOptions, Plan, subject_of};
use crate::tree::{CaName, KubeconfigSpec, LEAVES, LeafSpec, crt, key};

/// One file of a generated tree.
#[derive(Debug)]
pub struct BundleFile {
    /// Its path as kubeadm lays it out under `/etc/kubernetes`: `pki/ca.crt`,
    /// `pki/etcd/server.key`, `admin.conf`.
    pub path: String,
    /// Its content (PEM or kubeconfig YAML), zeroized when dropped.
    pub bytes: KeyPem,
    /// Whether it holds a private key (`*.key`, kubeconfig files) and wants mode 0600.
    /// `sa.pub` is 0600 too, as kubeadm writes it, though not secret.
    pub secret: bool,
}

/// The whole tree, in kubeadm's order: CAs, leaves, `sa.key`/`sa.pub`, kubeconfig files.
#[derive(Debug, Default)]
pub struct Bundle {
    /// The files.
    pub files: Vec<BundleFile>,
}

impl Bundle {
    /// The file at `path` (as in [`BundleFile::path`]).
    pub fn get(&self, path: &str) -> Option<&BundleFile> {
        self.files.iter().find(|f| f.path == path)
    }

    fn push(&mut self, path: &Path, bytes: KeyPem, secret: bool) {
        self.files.push(BundleFile {
            path: path.to_string_lossy().into_owned(),
            bytes,
            secret,
        });
    }

    fn key(&mut self, path: &Path, key: &KeyPair) -> Result<(), ClusterError> {
        let pem = key
            .to_pem(KeyFormat::Traditional)
            .map_err(|source| ClusterError::Key {
                path: path.to_path_buf(),
                source,
            })?;
        self.push(path, pem, true);
        Ok(())
    }
}

impl InitOptions {
    /// Checks the options as [`crate::init`] and [`generate`] check them before anything is
    /// made: SANs, the control-plane endpoint, the service CIDR, names.
    ///
    /// # Errors
    /// [`ClusterError::InvalidSan`], [`ClusterError::InvalidExtraSan`],
    /// [`ClusterError::InvalidEndpoint`], [`ClusterError::Profile`], naming the value.
    pub fn validate(&self) -> Result<(), ClusterError> {
        Plan::new(self).map(|_| ())
    }
}

/// The tree [`crate::init`] lays out in empty folders, in memory: the same CAs, leaves,
/// service-account key pair and kubeconfig files, made from the same options (their
/// `cert_dir` and `kubeconfig_dir` are not used) at time `now`. Nothing touches the disk.
///
/// # Errors
/// [`ClusterError::InvalidSan`], [`ClusterError::InvalidExtraSan`],
/// [`ClusterError::InvalidEndpoint`], [`ClusterError::Profile`] for bad options;
/// [`ClusterError::KeyGeneration`] and [`ClusterError::Sign`] when a key or a certificate
/// cannot be made.
pub fn generate(options: &InitOptions, now: SystemTime) -> Result<Bundle, ClusterError> {
    generate_with_ca_signer(options, now, None)
}

/// As [`generate`], with the cluster CA's key held by `ca_signer` (a key on a PKCS#11 token,
/// or in a KMS behind a callback): `ca.crt` is self-signed with it and no `ca.key` is in the
/// bundle.
///
/// # Errors
/// As [`generate`].
pub fn generate_with_ca_signer(
    options: &InitOptions,
    now: SystemTime,
    mut ca_signer: Option<Box<dyn Signer>>,
) -> Result<Bundle, ClusterError> {
    let plan = Plan::new(options)?;
    let pki = Path::new("pki");
    let issue = IssueOptions::at(now);
    let cas: Vec<CaName> = CaName::ALL
        .into_iter()
        .filter(|ca| !(*ca == CaName::EtcdCa && options.external_etcd))
        .collect();
    let leaves: Vec<&LeafSpec> = LEAVES
        .iter()
        .filter(|l| !(l.etcd && options.external_etcd))
        .collect();
    let kubeconfigs: Vec<&KubeconfigSpec> = plan.kubeconfigs().collect();
    let file_cas = cas
        .iter()
        .filter(|ca| !(**ca == CaName::Ca && ca_signer.is_some()))
        .count();
    let wanted = file_cas + leaves.len() + 1 + kubeconfigs.len();
    let mut keys = generate_keys(&vec![options.algorithm; wanted], options.threads)?.into_iter();
    let mut take_key = || {
        keys.next().ok_or_else(|| {
            ClusterError::KeyGeneration(kubepki_keys::KeyError::Generation(
                "too few keys generated".to_owned(),
            ))
        })
    };

    let mut bundle = Bundle::default();
    let mut signers: Vec<(CaName, Ca)> = Vec::new();
    for ca in cas {
        let profile = plan.profile(ca.name())?;
        let signer: Box<dyn Signer> = match ca_signer.take().filter(|_| ca == CaName::Ca) {
            Some(signer) => signer,
            None => {
                let key_pair = take_key()?;
                bundle.key(&key(pki, ca.base()), &key_pair)?;
                Box::new(key_pair)
            }
        };
        let created =
            Ca::self_signed(signer, &subject_of(&profile), &profile, &issue).map_err(|source| {
                ClusterError::Sign {
                    name: ca.name().to_owned(),
                    source,
                }
            })?;
        bundle.push(
            &crt(pki, ca.base()),
            KeyPem::new(created.certificate_pem()),
            false,
        );
        signers.push((ca, created));
    }
    let signer = |name: CaName| -> Result<&Ca, ClusterError> {
        signers
            .iter()
            .find(|(ca, _)| *ca == name)
            .map(|(_, ca)| ca)
            .ok_or_else(|| ClusterError::NoCaKey {
                ca: name.name().to_owned(),
                path: key(pki, name.base()),
                what: name.name().to_owned(),
            })
    };

    for leaf in leaves {
        let profile = plan.profile(leaf.name)?;
        let key_pair = take_key()?;
        let issued = signer(leaf.ca)?
            .issue_for_key(
                key_pair.public_key(),
                &subject_of(&profile),
                &[],
                &profile,
                &issue,
            )
            .map_err(|source| ClusterError::Sign {
                name: leaf.name.to_owned(),
                source,
            })?;
        bundle.key(&key(pki, leaf.base), &key_pair)?;
        bundle.push(&crt(pki, leaf.base), KeyPem::new(issued.pem()), false);
    }

    let sa = take_key()?;
    bundle.key(&pki.join("sa.key"), &sa)?;
    // 0600 as kubeadm writes it (client-go's keyutil.WriteKey), though it is public.
    bundle.push(
        &pki.join("sa.pub"),
        KeyPem::new(sa.public_key().to_pem()),
        true,
    );

    let ca = signer(CaName::Ca)?;
    for spec in kubeconfigs {
        let key_pair = take_key()?;
        let profile = plan.profile(spec.profile)?;
        let text = ClientKubeconfig {
            cluster_name: &plan.cluster_name,
            server: plan.server_for(spec),
            subject: &subject_of(&profile),
            profile: &profile,
            name: spec.file,
        }
        .issue(ca, &key_pair, &issue)?;
        bundle.push(Path::new(spec.file), KeyPem::new(text), true);
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::init;
    use std::time::{Duration, UNIX_EPOCH};

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn options(dir: &Path) -> InitOptions {
        let mut options = InitOptions::new(
            dir.join("pki"),
            dir,
            "node-1",
            "10.0.0.5".parse().expect("ip"),
        );
        options.algorithm = kubepki_keys::KeyAlgorithm::EcdsaP256;
        options
    }

    #[test]
    fn the_bundle_holds_the_files_init_writes_and_init_keeps_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = options(dir.path());
        let bundle = generate(&options, now()).expect("generate");
        for file in &bundle.files {
            let path = dir.path().join(&file.path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, file.bytes.as_bytes()).expect("write");
        }
        let report = init(&options, now()).expect("init over the bundle");
        assert!(
            report
                .entries
                .iter()
                .all(|e| e.action == crate::Action::Kept),
            "{report:?}"
        );
        // The same file list as init writes into empty folders.
        let fresh = tempfile::tempdir().expect("tempdir");
        init(&self::options(fresh.path()), now()).expect("init");
        let mut on_disk = Vec::new();
        let mut stack = vec![fresh.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(fresh.path()).expect("prefix");
                    let name = rel.to_string_lossy().into_owned();
                    if name.ends_with(".crt")
                        || name.ends_with(".key")
                        || name.ends_with(".pub")
                        || name.ends_with(".conf")
                    {
                        on_disk.push(name);
                    }
                }
            }
        }
        let mut in_bundle: Vec<String> = bundle.files.iter().map(|f| f.path.clone()).collect();
        on_disk.sort();
        in_bundle.sort();
        assert_eq!(in_bundle, on_disk);
        assert!(bundle.get("pki/ca.key").expect("ca.key").secret);
        assert!(!bundle.get("pki/ca.crt").expect("ca.crt").secret);
    }

    #[test]
    fn external_etcd_leaves_out_the_etcd_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = options(dir.path());
        options.external_etcd = true;
        let bundle = generate(&options, now()).expect("generate");
        assert!(bundle.files.iter().all(|f| !f.path.contains("etcd")));
    }

    #[test]
    fn a_bad_option_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = options(dir.path());
        options.apiserver_cert_extra_sans = vec!["not a name!".to_owned()];
        let err = generate(&options, now()).expect_err("bad SAN");
        assert!(err.to_string().contains("not a name!"), "{err}");
    }
}
