//! The kubeadm tree: `kubepki init` as parameters and one call, in memory or on disk;
//! expiration, renewal and user kubeconfig files.

use std::ffi::{CString, c_char};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use kubepki::KeyAlgorithm;
use kubepki::cluster::{
    Action, Bundle, CaSigner, CaSource, ExternalCa, GroupsCompat, InitOptions, RenewOptions,
    UserKubeconfigOptions, check_expiration, generate, init, parse_san, renew_each,
    user_kubeconfig,
};
use kubepki::csr::check_node_name;
use kubepki::profile::first_service_ip;

use crate::ca::kubepki_ca;
use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::kubepki_bytes;
use crate::signer::kubepki_signer;
use crate::util::{call, free_handle, handle, out_arg, str_arg, time_arg, unix_seconds, write_out};

/// A borrowed text: `len` bytes of UTF-8 at `data`, not NUL-terminated. Lists of texts
/// (groups, certificate names) are arrays of these.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kubepki_str {
    /// The first byte (may be NULL when `len` is 0).
    pub data: *const u8,
    /// The number of bytes.
    pub len: usize,
}

/// Reads an array of texts; `what` names it in errors. As for bytes, a count of 0 is an
/// empty list whatever the pointer, and each item of length 0 is empty text.
///
/// # Safety
/// `items` is NULL (then `count` must be 0) or points to `count` `kubepki_str`, each pointing
/// to its `len` bytes.
unsafe fn str_list(
    items: *const kubepki_str,
    count: usize,
    what: &str,
) -> Result<Vec<String>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if items.is_null() {
        return Err(Failure::new(
            kubepki_result::NullParameter,
            format!("{what} is NULL with a count of {count}"),
        ));
    }
    // SAFETY: not NULL, and the caller promises `count` items.
    let items = unsafe { std::slice::from_raw_parts(items, count) };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            // SAFETY: the caller promises each item points to its `len` bytes.
            unsafe { str_arg(item.data, item.len, &format!("{what}[{i}]")) }.map(str::to_owned)
        })
        .collect()
}

/// The parameters of `kubepki init`, with kubeadm's defaults: advertise address 127.0.0.1,
/// port 6443, service CIDR 10.96.0.0/12, DNS domain cluster.local, cluster name kubernetes,
/// RSA-2048 keys, certificates for 1 year and CAs for 10 years, a local etcd. The node name
/// has no default (kubeadm takes the host name): set it. Each setter checks its value and
/// fails, naming it, without changing the parameters. Not thread-safe while being set; a
/// `const` one may be used by several calls at once.
pub struct kubepki_cluster_params {
    options: InitOptions,
    node_name_set: bool,
}

impl kubepki_cluster_params {
    /// The options with `change` applied, checked as `init` checks them; a node name is
    /// assumed when none is set yet so that other values can be checked alone.
    fn try_set(&mut self, change: impl FnOnce(&mut InitOptions)) -> Result<(), Failure> {
        let mut candidate = self.options.clone();
        change(&mut candidate);
        let mut checked = candidate.clone();
        if !self.node_name_set {
            "node".clone_into(&mut checked.node_name);
        }
        checked.validate()?;
        self.options = candidate;
        Ok(())
    }

    fn ready(&self) -> Result<&InitOptions, Failure> {
        if !self.node_name_set {
            return Err(Failure::new(
                kubepki_result::ClusterInvalidParameter,
                "the node name is not set (kubepki_cluster_params_set_node_name)",
            ));
        }
        Ok(&self.options)
    }
}

/// Makes cluster parameters with kubeadm's defaults (see `kubepki_cluster_params`).
///
/// # Safety
/// `out` points to storage for one pointer; `err_out` is NULL or points to storage for one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_new(
    out: *mut *mut kubepki_cluster_params,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        out_arg(out, "out")?;
        let options = InitOptions::new("", "", "", IpAddr::from([127, 0, 0, 1]));
        let params = kubepki_cluster_params {
            options,
            node_name_set: false,
        };
        // SAFETY: `out` checked above.
        unsafe { write_out(out, params) };
        Ok(())
    })
}

/// Frees cluster parameters. NULL is accepted and ignored.
///
/// # Safety
/// `params` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_free(params: *mut kubepki_cluster_params) {
    // SAFETY: NULL or parameters from this library, freed once.
    unsafe { free_handle(params) }
}

/// Borrows parameters for changing.
///
/// # Safety
/// `params` is NULL or a live handle not used by another thread.
unsafe fn params_mut<'a>(
    params: *mut kubepki_cluster_params,
) -> Result<&'a mut kubepki_cluster_params, Failure> {
    // SAFETY: as the caller promised.
    unsafe { params.as_mut() }.ok_or_else(|| crate::util::null("params"))
}

/// A setter taking one text: `body` gets the parameters and the text.
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
unsafe fn set_text(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    what: &str,
    err_out: *mut *mut kubepki_error,
    body: impl FnOnce(&mut kubepki_cluster_params, &str) -> Result<(), Failure>,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        // SAFETY: as the caller promised.
        let value = unsafe { str_arg(value, value_len, what)? };
        body(params, value)
    })
}

/// A setter adding one SAN (an IP address or a DNS name) to the list `sans` picks.
///
/// # Safety
/// As [`set_text`].
unsafe fn add_san(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    what: &str,
    err_out: *mut *mut kubepki_error,
    sans: fn(&mut InitOptions) -> &mut Vec<String>,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(params, value, value_len, "san", err_out, |p, v| {
            parse_san(v).map_err(|_| invalid(what, v, "neither an IP address nor a DNS name"))?;
            p.try_set(|o| sans(o).push(v.to_owned()))
        })
    }
}

fn invalid(what: &str, value: &str, reason: &str) -> Failure {
    Failure::new(
        kubepki_result::ClusterInvalidParameter,
        format!("{what} {value:?} is not valid: {reason}"),
    )
}

/// Sets the control-plane node's name (kubeadm's `--node-name`): a Kubernetes node name (a
/// DNS-1123 subdomain of at most 253 characters: lower-case letters, digits, '-' and '.';
/// labels of at most 63), in the API server and etcd certificates and the kubelet's identity
/// `system:node:NAME`. Every name this setter accepts gets its certificates.
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_node_name(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(params, value, value_len, "node_name", err_out, |p, v| {
            check_node_name(v).map_err(|e| {
                Failure::new(kubepki_result::ClusterInvalidParameter, e.to_string())
            })?;
            let was_set = p.node_name_set;
            p.node_name_set = true;
            p.try_set(|o| v.clone_into(&mut o.node_name))
                .inspect_err(|_| {
                    p.node_name_set = was_set;
                })
        })
    }
}

/// Sets the API server's advertise address (`--apiserver-advertise-address`): an IPv4 or
/// IPv6 address.
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_advertise_address(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(
            params,
            value,
            value_len,
            "advertise_address",
            err_out,
            |p, v| {
                let ip: IpAddr = v
                    .trim()
                    .parse()
                    .map_err(|_| invalid("advertise address", v, "not an IPv4 or IPv6 address"))?;
                p.try_set(|o| o.advertise_address = ip)
            },
        )
    }
}

/// Sets the shared control-plane endpoint (`--control-plane-endpoint`, `HOST[:PORT]`, an
/// IPv6 address in brackets with a port): a load balancer's name or address, put in the
/// API server certificate and in the kubeconfig files' server URL.
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_control_plane_endpoint(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(
            params,
            value,
            value_len,
            "control_plane_endpoint",
            err_out,
            |p, v| p.try_set(|o| o.control_plane_endpoint = Some(v.to_owned())),
        )
    }
}

/// Sets the cluster name in the kubeconfig files (`--cluster-name`, default `kubernetes`).
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_cluster_name(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(params, value, value_len, "cluster_name", err_out, |p, v| {
            if v.trim().is_empty() {
                return Err(invalid("cluster name", v, "it is empty"));
            }
            p.try_set(|o| v.clone_into(&mut o.cluster_name))
        })
    }
}

/// Sets the service CIDR (`--service-cidr`): one IPv4 or IPv6 network, or an IPv4 and an
/// IPv6 network separated by a comma (dual stack). The API server certificate gets the
/// first address of the first network, as kubeadm.
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_service_cidr(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(params, value, value_len, "service_cidr", err_out, |p, v| {
            let parts: Vec<&str> = v.split(',').map(str::trim).collect();
            if parts.len() > 2 {
                return Err(invalid("service CIDR", v, "more than two networks"));
            }
            let mut families = Vec::new();
            for part in &parts {
                let ip = first_service_ip(part)?;
                families.push(ip.is_ipv4());
            }
            if families.len() == 2 && families[0] == families[1] {
                return Err(invalid(
                    "service CIDR",
                    v,
                    "a dual-stack value needs one IPv4 and one IPv6 network",
                ));
            }
            p.try_set(|o| v.clone_into(&mut o.service_cidr))
        })
    }
}

/// Sets the cluster DNS domain (`--service-dns-domain`, default `cluster.local`).
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_dns_domain(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(params, value, value_len, "dns_domain", err_out, |p, v| {
            p.try_set(|o| v.clone_into(&mut o.dns_domain))
        })
    }
}

/// Adds a SAN (an IP address or a DNS name) to the API server certificate
/// (`--apiserver-cert-extra-sans`).
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_add_apiserver_san(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        add_san(params, value, value_len, "API server SAN", err_out, |o| {
            &mut o.apiserver_cert_extra_sans
        })
    }
}

/// Adds a SAN to the etcd server certificate (kubeadm's `etcd.local.serverCertSANs`).
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_add_etcd_server_san(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        add_san(params, value, value_len, "etcd server SAN", err_out, |o| {
            &mut o.etcd_server_cert_extra_sans
        })
    }
}

/// Adds a SAN to the etcd peer certificate (kubeadm's `etcd.local.peerCertSANs`).
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_add_etcd_peer_san(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        add_san(params, value, value_len, "etcd peer SAN", err_out, |o| {
            &mut o.etcd_peer_cert_extra_sans
        })
    }
}

/// Sets the algorithm of every key (`RSA-2048` as kubeadm, `RSA-3072`, `RSA-4096`,
/// `ECDSA-P256`, `ECDSA-P384`).
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_algorithm(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(params, value, value_len, "algorithm", err_out, |p, v| {
            let algorithm: KeyAlgorithm = v.parse()?;
            p.try_set(|o| o.algorithm = algorithm)
        })
    }
}

/// External CA mode: the cluster CA's certificate (PEM) without its key. `init` writes
/// it as `ca.crt` when absent (an existing `ca.crt` must be the same), under the tree's lock
/// and with the rest of the tree, and reports what it would sign as missing, to be signed
/// elsewhere. `kubepki_cluster_generate` refuses this mode (it has no tree to leave files
/// missing in). With a CA signer set too (`kubepki_cluster_params_set_ca_signer`), this is
/// the signer's certificate: placed the same way, and everything is signed.
///
/// # Safety
/// `params` is a live handle not used by another thread; `value` points to `value_len`
/// bytes; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_external_ca(
    params: *mut kubepki_cluster_params,
    value: *const u8,
    value_len: usize,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(
            params,
            value,
            value_len,
            "external_ca_pem",
            err_out,
            |p, v| {
                let given = ExternalCa::from_bytes(v.as_bytes())?;
                p.options.ca = match std::mem::take(&mut p.options.ca) {
                    CaSource::Signer {
                        signer, key_uri, ..
                    } => CaSource::Signer {
                        signer,
                        certificate: Some(given),
                        key_uri,
                    },
                    CaSource::File | CaSource::External(_) => CaSource::External(given),
                };
                Ok(())
            },
        )
    }
}

/// Sets the API server's port (`--apiserver-bind-port`, default 6443): in the local
/// kubeconfig files, and of the control-plane endpoint when it names none.
///
/// # Safety
/// `params` is a live handle not used by another thread; `err_out` is NULL or points to
/// storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_bind_port(
    params: *mut kubepki_cluster_params,
    port: u16,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        if port == 0 {
            return Err(invalid("bind port", "0", "a port is 1 to 65535"));
        }
        params.try_set(|o| o.apiserver_bind_port = port)
    })
}

/// Sets the validity of the leaf certificates in seconds (kubeadm's
/// `certificateValidityPeriod`, default 1 year). 0 is refused.
///
/// # Safety
/// As `kubepki_cluster_params_set_bind_port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_cert_validity(
    params: *mut kubepki_cluster_params,
    seconds: u64,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        if seconds == 0 {
            return Err(invalid(
                "certificate validity",
                "0 s",
                "it must be positive",
            ));
        }
        params.try_set(|o| o.cert_validity = Some(Duration::from_secs(seconds)))
    })
}

/// Sets the validity of the CAs in seconds (kubeadm's `caCertificateValidityPeriod`,
/// default 10 years). 0 is refused.
///
/// # Safety
/// As `kubepki_cluster_params_set_bind_port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_ca_validity(
    params: *mut kubepki_cluster_params,
    seconds: u64,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        if seconds == 0 {
            return Err(invalid("CA validity", "0 s", "it must be positive"));
        }
        params.try_set(|o| o.ca_validity = Some(Duration::from_secs(seconds)))
    })
}

/// An external etcd (`true`): no `etcd/` folder, no etcd CA, no `apiserver-etcd-client`.
///
/// # Safety
/// As `kubepki_cluster_params_set_bind_port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_external_etcd(
    params: *mut kubepki_cluster_params,
    external: bool,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        params.options.external_etcd = external;
        Ok(())
    })
}

/// Group names as kubeadm 1.28 (`true`: `admin.conf` in `system:masters`, no
/// `super-admin.conf`) or as current kubeadm (`false`, the default).
///
/// # Safety
/// As `kubepki_cluster_params_set_bind_port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_kubeadm_1_28_groups(
    params: *mut kubepki_cluster_params,
    v1_28: bool,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        params.options.groups_compat = if v1_28 {
            GroupsCompat::V1_28
        } else {
            GroupsCompat::Current
        };
        Ok(())
    })
}

/// The number of threads generating keys (0, the default: one per core).
///
/// # Safety
/// As `kubepki_cluster_params_set_bind_port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_threads(
    params: *mut kubepki_cluster_params,
    threads: u32,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        params.options.threads = usize::try_from(threads).unwrap_or(usize::MAX);
        Ok(())
    })
}

/// The cluster CA's key is `signer` (a PKCS#11 token's key, or a KMS key behind a callback):
/// a missing `ca.crt` is self-signed with it (or is the certificate given with
/// `kubepki_cluster_params_set_external_ca`), an existing one must be its certificate, and
/// no `ca.key` is written or returned. The parameters keep their own reference to the
/// signer.
///
/// # Safety
/// As `kubepki_cluster_params_set_bind_port`; `signer` is a live signer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_params_set_ca_signer(
    params: *mut kubepki_cluster_params,
    signer: *const kubepki_signer,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { params_mut(params)? };
        // SAFETY: as the caller promised.
        let signer = unsafe { handle(signer, "signer")? };
        let signer = CaSigner(signer.shared());
        params.options.ca = match std::mem::take(&mut params.options.ca) {
            CaSource::External(given) => CaSource::Signer {
                signer,
                certificate: Some(given),
                key_uri: None,
            },
            CaSource::Signer {
                certificate,
                key_uri,
                ..
            } => CaSource::Signer {
                signer,
                certificate,
                key_uri,
            },
            CaSource::File => CaSource::Signer {
                signer,
                certificate: None,
                key_uri: None,
            },
        };
        Ok(())
    })
}

/// What `kubepki_cluster_init` did to a file, or what `kubepki_renew` did to a certificate.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kubepki_action {
    /// Created now.
    Written = 0,
    /// Existed, fits, left untouched.
    Kept = 1,
    /// Not written: its CA's key is absent (external CA mode); `ca` names the CA.
    Missing = 2,
    /// Renewed: new key and certificate; `note` names the component to restart.
    Renewed = 3,
    /// Not renewed: its CA is external (`ca` names it).
    Skipped = 4,
}

/// One row of a report, borrowed from it: valid until the report is freed.
#[repr(C)]
pub struct kubepki_report_row {
    /// kubeadm's name (`ca`, `apiserver`, `admin.conf`, `sa`).
    pub name: *const c_char,
    /// The certificate, kubeconfig or key file; "" when not known.
    pub path: *const c_char,
    /// What was done.
    pub action: kubepki_action,
    /// The CA concerned for `Missing` and `Skipped`, else "".
    pub ca: *const c_char,
    /// The component to restart for `Renewed`, else "".
    pub note: *const c_char,
}

struct Row {
    name: CString,
    path: CString,
    action: kubepki_action,
    ca: CString,
    note: CString,
}

pub(crate) fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// What `kubepki_cluster_init` or `kubepki_renew` did, file by file, and its warnings.
/// Free with `kubepki_report_free`.
pub struct kubepki_report {
    rows: Vec<Row>,
    warnings: Vec<CString>,
}

/// The number of rows; 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_len(report: *const kubepki_report) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.rows.len())
}

/// Fills `*row` with row `index`; false (and `*row` untouched) for NULL or an index out of
/// range. The row's texts belong to the report.
///
/// # Safety
/// `report` is NULL or a live handle; `row` is NULL or points to a writable row.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_row_get(
    report: *const kubepki_report,
    index: usize,
    row: *mut kubepki_report_row,
) -> bool {
    // SAFETY: as the caller promised.
    let (Some(report), false) = (unsafe { report.as_ref() }, row.is_null()) else {
        return false;
    };
    let Some(r) = report.rows.get(index) else {
        return false;
    };
    // SAFETY: `row` is not NULL and the caller promises it is writable.
    unsafe {
        *row = kubepki_report_row {
            name: r.name.as_ptr(),
            path: r.path.as_ptr(),
            action: r.action,
            ca: r.ca.as_ptr(),
            note: r.note.as_ptr(),
        };
    }
    true
}

/// The number of warnings (what was kept though not as it would be written, an interrupted
/// run recovered); 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_warnings_len(report: *const kubepki_report) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.warnings.len())
}

/// Warning `index`, owned by the report; NULL for NULL or an index out of range.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_warning(
    report: *const kubepki_report,
    index: usize,
) -> *const c_char {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }
        .and_then(|r| r.warnings.get(index))
        .map_or(std::ptr::null(), |w| w.as_ptr())
}

/// Frees a report. NULL is accepted and ignored.
///
/// # Safety
/// `report` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_report_free(report: *mut kubepki_report) {
    // SAFETY: NULL or a report from this library, freed once.
    unsafe { free_handle(report) }
}

/// Borrows a folder path.
///
/// # Safety
/// As `str_arg`.
pub(crate) unsafe fn dir_arg(data: *const u8, len: usize, what: &str) -> Result<PathBuf, Failure> {
    // SAFETY: forwarded contract.
    let text = unsafe { str_arg(data, len, what)? };
    if text.is_empty() {
        return Err(Failure::new(
            kubepki_result::InvalidParameter,
            format!("{what} is empty"),
        ));
    }
    Ok(PathBuf::from(text))
}

/// Lays out kubeadm's tree under `cert_dir` (kubeadm: `/etc/kubernetes/pki`) and
/// `kubeconfig_dir` (`/etc/kubernetes`) at `now_unix` (0: the current time), as
/// `kubepki init`: the same files and modes, what exists and fits is kept, a CA is never
/// replaced, a misfit or a half pair is refused before anything is written, and the whole
/// set is written or none of it. `*report` lists every file and what was done.
///
/// # Safety
/// `params` is a live handle; the folders point to their lengths in bytes; `report` points
/// to storage for one pointer; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_init(
    params: *const kubepki_cluster_params,
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    now_unix: i64,
    report: *mut *mut kubepki_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { handle(params, "params")? };
        // SAFETY: as the caller promised.
        let cert_dir = unsafe { dir_arg(cert_dir, cert_dir_len, "cert_dir")? };
        // SAFETY: as the caller promised.
        let kubeconfig_dir =
            unsafe { dir_arg(kubeconfig_dir, kubeconfig_dir_len, "kubeconfig_dir")? };
        out_arg(report, "report")?;
        let now = time_arg(now_unix)?;
        let mut options = params.ready()?.clone();
        options.cert_dir = cert_dir;
        options.kubeconfig_dir = kubeconfig_dir;
        let done = init(&options, now)?;
        let rows = done
            .entries
            .iter()
            .map(|e| {
                let (action, ca) = match &e.action {
                    Action::Written => (kubepki_action::Written, ""),
                    Action::Kept => (kubepki_action::Kept, ""),
                    Action::Missing { ca } => (kubepki_action::Missing, *ca),
                };
                Row {
                    name: c_text(&e.name),
                    path: c_text(&e.path.to_string_lossy()),
                    action,
                    ca: c_text(ca),
                    note: c_text(""),
                }
            })
            .collect();
        let out = kubepki_report {
            rows,
            warnings: done.warnings.iter().map(|w| c_text(w)).collect(),
        };
        // SAFETY: `report` checked above.
        unsafe { write_out(report, out) };
        Ok(())
    })
}

/// A cluster tree made in memory by `kubepki_cluster_generate`: files in kubeadm's order,
/// with paths as under `/etc/kubernetes` (`pki/ca.crt`, `pki/etcd/server.key`,
/// `admin.conf`). Free with `kubepki_bundle_free`, which zeroizes every file.
pub struct kubepki_bundle {
    inner: Bundle,
    paths: Vec<CString>,
}

/// Makes the tree `kubepki_cluster_init` would lay out in empty folders, in memory, at
/// `now_unix` (0: the current time): nothing touches the disk. External CA mode (a CA
/// certificate without a CA signer) is refused (`KUBEPKI_RESULT_INVALID_PARAMETER`).
///
/// # Safety
/// `params` is a live handle; `bundle` points to storage for one pointer; `err_out` is NULL
/// or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_cluster_generate(
    params: *const kubepki_cluster_params,
    now_unix: i64,
    bundle: *mut *mut kubepki_bundle,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let params = unsafe { handle(params, "params")? };
        out_arg(bundle, "bundle")?;
        let now = time_arg(now_unix)?;
        let inner = generate(params.ready()?, now)?;
        let paths = inner.files.iter().map(|f| c_text(&f.path)).collect();
        // SAFETY: `bundle` checked above.
        unsafe { write_out(bundle, kubepki_bundle { inner, paths }) };
        Ok(())
    })
}

/// The number of files; 0 for NULL.
///
/// # Safety
/// `bundle` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_len(bundle: *const kubepki_bundle) -> usize {
    // SAFETY: as the caller promised.
    unsafe { bundle.as_ref() }.map_or(0, |b| b.inner.files.len())
}

/// The path of file `index` (`pki/ca.crt`), owned by the bundle; NULL for NULL or an index
/// out of range.
///
/// # Safety
/// `bundle` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_path(
    bundle: *const kubepki_bundle,
    index: usize,
) -> *const c_char {
    // SAFETY: as the caller promised.
    unsafe { bundle.as_ref() }
        .and_then(|b| b.paths.get(index))
        .map_or(std::ptr::null(), |p| p.as_ptr())
}

/// The content of file `index`, owned by the bundle (`*len` set to its length, not
/// NUL-terminated); NULL (and `*len` 0) for NULL or an index out of range.
///
/// # Safety
/// `bundle` is NULL or a live handle; `len` is NULL or points to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_data(
    bundle: *const kubepki_bundle,
    index: usize,
    len: *mut usize,
) -> *const u8 {
    // SAFETY: as the caller promised.
    let file = unsafe { bundle.as_ref() }.and_then(|b| b.inner.files.get(index));
    let (ptr, n) = file.map_or((std::ptr::null(), 0), |f| (f.bytes.as_ptr(), f.bytes.len()));
    if !len.is_null() {
        // SAFETY: not NULL, and the caller promises it is writable.
        unsafe { *len = n };
    }
    ptr
}

/// Whether file `index` holds a private key (write it with mode 0600); false for NULL or an
/// index out of range.
///
/// # Safety
/// `bundle` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_is_secret(
    bundle: *const kubepki_bundle,
    index: usize,
) -> bool {
    // SAFETY: as the caller promised.
    unsafe { bundle.as_ref() }
        .and_then(|b| b.inner.files.get(index))
        .is_some_and(|f| f.secret)
}

/// Zeroizes and frees a bundle. NULL is accepted and ignored.
///
/// # Safety
/// `bundle` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_bundle_free(bundle: *mut kubepki_bundle) {
    // SAFETY: NULL or a bundle from this library, freed once; its files zeroize on drop.
    unsafe { free_handle(bundle) }
}

/// One row of an expiration report, borrowed from it.
#[repr(C)]
pub struct kubepki_expiration_row {
    /// kubeadm's name (`admin.conf`, `apiserver`, `ca`).
    pub name: *const c_char,
    /// The end of validity in seconds since 1970; 0 when missing.
    pub not_after: i64,
    /// Seconds left at the report's time (negative once expired); 0 when missing.
    pub residual_seconds: i64,
    /// The CA that signed it; "" for a CA or a missing file.
    pub ca: *const c_char,
    /// Whether it is a CA.
    pub is_ca: bool,
    /// Whether its CA's key is absent (external CA): it cannot be renewed here.
    pub externally_managed: bool,
    /// Whether the file is absent.
    pub missing: bool,
}

struct ExpirationRow {
    name: CString,
    ca: CString,
    not_after: i64,
    residual_seconds: i64,
    is_ca: bool,
    externally_managed: bool,
    missing: bool,
}

/// The rows of `kubepki_check_expiration`: certificates first, then CAs, in kubeadm's order.
pub struct kubepki_expiration_report {
    rows: Vec<ExpirationRow>,
}

/// Reads the expiration of every certificate of the tree at `now_unix` (0: the current
/// time), as `kubepki certs check-expiration`: the leaves and the kubeconfig files' client
/// certificates, then the CAs; absent files are rows marked missing.
///
/// # Safety
/// The folders point to their lengths in bytes; `report` points to storage for one pointer;
/// `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_check_expiration(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    now_unix: i64,
    report: *mut *mut kubepki_expiration_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let cert_dir = unsafe { dir_arg(cert_dir, cert_dir_len, "cert_dir")? };
        // SAFETY: as the caller promised.
        let kubeconfig_dir =
            unsafe { dir_arg(kubeconfig_dir, kubeconfig_dir_len, "kubeconfig_dir")? };
        out_arg(report, "report")?;
        let now = time_arg(now_unix)?;
        let found = check_expiration(&cert_dir, &kubeconfig_dir, now)?;
        let row = |e: &kubepki::cluster::ExpirationEntry, is_ca: bool| ExpirationRow {
            name: c_text(&e.name),
            ca: c_text(&e.ca_name),
            not_after: e.not_after().map_or(0, unix_seconds),
            residual_seconds: if e.missing { 0 } else { e.residual_seconds },
            is_ca,
            externally_managed: e.externally_managed,
            missing: e.missing,
        };
        let rows = found
            .certificates
            .iter()
            .map(|e| row(e, false))
            .chain(found.certificate_authorities.iter().map(|e| row(e, true)))
            .collect();
        // SAFETY: `report` checked above.
        unsafe { write_out(report, kubepki_expiration_report { rows }) };
        Ok(())
    })
}

/// The number of rows; 0 for NULL.
///
/// # Safety
/// `report` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_expiration_len(report: *const kubepki_expiration_report) -> usize {
    // SAFETY: as the caller promised.
    unsafe { report.as_ref() }.map_or(0, |r| r.rows.len())
}

/// Fills `*row` with row `index`; false (and `*row` untouched) for NULL or an index out of
/// range. The row's texts belong to the report.
///
/// # Safety
/// `report` is NULL or a live handle; `row` is NULL or points to a writable row.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_expiration_row_get(
    report: *const kubepki_expiration_report,
    index: usize,
    row: *mut kubepki_expiration_row,
) -> bool {
    // SAFETY: as the caller promised.
    let (Some(report), false) = (unsafe { report.as_ref() }, row.is_null()) else {
        return false;
    };
    let Some(r) = report.rows.get(index) else {
        return false;
    };
    // SAFETY: `row` is not NULL and the caller promises it is writable.
    unsafe {
        *row = kubepki_expiration_row {
            name: r.name.as_ptr(),
            not_after: r.not_after,
            residual_seconds: r.residual_seconds,
            ca: r.ca.as_ptr(),
            is_ca: r.is_ca,
            externally_managed: r.externally_managed,
            missing: r.missing,
        };
    }
    true
}

/// Frees an expiration report. NULL is accepted and ignored.
///
/// # Safety
/// `report` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_expiration_report_free(report: *mut kubepki_expiration_report) {
    // SAFETY: NULL or a report from this library, freed once.
    unsafe { free_handle(report) }
}

/// Renews certificates of the tree at `now_unix` (0: the current time), as
/// `kubepki certs renew`: `names` lists kubeadm's names (`apiserver`, `admin.conf`, ...) or
/// is the one name `all`; `names_len` 0 means `all`. Each gets a new key (same algorithm)
/// and a certificate for `validity_seconds` (0: 1 year), signed by its CA from the tree, or
/// the cluster CA by `cluster_ca` when not NULL (a CA key on a token). `*report` lists the
/// renewed files (with the component to restart) and those skipped (external CA). A name
/// given twice is renewed once. When one fails after others were renewed (they stay
/// renewed), the result is `KUBEPKI_RESULT_CLUSTER_RENEW_INCOMPLETE` and the error lists
/// them: `kubepki_error_renewed_len` / `kubepki_error_renewed_get`.
///
/// # Safety
/// The folders point to their lengths in bytes; `names` is NULL (`names_len` 0) or points to
/// `names_len` texts; `cluster_ca` is NULL or a live CA; `report` points to storage for one
/// pointer; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_renew(
    cert_dir: *const u8,
    cert_dir_len: usize,
    kubeconfig_dir: *const u8,
    kubeconfig_dir_len: usize,
    names: *const kubepki_str,
    names_len: usize,
    validity_seconds: u64,
    cluster_ca: *const kubepki_ca,
    now_unix: i64,
    report: *mut *mut kubepki_report,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let cert_dir = unsafe { dir_arg(cert_dir, cert_dir_len, "cert_dir")? };
        // SAFETY: as the caller promised.
        let kubeconfig_dir =
            unsafe { dir_arg(kubeconfig_dir, kubeconfig_dir_len, "kubeconfig_dir")? };
        // SAFETY: as the caller promised.
        let mut names = unsafe { str_list(names, names_len, "names")? };
        // SAFETY: as the caller promised.
        let cluster_ca = unsafe { cluster_ca.as_ref() }.map(kubepki_ca::inner);
        out_arg(report, "report")?;
        let now = time_arg(now_unix)?;
        if names.is_empty() {
            names.push("all".to_owned());
        }
        let options = RenewOptions {
            cert_dir,
            kubeconfig_dir,
            algorithm: None,
            validity: Some(
                crate::util::validity_arg(validity_seconds)
                    .unwrap_or(kubepki::profile::DEFAULT_CERT_VALIDITY),
            ),
            add_sans: Vec::new(),
            keep_old: None,
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let done = renew_each(&options, &names, now, cluster_ca)?;
        let renewed = done.renewed.iter().map(|r| Row {
            name: c_text(&r.name),
            path: c_text(&r.path.to_string_lossy()),
            action: kubepki_action::Renewed,
            ca: c_text(""),
            note: c_text(r.restart),
        });
        let skipped = done.skipped.iter().map(|s| Row {
            name: c_text(&s.name),
            path: c_text(""),
            action: kubepki_action::Skipped,
            ca: c_text(&s.ca),
            note: c_text(""),
        });
        let rows = renewed.chain(skipped).collect();
        let warnings = done.warnings.iter().map(|w| c_text(w)).collect();
        // SAFETY: `report` checked above.
        unsafe { write_out(report, kubepki_report { rows, warnings }) };
        Ok(())
    })
}

/// A kubeconfig file for a new user (kubeadm's `kubeconfig user`): a fresh `algorithm` key
/// (empty: `ECDSA-P256`), a client certificate with CN `user` and O `groups`, signed by `ca`
/// for `validity_seconds` (0: 24 hours) from `now_unix` (0: the current time), for the
/// cluster `cluster_name` at `server` (`https://HOST:PORT`). `*out` holds the YAML, with the
/// private key in it: free it with `kubepki_bytes_free`, which zeroizes it.
///
/// # Safety
/// `ca` is a live CA; the texts point to their lengths in bytes (`algorithm` may be empty);
/// `groups` is NULL (`groups_len` 0) or points to `groups_len` texts; `out` points to
/// storage for one pointer; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_kubeconfig_user(
    ca: *const kubepki_ca,
    cluster_name: *const u8,
    cluster_name_len: usize,
    server: *const u8,
    server_len: usize,
    user: *const u8,
    user_len: usize,
    groups: *const kubepki_str,
    groups_len: usize,
    algorithm: *const u8,
    algorithm_len: usize,
    validity_seconds: u64,
    now_unix: i64,
    out: *mut *mut kubepki_bytes,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let ca = unsafe { handle(ca, "ca")? };
        // SAFETY: as the caller promised.
        let cluster_name = unsafe { str_arg(cluster_name, cluster_name_len, "cluster_name")? };
        // SAFETY: as the caller promised.
        let server = unsafe { str_arg(server, server_len, "server")? };
        // SAFETY: as the caller promised.
        let user = unsafe { str_arg(user, user_len, "user")? };
        // SAFETY: as the caller promised.
        let groups = unsafe { str_list(groups, groups_len, "groups")? };
        // SAFETY: as the caller promised.
        let algorithm = unsafe { crate::util::opt_str_arg(algorithm, algorithm_len, "algorithm")? };
        out_arg(out, "out")?;
        let algorithm: KeyAlgorithm = algorithm.unwrap_or("ECDSA-P256").parse()?;
        if user.trim().is_empty() {
            return Err(Failure::new(
                kubepki_result::InvalidParameter,
                "user is empty",
            ));
        }
        if !(server.starts_with("https://") && server.len() > "https://".len()) {
            return Err(Failure::new(
                kubepki_result::InvalidParameter,
                format!("server {server:?} is not an https:// URL"),
            ));
        }
        let validity =
            crate::util::validity_arg(validity_seconds).unwrap_or(Duration::from_secs(24 * 3600));
        let options = UserKubeconfigOptions {
            // Unused: the CA is given.
            cert_dir: std::path::PathBuf::new(),
            cluster_name: cluster_name.to_owned(),
            server: server.to_owned(),
            client_name: user.to_owned(),
            groups: groups.clone(),
            validity,
            algorithm,
        };
        let yaml = user_kubeconfig(&options, Some(ca.inner()), time_arg(now_unix)?)?;
        let bytes = kubepki_bytes::new(yaml.as_bytes());
        drop(zeroize::Zeroizing::new(yaml));
        // SAFETY: `out` checked above.
        unsafe { write_out(out, bytes) };
        Ok(())
    })
}
