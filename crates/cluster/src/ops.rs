//! Renewal, user kubeconfig files, component certificates and CSRs for an external CA.

use core::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kubepki_csr::{CsrBuilder, San, SanKind, Subject};
use kubepki_fs::{FileKind, Overwrite, write_atomic};
use kubepki_keys::{KeyAlgorithm, KeyFormat, KeyPair};
use kubepki_profile::{ClusterParams, Profile, SanPolicy, SubjectPolicy, Usage, builtin};
use kubepki_sign::{Ca, CertificateInfo, IssueOptions};

use crate::init::{
    Plan, ensure_dir, generate_keys, load_cert, pending_csr, read, read_kubeconfig, required_sans,
    subject_of,
};
use crate::kubeconfig::Kubeconfig;
use crate::tree::{CaName, LEAVES, crt, key};
use crate::{ClusterError, InitOptions};
use base64ct::{Base64, Encoding};

const DAY: u64 = 86_400;
/// kubeadm's leaf validity.
const LEAF_VALIDITY: Duration = Duration::from_secs(365 * DAY);
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// The kubeconfig files `certs renew` handles (kubelet.conf's certificate rotates itself).
pub const RENEWABLE_KUBECONFIGS: &[&str] = &[
    "admin.conf",
    "super-admin.conf",
    "controller-manager.conf",
    "scheduler.conf",
];

/// What `certs renew` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewOptions {
    /// The certificate folder.
    pub cert_dir: PathBuf,
    /// The kubeconfig folder.
    pub kubeconfig_dir: PathBuf,
    /// The new keys' algorithm; `None` keeps each key's algorithm.
    pub algorithm: Option<KeyAlgorithm>,
    /// The new validity (default 365 days).
    pub validity: Option<Duration>,
    /// SANs added to every renewed serving certificate (one with serverAuth).
    pub add_sans: Vec<San>,
}

/// One renewed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewed {
    /// kubeadm's name.
    pub name: String,
    /// The certificate or kubeconfig file rewritten.
    pub path: PathBuf,
    /// The component to restart so that it reads the new certificate.
    pub restart: &'static str,
}

fn restart_for(name: &str) -> &'static str {
    match name {
        "etcd-server" | "etcd-peer" | "etcd-healthcheck-client" => "etcd",
        "controller-manager.conf" => "kube-controller-manager",
        "scheduler.conf" => "kube-scheduler",
        "admin.conf" | "super-admin.conf" => "nothing (used by kubectl)",
        _ => "kube-apiserver",
    }
}

/// A CA for one operation: the cluster CA the caller opened (its key on a token, say), or
/// one loaded from the tree.
enum CaRef<'a> {
    Given(&'a Ca),
    Loaded(Ca),
}

impl core::ops::Deref for CaRef<'_> {
    type Target = Ca;

    fn deref(&self) -> &Ca {
        match self {
            CaRef::Given(ca) => ca,
            CaRef::Loaded(ca) => ca,
        }
    }
}

/// `cluster_ca` when the operation needs the cluster CA and the caller gave it, else the CA
/// from its files in `cert_dir`.
fn ca_for<'a>(
    cert_dir: &Path,
    ca: CaName,
    what: &str,
    cluster_ca: Option<&'a Ca>,
) -> Result<CaRef<'a>, ClusterError> {
    match cluster_ca {
        Some(given) if ca == CaName::Ca => Ok(CaRef::Given(given)),
        _ => load_ca(cert_dir, ca, what).map(CaRef::Loaded),
    }
}

fn load_ca(cert_dir: &Path, ca: CaName, what: &str) -> Result<Ca, ClusterError> {
    let (crt_path, key_path) = (crt(cert_dir, ca.base()), key(cert_dir, ca.base()));
    if !key_path.exists() {
        return Err(ClusterError::NoCaKey {
            ca: ca.name().to_owned(),
            path: key_path,
            what: what.to_owned(),
        });
    }
    Ca::from_pem(&read(&crt_path)?, &read(&key_path)?, None).map_err(|source| ClusterError::Sign {
        name: crt_path.display().to_string(),
        source,
    })
}

/// A profile that reissues `info` as it is: same subject, SANs and usages.
fn same_as(info: &CertificateInfo, validity: Duration) -> Profile {
    Profile {
        name: "renewal".to_owned(),
        description: "the same certificate with a fresh key".to_owned(),
        usages: info.usages.clone(),
        ca: None,
        default_validity: validity,
        max_validity: validity,
        backdate: BACKDATE,
        subject: SubjectPolicy::default(),
        sans: SanPolicy {
            allowed: vec![SanKind::Dns, SanKind::Ip, SanKind::Uri, SanKind::Email],
            keep_requested: true,
            ..SanPolicy::default()
        },
    }
}

/// Reissues a certificate DER with a fresh key: returns the new certificate PEM and key.
fn reissue(
    ca: &Ca,
    name: &str,
    der: &[u8],
    old_key: Option<&KeyPair>,
    options: &RenewOptions,
    now: SystemTime,
) -> Result<(String, KeyPair), ClusterError> {
    let sign = |source| ClusterError::Sign {
        name: name.to_owned(),
        source,
    };
    let info = CertificateInfo::from_der(der).map_err(sign)?;
    let algorithm = options
        .algorithm
        .or_else(|| old_key.map(KeyPair::algorithm))
        .unwrap_or(KeyAlgorithm::EcdsaP256);
    let key = KeyPair::generate(algorithm).map_err(ClusterError::KeyGeneration)?;
    let mut sans = info.sans.clone();
    if info.usages.contains(&Usage::ServerAuth) {
        for san in &options.add_sans {
            if !sans.contains(san) {
                sans.push(san.clone());
            }
        }
    }
    let profile = same_as(&info, options.validity.unwrap_or(LEAF_VALIDITY));
    let issued = ca
        .issue_for_key(
            key.public_key(),
            &info.subject,
            &sans,
            &profile,
            &IssueOptions::at(now),
        )
        .map_err(sign)?;
    Ok((issued.pem(), key))
}

fn key_pem(path: &Path, key: &KeyPair) -> Result<kubepki_keys::KeyPem, ClusterError> {
    key.to_pem(KeyFormat::Traditional)
        .map_err(|source| ClusterError::Key {
            path: path.to_path_buf(),
            source,
        })
}

fn backup(path: &Path, kind: FileKind) -> Result<(), ClusterError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    write_atomic(Path::new(&name), &read(path)?, kind, Overwrite::Replace)?;
    Ok(())
}

fn renew_one(
    name: &str,
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<Renewed, ClusterError> {
    if let Some(leaf) = LEAVES.iter().find(|l| l.name == name) {
        let (crt_path, key_path) = (
            crt(&options.cert_dir, leaf.base),
            key(&options.cert_dir, leaf.base),
        );
        let ca = ca_for(&options.cert_dir, leaf.ca, name, cluster_ca)?;
        let der = load_cert(&crt_path)?;
        let old_key = KeyPair::from_bytes(&read(&key_path)?, None).ok();
        let (cert_pem, new_key) = reissue(&ca, name, &der, old_key.as_ref(), options, now)?;
        let new_key_pem = key_pem(&key_path, &new_key)?;
        backup(&crt_path, FileKind::Public)?;
        if key_path.exists() {
            backup(&key_path, FileKind::Secret)?;
        }
        write_atomic(
            &key_path,
            new_key_pem.as_bytes(),
            FileKind::Secret,
            Overwrite::Replace,
        )?;
        write_atomic(
            &crt_path,
            cert_pem.as_bytes(),
            FileKind::Public,
            Overwrite::Replace,
        )?;
        return Ok(Renewed {
            name: name.to_owned(),
            path: crt_path,
            restart: restart_for(name),
        });
    }
    if RENEWABLE_KUBECONFIGS.contains(&name) {
        let path = options.kubeconfig_dir.join(name);
        let ca = ca_for(&options.cert_dir, CaName::Ca, name, cluster_ca)?;
        let (mut config, der, old_key) = read_kubeconfig(&path)?;
        let der = der.ok_or_else(|| ClusterError::Misfit {
            path: path.clone(),
            reason: crate::Misfit::KubeconfigIncomplete("client certificate"),
        })?;
        let (cert_pem, new_key) = reissue(&ca, name, &der, old_key.as_ref(), options, now)?;
        let new_key_pem = key_pem(&path, &new_key)?;
        let user_name = config
            .contexts
            .iter()
            .find(|c| c.name == config.current_context)
            .map(|c| c.context.user.clone())
            .unwrap_or_default();
        for user in config.users.iter_mut().filter(|u| u.name == user_name) {
            user.user.client_certificate_data = Base64::encode_string(cert_pem.as_bytes());
            user.user.client_key_data = Base64::encode_string(new_key_pem.as_bytes());
        }
        let text = config
            .to_yaml()
            .map_err(|reason| ClusterError::Kubeconfig {
                path: path.clone(),
                reason,
            })?;
        backup(&path, FileKind::Secret)?;
        write_atomic(&path, text.as_bytes(), FileKind::Secret, Overwrite::Replace)?;
        return Ok(Renewed {
            name: name.to_owned(),
            path,
            restart: restart_for(name),
        });
    }
    if CaName::ALL.iter().any(|c| c.name() == name) {
        return Err(ClusterError::CaNotRenewed {
            name: name.to_owned(),
        });
    }
    Err(ClusterError::UnknownCertificate {
        name: name.to_owned(),
        known: renewable_names().join(", "),
    })
}

/// The names `certs renew` accepts (besides `all`).
pub fn renewable_names() -> Vec<&'static str> {
    LEAVES
        .iter()
        .map(|l| l.name)
        .chain(RENEWABLE_KUBECONFIGS.iter().copied())
        .collect()
}

/// Renews `which` (a name of [`renewable_names`], or `all` for every one present): a fresh
/// key and serial, the same subject, SANs (plus `add_sans` on serving certificates) and
/// usages, signed by the same CA; the old files are kept as `*.bak`. CAs are never renewed.
///
/// # Errors
/// [`ClusterError::CaNotRenewed`] for a CA, [`ClusterError::UnknownCertificate`],
/// [`ClusterError::NoCaKey`] when the CA key is absent, read and write errors.
pub fn renew(
    options: &RenewOptions,
    which: &str,
    now: SystemTime,
) -> Result<Vec<Renewed>, ClusterError> {
    renew_with_ca(options, which, now, None)
}

/// As [`renew`], with the cluster CA given when its key is not `ca.key` in the tree (a key
/// on a PKCS#11 token): what the cluster CA signs is signed by `cluster_ca`; the
/// front-proxy and etcd CAs are still read from their files.
///
/// # Errors
/// As [`renew`].
pub fn renew_with_ca(
    options: &RenewOptions,
    which: &str,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<Vec<Renewed>, ClusterError> {
    if which != "all" {
        return Ok(vec![renew_one(which, options, now, cluster_ca)?]);
    }
    let mut out = Vec::new();
    for leaf in LEAVES {
        if crt(&options.cert_dir, leaf.base).exists() {
            out.push(renew_one(leaf.name, options, now, cluster_ca)?);
        }
    }
    for file in RENEWABLE_KUBECONFIGS {
        if options.kubeconfig_dir.join(file).exists() {
            out.push(renew_one(file, options, now, cluster_ca)?);
        }
    }
    Ok(out)
}

/// A kubeconfig for a new user (kubeadm's `kubeconfig user`): CN `client_name`, O
/// `groups`, signed by the cluster CA in `cert_dir` for `validity`, with a fresh key.
///
/// # Errors
/// [`ClusterError::NoCaKey`] without `ca.key`; [`ClusterError::Sign`] when the profile
/// refuses (e.g. a validity past the CA's end is clamped, not refused).
#[allow(clippy::too_many_arguments)]
pub fn user_kubeconfig(
    cert_dir: &Path,
    cluster_name: &str,
    server: &str,
    client_name: &str,
    groups: &[String],
    validity: Duration,
    algorithm: KeyAlgorithm,
    now: SystemTime,
) -> Result<String, ClusterError> {
    let ca = load_ca(cert_dir, CaName::Ca, client_name)?;
    user_kubeconfig_with_ca(
        &ca,
        cluster_name,
        server,
        client_name,
        groups,
        validity,
        algorithm,
        now,
    )
}

/// As [`user_kubeconfig`], signed by `ca` (the cluster CA, its key wherever it is: on a
/// PKCS#11 token, say).
///
/// # Errors
/// [`ClusterError::Sign`] when the profile refuses.
#[allow(clippy::too_many_arguments)]
pub fn user_kubeconfig_with_ca(
    ca: &Ca,
    cluster_name: &str,
    server: &str,
    client_name: &str,
    groups: &[String],
    validity: Duration,
    algorithm: KeyAlgorithm,
    now: SystemTime,
) -> Result<String, ClusterError> {
    let mut profile = builtin("client", &ClusterParams::default())?;
    profile.default_validity = validity;
    profile.max_validity = validity;
    let key = KeyPair::generate(algorithm).map_err(ClusterError::KeyGeneration)?;
    let subject = Subject::from_parts(client_name, groups);
    let issued = ca
        .issue_for_key(
            key.public_key(),
            &subject,
            &[],
            &profile,
            &IssueOptions::at(now),
        )
        .map_err(|source| ClusterError::Sign {
            name: client_name.to_owned(),
            source,
        })?;
    let key_pem = key_pem(Path::new(client_name), &key)?;
    Kubeconfig::for_client(
        cluster_name,
        server,
        &ca.certificate_pem(),
        client_name,
        &issued.pem(),
        &key_pem,
    )
    .to_yaml()
    .map_err(|reason| ClusterError::Kubeconfig {
        path: PathBuf::from(client_name),
        reason,
    })
}

/// The component certificates kubeadm leaves out.
pub const COMPONENTS: &[&str] = &["kube-proxy", "kubelet-client", "kubelet-serving"];

/// Issues a component certificate (`kube-proxy`, `kubelet-client`, `kubelet-serving`) for
/// `node_name` with the cluster CA, writing `<out_dir>/<kind>.crt` and `.key` (never over
/// existing files). Returns the certificate's path.
///
/// # Errors
/// [`ClusterError::UnknownCertificate`] for another kind, [`ClusterError::NoCaKey`],
/// [`ClusterError::Fs`] when a file exists.
#[allow(clippy::too_many_arguments)]
pub fn issue_component(
    cert_dir: &Path,
    out_dir: &Path,
    kind: &str,
    node_name: &str,
    address: Option<IpAddr>,
    algorithm: KeyAlgorithm,
    validity: Option<Duration>,
    now: SystemTime,
) -> Result<PathBuf, ClusterError> {
    check_component(kind)?;
    let ca = load_ca(cert_dir, CaName::Ca, kind)?;
    issue_component_with_ca(
        &ca, out_dir, kind, node_name, address, algorithm, validity, now,
    )
}

fn check_component(kind: &str) -> Result<(), ClusterError> {
    if COMPONENTS.contains(&kind) {
        Ok(())
    } else {
        Err(ClusterError::UnknownCertificate {
            name: kind.to_owned(),
            known: COMPONENTS.join(", "),
        })
    }
}

/// As [`issue_component`], signed by `ca` (the cluster CA, its key wherever it is: on a
/// PKCS#11 token, say).
///
/// # Errors
/// [`ClusterError::UnknownCertificate`] for another kind, [`ClusterError::Fs`] when a file
/// exists.
#[allow(clippy::too_many_arguments)]
pub fn issue_component_with_ca(
    ca: &Ca,
    out_dir: &Path,
    kind: &str,
    node_name: &str,
    address: Option<IpAddr>,
    algorithm: KeyAlgorithm,
    validity: Option<Duration>,
    now: SystemTime,
) -> Result<PathBuf, ClusterError> {
    check_component(kind)?;
    let params = ClusterParams {
        node_name: Some(node_name.to_owned()),
        advertise_address: address,
        ..ClusterParams::default()
    };
    let mut profile = builtin(kind, &params)?;
    if let Some(v) = validity {
        profile.default_validity = v;
        profile.max_validity = profile.max_validity.max(v);
    }
    let key_pair = KeyPair::generate(algorithm).map_err(ClusterError::KeyGeneration)?;
    let issued = ca
        .issue_for_key(
            key_pair.public_key(),
            &subject_of(&profile),
            &[],
            &profile,
            &IssueOptions::at(now),
        )
        .map_err(|source| ClusterError::Sign {
            name: kind.to_owned(),
            source,
        })?;
    ensure_dir(out_dir)?;
    let (crt_path, key_path) = (crt(out_dir, kind), key(out_dir, kind));
    write_atomic(
        &key_path,
        key_pem(&key_path, &key_pair)?.as_bytes(),
        FileKind::Secret,
        Overwrite::Refuse,
    )?;
    write_atomic(
        &crt_path,
        issued.pem().as_bytes(),
        FileKind::Public,
        Overwrite::Refuse,
    )?;
    Ok(crt_path)
}

/// External-CA mode, kubeadm's `certs generate-csr`: for every leaf, `<base>.key` and
/// `<base>.csr` in the cert dir; for every kubeconfig file, a partial kubeconfig (key, no
/// certificate) and `<file>.csr` in the kubeconfig dir. Keys are generated in parallel.
/// Returns the CSR paths.
///
/// # Errors
/// As [`crate::init`] for bad options; [`ClusterError::Fs`] when a file exists.
pub fn generate_csrs(options: &InitOptions) -> Result<Vec<PathBuf>, ClusterError> {
    let plan = Plan::new(options)?;
    ensure_dir(&options.cert_dir)?;
    ensure_dir(&options.kubeconfig_dir)?;
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
    let ca_pem = std::fs::read_to_string(crt(&options.cert_dir, "ca")).unwrap_or_default();
    let mut out = Vec::new();
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
        write_atomic(
            &key_path,
            key_pem(&key_path, &key_pair)?.as_bytes(),
            FileKind::Secret,
            Overwrite::Refuse,
        )?;
        write_atomic(
            &csr_path,
            csr.as_bytes(),
            FileKind::Public,
            Overwrite::Refuse,
        )?;
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
        write_atomic(&path, text.as_bytes(), FileKind::Secret, Overwrite::Refuse)?;
        write_atomic(
            &csr_path,
            csr.as_bytes(),
            FileKind::Public,
            Overwrite::Refuse,
        )?;
        out.push(csr_path);
    }
    Ok(out)
}
