//! The crate's error type.

use const_oid::ObjectIdentifier;
use std::sync::Arc;

use der::DateTime;

/// Why a certificate, or a whole certification path, was refused.
///
/// Variants that concern one certificate name it by its subject (`subject`), as
/// an RFC 4514 string. When path building tries several candidate paths and all
/// fail, the error returned is the most specific one met (see [`VerifyError::rank`]).
#[non_exhaustive]
#[derive(Clone, Debug, thiserror::Error)]
pub enum VerifyError {
    /// The input is not a PEM `CERTIFICATE` block.
    #[error("not a PEM certificate: {source}")]
    Pem {
        /// What the PEM decoder reported.
        source: der::Error,
    },
    /// A block of a certificate bundle that is not closed or whose base64 is bad.
    #[error("not a PEM certificate: {source}")]
    PemBlock {
        /// What the PEM splitter reported, naming the block.
        source: Arc<kubepki_keys::KeyError>,
    },
    /// The PEM block has another label than `CERTIFICATE`.
    #[error("PEM label {label:?} is not CERTIFICATE")]
    PemLabel {
        /// The label found.
        label: String,
    },
    /// The certificate is not valid DER for RFC 5280's `Certificate`.
    #[error("malformed certificate: {source}")]
    Malformed {
        /// What the DER decoder reported.
        source: der::Error,
    },
    /// The certificate decodes, but is not in canonical DER (BER or a value
    /// that re-encodes differently).
    #[error("certificate is not encoded in canonical DER")]
    NotDer,
    /// The certificate's version does not allow the fields it carries.
    #[error("certificate {subject:?} has version {version} which does not allow {field}")]
    BadVersion {
        /// Subject of the certificate.
        subject: String,
        /// Version number as written in the certificate (1, 2 or 3).
        version: u8,
        /// The field that needs a later version.
        field: &'static str,
    },
    /// The signature algorithm inside the TBS differs from the outer one.
    #[error("certificate {subject:?} has mismatched signature algorithms {inner} and {outer}")]
    SignatureAlgorithmMismatch {
        /// Subject of the certificate.
        subject: String,
        /// OID in `tbsCertificate.signature`.
        inner: ObjectIdentifier,
        /// OID in `signatureAlgorithm`.
        outer: ObjectIdentifier,
    },
    /// The serial number is zero, negative or longer than 20 octets.
    #[error("certificate {subject:?} has an invalid serial number ({reason})")]
    BadSerial {
        /// Subject of the certificate.
        subject: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An extension appears more than once.
    #[error("certificate {subject:?} has extension {oid} more than once")]
    DuplicateExtension {
        /// Subject of the certificate.
        subject: String,
        /// The repeated extension.
        oid: ObjectIdentifier,
    },
    /// An extension marked critical is not one this crate processes.
    #[error("certificate {subject:?} has unsupported critical extension {oid}")]
    UnknownCriticalExtension {
        /// Subject of the certificate.
        subject: String,
        /// The extension.
        oid: ObjectIdentifier,
    },
    /// An extension's value does not decode.
    #[error("certificate {subject:?} has malformed extension {oid}: {source}")]
    MalformedExtension {
        /// Subject of the certificate.
        subject: String,
        /// The extension.
        oid: ObjectIdentifier,
        /// What the DER decoder reported.
        source: der::Error,
    },
    /// An extension decodes but breaks a rule of RFC 5280 or the CA/Browser Forum
    /// baseline requirements.
    #[error("certificate {subject:?} has invalid extension {oid}: {reason}")]
    InvalidExtension {
        /// Subject of the certificate.
        subject: String,
        /// The extension.
        oid: ObjectIdentifier,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The certificate was not yet valid at the validation time.
    #[error("certificate {subject:?} is not valid before {not_before} (checked at {now})")]
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Start of its validity.
        not_before: DateTime,
        /// The validation time.
        now: DateTime,
    },
    /// The certificate had expired at the validation time.
    #[error("certificate {subject:?} expired at {not_after} (checked at {now})")]
    Expired {
        /// Subject of the certificate.
        subject: String,
        /// End of its validity.
        not_after: DateTime,
        /// The validation time.
        now: DateTime,
    },
    /// The validity window ends before it starts.
    #[error("certificate {subject:?} has notAfter {not_after} before notBefore {not_before}")]
    InvertedValidity {
        /// Subject of the certificate.
        subject: String,
        /// Start of its validity.
        not_before: DateTime,
        /// End of its validity.
        not_after: DateTime,
    },
    /// The validation time cannot be represented as an X.509 time.
    #[error("validation time is outside the range of X.509 times")]
    BadTime,
    /// A certificate used as an issuer is not a CA (no basicConstraints cA=TRUE).
    #[error("issuer {subject:?} is not a CA certificate")]
    NotCa {
        /// Subject of the would-be issuer.
        subject: String,
    },
    /// A CA certificate breaks a rule for issuers other than basicConstraints and keyUsage.
    #[error("issuer {subject:?} is not acceptable as a CA: {reason}")]
    InvalidCa {
        /// Subject of the issuer.
        subject: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A certificate that is not self-issued lacks the authorityKeyIdentifier
    /// keyIdentifier that RFC 5280 4.2.1.1 requires.
    #[error("certificate {subject:?} has no authorityKeyIdentifier keyIdentifier")]
    MissingAuthorityKeyId {
        /// Subject of the certificate.
        subject: String,
    },
    /// A certificate breaks a CA/Browser Forum Baseline Requirements rule
    /// (checked only with [`crate::VerifyOptions::web_pki`]).
    #[error("certificate {subject:?} breaks the CA/Browser Forum requirements: {reason}")]
    WebPkiViolation {
        /// Subject of the certificate.
        subject: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// Checking name constraints would take more comparisons than allowed.
    #[error("name constraints need more than {max} comparisons")]
    TooManyNameConstraintChecks {
        /// The limit.
        max: usize,
    },
    /// A CA certificate was presented as the end-entity certificate.
    #[error("end-entity certificate {subject:?} is a CA certificate")]
    CaAsLeaf {
        /// Subject of the leaf.
        subject: String,
    },
    /// An issuer's keyUsage does not allow keyCertSign.
    #[error("issuer {subject:?} has a keyUsage without keyCertSign")]
    MissingKeyCertSign {
        /// Subject of the issuer.
        subject: String,
    },
    /// The leaf's keyUsage lacks a usage the caller requires.
    #[error("certificate {subject:?} has a keyUsage without {usage}")]
    MissingKeyUsage {
        /// Subject of the leaf.
        subject: String,
        /// The usage required.
        usage: &'static str,
    },
    /// A CA's pathLenConstraint is smaller than the number of intermediates below it.
    #[error("issuer {subject:?} allows {path_len} intermediates below it, the path has {found}")]
    PathLenExceeded {
        /// Subject of the CA whose constraint is broken.
        subject: String,
        /// Its pathLenConstraint.
        path_len: u8,
        /// Intermediates below it in the path (self-issued ones not counted).
        found: usize,
    },
    /// The path would need more intermediates than the caller's maximum.
    #[error("path needs more than the maximum of {max} intermediates")]
    MaxDepthExceeded {
        /// The caller's maximum.
        max: usize,
    },
    /// A certificate's extendedKeyUsage does not allow the purpose required.
    #[error("certificate {subject:?} does not allow extended key usage {required}")]
    ExtendedKeyUsageNotAllowed {
        /// Subject of the certificate.
        subject: String,
        /// The purpose required.
        required: ObjectIdentifier,
    },
    /// A name in a certificate is outside a CA's permitted subtrees, inside its
    /// excluded subtrees, or cannot be checked against them.
    #[error(
        "name {name} in certificate {subject:?} is not allowed by the name constraints of {constrained_by:?}"
    )]
    NameConstraintViolation {
        /// Subject of the certificate carrying the name.
        subject: String,
        /// The name at fault.
        name: String,
        /// Subject of the CA whose nameConstraints refuse it.
        constrained_by: String,
    },
    /// A name in the certificate is not a syntactically valid name of its type.
    #[error("certificate {subject:?} has a malformed {kind} name {name:?}")]
    MalformedName {
        /// Subject of the certificate.
        subject: String,
        /// The kind of name (DNS, IP, email, URI).
        kind: &'static str,
        /// The name, lossily printed.
        name: String,
    },
    /// The leaf does not carry the name the caller expects.
    #[error("certificate {subject:?} is not valid for {expected}")]
    NameMismatch {
        /// Subject of the leaf.
        subject: String,
        /// The expected DNS name, IP address or e-mail address.
        expected: String,
    },
    /// The expected name given by the caller is not a valid DNS name, IP or e-mail address.
    #[error("expected name {name:?} is not a valid {kind}")]
    BadExpectedName {
        /// The name given.
        name: String,
        /// What it was taken to be.
        kind: &'static str,
    },
    /// A public key is not acceptable (weak RSA, unsupported curve, bad encoding).
    #[error("certificate {subject:?} has an unacceptable public key: {source}")]
    BadPublicKey {
        /// Subject of the certificate.
        subject: String,
        /// Why the key is refused.
        source: Arc<kubepki_keys::KeyError>,
    },
    /// The signature on a certificate does not verify with its issuer's key.
    #[error("signature on {subject:?} does not verify with the key of {issuer:?}: {source}")]
    BadSignature {
        /// Subject of the signed certificate.
        subject: String,
        /// Subject of the issuer whose key was used.
        issuer: String,
        /// Why the signature was refused.
        source: Arc<kubepki_keys::KeyError>,
    },
    /// No trust anchor or usable intermediate issued the certificate.
    #[error("no trusted issuer found for {subject:?} (issuer {issuer:?})")]
    UnknownIssuer {
        /// Subject of the certificate whose issuer is missing.
        subject: String,
        /// Its issuer name.
        issuer: String,
    },
    /// Path building stopped because it used up its budget.
    #[error(
        "path building gave up after {signatures} signature checks and {paths} candidate issuers"
    )]
    BudgetExhausted {
        /// Signature checks performed.
        signatures: usize,
        /// Candidate issuers tried.
        paths: usize,
    },
    /// No trust anchor was given.
    #[error("no trust anchors given")]
    NoTrustAnchors,
    /// The certificate is not a client certificate the Kubernetes API server
    /// would map to a user.
    #[error("certificate {subject:?} has no common name, so it names no Kubernetes user")]
    NoKubernetesUser {
        /// Subject of the certificate.
        subject: String,
    },
}

/// The rank of [`VerifyError::UnknownIssuer`]: the lowest.
pub(crate) const UNKNOWN_ISSUER_RANK: u8 = 0;

impl VerifyError {
    /// How specific this error is when several candidate paths fail; the
    /// highest-ranked error is the one reported. An error that only says no
    /// issuer was found ranks lowest; one about a signature or a constraint
    /// on an otherwise good path ranks higher; running out of budget ranks
    /// highest, since then other paths were never tried.
    #[must_use]
    pub fn rank(&self) -> u8 {
        match self {
            Self::UnknownIssuer { .. } => UNKNOWN_ISSUER_RANK,
            Self::NotCa { .. } | Self::MissingKeyCertSign { .. } => 2,
            Self::NotYetValid { .. } | Self::Expired { .. } => 3,
            Self::BadSignature { .. } => 4,
            Self::BudgetExhausted { .. } | Self::TooManyNameConstraintChecks { .. } => 9,
            _ => 5,
        }
    }
}
