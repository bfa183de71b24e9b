//! The one error type of this crate.

use std::time::SystemTime;

use kubepki_csr::CsrError;
use kubepki_keys::KeyError;
use kubepki_profile::ProfileError;

use crate::Timestamp;

/// Everything that can go wrong making a CA or issuing a certificate.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The CA certificate is past its NotAfter.
    #[error("CA certificate expired at {not_after} (checked at {now})")]
    CaExpired {
        /// The CA's NotAfter.
        not_after: Timestamp,
        /// The time of the check.
        now: Timestamp,
    },
    /// The CA certificate is not yet valid.
    #[error("CA certificate is not valid before {not_before} (checked at {now})")]
    CaNotYetValid {
        /// The CA's NotBefore.
        not_before: Timestamp,
        /// The time of the check.
        now: Timestamp,
    },
    /// The certificate given as a CA is not one.
    #[error("certificate {subject} is not a CA: {reason}")]
    NotACa {
        /// Its subject.
        subject: String,
        /// Why it cannot sign.
        reason: &'static str,
    },
    /// The private key does not belong to the CA certificate.
    #[error("the CA key does not match the public key of CA certificate {subject}")]
    KeyMismatch {
        /// The CA certificate's subject.
        subject: String,
    },
    /// The parent CA's path length does not allow another CA below it.
    #[error(
        "CA {parent} has pathLenConstraint {path_len}: it cannot sign a CA that allows {requested} more"
    )]
    PathLenExceeded {
        /// The parent's subject.
        parent: String,
        /// The parent's path length.
        path_len: u8,
        /// The path length the child would have.
        requested: u8,
    },
    /// A CA profile used for a leaf, or a leaf profile used for a CA.
    #[error("profile {profile} {reason}")]
    WrongProfileKind {
        /// The profile name.
        profile: String,
        /// What does not fit.
        reason: &'static str,
    },
    /// The validity would end before it starts (e.g. the CA ends within the backdate).
    #[error(
        "no validity left: the certificate would end at {not_after}, before its start at {not_before}"
    )]
    EmptyValidity {
        /// The computed NotBefore.
        not_before: Timestamp,
        /// The computed NotAfter.
        not_after: Timestamp,
    },
    /// A time outside what X.509 can encode.
    #[error(
        "time {} is outside what a certificate can hold (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z): choose a shorter validity",
        Timestamp(*.0)
    )]
    TimeOutOfRange(SystemTime),
    /// The request was refused by the profile.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The request is bad.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// A key problem (loading, signing).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A certificate that does not parse.
    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),
    /// PEM text with no certificate, or a block of another kind.
    #[error("PEM label {label:?} is not a certificate (expected CERTIFICATE)")]
    WrongPemLabel {
        /// The label found.
        label: String,
    },
    /// Encoding failed.
    #[error("cannot encode the certificate: {0}")]
    Encode(String),
    /// Text that is not an RFC 3339 timestamp.
    #[error("{text:?} is not an RFC 3339 time such as 2026-01-02T03:04:05Z")]
    InvalidTimestamp {
        /// The text given.
        text: String,
    },
}
