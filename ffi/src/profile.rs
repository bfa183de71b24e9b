//! Signing profiles.

use kubepki::profile::{ProfileSet, builtin, ca_profile};
use kubepki::{ClusterParams, Profile};

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::util::{call, free_handle, opt_str_arg, out_arg, str_arg, write_out};

/// A signing profile. Immutable: a `const kubepki_profile *` may be shared across threads.
pub struct kubepki_profile {
    pub(crate) inner: Profile,
}

/// A built-in (kubeadm) profile by name, e.g. `ca`, `apiserver`, `admin`, `client`,
/// `kubelet-client`. `node_name` and `advertise_address` (both may be empty) fill in the
/// profiles that need them (apiserver, etcd-*, kubelet-*).
///
/// # Safety
/// `name` points to `name_len` bytes; `node_name` and `advertise_address` are NULL or point
/// to their lengths in bytes; `out` to storage for one pointer; `err_out` is NULL or points
/// to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_profile_builtin(
    name: *const u8,
    name_len: usize,
    node_name: *const u8,
    node_name_len: usize,
    advertise_address: *const u8,
    advertise_address_len: usize,
    out: *mut *mut kubepki_profile,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let name = unsafe { str_arg(name, name_len, "name")? };
        // SAFETY: as the caller promised.
        let node_name = unsafe { opt_str_arg(node_name, node_name_len, "node_name")? };
        // SAFETY: as the caller promised.
        let address = unsafe {
            opt_str_arg(
                advertise_address,
                advertise_address_len,
                "advertise_address",
            )?
        };
        out_arg(out, "out")?;
        let advertise_address = address
            .map(|a| {
                a.parse().map_err(|_| {
                    Failure::new(
                        kubepki_result::ProfileParameter,
                        format!("advertise address {a:?} is not an IP address"),
                    )
                })
            })
            .transpose()?;
        let params = ClusterParams {
            node_name: node_name.map(str::to_owned),
            advertise_address,
            ..ClusterParams::default()
        };
        let inner = builtin(name, &params)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_profile { inner }) };
        Ok(())
    })
}

/// A CA profile for any common name, as kubeadm makes its CAs (10 years, cert sign).
///
/// # Safety
/// `common_name` points to `common_name_len` bytes; `out` and `err_out` as for
/// `kubepki_profile_builtin`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_profile_ca(
    common_name: *const u8,
    common_name_len: usize,
    out: *mut *mut kubepki_profile,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let cn = unsafe { str_arg(common_name, common_name_len, "common_name")? };
        out_arg(out, "out")?;
        let inner = ca_profile("ca", cn);
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_profile { inner }) };
        Ok(())
    })
}

/// The profile `name` from a profile file's YAML text (`default` and `profiles`, as
/// `kubepki --profiles` reads).
///
/// # Safety
/// `yaml` points to `yaml_len` bytes and `name` to `name_len`; `out` and `err_out` as for
/// `kubepki_profile_builtin`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_profile_from_yaml(
    yaml: *const u8,
    yaml_len: usize,
    name: *const u8,
    name_len: usize,
    out: *mut *mut kubepki_profile,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let yaml = unsafe { str_arg(yaml, yaml_len, "yaml")? };
        // SAFETY: as the caller promised.
        let name = unsafe { str_arg(name, name_len, "name")? };
        out_arg(out, "out")?;
        let inner = ProfileSet::from_yaml(yaml)?.get(name)?.clone();
        // SAFETY: `out` checked above.
        unsafe { write_out(out, kubepki_profile { inner }) };
        Ok(())
    })
}

/// Frees a profile. NULL is accepted and ignored.
///
/// # Safety
/// `profile` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_profile_free(profile: *mut kubepki_profile) {
    // SAFETY: NULL or a profile from this library, freed once.
    unsafe { free_handle(profile) }
}
