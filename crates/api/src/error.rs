//! The crate's one error type, and the field errors of its `Invalid`.

use std::fmt;
use std::path::PathBuf;

/// What is wrong with one field, as apimachinery's `field.Error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// `Required value`.
    Required(String),
    /// `Invalid value: V: detail`.
    Invalid {
        /// The value, already quoted if a string.
        value: String,
        /// Why.
        detail: String,
    },
    /// `Unsupported value: "v": supported values: ...`.
    NotSupported {
        /// The value.
        value: String,
        /// The supported values.
        supported: Vec<String>,
    },
    /// `Duplicate value: "v"`.
    Duplicate(String),
    /// `Too long: may not be more than N bytes`.
    TooLong(usize),
    /// `Forbidden: detail`.
    Forbidden(String),
}

/// One field at fault, e.g. `spec.usages[1]: Duplicate value: "client auth"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The path, e.g. `spec.expirationSeconds`.
    pub field: String,
    /// What is wrong.
    pub kind: FieldErrorKind,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = &self.field;
        match &self.kind {
            FieldErrorKind::Required(d) if d.is_empty() => write!(f, "{field}: Required value"),
            FieldErrorKind::Required(d) => write!(f, "{field}: Required value: {d}"),
            FieldErrorKind::Invalid { value, detail } => {
                write!(f, "{field}: Invalid value: {value}: {detail}")
            }
            FieldErrorKind::NotSupported { value, supported } => {
                let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                write!(
                    f,
                    "{field}: Unsupported value: {value:?}: supported values: {}",
                    list.join(", ")
                )
            }
            FieldErrorKind::Duplicate(v) => write!(f, "{field}: Duplicate value: {v:?}"),
            FieldErrorKind::TooLong(max) => {
                write!(f, "{field}: Too long: may not be more than {max} bytes")
            }
            FieldErrorKind::Forbidden(d) => write!(f, "{field}: Forbidden: {d}"),
        }
    }
}

/// What went wrong in the Certificates API: the API server's refusals with its wording, the
/// signers' refusals, store conflicts and I/O.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Validation failed, as the API server's `422 Invalid`.
    #[error("CertificateSigningRequest.certificates.k8s.io {name:?} is invalid: {}", format_causes(.causes))]
    Invalid {
        /// The object's name.
        name: String,
        /// Each field at fault.
        causes: Vec<FieldError>,
    },
    /// An admission plugin refused the object, as the API server's `403 Forbidden`.
    #[error("certificatesigningrequests.certificates.k8s.io {name:?} is forbidden: {reason}")]
    Forbidden {
        /// The object's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// No object by that name.
    #[error("certificatesigningrequests.certificates.k8s.io {name:?} not found")]
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// An object by that name exists already.
    #[error("certificatesigningrequests.certificates.k8s.io {name:?} already exists")]
    AlreadyExists {
        /// The name.
        name: String,
    },
    /// The update was made against an older resourceVersion than the stored one.
    #[error(
        "Operation cannot be fulfilled on certificatesigningrequests.certificates.k8s.io {name:?}: the object has been modified; please apply your changes to the latest version and try again (resourceVersion {given:?}, stored {stored:?})"
    )]
    Conflict {
        /// The name.
        name: String,
        /// The resourceVersion the update was based on.
        given: String,
        /// The stored resourceVersion.
        stored: String,
    },
    /// `kubectl certificate approve` on a denied request, or deny on an approved one.
    #[error("certificate signing request {name:?} is already {condition}")]
    AlreadyDecided {
        /// The name.
        name: String,
        /// The condition it has (`Approved` or `Denied`).
        condition: String,
    },
    /// The request's subject is not `O=system:nodes` (kubelet signers).
    #[error("subject organization is not system:nodes")]
    OrganizationNotSystemNodes,
    /// The request's CN does not start with `system:node:` (kubelet signers).
    #[error("subject common name does not begin with system:node:")]
    CommonNameNotSystemNode,
    /// A kubelet serving request without DNS or IP SAN.
    #[error("DNS or IP subjectAltName is required")]
    DnsOrIpSanRequired,
    /// A SAN kind the signer refuses (`DNS`, `IP`, `Email`, `URI`).
    #[error("{kind} subjectAltNames are not allowed")]
    SanNotAllowed {
        /// The kind, as Kubernetes names it.
        kind: &'static str,
    },
    /// The usages are not one of the signer's allowed sets.
    #[error("usages did not match [{}]", .expected.join(" "))]
    UsagesMismatch {
        /// The required usages.
        expected: Vec<String>,
    },
    /// A usage `kube-apiserver-client` does not allow.
    #[error("invalid usage for client certificate: {usage}")]
    InvalidClientUsage {
        /// The usage word.
        usage: String,
    },
    /// `kube-apiserver-client` without `client auth`.
    #[error("missing required usage for client certificate: client auth")]
    MissingClientAuth,
    /// A usage a custom signer's profile does not have.
    #[error("usage {usage:?} is not allowed by signer {signer}")]
    UsageNotAllowed {
        /// The usage word.
        usage: String,
        /// The signer.
        signer: String,
    },
    /// A custom signer whose profile lets its certificates authenticate as clients was asked
    /// for `O=system:masters`: kube-apiserver would let such a certificate act as cluster-admin
    /// wherever it trusts the signer's CA.
    #[error("signer {signer} refuses O=system:masters: its certificates are valid for client auth")]
    SystemMastersRefused {
        /// The custom signer.
        signer: String,
    },
    /// A custom signer would sign with the cluster-signing CA, which kube-apiserver trusts for
    /// client certificates, without having been given that CA explicitly.
    #[error(
        "custom signer {signer} has no CA of its own and would sign with the cluster-signing CA, which kube-apiserver trusts for client certificates"
    )]
    CustomSignerOnClusterCa {
        /// The custom signer.
        signer: String,
    },
    /// The signing CA has expired.
    #[error("the signer has expired: NotAfter={not_after}")]
    SignerExpired {
        /// The CA's NotAfter, RFC 3339.
        not_after: String,
    },
    /// A timestamp that is not RFC 3339 UTC (`2006-01-02T15:04:05Z`).
    #[error("invalid timestamp {0:?}: expected RFC 3339 UTC such as 2006-01-02T15:04:05Z")]
    Timestamp(String),
    /// Text that is not a CertificateSigningRequest in YAML or JSON.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being read.
        what: String,
        /// The parser's message.
        reason: String,
    },
    /// A manifest or stored object longer than the API server's request limit.
    #[error("object of {size} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// Its length.
        size: usize,
        /// The limit, [`MAX_OBJECT_BYTES`](crate::MAX_OBJECT_BYTES).
        max: usize,
    },
    /// A manifest or stored object nested too deeply to be read safely.
    #[error("object nests {depth} levels deep, more than the limit of {max}")]
    TooDeep {
        /// The depth at which the parser stopped.
        depth: usize,
        /// The limit, [`MAX_DEPTH`](crate::MAX_DEPTH).
        max: usize,
    },
    /// A name the API server accepts (up to 253 characters) but too long for a file name in
    /// the file store (`NAME.json` within 255 bytes).
    #[error("name of {len} bytes is longer than the file store's limit of {max} bytes")]
    NameTooLongForStore {
        /// The name's length.
        len: usize,
        /// The store's limit.
        max: usize,
    },
    /// A stored object that cannot be read; the store's other objects are unaffected.
    #[error("{}: unreadable object: {reason}", .path.display())]
    Corrupt {
        /// The object's file.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("cannot draw random bytes for {what}: {source}")]
    Random {
        /// What the bytes were for, e.g. `the request's UID`.
        what: &'static str,
        /// The RNG's error.
        source: getrandom::Error,
    },
    /// A signer name with no profile in the configured set.
    #[error("no profile for signer {signer:?}")]
    UnknownSigner {
        /// The signer name.
        signer: String,
    },
    /// Reading a store file or the lock failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Writing a store file failed.
    #[error(transparent)]
    Fs(#[from] kubepki_fs::FsError),
    /// Issuing failed.
    #[error(transparent)]
    Sign(#[from] kubepki_sign::SignError),
    /// A profile refused the request, or a profile file is bad.
    #[error(transparent)]
    Profile(#[from] kubepki_profile::ProfileError),
    /// The request in `spec.request` could not be read.
    #[error(transparent)]
    Csr(#[from] kubepki_csr::CsrError),
}

fn format_causes(causes: &[FieldError]) -> String {
    match causes {
        [one] => one.to_string(),
        many => {
            let list: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("[{}]", list.join(", "))
        }
    }
}
