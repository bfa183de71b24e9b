//! CA keys on a PKCS#11 token: where a key file is accepted, a `pkcs11:` URI is too.
//!
//! The environment is read here, not in the library: `KUBEPKI_PKCS11_PIN` is the PIN when
//! the URI has no `pin-source` (the PIN never needs to be on the command line), and
//! `--pkcs11-module` (else `KUBEPKI_PKCS11_MODULE`) the module when the URI has no
//! `module-path`.
//!
//! Who may choose the module: loading one runs its code in this process. A URI typed on
//! the command line loads its `module-path`; a URI read from a file (a profiles file's
//! `signers:`, the `ca.key.uri` that `init` recorded) loads its `module-path` only when that
//! is the `--pkcs11-module`/`KUBEPKI_PKCS11_MODULE` module or one given with
//! `--pkcs11-module-allow` ([`kubepki::pkcs11::OpenOptions::module_for`] is the rule).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::Args;
use kubepki::Ca;
use kubepki::cluster::KeyUri;
use kubepki::pkcs11::{OpenOptions, Pkcs11Signer, Pkcs11Uri, Token, UriOrigin, is_pkcs11_uri};

use crate::error::{CliError, CliResult};
use crate::files::{read_file, read_passphrase};

#[derive(Debug, Args)]
pub(crate) struct KeyListArgs {
    /// The token, e.g. `pkcs11:token=kubepki?module-path=/usr/lib/softhsm/libsofthsm2.so`
    /// (PIN from `pin-source=file:...` or `KUBEPKI_PKCS11_PIN`).
    pub(crate) uri: String,
}

/// Which PKCS#11 modules may be loaded: flags of every command.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct ModuleArgs {
    /// The PKCS#11 module (shared library) for `pkcs11:` URIs without `module-path`, and the
    /// one a URI read from a file may name (default: KUBEPKI_PKCS11_MODULE).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) pkcs11_module: Option<PathBuf>,
    /// Another module a `pkcs11:` URI read from a file (a profiles file's `signers:`,
    /// `ca.key.uri`) may name in `module-path`; repeat for several. URIs on the command line
    /// need no allowing.
    #[arg(long = "pkcs11-module-allow", global = true, value_name = "PATH")]
    pub(crate) pkcs11_module_allow: Vec<PathBuf>,
}

/// The flags of [`ModuleArgs`], set once before the command runs.
static MODULE_ARGS: OnceLock<ModuleArgs> = OnceLock::new();

/// Records `--pkcs11-module` and `--pkcs11-module-allow` for every token this command opens.
pub(crate) fn set_module_args(args: ModuleArgs) {
    // Set once, by the dispatcher, before any command runs.
    let _ = MODULE_ARGS.set(args);
}

/// The PIN, when the URI has no `pin-value` or `pin-source`.
pub(crate) const PIN_ENV: &str = "KUBEPKI_PKCS11_PIN";
/// The module, when the URI has no `module-path` and there is no `--pkcs11-module`.
pub(crate) const MODULE_ENV: &str = "KUBEPKI_PKCS11_MODULE";

/// The URI, when a key argument is a `pkcs11:` URI rather than a file.
pub(crate) fn uri_of(key: &Path) -> Option<&str> {
    key.to_str().filter(|s| is_pkcs11_uri(s))
}

fn options(origin: UriOrigin) -> OpenOptions {
    let pin = zeroize::Zeroizing::new(std::env::var(PIN_ENV).ok().filter(|p| !p.is_empty()));
    let flags = MODULE_ARGS.get().cloned().unwrap_or_default();
    let module = flags.pkcs11_module.or_else(|| {
        std::env::var_os(MODULE_ENV)
            .filter(|m| !m.is_empty())
            .map(PathBuf::from)
    });
    flags.pkcs11_module_allow.iter().fold(
        OpenOptions::new()
            .fallback_pin(pin.as_deref())
            .default_module(module.as_deref())
            .origin(origin),
        |options, allowed| options.allow_module(allowed),
    )
}

/// Parses a URI given on the command line and opens (and logs in to) its token.
pub(crate) fn open(uri: &str) -> CliResult<(Pkcs11Uri, Token)> {
    open_from(uri, UriOrigin::Operator)
}

/// Parses a URI from `origin` and opens (and logs in to) its token.
pub(crate) fn open_from(uri: &str, origin: UriOrigin) -> CliResult<(Pkcs11Uri, Token)> {
    let uri = Pkcs11Uri::parse(uri)?;
    let token = Token::open(&uri, &options(origin))?;
    Ok((uri, token))
}

/// The private key a URI given on the command line names.
pub(crate) fn signer(uri: &str) -> CliResult<Pkcs11Signer> {
    let (uri, token) = open(uri)?;
    Ok(token.signer(&uri)?)
}

/// Loads a CA from its certificate file (further certificates are its chain) and its key: a
/// file (`passphrase` for an encrypted one) or a `pkcs11:` URI given on the command line.
pub(crate) fn load_ca(cert: &Path, key: &Path, passphrase: Option<&PathBuf>) -> CliResult<Ca> {
    load_ca_from(cert, key, passphrase, UriOrigin::Operator)
}

/// As [`load_ca`], a `pkcs11:` URI in `key` coming from `origin`.
pub(crate) fn load_ca_from(
    cert: &Path,
    key: &Path,
    passphrase: Option<&PathBuf>,
    origin: UriOrigin,
) -> CliResult<Ca> {
    let cert_bytes = read_file(cert)?;
    let loading = |e: CliError| CliError(format!("loading CA {}: {e}", cert.display()));
    match uri_of(key) {
        Some(uri) => {
            if passphrase.is_some() {
                return Err(CliError(
                    "a passphrase file is for a key file, not a pkcs11: URI (the PIN comes from pin-source or KUBEPKI_PKCS11_PIN)".to_owned(),
                ));
            }
            let (uri, token) = open_from(uri, origin)?;
            let signer = token.signer(&uri)?;
            Ca::from_bundle(&cert_bytes, Box::new(signer)).map_err(|e| loading(e.into()))
        }
        None => {
            let passphrase = read_passphrase(passphrase)?;
            crate::files::load_ca(cert, &cert_bytes, key, passphrase.as_deref())
        }
    }
}

/// The cluster CA of a tree whose CA key is on a token: the URI given (`--ca-key-uri`), else
/// the one `init --ca-key-uri` left in `ca.key.uri` when there is no `ca.key`. `None`: the
/// CA key is a file, as usual.
pub(crate) fn cluster_ca(cert_dir: &Path, given: Option<&str>) -> CliResult<Option<Ca>> {
    let (uri, origin) = match given {
        Some(uri) => (uri.to_owned(), UriOrigin::Operator),
        None => match recorded_key_uri(cert_dir)? {
            Some(uri) => (uri, UriOrigin::File),
            None => return Ok(None),
        },
    };
    load_ca_from(&cert_dir.join("ca.crt"), Path::new(&uri), None, origin).map(Some)
}

/// The URI in `ca.key.uri`, when there is no `ca.key`.
pub(crate) fn recorded_key_uri(cert_dir: &Path) -> CliResult<Option<String>> {
    Ok(kubepki::cluster::recorded_key_uri(cert_dir)?)
}

/// Where the cluster CA's key is, to record in `ca.key.uri`: the URI without its PIN.
pub(crate) fn key_uri_record(uri: &Pkcs11Uri) -> CliResult<KeyUri> {
    let mut without_pin = uri.clone();
    without_pin.pin_value = None;
    Ok(KeyUri::new(&without_pin.to_string())?)
}

fn yes_no(flag: Option<bool>) -> &'static str {
    match flag {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

/// `kubepki key list pkcs11:token=...`: the token's private keys.
pub(crate) fn key_list(args: &KeyListArgs) -> CliResult<()> {
    if !is_pkcs11_uri(&args.uri) {
        return Err(CliError(format!(
            "{} is not a pkcs11: URI (e.g. pkcs11:token=kubepki?module-path=/usr/lib/softhsm/libsofthsm2.so)",
            args.uri
        )));
    }
    let (_, token) = open(&args.uri)?;
    let keys = token.keys()?;
    let mut rows = vec![
        ["LABEL", "ID", "ALGORITHM", "EXTRACTABLE", "SENSITIVE"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for k in &keys {
        rows.push(vec![
            k.label.clone(),
            if k.id.is_empty() {
                "-".to_owned()
            } else {
                k.id_hex()
            },
            k.algorithm.clone(),
            yes_no(k.extractable).to_owned(),
            yes_no(k.sensitive).to_owned(),
        ]);
    }
    print!("{}", crate::tables::columns(&rows));
    eprintln!("{} private key(s) on token {}", keys.len(), token.label());
    Ok(())
}
