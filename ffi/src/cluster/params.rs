//! `kubepki_cluster_params`: the parameters of `kubepki init`, set and checked one by one.

use std::net::IpAddr;
use std::time::Duration;

use kubepki::KeyAlgorithm;
use kubepki::cluster::{CaSigner, CaSource, ExternalCa, GroupsCompat, InitOptions, parse_san};
use kubepki::csr::check_node_name;
use kubepki::profile::service_networks;

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::signer::kubepki_signer;
use crate::util::{call, free_handle, handle, out_arg, str_arg, write_out};

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

    pub(super) fn ready(&self) -> Result<&InitOptions, Failure> {
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
            // The whole value is checked where every caller's is: kubepki-profile.
            service_networks(v)?;
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
