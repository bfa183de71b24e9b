//! The one error type of this crate.

use kubepki_keys::KeyError;

/// Everything that can go wrong building, parsing or checking a request.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    /// A subject string that does not parse.
    #[error("invalid subject {subject:?}: {reason}")]
    InvalidSubject {
        /// The subject as given.
        subject: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A subject attribute value longer than RFC 5280's upper bound for its type.
    #[error(
        "subject attribute {attribute} is {length} characters long, more than RFC 5280's upper bound of {max}"
    )]
    AttributeTooLong {
        /// The attribute's short name (`CN`, `O`, …) or dotted OID.
        attribute: String,
        /// The value's length in characters.
        length: usize,
        /// The bound.
        max: usize,
    },
    /// A request larger than [`MAX_CSR_BYTES`](crate::MAX_CSR_BYTES).
    #[error("certificate request of {size} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// Its size (DER, or PEM text).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An attribute name in a subject that is not known.
    #[error(
        "unknown subject attribute {name:?} (use CN, O, OU, C, ST, L, DC, emailAddress, serialNumber or a dotted OID)"
    )]
    UnknownAttribute {
        /// The name given.
        name: String,
    },
    /// A subject alternative name that is not valid for its type.
    #[error("invalid {kind} subject alternative name {value:?}: {reason}")]
    InvalidSan {
        /// DNS, IP, URI or email.
        kind: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A PEM block whose label is not a certificate request.
    #[error("PEM label {label:?} is not a certificate request (expected CERTIFICATE REQUEST)")]
    WrongPemLabel {
        /// The label found.
        label: String,
    },
    /// Bytes that are not a DER PKCS#10 request.
    #[error("malformed certificate request: {0}")]
    Malformed(String),
    /// A request whose version is not v1 (0).
    #[error("certificate request version {0} is not 1")]
    UnsupportedVersion(u8),
    /// The request's self-signature does not verify: the sender did not prove possession of
    /// the private key.
    #[error("proof of possession failed: the request's signature does not verify ({0})")]
    ProofOfPossession(KeyError),
    /// The request's public key is refused (weak, unsupported).
    #[error("request public key refused: {0}")]
    PublicKey(KeyError),
    /// Signing the request failed.
    #[error("cannot sign the request: {0}")]
    Signing(KeyError),
    /// PEM input that does not decode.
    #[error("{0}")]
    Pem(KeyError),
    /// Encoding the request failed.
    #[error("cannot encode the request: {0}")]
    Encode(String),
}
