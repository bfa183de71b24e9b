//! Reading one file into DER certificates, or the reason it does not read.

use std::io::ErrorKind;
use std::path::Path;

use kubepki_keys::pem::{looks_like_pem, pem_blocks};

/// enix's reason codes, the `reason` label of `x509_source_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The file (or a watched folder) is absent (`not_found`).
    NotFound,
    /// A symlink whose target is absent (`broken_symlink`).
    BrokenSymlink,
    /// Reading is not permitted (`permission_denied`).
    PermissionDenied,
    /// Another I/O failure (`read_failed`).
    ReadFailed,
    /// PEM that does not decode, or a certificate that does not parse (`bad_pem`).
    BadPem,
    /// A file with no certificate in it (`no_certificate_found`).
    NoCertificateFound,
    /// A kubeconfig file that is not YAML of the kubeconfig shape, or embedded data that is
    /// not base64 (`decode_failed`).
    DecodeFailed,
    /// A folder that cannot be listed (`walk_error`).
    WalkError,
}

impl Reason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotFound => "not_found",
            Reason::BrokenSymlink => "broken_symlink",
            Reason::PermissionDenied => "permission_denied",
            Reason::ReadFailed => "read_failed",
            Reason::BadPem => "bad_pem",
            Reason::NoCertificateFound => "no_certificate_found",
            Reason::DecodeFailed => "decode_failed",
            Reason::WalkError => "walk_error",
        }
    }

    /// The reason of an I/O failure on `path`.
    pub(crate) fn of_io(path: &Path, error: &std::io::Error) -> Reason {
        match error.kind() {
            ErrorKind::NotFound if path.symlink_metadata().is_ok() => Reason::BrokenSymlink,
            ErrorKind::NotFound => Reason::NotFound,
            ErrorKind::PermissionDenied => Reason::PermissionDenied,
            _ => Reason::ReadFailed,
        }
    }
}

/// A file's bytes (symlinks followed), or the reason and the I/O message.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, (Reason, String)> {
    std::fs::read(path).map_err(|e| (Reason::of_io(path, &e), e.to_string()))
}

/// The DER certificates of PEM text (its `CERTIFICATE` blocks; other blocks, such as the
/// key kubelet keeps in the same file, are passed over) or of one DER certificate.
pub(crate) fn certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, (Reason, String)> {
    if !looks_like_pem(bytes) {
        if bytes.first() == Some(&0x30) {
            return Ok(vec![bytes.to_vec()]);
        }
        return Err((
            Reason::NoCertificateFound,
            "neither PEM nor a DER certificate".to_owned(),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| (Reason::BadPem, "PEM text is not UTF-8".to_owned()))?;
    let blocks = pem_blocks(text).map_err(|e| (Reason::BadPem, e.to_string()))?;
    let ders: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|block| block.label == "CERTIFICATE")
        .map(|block| block.der.clone())
        .collect();
    if ders.is_empty() {
        return Err((
            Reason::NoCertificateFound,
            "no CERTIFICATE block".to_owned(),
        ));
    }
    Ok(ders)
}
