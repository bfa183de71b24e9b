//! `generate`: the tree `init` lays out, made in memory for installers that store it
//! elsewhere (Secrets, cloud-init, a vault) rather than in two folders. The same survey (of
//! an empty tree) and the same builder as `init`.

use std::path::PathBuf;
use std::time::SystemTime;

use kubepki_fs::FileKind;
use kubepki_keys::KeyPem;

use crate::ClusterError;
use crate::build::build;
use crate::plan::{InitOptions, Plan};
use crate::survey::Survey;

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
/// With the cluster CA's key on a signer ([`crate::CaSource::Signer`]) `ca.crt` is
/// self-signed with it (or is the certificate given) and no `ca.key` is in the bundle.
///
/// # Errors
/// [`ClusterError::InvalidSan`], [`ClusterError::InvalidExtraSan`],
/// [`ClusterError::InvalidEndpoint`], [`ClusterError::Profile`] for bad options;
/// [`ClusterError::ExternalCaInMemory`] in external CA mode;
/// [`ClusterError::KeyGeneration`] and [`ClusterError::Sign`] when a key or a certificate
/// cannot be made.
pub fn generate(options: &InitOptions, now: SystemTime) -> Result<Bundle, ClusterError> {
    let mut in_memory = options.clone();
    in_memory.cert_dir = PathBuf::from("pki");
    in_memory.kubeconfig_dir = PathBuf::new();
    let plan = Plan::new(&in_memory)?;
    let survey = Survey::empty(&plan, &in_memory.ca)?;
    let built = build(&plan, &in_memory, survey, now)?;
    let files = built
        .writes
        .into_new_files()
        .into_iter()
        .map(|(path, bytes, kind)| BundleFile {
            path: path.to_string_lossy().into_owned(),
            bytes,
            secret: kind == FileKind::Secret,
        })
        .collect();
    Ok(Bundle { files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::init;
    use std::path::Path;
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
