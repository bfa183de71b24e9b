//! Chain verification.

use std::net::IpAddr;

use kubepki_verify::{KeyPurpose, PeerName, VerifyOptions, kubernetes_identity_pem, verify_pem};

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::util::{bytes_arg, call, opt_bytes_arg, opt_str_arg, out_arg, time_arg, write_out};
use crate::{kubepki_bytes, kubepki_strings};

/// The extended key usage `kubepki_verify` requires of the leaf; passed as `uint32_t`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kubepki_purpose {
    /// No extended key usage is required.
    Any = 0,
    /// TLS server authentication.
    ServerAuth = 1,
    /// TLS client authentication.
    ClientAuth = 2,
}

/// Verifies `cert_pem` (the leaf, possibly followed by its chain) up to one of the trust
/// anchors in `ca_pem`, at `now_unix` (seconds since 1970, 0 meaning the current time), per
/// RFC 5280. `untrusted_pem` (may be empty) holds more intermediates. `purpose` is a
/// `kubepki_purpose`; `name` (empty: none) is a DNS name, IP address or e-mail address the
/// leaf must carry. Returns `KUBEPKI_RESULT_OK` when the chain is valid.
///
/// # Safety
/// `ca_pem` and `cert_pem` point to their lengths in bytes; `untrusted_pem` and `name` are
/// NULL or point to their lengths; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_verify(
    ca_pem: *const u8,
    ca_pem_len: usize,
    untrusted_pem: *const u8,
    untrusted_pem_len: usize,
    cert_pem: *const u8,
    cert_pem_len: usize,
    purpose: u32,
    name: *const u8,
    name_len: usize,
    now_unix: i64,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let ca_pem = unsafe { bytes_arg(ca_pem, ca_pem_len, "ca_pem")? };
        // SAFETY: as the caller promised.
        let untrusted =
            unsafe { opt_bytes_arg(untrusted_pem, untrusted_pem_len, "untrusted_pem")? };
        // SAFETY: as the caller promised.
        let cert_pem = unsafe { bytes_arg(cert_pem, cert_pem_len, "cert_pem")? };
        // SAFETY: as the caller promised.
        let name = unsafe { opt_str_arg(name, name_len, "name")? };
        let mut options = VerifyOptions::new(time_arg(now_unix)?);
        options = match purpose {
            p if p == kubepki_purpose::Any as u32 => options,
            p if p == kubepki_purpose::ServerAuth as u32 => {
                options.with_purpose(KeyPurpose::ServerAuth)
            }
            p if p == kubepki_purpose::ClientAuth as u32 => {
                options.with_purpose(KeyPurpose::ClientAuth)
            }
            p => {
                return Err(Failure::new(
                    kubepki_result::InvalidParameter,
                    format!("purpose {p} is not a kubepki_purpose"),
                ));
            }
        };
        if let Some(name) = name {
            let peer = match name.parse::<IpAddr>() {
                Ok(ip) => PeerName::Ip(ip),
                Err(_) if name.contains('@') => PeerName::Email(name.to_owned()),
                Err(_) => PeerName::Dns(name.to_owned()),
            };
            options = options.with_name(peer);
        }
        verify_pem(ca_pem, untrusted, cert_pem, &options)?;
        Ok(())
    })
}

/// The user and groups the Kubernetes API server would take the client certificate in
/// `cert_pem` for, after checking it as the API server's x509 authenticator does: a path to
/// one of the CAs in `client_ca_pem` (its `--client-ca-file`) valid at `now_unix` (0 meaning
/// the current time) that allows client authentication. The user is the common name, the
/// groups the organization values in order (the API server adds `system:authenticated`,
/// not listed). `untrusted_pem` (may be empty) holds more intermediates. On success `user_out`
/// receives the user name (free with `kubepki_bytes_free`) and `groups_out` the groups (free
/// with `kubepki_strings_free`); on failure neither is written.
///
/// # Safety
/// `client_ca_pem` and `cert_pem` point to their lengths in bytes; `untrusted_pem` is NULL or
/// points to its length; `user_out` and `groups_out` point to storage for one pointer each;
/// `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_kubernetes_identity(
    client_ca_pem: *const u8,
    client_ca_pem_len: usize,
    untrusted_pem: *const u8,
    untrusted_pem_len: usize,
    cert_pem: *const u8,
    cert_pem_len: usize,
    now_unix: i64,
    user_out: *mut *mut kubepki_bytes,
    groups_out: *mut *mut kubepki_strings,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let ca_pem = unsafe { bytes_arg(client_ca_pem, client_ca_pem_len, "client_ca_pem")? };
        // SAFETY: as the caller promised.
        let untrusted =
            unsafe { opt_bytes_arg(untrusted_pem, untrusted_pem_len, "untrusted_pem")? };
        // SAFETY: as the caller promised.
        let cert_pem = unsafe { bytes_arg(cert_pem, cert_pem_len, "cert_pem")? };
        out_arg(user_out, "user_out")?;
        out_arg(groups_out, "groups_out")?;
        let identity = kubernetes_identity_pem(ca_pem, untrusted, cert_pem, time_arg(now_unix)?)?;
        let user = kubepki_bytes::new(identity.user.as_bytes());
        let groups = kubepki_strings::new(identity.groups)?;
        // SAFETY: both out pointers checked above; written together, only on success.
        unsafe {
            write_out(user_out, user);
            write_out(groups_out, groups);
        }
        Ok(())
    })
}
