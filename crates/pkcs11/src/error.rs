//! The one error type of this crate.

use std::path::PathBuf;

use kubepki_keys::KeyError;

/// Everything that can go wrong between a `pkcs11:` URI and a signature.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// A URI that does not parse (the `pin-value` is hidden in `uri`).
    #[error("bad PKCS#11 URI {uri}: {reason}")]
    BadUri {
        /// The URI, its PIN hidden.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URI names no module and no default module was given.
    #[error("no PKCS#11 module for {uri}: add ?module-path=/path/to/module.so to the URI")]
    NoModulePath {
        /// The URI.
        uri: String,
    },
    /// A URI read from a file names a module that was neither given as the default nor
    /// allowed: a file must not choose a library to load into the process.
    #[error(
        "PKCS#11 module {path} named by {uri}, read from a file, is not allowed: name it on the command line (--pkcs11-module, KUBEPKI_PKCS11_MODULE) or allow it (--pkcs11-module-allow)"
    )]
    ModuleNotAllowed {
        /// The `module-path` of the URI.
        path: PathBuf,
        /// The URI, its PIN hidden.
        uri: String,
    },
    /// The module does not load (missing file, not a PKCS#11 library).
    #[error("cannot load PKCS#11 module {path}: {reason}")]
    NoSuchModule {
        /// The module path.
        path: PathBuf,
        /// What the loader said.
        reason: String,
    },
    /// No slot holds a token the URI matches.
    #[error("no token matching {wanted} in module {module} (tokens there: {available})")]
    NoSuchToken {
        /// The token attributes asked for.
        wanted: String,
        /// The module searched.
        module: PathBuf,
        /// The labels of the tokens found, or `none`.
        available: String,
    },
    /// No object on the token matches.
    #[error("no {kind} matching {wanted} on token {token}")]
    NoSuchObject {
        /// What was looked for (`private key`, `object`).
        kind: &'static str,
        /// The object attributes asked for.
        wanted: String,
        /// The token's label.
        token: String,
    },
    /// Several private keys match and the URI does not say which.
    #[error("{count} private keys match {wanted} on token {token}: name one with object= or id=")]
    AmbiguousObject {
        /// How many matched.
        count: usize,
        /// The object attributes asked for.
        wanted: String,
        /// The token's label.
        token: String,
    },
    /// The object the URI names is of another class than a private key.
    #[error("{wanted} on token {token} is a {found}, not a private key")]
    NotAPrivateKey {
        /// The object attributes asked for.
        wanted: String,
        /// The token's label.
        token: String,
        /// What it is (`certificate`, `public key`, ...).
        found: String,
    },
    /// The URI's `type` names another kind of object than a private key.
    #[error("the URI says type={uri_type}: a signing key needs type=private (or no type)")]
    WrongUriType {
        /// The type in the URI.
        uri_type: crate::object_type::ObjectType,
    },
    /// An object with the label already exists where a new key was to be made.
    #[error("token {token} already holds an object labelled {label:?}: refusing to make another")]
    ObjectExists {
        /// The label.
        label: String,
        /// The token's label.
        token: String,
    },
    /// A URI without `object=` where a new key needs a label.
    #[error("a new key on the token needs a label: add object=NAME to {uri}")]
    NoLabel {
        /// The URI.
        uri: String,
    },
    /// The token needs a login and no PIN was found.
    #[error(
        "token {token} needs a PIN: give pin-source=file:/path in the URI or set KUBEPKI_PKCS11_PIN"
    )]
    PinRequired {
        /// The token's label.
        token: String,
    },
    /// The token refused the PIN.
    #[error("wrong PIN for token {token}{}", tries_left.map(|t| format!(" ({t})")).unwrap_or_default())]
    WrongPin {
        /// The token's label.
        token: String,
        /// What the token's flags say about the tries left, where they say it.
        tries_left: Option<&'static str>,
    },
    /// The user PIN is locked (too many wrong PINs).
    #[error("the user PIN of token {token} is locked: unlock it with the SO PIN")]
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// The `pin-source` file cannot be read.
    #[error("cannot read the PIN from {path}: {reason}")]
    PinSource {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The token lacks the mechanism a key needs.
    #[error("token {token} does not support {mechanism}, which a {key} key needs")]
    MechanismNotSupported {
        /// The mechanism, e.g. `CKM_ECDSA`.
        mechanism: &'static str,
        /// The token's label.
        token: String,
        /// The key, e.g. `ECDSA-P256`.
        key: String,
    },
    /// A key of a type or curve kubepki does not sign with.
    #[error("{wanted} on token {token} is an unsupported key: {reason}")]
    UnsupportedKey {
        /// The object attributes asked for.
        wanted: String,
        /// The token's label.
        token: String,
        /// What kind of key it is.
        reason: String,
    },
    /// The public half of a private key is not on the token and cannot be read from it.
    #[error(
        "no public key for {wanted} on token {token}: store the public key object with the same id"
    )]
    NoPublicKey {
        /// The object attributes asked for.
        wanted: String,
        /// The token's label.
        token: String,
    },
    /// A PKCS#11 call failed for another reason.
    #[error("PKCS#11 {operation} failed: {source}")]
    Call {
        /// What was being done, e.g. `C_Sign`.
        operation: &'static str,
        /// The module's answer.
        source: cryptoki::error::Error,
    },
    /// The key read from the token is not one kubepki accepts (e.g. RSA under 2048 bits).
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The error of a failed PKCS#11 call, for `map_err`: `.map_err(call("C_Sign"))`.
pub(crate) fn call(operation: &'static str) -> impl Fn(cryptoki::error::Error) -> Pkcs11Error {
    move |source| Pkcs11Error::Call { operation, source }
}
