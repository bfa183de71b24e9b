//! kubeadm's `kubeconfig user`: `kubepki_kubeconfig_user`.

use std::time::Duration;

use kubepki::KeyAlgorithm;
use kubepki::cluster::{UserKubeconfigOptions, user_kubeconfig};

use super::{kubepki_str, str_list};
use crate::ca::kubepki_ca;
use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::kubepki_bytes;
use crate::util::{call, handle, out_arg, str_arg, time_arg, write_out};

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
