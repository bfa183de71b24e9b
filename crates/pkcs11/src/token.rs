//! A token: its module loaded, its slot found, logged in, with a pool of sessions.

use core::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::key::{KeyInfo, find_private_key, generate_key, list_keys};
use crate::{Pkcs11Error, Pkcs11Signer, Pkcs11Uri};
use kubepki_keys::KeyAlgorithm;

/// Where a `pkcs11:` URI came from, which decides whether its `module-path` is loaded: the
/// module is a shared library loaded into this process, so choosing it is running code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriOrigin {
    /// Given by whoever runs the program (a command-line argument, the caller of the C API):
    /// its `module-path` is loaded.
    #[default]
    Operator,
    /// Read from a file (a profiles file's `signers:`, a ConfigMap, a recorded `ca.key.uri`):
    /// whoever can write the file must not choose a library to load, so its `module-path` is
    /// loaded only when it is the default module or on the allow-list
    /// ([`OpenOptions::allow_module`]).
    File,
}

/// How to open a token when the URI leaves something out, and which modules a URI may
/// name. The library reads neither the environment nor any configuration: the caller
/// decides where these come from (the CLI takes `KUBEPKI_PKCS11_PIN`,
/// `KUBEPKI_PKCS11_MODULE`, `--pkcs11-module` and `--pkcs11-module-allow`).
#[derive(Clone, Default)]
pub struct OpenOptions {
    pin: Option<Zeroizing<String>>,
    module: Option<PathBuf>,
    origin: UriOrigin,
    allowed: Vec<PathBuf>,
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("pin", &self.pin.as_ref().map(|_| "***"))
            .field("module", &self.module)
            .field("origin", &self.origin)
            .field("allowed", &self.allowed)
            .finish()
    }
}

/// Whether two module paths name the same file: the same text, or the same file once both
/// are resolved (symbolic links, `..`).
fn same_module(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl OpenOptions {
    /// Nothing beyond the URI; the URI is the operator's ([`UriOrigin::Operator`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The PIN to use when the URI has neither `pin-value` nor `pin-source`.
    pub fn fallback_pin(mut self, pin: Option<&str>) -> Self {
        self.pin = pin.map(|p| Zeroizing::new(p.to_owned()));
        self
    }

    /// The module to load when the URI has no `module-path`. A URI read from a file may
    /// name it in `module-path` too.
    pub fn default_module(mut self, module: Option<&Path>) -> Self {
        self.module = module.map(Path::to_path_buf);
        self
    }

    /// Where the URI came from (default: [`UriOrigin::Operator`]).
    pub fn origin(mut self, origin: UriOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// A module that a URI read from a file may name in `module-path`; call once per module.
    pub fn allow_module(mut self, module: &Path) -> Self {
        self.allowed.push(module.to_path_buf());
        self
    }

    /// The module to load for `uri`: the one rule for who chooses it. A URI of the
    /// operator's loads its own `module-path`; a URI read from a file loads its
    /// `module-path` only when that is the default module or an allowed one; a URI without
    /// `module-path` loads the default module.
    ///
    /// # Errors
    /// [`Pkcs11Error::ModuleNotAllowed`] for a file's `module-path` that is neither;
    /// [`Pkcs11Error::NoModulePath`] when there is no module at all.
    pub fn module_for(&self, uri: &Pkcs11Uri) -> Result<PathBuf, Pkcs11Error> {
        let Some(named) = &uri.module_path else {
            return self
                .module
                .clone()
                .ok_or_else(|| Pkcs11Error::NoModulePath {
                    uri: uri.to_string(),
                });
        };
        if self.origin == UriOrigin::Operator {
            return Ok(named.clone());
        }
        let allowed = self
            .module
            .iter()
            .chain(&self.allowed)
            .any(|trusted| same_module(named, trusted));
        if allowed {
            Ok(named.clone())
        } else {
            Err(Pkcs11Error::ModuleNotAllowed {
                path: named.clone(),
                uri: uri.to_string(),
            })
        }
    }
}

/// A loaded, initialized module. C_Initialize and C_Finalize are per process, not per
/// caller: every token opened through one module shares this, and the module is finalized
/// when the last of them is gone, so closing one token never pulls the module from under
/// another.
struct Module {
    ctx: Pkcs11,
    /// The canonical path it is registered under.
    key: PathBuf,
}

/// The PIN each token of this process was logged in with, as a SHA-256 digest, by
/// `module:serial:label`. PKCS#11 login state is per process: once one handle has logged in,
/// `C_Login` answers "already logged in" to any PIN, so a later open with another PIN is
/// checked against this instead of being let in.
static LOGINS: Mutex<Vec<(String, [u8; 32])>> = Mutex::new(Vec::new());

fn pin_digest(pin: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(pin.as_bytes()).into()
}

/// The modules loaded, by canonical path.
static MODULES: Mutex<Vec<(PathBuf, Weak<Module>)>> = Mutex::new(Vec::new());

impl Drop for Module {
    fn drop(&mut self) {
        // Under the registry's lock, so that no other thread initializes the module again
        // while it is being finalized.
        let registry = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have loaded the module again between the last handle going
        // and this lock: then it stays initialized, for that one to finalize.
        let reloaded = registry
            .iter()
            .any(|(key, module)| *key == self.key && module.strong_count() > 0);
        if !reloaded {
            // Nothing to do about a failure while dropping; the library is unloaded next.
            let _ = self.ctx.clone().finalize();
        }
    }
}

/// The module at `path`, loaded and initialized once per process.
fn module(path: &Path) -> Result<Arc<Module>, Pkcs11Error> {
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    modules.retain(|(_, module)| module.strong_count() > 0);
    if let Some(module) = modules
        .iter()
        .find(|(p, _)| *p == key)
        .and_then(|(_, module)| module.upgrade())
    {
        return Ok(module);
    }
    let ctx = Pkcs11::new(path).map_err(|e| Pkcs11Error::NoSuchModule {
        path: path.to_path_buf(),
        reason: match e {
            CkError::LibraryLoading(e) => e.to_string(),
            other => other.to_string(),
        },
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Already initialized: by another user of the library in this process.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(call("C_Initialize")(e)),
    }
    let module = Arc::new(Module {
        ctx,
        key: key.clone(),
    });
    modules.push((key, Arc::downgrade(&module)));
    Ok(module)
}

/// What every handle to one token shares: the module, the slot, and the idle sessions.
pub(crate) struct Inner {
    module: Arc<Module>,
    slot: Slot,
    label: String,
    idle: Mutex<Vec<Session>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Close the sessions before the module may be finalized (when `module` drops next):
        // a session closed after C_Finalize would call into a finalized library.
        self.idle
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A session borrowed from the pool; it goes back when dropped, unless it failed.
pub(crate) struct Lease<'a> {
    inner: &'a Inner,
    session: Option<Session>,
}

impl Lease<'_> {
    pub(crate) fn session(&self) -> Result<&Session, Pkcs11Error> {
        self.session.as_ref().ok_or(Pkcs11Error::Call {
            operation: "C_OpenSession",
            source: CkError::InvalidValue,
        })
    }

    /// Drops the session instead of returning it (after an error that may have broken it).
    pub(crate) fn discard(mut self) {
        self.session = None;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(session);
        }
    }
}

pub(crate) fn call(operation: &'static str) -> impl Fn(CkError) -> Pkcs11Error {
    move |source| Pkcs11Error::Call { operation, source }
}

impl Inner {
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// An idle session, or a new one: the login is the application's, not the session's, so
    /// a new session is logged in as long as one stays open (the pool keeps one).
    pub(crate) fn lease(&self) -> Result<Lease<'_>, Pkcs11Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let session = match idle {
            Some(session) => session,
            None => self
                .module
                .ctx
                .open_ro_session(self.slot)
                .map_err(call("C_OpenSession"))?,
        };
        Ok(Lease {
            inner: self,
            session: Some(session),
        })
    }

    pub(crate) fn rw_session(&self) -> Result<Session, Pkcs11Error> {
        self.module
            .ctx
            .open_rw_session(self.slot)
            .map_err(call("C_OpenSession"))
    }

    pub(crate) fn mechanisms(&self) -> Result<Vec<MechanismType>, Pkcs11Error> {
        self.module
            .ctx
            .get_mechanism_list(self.slot)
            .map_err(call("C_GetMechanismList"))
    }
}

/// An open, logged-in token. Cloning is cheap; every clone and every signer made from it
/// share one pool of sessions, so signing from many threads opens as many sessions as
/// there are threads, and no more.
#[derive(Clone)]
pub struct Token {
    inner: Arc<Inner>,
    module: PathBuf,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.inner.label)
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

fn token_matches(uri: &Pkcs11Uri, slot: Slot, info: &cryptoki::slot::TokenInfo) -> bool {
    let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    same(&uri.token, info.label())
        && same(&uri.manufacturer, info.manufacturer_id())
        && same(&uri.model, info.model())
        && same(&uri.serial, info.serial_number())
        && uri.slot_id.is_none_or(|id| id == slot.id())
}

impl Token {
    /// Loads the module [`OpenOptions::module_for`] chooses, finds the token the URI's token
    /// attributes match (the first, when several do), and logs in with the PIN from the
    /// URI's `pin-value` or `pin-source`, or the fallback in `options`.
    ///
    /// A PKCS#11 login belongs to the process, not to a handle: while another [`Token`] on
    /// the same module and token is open (and so logged in), this one shares its login; its
    /// PIN is checked against the one that logged in, and another PIN is
    /// [`Pkcs11Error::WrongPin`]. The module is loaded once per process and finalized
    /// when the last token opened through it is dropped.
    ///
    /// # Errors
    /// [`Pkcs11Error::NoModulePath`], [`Pkcs11Error::ModuleNotAllowed`],
    /// [`Pkcs11Error::NoSuchModule`], [`Pkcs11Error::NoSuchToken`], [`Pkcs11Error::PinRequired`], [`Pkcs11Error::WrongPin`],
    /// [`Pkcs11Error::PinLocked`], [`Pkcs11Error::PinSource`], [`Pkcs11Error::Call`].
    pub fn open(uri: &Pkcs11Uri, options: &OpenOptions) -> Result<Token, Pkcs11Error> {
        let module = options.module_for(uri)?;
        // Read the PIN first: a bad pin-source is reported before the module is touched.
        let pin = uri.pin(options.pin.as_deref().map(String::as_str))?;
        let loaded = self::module(&module)?;
        let ctx = &loaded.ctx;
        let mut available = Vec::new();
        let mut found = None;
        for slot in ctx.get_slots_with_token().map_err(call("C_GetSlotList"))? {
            let info = ctx.get_token_info(slot).map_err(call("C_GetTokenInfo"))?;
            if !info.token_initialized() {
                continue;
            }
            if found.is_none() && token_matches(uri, slot, &info) {
                found = Some((slot, info));
            } else {
                available.push(info.label().to_owned());
            }
        }
        let Some((slot, info)) = found else {
            return Err(Pkcs11Error::NoSuchToken {
                wanted: uri.token_description(),
                module,
                available: if available.is_empty() {
                    "none".to_owned()
                } else {
                    available.join(", ")
                },
            });
        };
        let label = info.label().to_owned();
        let session = ctx.open_ro_session(slot).map_err(call("C_OpenSession"))?;
        if info.login_required() {
            let login_key = format!("{}:{}:{label}", loaded.key.display(), info.serial_number());
            login(
                ctx,
                slot,
                &session,
                &label,
                &login_key,
                pin.as_deref(),
                &info,
            )?;
        }
        Ok(Token {
            inner: Arc::new(Inner {
                module: Arc::clone(&loaded),
                slot,
                label,
                idle: Mutex::new(vec![session]),
            }),
            module,
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        self.inner.label()
    }

    /// The module the token was opened through.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The private key the URI's `object`, `id` and `type` name, as a signer.
    ///
    /// # Errors
    /// [`Pkcs11Error::NoSuchObject`], [`Pkcs11Error::AmbiguousObject`],
    /// [`Pkcs11Error::WrongUriType`], [`Pkcs11Error::NotAPrivateKey`], [`Pkcs11Error::UnsupportedKey`],
    /// [`Pkcs11Error::NoPublicKey`], [`Pkcs11Error::MechanismNotSupported`],
    /// [`Pkcs11Error::Key`], [`Pkcs11Error::Call`].
    pub fn signer(&self, uri: &Pkcs11Uri) -> Result<Pkcs11Signer, Pkcs11Error> {
        self.find_signer(uri)?
            .ok_or_else(|| Pkcs11Error::NoSuchObject {
                kind: "private key",
                wanted: uri.object_description(),
                token: self.label().to_owned(),
            })
    }

    /// As [`Token::signer`], but `Ok(None)` when nothing on the token carries the URI's
    /// label and id (so the caller may generate the key).
    ///
    /// # Errors
    /// As [`Token::signer`], except [`Pkcs11Error::NoSuchObject`].
    pub fn find_signer(&self, uri: &Pkcs11Uri) -> Result<Option<Pkcs11Signer>, Pkcs11Error> {
        find_private_key(&self.inner, uri)
    }

    /// Generates a key pair on the token, labelled with the URI's `object` (and its `id`
    /// when given, else the key identifier of the public key, as our certificates' SKI):
    /// `CKA_TOKEN`, `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`. The private key never leaves
    /// the token.
    ///
    /// # Errors
    /// [`Pkcs11Error::NoLabel`], [`Pkcs11Error::WrongUriType`], [`Pkcs11Error::ObjectExists`],
    /// [`Pkcs11Error::MechanismNotSupported`], [`Pkcs11Error::Call`], and as
    /// [`Token::signer`] when reading the new key back.
    pub fn generate(
        &self,
        uri: &Pkcs11Uri,
        algorithm: KeyAlgorithm,
    ) -> Result<Pkcs11Signer, Pkcs11Error> {
        generate_key(&self.inner, uri, algorithm)
    }

    /// The private keys on the token: label, id, algorithm, and whether they can leave it.
    ///
    /// # Errors
    /// [`Pkcs11Error::Call`] when the token cannot be searched.
    pub fn keys(&self) -> Result<Vec<KeyInfo>, Pkcs11Error> {
        list_keys(&self.inner)
    }
}

fn login(
    ctx: &Pkcs11,
    slot: Slot,
    session: &Session,
    label: &str,
    login_key: &str,
    pin: Option<&String>,
    info: &cryptoki::slot::TokenInfo,
) -> Result<(), Pkcs11Error> {
    if info.user_pin_locked() {
        return Err(Pkcs11Error::PinLocked {
            token: label.to_owned(),
        });
    }
    let result = match pin {
        Some(pin) => session.login(UserType::User, Some(&AuthPin::from(pin.as_str()))),
        None if info.protected_authentication_path() => session.login(UserType::User, None),
        None => {
            return Err(Pkcs11Error::PinRequired {
                token: label.to_owned(),
            });
        }
    };
    let mut logins = LOGINS.lock().unwrap_or_else(PoisonError::into_inner);
    let recorded = logins.iter().position(|(key, _)| key == login_key);
    match result {
        Ok(()) => {
            if let Some(pin) = pin {
                let digest = pin_digest(pin);
                match recorded {
                    Some(i) => logins[i].1 = digest,
                    None => logins.push((login_key.to_owned(), digest)),
                }
            }
            Ok(())
        }
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
            let differs = pin
                .zip(recorded)
                .is_some_and(|(pin, i)| logins[i].1 != pin_digest(pin));
            if differs {
                return Err(Pkcs11Error::WrongPin {
                    token: label.to_owned(),
                    tries_left: None,
                });
            }
            Ok(())
        }
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
            // The flags after the failure say how many tries are left, where the token
            // keeps count.
            let after = ctx.get_token_info(slot).ok();
            if after.as_ref().is_some_and(|i| i.user_pin_locked()) {
                return Err(Pkcs11Error::PinLocked {
                    token: label.to_owned(),
                });
            }
            let tries_left = after.and_then(|i| {
                if i.user_pin_final_try() {
                    Some("one try left before the PIN locks")
                } else if i.user_pin_count_low() {
                    Some("few tries left before the PIN locks")
                } else {
                    None
                }
            });
            Err(Pkcs11Error::WrongPin {
                token: label.to_owned(),
                tries_left,
            })
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(Pkcs11Error::PinLocked {
            token: label.to_owned(),
        }),
        Err(e) => Err(call("C_Login")(e)),
    }
}

/// Opens the token a URI names and the private key on it, in one call.
///
/// # Errors
/// As [`Pkcs11Uri::parse`], [`Token::open`] and [`Token::signer`].
pub fn open_signer(uri: &str, options: &OpenOptions) -> Result<Pkcs11Signer, Pkcs11Error> {
    let uri = Pkcs11Uri::parse(uri)?;
    Token::open(&uri, options)?.signer(&uri)
}

/// Handles of objects matching `template`.
pub(crate) fn find(
    session: &Session,
    template: &[Attribute],
) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
    session
        .find_objects(template)
        .map_err(call("C_FindObjects"))
}

/// A readable name of an object class.
pub(crate) fn class_name(class: ObjectClass) -> String {
    match class {
        ObjectClass::PRIVATE_KEY => "private key".to_owned(),
        ObjectClass::PUBLIC_KEY => "public key".to_owned(),
        ObjectClass::CERTIFICATE => "certificate".to_owned(),
        ObjectClass::SECRET_KEY => "secret key".to_owned(),
        ObjectClass::DATA => "data object".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

    fn with_module(module: &str) -> Pkcs11Uri {
        Pkcs11Uri::parse(&format!(
            "pkcs11:token=t?module-path={module}&pin-value=S3cr3tPIN"
        ))
        .unwrap()
    }

    #[test]
    fn the_operators_uri_chooses_its_module() {
        let uri = with_module("/opt/vendor/libp11.so");
        let module = OpenOptions::new()
            .default_module(Some(Path::new(MODULE)))
            .module_for(&uri)
            .unwrap();
        assert_eq!(module, Path::new("/opt/vendor/libp11.so"));
    }

    #[test]
    fn a_files_uri_cannot_choose_its_module() {
        let uri = with_module("/tmp/evil.so");
        for options in [
            OpenOptions::new().origin(UriOrigin::File),
            OpenOptions::new()
                .origin(UriOrigin::File)
                .default_module(Some(Path::new(MODULE)))
                .allow_module(Path::new("/opt/vendor/libp11.so")),
        ] {
            let err = options.module_for(&uri).unwrap_err();
            assert!(
                matches!(err, Pkcs11Error::ModuleNotAllowed { ref path, .. } if path == Path::new("/tmp/evil.so")),
                "{err}"
            );
            let said = err.to_string();
            assert!(said.contains("/tmp/evil.so"), "{said}");
            assert!(!said.contains("S3cr3t"), "{said}");
        }
    }

    #[test]
    fn a_files_uri_may_name_the_default_or_an_allowed_module() {
        let file = OpenOptions::new().origin(UriOrigin::File);
        let default = file.clone().default_module(Some(Path::new(MODULE)));
        assert_eq!(
            default.module_for(&with_module(MODULE)).unwrap(),
            Path::new(MODULE)
        );
        let allowed = file.clone().allow_module(Path::new("/opt/a.so"));
        assert_eq!(
            allowed.module_for(&with_module("/opt/a.so")).unwrap(),
            Path::new("/opt/a.so")
        );
        // Without module-path, the default module, whatever the origin.
        let bare = Pkcs11Uri::parse("pkcs11:token=t").unwrap();
        assert_eq!(default.module_for(&bare).unwrap(), Path::new(MODULE));
        let err = file.module_for(&bare).unwrap_err();
        assert!(matches!(err, Pkcs11Error::NoModulePath { .. }), "{err}");
    }

    #[test]
    fn an_allowed_module_is_matched_as_a_file_not_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("libreal.so");
        std::fs::write(&real, b"").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let dotted = sub.join("../libreal.so");
        let options = OpenOptions::new()
            .origin(UriOrigin::File)
            .allow_module(&real);
        let uri = with_module(&dotted.to_string_lossy());
        assert_eq!(options.module_for(&uri).unwrap(), dotted);
        let other = dir.path().join("libother.so");
        std::fs::write(&other, b"").unwrap();
        let err = options
            .module_for(&with_module(&other.to_string_lossy()))
            .unwrap_err();
        assert!(matches!(err, Pkcs11Error::ModuleNotAllowed { .. }), "{err}");
    }
}
