//! Renewal, user kubeconfig files, component certificates and CSRs for an external CA.

use core::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kubepki_csr::{CsrBuilder, San, SanKind, Subject};
use kubepki_fs::{
    Discard, FileKind, FileWrite, Journal, Overwrite, TreeLock, Undo, write_atomic,
    write_atomic_all,
};
use kubepki_keys::{KeyAlgorithm, KeyFormat, KeyPair};
use kubepki_profile::{
    BACKDATE, ClusterParams, DEFAULT_CERT_VALIDITY, Profile, SanPolicy, SubjectPolicy, Usage,
    builtin,
};
use kubepki_sign::{Ca, CertificateInfo, IssueOptions};

// Where the rotation phases have always found it.
pub(crate) use crate::files::backup;
use crate::files::{
    LOCK_WAIT, ensure_dir, load_cert, lock_tree, pending_csr, read, read_kubeconfig,
};
use crate::keygen::generate_keys;
use crate::kubeconfig::{ClientKubeconfig, Kubeconfig};
use crate::plan::{Plan, required_sans, subject_of};
use crate::tree::{CaName, LEAVES, crt, key};
use crate::{ClusterError, InitOptions};
use base64ct::{Base64, Encoding};

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
    /// Where the replaced files go: `None` removes them once the new pair is in place (no
    /// old key stays in the tree); `Some(dir)` moves them to `dir/<renewal time>/` (folders
    /// created 0700, key files staying 0600), certificates and keys under `pki/`, kubeconfig
    /// files by name.
    pub keep_old: Option<PathBuf>,
}

/// One renewed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewed {
    /// kubeadm's name.
    pub name: String,
    /// The certificate or kubeconfig file rewritten.
    pub path: PathBuf,
    /// The component to restart so that it reads the new certificate, or `nothing (...)`
    /// saying why none needs to ([`Renewed::restart_needed`]).
    pub restart: &'static str,
}

impl Renewed {
    /// The component to restart, `None` when the file is read again without one.
    pub fn restart_needed(&self) -> Option<&'static str> {
        (!self.restart.starts_with("nothing")).then_some(self.restart)
    }
}

/// A certificate `certs renew` left alone because its CA's key is not here (external CA
/// mode): kubeadm's "Detected external CA, ... can't be renewed".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// kubeadm's name.
    pub name: String,
    /// The CA whose key is absent.
    pub ca: String,
}

/// What `certs renew` did: every certificate it renewed, and every one it could not renew
/// because its CA is external. Nothing else is touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenewReport {
    /// Renewed, in kubeadm's order.
    pub renewed: Vec<Renewed>,
    /// Left alone: the CA key is absent.
    pub skipped: Vec<Skipped>,
    /// What was found and repaired first (a renewal a killed process left half-done).
    pub warnings: Vec<String>,
}

/// Who reads `name`'s new certificate only after a restart. What reloads by itself, and where
/// that is done upstream:
/// - `apiserver`: kube-apiserver serves from
///   `dynamiccertificates.NewDynamicServingContentFromFiles("serving-cert", ...)`
///   (k8s.io/apiserver/pkg/server/options/serving.go), which re-reads the files on change.
/// - `front-proxy-client`: the aggregator's `"aggregator-proxy-cert"` dynamic content
///   (k8s.io/kube-aggregator/pkg/apiserver/apiserver.go), the same mechanism.
/// - `apiserver-kubelet-client`: kube-apiserver's kubelet client config sets
///   `ReloadTLSFiles: true` (pkg/kubelet/client/kubelet_client.go), so client-go's
///   cert-rotating dialer re-reads the files.
/// - `etcd-server`, `etcd-peer`: etcd reloads its certificates on every new connection since
///   v3.2 (etcd's security guide, "Notes for TLS authentication"; client/pkg/transport
///   `TLSInfo.baseConfig`'s `GetCertificate`).
/// - `etcd-healthcheck-client`: read by each probe run (etcdctl), nothing long-running holds it.
/// - `admin.conf`, `super-admin.conf`: kubectl reads the file at every run.
///
/// What needs a restart:
/// - `apiserver-etcd-client`: the etcd client reloads its certificate only when it dials a
///   new connection, and kube-apiserver's gRPC connections to etcd live for its lifetime;
///   kubeadm's own advice is to restart it.
/// - `controller-manager.conf`, `scheduler.conf`: embedded data, read once at start.
/// - `kubelet.conf` (only `certs recover` writes it): the kubelet's certificate manager
///   holds the certificate it loaded; after an outage it must start again anyway.
pub(crate) fn restart_for(name: &str) -> &'static str {
    match name {
        "apiserver" | "front-proxy-client" | "apiserver-kubelet-client" => {
            "nothing (kube-apiserver reloads it)"
        }
        "etcd-server" | "etcd-peer" => "nothing (etcd reloads it on each connection)",
        "etcd-healthcheck-client" => "nothing (read by each health check)",
        "controller-manager.conf" => "kube-controller-manager",
        "scheduler.conf" => "kube-scheduler",
        "kubelet.conf" => "kubelet",
        "admin.conf" | "super-admin.conf" => "nothing (kubectl reads it at every run)",
        _ => "kube-apiserver",
    }
}

/// A CA for one operation: the cluster CA the caller opened (its key on a token, say), or
/// one loaded from the tree.
pub(crate) enum CaRef<'a> {
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
pub(crate) fn ca_for<'a>(
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
pub(crate) fn reissue(
    ca: &Ca,
    name: &str,
    der: &[u8],
    old_key: Option<&KeyPair>,
    options: &RenewOptions,
    now: SystemTime,
) -> Result<(String, KeyPair), ClusterError> {
    let algorithm = options
        .algorithm
        .or_else(|| old_key.map(KeyPair::algorithm))
        .unwrap_or(KeyAlgorithm::EcdsaP256);
    let key = KeyPair::generate(algorithm).map_err(ClusterError::KeyGeneration)?;
    let cert_pem = reissue_for_key(ca, name, der, &key, options, now)?;
    Ok((cert_pem, key))
}

/// Reissues a certificate DER for `key` (the same subject, SANs and usages, plus
/// `options.add_sans` on a serving certificate): returns the new certificate PEM.
pub(crate) fn reissue_for_key(
    ca: &Ca,
    name: &str,
    der: &[u8],
    key: &KeyPair,
    options: &RenewOptions,
    now: SystemTime,
) -> Result<String, ClusterError> {
    let sign = |source| ClusterError::Sign {
        name: name.to_owned(),
        source,
    };
    let info = CertificateInfo::from_der(der).map_err(sign)?;
    let mut sans = info.sans.clone();
    if info.usages.contains(&Usage::ServerAuth) {
        for san in &options.add_sans {
            if !sans.contains(san) {
                sans.push(san.clone());
            }
        }
    }
    let profile = same_as(&info, options.validity.unwrap_or(DEFAULT_CERT_VALIDITY));
    let issued = ca
        .issue_for_key(
            key.public_key(),
            &info.subject,
            &sans,
            &profile,
            &IssueOptions::at(now),
        )
        .map_err(sign)?;
    Ok(issued.pem())
}

pub(crate) fn key_pem(path: &Path, key: &KeyPair) -> Result<kubepki_keys::KeyPem, ClusterError> {
    key.to_pem(KeyFormat::Traditional)
        .map_err(|source| ClusterError::Key {
            path: path.to_path_buf(),
            source,
        })
}

/// Where an old file of the tree goes under `--keep-old DIR`: `DIR/<now, RFC 3339 without
/// colons>/pki/<path in the cert dir>` for certificates and keys, `.../<file name>` for
/// kubeconfig files.
fn kept_path(options: &RenewOptions, keep: &Path, original: &Path, now: SystemTime) -> PathBuf {
    let stamp = kubepki_sign::format_rfc3339(now).replace(':', "");
    let folder = keep.join(stamp);
    match original.strip_prefix(&options.cert_dir) {
        Ok(inside) => folder.join("pki").join(inside),
        Err(_) => folder.join(original.file_name().unwrap_or(original.as_os_str())),
    }
}

/// What becomes of the backup of `original` once its renewal is kept: moved under
/// `keep_old`, else removed.
fn disposal(options: &RenewOptions, original: &Path, backup: PathBuf, now: SystemTime) -> Discard {
    match &options.keep_old {
        Some(keep) => Discard::MoveTo {
            backup,
            to: kept_path(options, keep, original, now),
        },
        None => Discard::Remove(backup),
    }
}

/// Renews `name` into `report`, or records it as skipped when its CA key is absent.
fn renew_one(
    lock: &TreeLock,
    name: &str,
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
    report: &mut RenewReport,
) -> Result<(), ClusterError> {
    let ca = LEAVES
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.ca)
        .or_else(|| RENEWABLE_KUBECONFIGS.contains(&name).then_some(CaName::Ca));
    // External: the CA certificate is here, its key neither here nor given (on a token).
    let external = |ca: CaName| {
        !(ca == CaName::Ca && cluster_ca.is_some())
            && crt(&options.cert_dir, ca.base()).exists()
            && !key(&options.cert_dir, ca.base()).exists()
    };
    if let Some(ca) = ca.filter(|&ca| external(ca)) {
        report.skipped.push(Skipped {
            name: name.to_owned(),
            ca: ca.name().to_owned(),
        });
        return Ok(());
    }
    report
        .renewed
        .push(renew_with_key(lock, name, options, now, cluster_ca)?);
    Ok(())
}

fn renew_with_key(
    lock: &TreeLock,
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
        // The pair changes as one: backups first, then the journal that restores them if
        // this process dies between the key and the certificate, then key and certificate.
        // Once both are written, the journal is swapped for the list of backups to dispose
        // of: a kill before that swap restores the old pair, after it keeps the new pair and
        // the next run finishes removing (or moving) the old one.
        let crt_backup = backup(&crt_path, FileKind::Public)?;
        let mut undo = vec![Undo::Restore {
            path: crt_path.clone(),
            backup: crt_backup.clone(),
        }];
        let mut discard = vec![disposal(options, &crt_path, crt_backup, now)];
        undo.push(if key_path.exists() {
            let key_backup = backup(&key_path, FileKind::Secret)?;
            discard.push(disposal(options, &key_path, key_backup.clone(), now));
            Undo::Restore {
                path: key_path.clone(),
                backup: key_backup,
            }
        } else {
            Undo::Remove(key_path.clone())
        });
        let journal = Journal::begin(lock, &undo)?;
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
        journal.commit_discarding(&discard)?;
        return Ok(Renewed {
            name: name.to_owned(),
            path: crt_path,
            restart: restart_for(name),
        });
    }
    if RENEWABLE_KUBECONFIGS.contains(&name) {
        return renew_embedded_kubeconfig(name, options, now, cluster_ca);
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

/// Renews the kubeconfig file `name` of the kubeconfig folder whose client certificate and
/// key are embedded: edited in place (see [`replace_credentials`]).
pub(crate) fn renew_embedded_kubeconfig(
    name: &str,
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<Renewed, ClusterError> {
    let path = options.kubeconfig_dir.join(name);
    let ca = ca_for(&options.cert_dir, CaName::Ca, name, cluster_ca)?;
    let (_, der, old_key) = read_kubeconfig(&path)?;
    let der = der.ok_or_else(|| ClusterError::Misfit {
        path: path.clone(),
        reason: crate::Misfit::KubeconfigIncomplete("client certificate"),
    })?;
    let (cert_pem, new_key) = reissue(&ca, name, &der, old_key.as_ref(), options, now)?;
    let new_key_pem = key_pem(&path, &new_key)?;
    let text = String::from_utf8(read(&path)?).map_err(|_| ClusterError::Kubeconfig {
        path: path.clone(),
        reason: "not UTF-8 text".to_owned(),
    })?;
    // The trust the file carries is the whole of ca.crt: during a CA rotation that is the
    // old and the new CA, and a renewal must not drop either.
    let ca_crt = crt(&options.cert_dir, CaName::Ca.base());
    let ca_pem = match ca_crt.exists() {
        true => String::from_utf8_lossy(&read(&ca_crt)?).into_owned(),
        false => ca.certificate_pem(),
    };
    let text = replace_credentials(&text, &ca_pem, &cert_pem, &new_key_pem).map_err(|reason| {
        ClusterError::Kubeconfig {
            path: path.clone(),
            reason,
        }
    })?;
    // One file replaced atomically needs no journal; the old one is kept only when asked.
    keep_old_copy(options, &path, now)?;
    write_atomic(&path, text.as_bytes(), FileKind::Secret, Overwrite::Replace)?;
    Ok(Renewed {
        name: name.to_owned(),
        path,
        restart: restart_for(name),
    })
}

/// Under `--keep-old`, a copy of the file about to be replaced (mode 0600: a kubeconfig holds
/// a key) in the keep folder.
pub(crate) fn keep_old_copy(
    options: &RenewOptions,
    path: &Path,
    now: SystemTime,
) -> Result<(), ClusterError> {
    if let Some(keep) = &options.keep_old {
        let to = kept_path(options, keep, path, now);
        write_atomic(&to, &read(path)?, FileKind::Secret, Overwrite::Replace)?;
    }
    Ok(())
}

/// Edits a kubeconfig document as kubeadm's renewal does: the current context's user gets
/// the new client certificate and key, its cluster the current CA; every other field (a
/// context's namespace, a cluster's `tls-server-name` or `proxy-url`, other users, `exec`,
/// extensions, fields this crate does not model) is kept as it was. Keys are written in
/// alphabetical order, as kubectl writes a kubeconfig; comments are not kept.
pub(crate) fn replace_credentials(
    text: &str,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<String, String> {
    use serde_json::Value;
    let mut doc: Value = crate::yaml::from_yaml(text)?;
    let data = |pem: &str| Value::String(Base64::encode_string(pem.as_bytes()));
    let user = current_context_field(&doc, "user")?;
    let cluster = current_context_field(&doc, "cluster")?;
    let user_map = named_mut(&mut doc, "users", &user, "user")?;
    user_map.insert("client-certificate-data".into(), data(cert_pem));
    user_map.insert("client-key-data".into(), data(key_pem));
    let cluster_map = named_mut(&mut doc, "clusters", &cluster, "cluster")?;
    cluster_map.insert("certificate-authority-data".into(), data(ca_pem));
    crate::yaml::to_yaml(&doc)
}

/// Edits a kubeconfig document in place as [`replace_credentials`] does, setting only the
/// current context's cluster's `certificate-authority-data` to `ca_pem`.
pub(crate) fn replace_ca_data(text: &str, ca_pem: &str) -> Result<String, String> {
    use serde_json::Value;
    let mut doc: Value = crate::yaml::from_yaml(text)?;
    let cluster = current_context_field(&doc, "cluster")?;
    let cluster_map = named_mut(&mut doc, "clusters", &cluster, "cluster")?;
    cluster_map.insert(
        "certificate-authority-data".into(),
        Value::String(Base64::encode_string(ca_pem.as_bytes())),
    );
    crate::yaml::to_yaml(&doc)
}

/// The `user` or `cluster` that a kubeconfig's current context names.
fn current_context_field(doc: &serde_json::Value, field: &str) -> Result<String, String> {
    use serde_json::Value;
    let current = doc
        .get("current-context")
        .and_then(Value::as_str)
        .ok_or("no current-context")?;
    let context = doc
        .get("contexts")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(current))
        })
        .and_then(|c| c.get("context"))
        .ok_or_else(|| format!("the current context {current:?} is not in contexts"))?;
    context
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("context {current:?} names no {field}"))
}

/// The mapping `inner` of the entry named `name` in the list `list` of a kubeconfig
/// (`users[name=..].user`, `clusters[name=..].cluster`).
fn named_mut<'a>(
    doc: &'a mut serde_json::Value,
    list: &str,
    name: &str,
    inner: &str,
) -> Result<&'a mut serde_json::Map<String, serde_json::Value>, String> {
    use serde_json::Value;
    doc.get_mut(list)
        .and_then(Value::as_array_mut)
        .and_then(|l| {
            l.iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|e| e.get_mut(inner))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{list} has no entry {name:?} with a {inner}"))
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
/// usages, signed by the same CA. The old files do not stay in the tree: they are removed
/// once the new pair is in place, or moved under `keep_old` when set. A kubeconfig file is
/// edited in place (its user's certificate and key, its cluster's CA data), every other
/// field kept. A certificate whose CA key is absent (external CA) is skipped and reported,
/// as kubeadm does; CAs are never renewed.
///
/// # Errors
/// [`ClusterError::CaNotRenewed`] for a CA, [`ClusterError::UnknownCertificate`], read and
/// write errors. Each certificate is renewed whole (key, then certificate) before the next
/// is started; on an error the error says which file, and the files renewed before it stay
/// renewed.
pub fn renew(
    options: &RenewOptions,
    which: &str,
    now: SystemTime,
) -> Result<RenewReport, ClusterError> {
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
) -> Result<RenewReport, ClusterError> {
    renew_each(options, &[which], now, cluster_ca)
}

/// As [`renew_with_ca`] for each of `names` in order, under one lock: each is a name of
/// [`renewable_names`] or `all`; a name given twice (or also covered by `all`) is renewed
/// once.
///
/// # Errors
/// As [`renew`]. When the failing certificate is not the one name asked for,
/// [`ClusterError::RenewIncomplete`] names it and those renewed before it, which stay renewed.
pub fn renew_each(
    options: &RenewOptions,
    names: &[&str],
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<RenewReport, ClusterError> {
    let (lock, recovered) = lock_tree(&options.cert_dir, &options.kubeconfig_dir)?;
    let mut report = RenewReport {
        warnings: recovered.into_iter().collect(),
        ..RenewReport::default()
    };
    if let [which] = names
        && *which != "all"
    {
        renew_one(&lock, which, options, now, cluster_ca, &mut report)?;
        return Ok(report);
    }
    let mut list: Vec<&str> = Vec::new();
    for &name in names {
        let expanded: Vec<&str> = if name == "all" {
            let leaves = LEAVES
                .iter()
                .filter(|l| crt(&options.cert_dir, l.base).exists())
                .map(|l| l.name);
            let kubeconfigs = RENEWABLE_KUBECONFIGS
                .iter()
                .copied()
                .filter(|f| options.kubeconfig_dir.join(f).exists());
            leaves.chain(kubeconfigs).collect()
        } else {
            vec![name]
        };
        for name in expanded {
            if !list.contains(&name) {
                list.push(name);
            }
        }
    }
    renew_names(&lock, &list, options, now, cluster_ca, &mut report)?;
    Ok(report)
}

/// Renews `names` in order into `report`; the first failure stops it, naming what was
/// renewed before.
fn renew_names(
    lock: &TreeLock,
    names: &[&str],
    options: &RenewOptions,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
    report: &mut RenewReport,
) -> Result<(), ClusterError> {
    for &name in names {
        renew_one(lock, name, options, now, cluster_ca, report).map_err(|source| {
            ClusterError::RenewIncomplete {
                at: name.to_owned(),
                renewed: report.renewed.iter().map(|r| r.name.clone()).collect(),
                source: Box::new(source),
            }
        })?;
    }
    Ok(())
}

/// Renews exactly the certificates and kubeconfig client certificates of the tree that are
/// [`crate::due_for_renewal`] at `now` with the margin `within` (expired, or ending before
/// `now + within`), as [`renew_with_ca`] renews one: what a timer runs. Nothing else is
/// touched, so a second run at once renews nothing. CAs are not renewed (check-expiration
/// reports them); a due certificate whose CA key is absent is reported as skipped.
///
/// # Errors
/// As [`renew_with_ca`]; [`ClusterError::Sign`] or [`ClusterError::Kubeconfig`] for a present
/// file whose expiration cannot be read.
pub fn renew_due(
    options: &RenewOptions,
    within: Duration,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
) -> Result<RenewReport, ClusterError> {
    let (lock, recovered) = lock_tree(&options.cert_dir, &options.kubeconfig_dir)?;
    let mut report = RenewReport {
        warnings: recovered.into_iter().collect(),
        ..RenewReport::default()
    };
    renew_due_locked(&lock, options, within, now, cluster_ca, &mut report)?;
    Ok(report)
}

/// [`renew_due`] under a lock the caller holds.
pub(crate) fn renew_due_locked(
    lock: &TreeLock,
    options: &RenewOptions,
    within: Duration,
    now: SystemTime,
    cluster_ca: Option<&Ca>,
    report: &mut RenewReport,
) -> Result<(), ClusterError> {
    let expiration = crate::check_expiration(&options.cert_dir, &options.kubeconfig_dir, now)?;
    let due: Vec<&str> = expiration
        .due_certificates(now, within)
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    // check-expiration lists kubeconfig files before leaves, by name; renew in kubeadm's
    // order as `renew all` does.
    let order = renewable_names();
    let names: Vec<&str> = order.into_iter().filter(|n| due.contains(n)).collect();
    renew_names(lock, &names, options, now, cluster_ca, report)
}

/// A new user's kubeconfig file (kubeadm's `kubeconfig user`): what [`user_kubeconfig`]
/// needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserKubeconfigOptions {
    /// The certificate folder holding the cluster CA (`ca.crt`, `ca.key`), when the CA is
    /// not given.
    pub cert_dir: PathBuf,
    /// The cluster's name in the file.
    pub cluster_name: String,
    /// The API server URL.
    pub server: String,
    /// The user: the certificate's CN.
    pub client_name: String,
    /// The user's groups: the certificate's O.
    pub groups: Vec<String>,
    /// How long the certificate is valid (clamped to the CA's end).
    pub validity: Duration,
    /// The new key's algorithm.
    pub algorithm: KeyAlgorithm,
}

/// A kubeconfig for a new user (kubeadm's `kubeconfig user`): CN `client_name`, O `groups`,
/// signed for `validity` with a fresh key by `cluster_ca` when given (the cluster CA with its
/// key wherever it is: on a PKCS#11 token, say), else by the cluster CA in `cert_dir`, read
/// under the tree's lock.
///
/// # Errors
/// [`ClusterError::NoCaKey`] without `ca.key` (and no CA given); [`ClusterError::Sign`]
/// when the profile refuses (a validity past the CA's end is clamped, not refused).
pub fn user_kubeconfig(
    options: &UserKubeconfigOptions,
    cluster_ca: Option<&Ca>,
    now: SystemTime,
) -> Result<String, ClusterError> {
    let ca = match cluster_ca {
        Some(ca) => CaRef::Given(ca),
        None => {
            // Read the CA while no other kubepki changes the tree.
            let _lock = TreeLock::acquire(&options.cert_dir, LOCK_WAIT)?;
            CaRef::Loaded(load_ca(
                &options.cert_dir,
                CaName::Ca,
                &options.client_name,
            )?)
        }
    };
    let mut profile = builtin("client", &ClusterParams::default())?;
    profile.default_validity = options.validity;
    profile.max_validity = options.validity;
    let key = KeyPair::generate(options.algorithm).map_err(ClusterError::KeyGeneration)?;
    ClientKubeconfig {
        cluster_name: &options.cluster_name,
        server: &options.server,
        subject: &Subject::from_parts(&options.client_name, &options.groups),
        profile: &profile,
        name: &options.client_name,
    }
    .issue(&ca, &key, &IssueOptions::at(now))
}

/// The component certificates kubeadm leaves out.
pub const COMPONENTS: &[&str] = &["kube-proxy", "kubelet-client", "kubelet-serving"];

/// A component certificate (`kube-proxy`, `kubelet-client`, `kubelet-serving`): what
/// [`issue_component`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentOptions {
    /// The certificate folder holding the cluster CA (`ca.crt`, `ca.key`), when the CA is
    /// not given.
    pub cert_dir: PathBuf,
    /// Where `<kind>.crt` and `<kind>.key` go.
    pub out_dir: PathBuf,
    /// One of [`COMPONENTS`].
    pub kind: String,
    /// The node the certificate is for.
    pub node_name: String,
    /// The node's address (a SAN of `kubelet-serving`).
    pub address: Option<IpAddr>,
    /// The new key's algorithm.
    pub algorithm: KeyAlgorithm,
    /// The validity; the profile's default when `None`.
    pub validity: Option<Duration>,
}

/// Issues a component certificate for `node_name`, signed by `cluster_ca` when given (the
/// cluster CA with its key wherever it is: on a PKCS#11 token, say), else by the cluster CA
/// in `cert_dir`, writing `<out_dir>/<kind>.crt` and `.key` (never over existing files).
/// Returns the certificate's path.
///
/// # Errors
/// [`ClusterError::UnknownCertificate`] for another kind, [`ClusterError::NoCaKey`] without
/// `ca.key` (and no CA given), [`ClusterError::Fs`] when a file exists.
pub fn issue_component(
    options: &ComponentOptions,
    cluster_ca: Option<&Ca>,
    now: SystemTime,
) -> Result<PathBuf, ClusterError> {
    let kind = options.kind.as_str();
    if !COMPONENTS.contains(&kind) {
        return Err(ClusterError::UnknownCertificate {
            name: kind.to_owned(),
            known: COMPONENTS.join(", "),
        });
    }
    let ca = ca_for(&options.cert_dir, CaName::Ca, kind, cluster_ca)?;
    let params = ClusterParams {
        node_name: Some(options.node_name.clone()),
        advertise_address: options.address,
        ..ClusterParams::default()
    };
    let mut profile = builtin(kind, &params)?;
    if let Some(v) = options.validity {
        profile.default_validity = v;
        profile.max_validity = profile.max_validity.max(v);
    }
    let key_pair = KeyPair::generate(options.algorithm).map_err(ClusterError::KeyGeneration)?;
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
    ensure_dir(&options.out_dir)?;
    let (crt_path, key_path) = (crt(&options.out_dir, kind), key(&options.out_dir, kind));
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
/// The cluster CA's certificate (`ca.crt`, without its key: external CA mode) must be in the
/// cert dir, as the kubeconfig files embed it. Nothing is written unless every file can be.
///
/// # Errors
/// As [`crate::init`] for bad options; [`ClusterError::NoCaCertificate`] without `ca.crt`,
/// [`ClusterError::Sign`] when it does not parse; [`ClusterError::Fs`] when a file exists.
pub fn generate_csrs(options: &InitOptions) -> Result<Vec<PathBuf>, ClusterError> {
    let plan = Plan::new(options)?;
    // The kubeconfig files embed the cluster CA (init checks that they do): without it they
    // would be written unusable.
    let ca_path = crt(&options.cert_dir, "ca");
    if !ca_path.exists() {
        return Err(ClusterError::NoCaCertificate { path: ca_path });
    }
    ensure_dir(&options.cert_dir)?;
    ensure_dir(&options.kubeconfig_dir)?;
    let (lock, _recovered) = lock_tree(&options.cert_dir, &options.kubeconfig_dir)?;
    let ca_pem = String::from_utf8(read(&ca_path)?).map_err(|_| ClusterError::Sign {
        name: ca_path.display().to_string(),
        source: kubepki_sign::SignError::MalformedCertificate(
            "PEM text is not valid UTF-8".to_owned(),
        ),
    })?;
    kubepki_sign::parse_certificate(&load_cert(&ca_path)?).map_err(|source| {
        ClusterError::Sign {
            name: ca_path.display().to_string(),
            source,
        }
    })?;
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
    let mut out = Vec::new();
    // Every file is written in one journaled change: all of them, or (after a crash, at the
    // next run) none.
    let mut files: Vec<(PathBuf, Vec<u8>, FileKind)> = Vec::new();
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
        let pem = key_pem(&key_path, &key_pair)?;
        files.push((key_path, pem.as_bytes().to_vec(), FileKind::Secret));
        files.push((csr_path.clone(), csr.into_bytes(), FileKind::Public));
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
        files.push((path, text.into_bytes(), FileKind::Secret));
        files.push((csr_path.clone(), csr.into_bytes(), FileKind::Public));
        out.push(csr_path);
    }
    if let Some((existing, _, _)) = files.iter().find(|(p, _, _)| p.exists()) {
        return Err(kubepki_fs::FsError::Exists {
            path: existing.clone(),
        }
        .into());
    }
    let undo: Vec<Undo> = files
        .iter()
        .map(|(p, _, _)| Undo::Remove(p.clone()))
        .collect();
    let journal = Journal::begin(&lock, &undo)?;
    let writes: Vec<FileWrite<'_>> = files
        .iter()
        .map(|(path, bytes, kind)| FileWrite {
            path,
            bytes,
            kind: *kind,
        })
        .collect();
    write_atomic_all(&writes, Overwrite::Refuse)?;
    journal.commit()?;
    Ok(out)
}
