//! The one error type of this crate.

use std::path::PathBuf;

use kubepki_fs::FsError;
use kubepki_keys::KeyError;
use kubepki_profile::ProfileError;
use kubepki_sign::{SignError, Timestamp};

/// Why an existing file cannot be kept.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Misfit {
    /// A CA key file where the CA's key is to be on a PKCS#11 token.
    #[error(
        "the CA's key is to be on a PKCS#11 token, yet this key file exists: remove it, or do not name a token"
    )]
    KeyOnToken,
    /// The certificate was not signed by the CA it belongs under.
    #[error("it is not signed by CA {ca}")]
    NotSignedBy {
        /// The CA's name (`ca`, `etcd-ca`, `front-proxy-ca`).
        ca: String,
    },
    /// A SAN the cluster needs is absent.
    #[error("it lacks the required SAN {san}")]
    MissingSan {
        /// The SAN, as `DNS:x` / `IP:x`.
        san: String,
    },
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    WrongKey,
    /// The certificate has expired.
    #[error("the certificate expired at {not_after} (renew it with `kubepki certs renew`)")]
    Expired {
        /// Its NotAfter.
        not_after: Timestamp,
    },
    /// A CA certificate has expired. `certs renew` renews leaves only, so the way out is a new
    /// tree.
    #[error(
        "the CA certificate expired at {not_after}: a CA is not renewed in place; move the whole tree away and run `kubepki init` again to make a new CA and everything under it"
    )]
    CaExpired {
        /// Its NotAfter.
        not_after: Timestamp,
    },
    /// The subject is not the one the cluster needs.
    #[error("its subject is {found}, expected {expected}")]
    WrongSubject {
        /// The subject found.
        found: String,
        /// The subject wanted.
        expected: String,
    },
    /// A kubeconfig file embeds another CA certificate.
    #[error("its certificate-authority-data is not the cluster CA {ca}")]
    WrongCaData {
        /// The CA's name.
        ca: String,
    },
    /// A certificate given as a CA cannot sign.
    #[error("it is not a usable CA: {0}")]
    NotACa(String),
    /// A kubeconfig file lacks something.
    #[error("the kubeconfig has no {0}")]
    KubeconfigIncomplete(&'static str),
    /// The CA certificate in the tree is not the one given (external CA mode, or a key on a
    /// token with its certificate).
    #[error("it is not the CA certificate given")]
    NotTheGivenCa,
}

/// Everything that can go wrong laying out, checking or renewing a cluster's PKI.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An existing file does not fit the cluster and was not replaced.
    #[error("{path} exists but does not fit: {reason}")]
    Misfit {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: Misfit,
    },
    /// One half of a key/certificate pair exists without the other.
    #[error("{present} exists but {missing} does not: restore it or remove both")]
    IncompletePair {
        /// The file found.
        present: PathBuf,
        /// The file missing.
        missing: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A folder could not be created.
    #[error("cannot create folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key file that does not load.
    #[error("{path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        source: KeyError,
    },
    /// A certificate that does not parse, or issuing that failed.
    #[error("{name}: {source}")]
    Sign {
        /// The file or certificate concerned.
        name: String,
        /// Why.
        source: SignError,
    },
    /// A kubeconfig file that does not parse.
    #[error("{path}: not a kubeconfig file: {reason}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A field of a kubeconfig file that is present but does not read (not base64, not a
    /// certificate, not a key): broken, which is not the same as absent.
    #[error("{path}: its {field} does not read: {reason}")]
    KubeconfigField {
        /// The file.
        path: PathBuf,
        /// The field (`client-certificate-data`, `certificate-authority-data`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `certs generate-csr` without the cluster CA certificate: the kubeconfig files it
    /// writes embed it (external CA mode keeps the CA's certificate in the tree, not its key).
    #[error(
        "{path} is missing: certs generate-csr embeds the cluster CA certificate in the kubeconfig files (put the external CA's certificate there, without its key)"
    )]
    NoCaCertificate {
        /// The missing `ca.crt`.
        path: PathBuf,
    },
    /// A SAN that is neither an IP address nor a DNS name.
    #[error("SAN {value:?} is neither a valid IP address nor a valid DNS name")]
    InvalidSan {
        /// The value given.
        value: String,
    },
    /// An extra SAN given on the command line that is neither an IP address nor a DNS name.
    #[error("{flag}: {value:?} is neither a valid IP address nor a valid DNS name")]
    InvalidExtraSan {
        /// The value given.
        value: String,
        /// The flag it was given with.
        flag: &'static str,
    },
    /// A control-plane endpoint that is not `HOST[:PORT]`.
    #[error("control-plane endpoint {value:?} is not HOST[:PORT]: {reason}")]
    InvalidEndpoint {
        /// The value given.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A certificate name that is not part of the tree.
    #[error("unknown certificate {name}: known are {known}")]
    UnknownCertificate {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A CA was named for renewal.
    #[error("{name} is a CA: CAs are never renewed (issue a new CA and roll it out instead)")]
    CaNotRenewed {
        /// The CA's name.
        name: String,
    },
    /// `certs recover` met an expired CA: it keeps the CAs, and nothing can be signed by an
    /// expired one.
    #[error(
        "CA {name} ({path}) expired at {not_after}: recover keeps the CAs and an expired CA cannot sign anything that would be trusted. Every certificate under it must come from a new CA: move this tree away, run `kubepki init` to make a new one, and give every node and client the new {name} certificate (kubeadm join again)"
    )]
    CaExpired {
        /// The CA's name (`ca`, `front-proxy-ca`, `etcd-ca`).
        name: String,
        /// Its certificate file.
        path: PathBuf,
        /// Its NotAfter.
        not_after: Timestamp,
    },
    /// A kubeconfig's client certificate file that `certs recover` cannot renew.
    #[error("{path}: {reason}")]
    ClientCertificateFile {
        /// The file (after `--kubelet-dir` is applied).
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// A CA is asked for that has no private key here (external CA mode).
    #[error("CA {ca} has no private key ({path} is missing): cannot sign {what}")]
    NoCaKey {
        /// The CA's name.
        ca: String,
        /// The missing key file.
        path: PathBuf,
        /// What would have been signed.
        what: String,
    },
    /// `certs renew all` stopped at one certificate after renewing others, which stay
    /// renewed.
    #[error("renewal stopped at {at}{}: {source}", renewed_before(renewed))]
    RenewIncomplete {
        /// The certificate it failed on.
        at: String,
        /// The certificates renewed before it, in order.
        renewed: Vec<String>,
        /// Why it failed.
        source: Box<ClusterError>,
    },
    /// A CA key URI to record that carries a PIN (`pin-value`): the record is not secret.
    #[error(
        "the CA key URI carries a pin-value: remove it (the PIN comes from pin-source or the environment)"
    )]
    PinInKeyUri,
    /// A CA key URI that is empty, spans lines or is not text.
    #[error("CA key URI {value:?} is not one URI on one line")]
    InvalidKeyUri {
        /// The value (or the record file) at fault.
        value: String,
    },
    /// `init` with the cluster CA's key on a token, over a tree that has `ca.key`.
    #[error(
        "{} exists: with --ca-key-uri the cluster CA's key is on the token, not in a file",
        .path.display()
    )]
    CaKeyFileBesideToken {
        /// The key file.
        path: PathBuf,
    },
    /// `init` with the cluster CA's key on a token that has no such key, over a tree whose
    /// `ca.crt` exists: that certificate's key cannot be made anew.
    #[error(
        "{} exists but token {token} has no key {object}: its key cannot be made anew",
        .certificate.display()
    )]
    TokenCaKeyMissing {
        /// The CA certificate.
        certificate: PathBuf,
        /// The token's label.
        token: String,
        /// The key the URI names, as the URI describes it.
        object: String,
    },
    /// External CA mode asked of a tree made in memory, which has nowhere to leave the files
    /// that must be signed elsewhere.
    #[error(
        "external CA mode leaves files to be signed elsewhere in a tree on disk: lay the tree out with init"
    )]
    ExternalCaInMemory,
    /// A profile problem (bad service CIDR, node name, validity).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Writing a file failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Key generation failed.
    #[error("key generation failed: {0}")]
    KeyGeneration(KeyError),
    /// A rotation phase asked for out of order (phases cannot be skipped).
    #[error("cannot {wanted} the rotation of {ca}: it is {found}; {hint}")]
    RotationOrder {
        /// The CA (`cluster`, `front-proxy`, `etcd`, `sa`).
        ca: &'static str,
        /// The phase asked for (`start`, `promote`, `finish`, `roll back`).
        wanted: &'static str,
        /// The phase the CA is in.
        found: &'static str,
        /// What to run instead.
        hint: &'static str,
    },
    /// `finish` asked for before the service-account token lifetime has passed since
    /// `promote`.
    #[error(
        "cannot finish the rotation of {ca} yet: tokens signed with the old key may live until {until} (promoted at {promoted_at}, token lifetime {lifetime_secs}s); wait, or pass --force to cut them off now"
    )]
    TokensStillValid {
        /// The CA whose finish is refused.
        ca: &'static str,
        /// When `promote` ran.
        promoted_at: Timestamp,
        /// When the last old-key token ends.
        until: Timestamp,
        /// The lifetime given.
        lifetime_secs: u64,
    },
    /// A rotation's state file or set-aside CA that does not read, or does not fit the tree.
    #[error("{path}: {reason}")]
    RotationFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A new CA given to `start` that is not usable.
    #[error("the new CA for {ca} is not usable: {reason}")]
    BadNewCa {
        /// The CA it was given for.
        ca: &'static str,
        /// Why.
        reason: String,
    },
}

fn renewed_before(renewed: &[String]) -> String {
    if renewed.is_empty() {
        " (nothing renewed)".to_owned()
    } else {
        format!(" (already renewed: {})", renewed.join(", "))
    }
}
