//! `init`: lay out the kubeadm tree, keeping what fits and creating what is missing.

use core::net::IpAddr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use der::{Decode, Encode};
use kubepki_csr::{San, Subject};
use kubepki_fs::{
    FileKind, FileWrite, Journal, Overwrite, TreeLock, Undo, parallel_map, recover,
    write_atomic_all,
};
use kubepki_keys::{
    KeyAlgorithm, KeyError, KeyFormat, KeyPair, KeyPem, PublicKey, Signer, verify_signature,
};
use kubepki_profile::{ClusterParams, KubeletClientGroup, Profile, builtin, format_duration};
use kubepki_sign::{
    Ca, CertificateInfo, IssueOptions, SignError, Timestamp, certificates_from_bytes,
    parse_certificate,
};
use x509_cert::Certificate;

use crate::kubeconfig::{Kubeconfig, decode_data};
use crate::tree::{CaName, KUBECONFIGS, KubeconfigSpec, LEAVES, LeafSpec, crt, key};
use crate::{ClusterError, Misfit};

/// Which group names the admin and kubelet-client certificates carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupsCompat {
    /// kubeadm 1.29 and later: `admin.conf` in `kubeadm:cluster-admins`, a separate
    /// `super-admin.conf` in `system:masters`.
    #[default]
    Current,
    /// kubeadm 1.28: `admin.conf` and `apiserver-kubelet-client` in `system:masters`, no
    /// `super-admin.conf`.
    V1_28,
}

/// What `init` is to lay out: the flags of `kubepki init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitOptions {
    /// The certificate folder (kubeadm: `/etc/kubernetes/pki`).
    pub cert_dir: PathBuf,
    /// The kubeconfig folder (kubeadm: `/etc/kubernetes`).
    pub kubeconfig_dir: PathBuf,
    /// The control-plane node's name.
    pub node_name: String,
    /// The node's advertise address.
    pub advertise_address: IpAddr,
    /// The port the API server listens on (kubeadm's `--apiserver-bind-port`, default 6443):
    /// in the local kubeconfig files, and of the control-plane endpoint when it names none.
    pub apiserver_bind_port: u16,
    /// The service CIDR (default `10.96.0.0/12`).
    pub service_cidr: String,
    /// The cluster DNS domain (default `cluster.local`).
    pub dns_domain: String,
    /// The cluster name in kubeconfig files (default `kubernetes`).
    pub cluster_name: String,
    /// `HOST[:PORT]` of a shared control-plane endpoint (load balancer), if any.
    pub control_plane_endpoint: Option<String>,
    /// Extra SANs of the API server certificate (IP addresses or DNS names).
    pub apiserver_cert_extra_sans: Vec<String>,
    /// Extra SANs of the etcd server certificate (kubeadm's `etcd.local.serverCertSANs`).
    pub etcd_server_cert_extra_sans: Vec<String>,
    /// Extra SANs of the etcd peer certificate (kubeadm's `etcd.local.peerCertSANs`).
    pub etcd_peer_cert_extra_sans: Vec<String>,
    /// The key algorithm of every key.
    pub algorithm: KeyAlgorithm,
    /// Validity of the leaf certificates (default 365 days).
    pub cert_validity: Option<Duration>,
    /// Validity of the CAs (default 10 years).
    pub ca_validity: Option<Duration>,
    /// No local etcd: no `etcd/` folder, no `apiserver-etcd-client`.
    pub external_etcd: bool,
    /// Group names as current kubeadm or kubeadm 1.28.
    pub groups_compat: GroupsCompat,
    /// Threads generating keys; 0 means one per core.
    pub threads: usize,
}

impl InitOptions {
    /// kubeadm's defaults for the given folders, node name and advertise address, with
    /// RSA-2048 keys as kubeadm.
    pub fn new(
        cert_dir: impl Into<PathBuf>,
        kubeconfig_dir: impl Into<PathBuf>,
        node_name: &str,
        advertise_address: IpAddr,
    ) -> Self {
        InitOptions {
            cert_dir: cert_dir.into(),
            kubeconfig_dir: kubeconfig_dir.into(),
            node_name: node_name.to_owned(),
            advertise_address,
            apiserver_bind_port: 6443,
            service_cidr: "10.96.0.0/12".to_owned(),
            dns_domain: "cluster.local".to_owned(),
            cluster_name: "kubernetes".to_owned(),
            control_plane_endpoint: None,
            apiserver_cert_extra_sans: Vec::new(),
            etcd_server_cert_extra_sans: Vec::new(),
            etcd_peer_cert_extra_sans: Vec::new(),
            algorithm: KeyAlgorithm::Rsa2048,
            cert_validity: None,
            ca_validity: None,
            external_etcd: false,
            groups_compat: GroupsCompat::Current,
            threads: 0,
        }
    }
}

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

/// A CA certificate as read back, for checking what it signed.
pub(crate) struct CaCert {
    pub(crate) name: &'static str,
    pub(crate) der: Vec<u8>,
    pub(crate) cert: Certificate,
}

impl CaCert {
    pub(crate) fn from_der(name: &'static str, der: Vec<u8>) -> Result<Self, SignError> {
        let cert = Certificate::from_der(&der)
            .map_err(|e| SignError::MalformedCertificate(e.to_string()))?;
        Ok(CaCert { name, der, cert })
    }

    /// Whether `cert` carries this CA's signature.
    pub(crate) fn signed(&self, cert: &Certificate) -> bool {
        let Ok(tbs) = cert.tbs_certificate().to_der() else {
            return false;
        };
        let Some(signature) = cert.signature().as_bytes() else {
            return false;
        };
        cert.tbs_certificate().issuer() == self.cert.tbs_certificate().subject()
            && verify_signature(
                self.cert.tbs_certificate().subject_public_key_info(),
                cert.signature_algorithm(),
                &tbs,
                signature,
            )
            .is_ok()
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

/// The cluster parameters and the profiles derived from the options.
pub(crate) struct Plan {
    pub(crate) params: ClusterParams,
    pub(crate) cluster_name: String,
    pub(crate) server: String,
    pub(crate) local_server: String,
    pub(crate) cert_validity: Option<Duration>,
    pub(crate) ca_validity: Option<Duration>,
    pub(crate) groups_compat: GroupsCompat,
}

/// Parses a SAN given on the command line: an IP address, else a DNS name.
///
/// # Errors
/// [`ClusterError::InvalidSan`] naming the value.
pub fn parse_san(value: &str) -> Result<San, ClusterError> {
    let value = value.trim();
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(San::Ip(ip));
    }
    San::dns(value).map_err(|_| ClusterError::InvalidSan {
        value: value.to_owned(),
    })
}

/// Parses the extra SANs given with `flag`. kubeadm warns about an invalid one and leaves it
/// out; `init` refuses it, naming the value and the flag, so that no certificate silently
/// lacks a name its admin asked for.
fn extra_sans(values: &[String], flag: &'static str) -> Result<Vec<San>, ClusterError> {
    values
        .iter()
        .map(|value| {
            parse_san(value).map_err(|_| ClusterError::InvalidExtraSan {
                value: value.clone(),
                flag,
            })
        })
        .collect()
}

fn host_url(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("https://[{ip}]:{port}"),
        _ => format!("https://{host}:{port}"),
    }
}

/// Splits `HOST[:PORT]` (IPv6 as `[addr]:port` or bare), `default_port` when it names none
/// (kubeadm takes the API server's bind port).
fn parse_endpoint(value: &str, default_port: u16) -> Result<(San, String), ClusterError> {
    let bad = |reason| ClusterError::InvalidEndpoint {
        value: value.to_owned(),
        reason,
    };
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad("text after ]")),
        }
    } else if value.parse::<IpAddr>().is_ok() {
        (value, None)
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| bad("the port is not a number"))?,
        None => default_port,
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let san =
        parse_san(host).map_err(|_| bad("the host is neither an IP address nor a DNS name"))?;
    Ok((san, host_url(host, port)))
}

impl Plan {
    pub(crate) fn new(options: &InitOptions) -> Result<Self, ClusterError> {
        let mut apiserver_extra_sans = Vec::new();
        let local_server = host_url(
            &options.advertise_address.to_string(),
            options.apiserver_bind_port,
        );
        let server = match &options.control_plane_endpoint {
            Some(endpoint) => {
                let (san, url) = parse_endpoint(endpoint, options.apiserver_bind_port)?;
                apiserver_extra_sans.push(san);
                url
            }
            None => local_server.clone(),
        };
        apiserver_extra_sans.extend(extra_sans(
            &options.apiserver_cert_extra_sans,
            "--apiserver-cert-extra-sans",
        )?);
        let etcd_extra_sans = extra_sans(
            &options.etcd_server_cert_extra_sans,
            "--etcd-server-cert-extra-sans",
        )?;
        let etcd_peer_extra_sans = extra_sans(
            &options.etcd_peer_cert_extra_sans,
            "--etcd-peer-cert-extra-sans",
        )?;
        let params = ClusterParams {
            node_name: Some(options.node_name.clone()),
            advertise_address: Some(options.advertise_address),
            service_cidr: options.service_cidr.clone(),
            dns_domain: options.dns_domain.clone(),
            apiserver_extra_sans,
            etcd_extra_sans,
            etcd_peer_extra_sans,
            kubelet_client_group: match options.groups_compat {
                GroupsCompat::Current => KubeletClientGroup::None,
                GroupsCompat::V1_28 => KubeletClientGroup::Masters,
            },
        };
        let plan = Plan {
            params,
            cluster_name: options.cluster_name.clone(),
            server,
            local_server,
            cert_validity: options.cert_validity,
            ca_validity: options.ca_validity,
            groups_compat: options.groups_compat,
        };
        // Every profile is built once up front, so a bad CIDR or node name stops before
        // anything is written.
        for leaf in LEAVES {
            plan.profile(leaf.name)?;
        }
        for kc in KUBECONFIGS {
            plan.profile(kc.profile)?;
        }
        Ok(plan)
    }

    /// The built-in profile `name` with the cluster's validity and groups.
    pub(crate) fn profile(&self, name: &str) -> Result<Profile, ClusterError> {
        let mut profile = builtin(name, &self.params)?;
        let validity = if profile.ca.is_some() {
            self.ca_validity
        } else {
            self.cert_validity
        };
        if let Some(v) = validity {
            profile.default_validity = v;
            profile.max_validity = profile.max_validity.max(v);
        }
        if name == "admin" && self.groups_compat == GroupsCompat::V1_28 {
            profile.subject.organizations = Some(vec!["system:masters".to_owned()]);
        }
        Ok(profile)
    }

    pub(crate) fn server_for(&self, spec: &KubeconfigSpec) -> &str {
        // kubeadm 1.28 pointed kubelet.conf at the control-plane endpoint.
        let kubelet_1_28 = self.groups_compat == GroupsCompat::V1_28 && spec.file == "kubelet.conf";
        if spec.local && !kubelet_1_28 {
            &self.local_server
        } else {
            &self.server
        }
    }

    pub(crate) fn kubeconfigs(&self) -> impl Iterator<Item = &'static KubeconfigSpec> {
        let compat = self.groups_compat;
        KUBECONFIGS
            .iter()
            .filter(move |k| !(compat == GroupsCompat::V1_28 && k.file == "super-admin.conf"))
    }
}

/// The subject a profile fixes (every built-in leaf profile of the tree fixes one).
pub(crate) fn subject_of(profile: &Profile) -> Subject {
    profile
        .fixed_subject()
        .unwrap_or_else(|| Subject::from_parts(&profile.name, &[] as &[&str]))
}

/// The SANs a certificate under `profile` must carry.
pub(crate) fn required_sans(profile: &Profile) -> Result<Vec<San>, ClusterError> {
    Ok(profile.check_request(&subject_of(profile), &[])?.sans)
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, ClusterError> {
    fs::read(path).map_err(|source| ClusterError::Read {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn load_key(path: &Path) -> Result<KeyPair, ClusterError> {
    KeyPair::from_bytes(&read(path)?, None).map_err(|source| ClusterError::Key {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn load_cert(path: &Path) -> Result<Vec<u8>, ClusterError> {
    let sign = |source| ClusterError::Sign {
        name: path.display().to_string(),
        source,
    };
    let mut certs = certificates_from_bytes(&read(path)?).map_err(sign)?;
    if certs.is_empty() {
        return Err(sign(SignError::MalformedCertificate(
            "no certificate".to_owned(),
        )));
    }
    Ok(certs.remove(0))
}

/// Checks that the existing certificate `path` fits: signed by `ca`, `key` is its key, the
/// expected CN, every required SAN, not expired at `now`.
///
/// # Errors
/// [`ClusterError::Misfit`] naming `path` and why it does not fit; [`ClusterError::Sign`]
/// when the certificate does not parse (broken, which is not the same as signed by
/// another CA); [`ClusterError::Profile`] when the profile cannot say which SANs it needs.
pub(crate) fn check_cert(
    path: &Path,
    cert_der: &[u8],
    key: &PublicKey,
    ca: &CaCert,
    profile: &Profile,
    now: SystemTime,
) -> Result<(), ClusterError> {
    let bad = misfit(path);
    let bad_ca = || {
        bad(Misfit::NotSignedBy {
            ca: ca.name.to_owned(),
        })
    };
    let malformed = |source| ClusterError::Sign {
        name: path.display().to_string(),
        source,
    };
    let cert = parse_certificate(cert_der).map_err(malformed)?;
    let info = CertificateInfo::from_certificate(&cert).map_err(malformed)?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| bad(Misfit::WrongKey))?;
    if spki != key.to_der() {
        return Err(bad(Misfit::WrongKey));
    }
    if !ca.signed(&cert) {
        return Err(bad_ca());
    }
    let expected = subject_of(profile);
    if info.subject.common_name() != expected.common_name() {
        return Err(bad(Misfit::WrongSubject {
            found: info.subject.to_string(),
            expected: expected.to_string(),
        }));
    }
    let required = required_sans(profile)?;
    if let Some(san) = required.iter().find(|s| !info.sans.contains(s)) {
        return Err(bad(Misfit::MissingSan {
            san: san.to_string(),
        }));
    }
    if info.not_after < now {
        return Err(bad(Misfit::Expired {
            not_after: Timestamp(info.not_after),
        }));
    }
    Ok(())
}

/// Where `certs generate-csr` puts the request for `path`: `apiserver.crt` ->
/// `apiserver.csr`, `admin.conf` -> `admin.conf.csr`.
pub(crate) fn pending_csr(path: &Path) -> PathBuf {
    if path.extension().is_some_and(|e| e == "crt") {
        path.with_extension("csr")
    } else {
        let mut name = path.as_os_str().to_owned();
        name.push(".csr");
        PathBuf::from(name)
    }
}

fn misfit(path: &Path) -> impl Fn(Misfit) -> ClusterError + '_ {
    move |reason| ClusterError::Misfit {
        path: path.to_path_buf(),
        reason,
    }
}

/// Creates a folder (and its parents), if it does not exist. On Unix its mode is 0755, as
/// kubeadm (client-go's `keyutil` and `cert` writers) makes it: the keys in it are 0600
/// themselves. Elsewhere the folder gets the platform's default permissions (on Windows,
/// those inherited from its parent), and the files in it are not restricted further.
pub(crate) fn ensure_dir(path: &Path) -> Result<(), ClusterError> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder
        .create(path)
        .map_err(|source| ClusterError::CreateDir {
            path: path.to_path_buf(),
            source,
        })
}

/// Generates keys on `threads` threads (0: one per core), in the order of `algorithms`.
///
/// # Errors
/// [`ClusterError::KeyGeneration`] when one fails.
pub fn generate_keys(
    algorithms: &[KeyAlgorithm],
    threads: usize,
) -> Result<Vec<KeyPair>, ClusterError> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };
    parallel_map(algorithms, threads, |algorithm| {
        KeyPair::generate(*algorithm)
    })
    .into_iter()
    .map(|key| key.map_err(ClusterError::KeyGeneration))
    .collect()
}

/// The files `init` writes, collected so that they are written (and fsynced) in parallel
/// once everything has been issued: a failure while issuing leaves nothing half-written.
#[derive(Default)]
struct Writes(Vec<(PathBuf, KeyPem, FileKind)>);

impl Writes {
    fn key(&mut self, path: &Path, key: &KeyPair) -> Result<(), ClusterError> {
        let pem = key
            .to_pem(KeyFormat::Traditional)
            .map_err(|source| ClusterError::Key {
                path: path.to_path_buf(),
                source,
            })?;
        self.0.push((path.to_path_buf(), pem, FileKind::Secret));
        Ok(())
    }

    fn file(&mut self, path: &Path, text: String, kind: FileKind) {
        self.0.push((path.to_path_buf(), KeyPem::new(text), kind));
    }

    /// Writes every file (never over an existing file) as one change of the locked tree:
    /// the journal first (so that a process killed half-way is rolled back by the next
    /// run), then the keys, then the certificates and kubeconfig files (so that no
    /// certificate is ever on disk without its key), each wave in parallel with each folder
    /// fsynced once, then the commit.
    fn flush(self, lock: &TreeLock) -> Result<(), ClusterError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let undo: Vec<Undo> = self
            .0
            .iter()
            .map(|(p, _, _)| Undo::Remove(p.clone()))
            .collect();
        let journal = Journal::begin(lock, &undo)?;
        for keys_first in [true, false] {
            let files: Vec<FileWrite<'_>> = self
                .0
                .iter()
                .filter(|(path, _, _)| is_key_file(path) == keys_first)
                .map(|(path, bytes, kind)| FileWrite {
                    path,
                    bytes: bytes.as_bytes(),
                    kind: *kind,
                })
                .collect();
            write_atomic_all(&files, Overwrite::Refuse)?;
        }
        Ok(journal.commit()?)
    }
}

/// Whether a file of the tree is a private key (`*.key`).
fn is_key_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "key")
}

/// How long `init`, `certs renew`, `certs generate-csr` and `kubeconfig user` wait for
/// another kubepki working on the same tree.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Locks the tree (its certificate folder) and rolls back what a killed run left half-done.
/// Returns the lock and a warning line when something was recovered.
pub(crate) fn lock_tree(
    cert_dir: &Path,
    kubeconfig_dir: &Path,
) -> Result<(TreeLock, Option<String>), ClusterError> {
    let lock = TreeLock::acquire(cert_dir, LOCK_WAIT)?;
    let etcd = cert_dir.join("etcd");
    let recovered = recover(&lock, &[cert_dir, &etcd, kubeconfig_dir])?;
    let note = (!recovered.is_empty()).then(|| {
        let names = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !recovered.removed.is_empty() {
            parts.push(format!(
                "removed the half-written {}",
                names(&recovered.removed)
            ));
        }
        if !recovered.restored.is_empty() {
            parts.push(format!(
                "restored {} from its backup",
                names(&recovered.restored)
            ));
        }
        if !recovered.temp_files.is_empty() {
            parts.push(format!(
                "removed {} stale temporary file(s)",
                recovered.temp_files.len()
            ));
        }
        format!("an earlier run was interrupted: {}", parts.join("; "))
    });
    Ok((lock, note))
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
                let text = client_kubeconfig(&plan, spec, ca, &key, &issue)?;
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

/// A CA already in the tree, with the key that signs for it; it must not have expired.
fn existing_ca(
    crt_path: &Path,
    signer: Box<dyn Signer>,
    now: SystemTime,
) -> Result<Ca, ClusterError> {
    let der = load_cert(crt_path)?;
    let loaded = Ca::from_der(&der, signer, Vec::new())
        .map_err(|e| misfit(crt_path)(Misfit::NotACa(e.to_string())))?;
    if loaded.not_after() < now {
        return Err(misfit(crt_path)(Misfit::CaExpired {
            not_after: Timestamp(loaded.not_after()),
        }));
    }
    Ok(loaded)
}

/// Issues the client certificate of a kubeconfig file and returns the file's text.
pub(crate) fn client_kubeconfig(
    plan: &Plan,
    spec: &KubeconfigSpec,
    ca: &Ca,
    key: &KeyPair,
    issue: &IssueOptions,
) -> Result<String, ClusterError> {
    let profile = plan.profile(spec.profile)?;
    let subject = subject_of(&profile);
    let issued = ca
        .issue_for_key(key.public_key(), &subject, &[], &profile, issue)
        .map_err(|source| ClusterError::Sign {
            name: spec.file.to_owned(),
            source,
        })?;
    let key_pem = key
        .to_pem(KeyFormat::Traditional)
        .map_err(|source| ClusterError::Key {
            path: PathBuf::from(spec.file),
            source,
        })?;
    let user = subject.common_name().unwrap_or(spec.profile);
    Kubeconfig::for_client(
        &plan.cluster_name,
        plan.server_for(spec),
        &ca.certificate_pem(),
        user,
        &issued.pem(),
        &key_pem,
    )
    .to_yaml()
    .map_err(|reason| ClusterError::Kubeconfig {
        path: PathBuf::from(spec.file),
        reason,
    })
}

/// A kubeconfig file read back: the file, its client certificate DER and its key.
pub(crate) type KubeconfigParts = (Kubeconfig, Option<Vec<u8>>, Option<KeyPair>);

/// Reads a kubeconfig file: the parsed file, its client certificate DER and key. An absent
/// `client-certificate-data` or `client-key-data` reads as `None`; a present one that does not
/// decode is an error naming the file and the field.
pub(crate) fn read_kubeconfig(path: &Path) -> Result<KubeconfigParts, ClusterError> {
    let text = String::from_utf8(read(path)?).map_err(|_| ClusterError::Kubeconfig {
        path: path.to_path_buf(),
        reason: "not UTF-8 text".to_owned(),
    })?;
    let config = Kubeconfig::from_yaml(&text).map_err(|reason| ClusterError::Kubeconfig {
        path: path.to_path_buf(),
        reason,
    })?;
    let (_, user) = config.current().ok_or_else(|| ClusterError::Misfit {
        path: path.to_path_buf(),
        reason: Misfit::KubeconfigIncomplete("current context"),
    })?;
    let cert = data_field(
        path,
        "client-certificate-data",
        &user.client_certificate_data,
    )?
    .map(|pem| first_certificate(path, "client-certificate-data", &pem))
    .transpose()?;
    let key = data_field(path, "client-key-data", &user.client_key_data)?
        .map(|pem| {
            KeyPair::from_bytes(&pem, None).map_err(|e| ClusterError::KubeconfigField {
                path: path.to_path_buf(),
                field: "client-key-data",
                reason: e.to_string(),
            })
        })
        .transpose()?;
    Ok((config, cert, key))
}

/// The bytes of the `*-data` field `field` of the kubeconfig file `path`: `None` when the
/// field is absent or empty, an error naming file and field when it is not base64.
fn data_field(
    path: &Path,
    field: &'static str,
    value: &str,
) -> Result<Option<Vec<u8>>, ClusterError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let bytes = decode_data(value).ok_or_else(|| ClusterError::KubeconfigField {
        path: path.to_path_buf(),
        field,
        reason: "not base64".to_owned(),
    })?;
    Ok((!bytes.is_empty()).then_some(bytes))
}

/// The DER of the first certificate in `bytes` (PEM or DER), checked to parse; an error
/// naming the file and the field (or file) it came from otherwise.
fn first_certificate(
    path: &Path,
    field: &'static str,
    bytes: &[u8],
) -> Result<Vec<u8>, ClusterError> {
    let broken = |reason: String| ClusterError::KubeconfigField {
        path: path.to_path_buf(),
        field,
        reason,
    };
    let der = certificates_from_bytes(bytes)
        .map_err(|e| broken(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| broken("no certificate".to_owned()))?;
    parse_certificate(&der).map_err(|e| broken(e.to_string()))?;
    Ok(der)
}

/// The first PEM block of `text` whose label ends with `label` (`CERTIFICATE`, or
/// `PRIVATE KEY` for any kind of private key), as its own PEM text.
fn pem_blocks_labelled(text: &str, label: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let name = &after[..after.find("-----")?];
        let end_marker = format!("-----END {name}-----");
        let end = rest[start..].find(&end_marker)? + start + end_marker.len();
        if name.ends_with(label) {
            return Some(rest[start..end].to_owned());
        }
        rest = &rest[end..];
    }
    None
}

/// Checks an existing kubeconfig file as kubeadm does, and more: the CA data must be the
/// cluster CA (kubeadm's only hard check); another server URL is kept with a warning, as
/// kubeadm keeps it; the client certificate must be the profile's, signed by the CA, with
/// its key. A client certificate kept in a file (kubeadm's kubelet.conf after
/// kubelet-finalize) is checked when the file is readable here, and kept with a warning
/// when it is not. Returns the warning, if any.
fn check_kubeconfig(
    path: &Path,
    ca: &CaCert,
    profile: &Profile,
    server: &str,
    now: SystemTime,
) -> Result<Option<String>, ClusterError> {
    let bad = misfit(path);
    let (config, cert, key) = read_kubeconfig(path)?;
    let (cluster, user) = config
        .current()
        .ok_or_else(|| bad(Misfit::KubeconfigIncomplete("current context")))?;
    let ca_der = data_field(
        path,
        "certificate-authority-data",
        &cluster.certificate_authority_data,
    )?
    .map(|pem| first_certificate(path, "certificate-authority-data", &pem))
    .transpose()?;
    if ca_der.as_deref() != Some(ca.der.as_slice()) {
        return Err(bad(Misfit::WrongCaData {
            ca: ca.name.to_owned(),
        }));
    }
    let mut warnings = Vec::new();
    if cluster.server != server {
        warnings.push(format!(
            "its server is {}, not {server}: kept, as kubeadm keeps it",
            cluster.server
        ));
    }
    let (cert, key) = match (cert, key) {
        (Some(cert), key) => (cert, key),
        (None, _) if !user.client_certificate.is_empty() => {
            let cert_path = path
                .parent()
                .unwrap_or(Path::new("."))
                .join(&user.client_certificate);
            let key_path = match user.client_key.as_str() {
                "" => cert_path.clone(),
                file => path.parent().unwrap_or(Path::new(".")).join(file),
            };
            match (
                fs::read_to_string(&cert_path),
                fs::read_to_string(&key_path),
            ) {
                (Ok(cert_pem), Ok(key_pem)) => {
                    // The kubelet keeps certificate and key in one PEM file.
                    let cert = pem_blocks_labelled(&cert_pem, "CERTIFICATE")
                        .ok_or_else(|| bad(Misfit::KubeconfigIncomplete("client certificate")))?;
                    let cert = first_certificate(&cert_path, "certificate", cert.as_bytes())?;
                    let key = pem_blocks_labelled(&key_pem, "PRIVATE KEY")
                        .map(|block| {
                            KeyPair::from_bytes(block.as_bytes(), None).map_err(|source| {
                                ClusterError::Key {
                                    path: key_path.clone(),
                                    source,
                                }
                            })
                        })
                        .transpose()?;
                    (cert, key)
                }
                _ => {
                    warnings.push(format!(
                        "its client certificate is the file {}, not readable here: kept unchecked (the kubelet rotates it)",
                        cert_path.display()
                    ));
                    return Ok(Some(warnings.join("; ")));
                }
            }
        }
        (None, _) => return Err(bad(Misfit::KubeconfigIncomplete("client certificate"))),
    };
    let key = key.ok_or_else(|| bad(Misfit::KubeconfigIncomplete("client key")))?;
    check_cert(path, &cert, key.public_key(), ca, profile, now)?;
    Ok((!warnings.is_empty()).then(|| warnings.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubepki_profile::ProfileError;

    #[test]
    fn a_profile_that_cannot_name_its_sans_is_an_error_not_a_skipped_check() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let params = ClusterParams::default();
        let issue = IssueOptions::at(now);
        let ca_profile = builtin("ca", &params).unwrap();
        let ca_key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca = Ca::self_signed(
            Box::new(ca_key),
            &subject_of(&ca_profile),
            &ca_profile,
            &issue,
        )
        .unwrap();
        let ca_cert = CaCert::from_der("ca", ca.certificate_der().to_vec()).unwrap();
        let mut profile = builtin("admin", &params).unwrap();
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let issued = ca
            .issue_for_key(
                key.public_key(),
                &subject_of(&profile),
                &[],
                &profile,
                &issue,
            )
            .unwrap();
        let path = Path::new("admin.crt");
        check_cert(
            path,
            issued.der(),
            key.public_key(),
            &ca_cert,
            &profile,
            now,
        )
        .unwrap();
        // A profile that refuses its own subject cannot say which SANs it requires: the check
        // used to be skipped (`unwrap_or_default`), and the certificate kept.
        profile.subject.max_organizations = 0;
        match check_cert(
            path,
            issued.der(),
            key.public_key(),
            &ca_cert,
            &profile,
            now,
        ) {
            Err(ClusterError::Profile(ProfileError::TooManyOrganizations { .. })) => {}
            other => panic!("{other:?}"),
        }
    }
}
