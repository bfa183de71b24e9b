//! Chain verification.

use std::net::IpAddr;

use kubepki_verify::{KeyPurpose, PeerName, VerifyOptions, verify_pem};

use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::util::{bytes_arg, call, opt_bytes_arg, opt_str_arg, time_arg};

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
/// RFC 5280. `untrusted_pem` (may be NULL) holds more intermediates. `purpose` is a
/// `kubepki_purpose`; `name` (may be NULL) is a DNS name, IP address or e-mail address the
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
        let untrusted = unsafe { opt_bytes_arg(untrusted_pem, untrusted_pem_len) };
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
