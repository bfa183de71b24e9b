//! A token: its module loaded, its slot found, logged in; the keys on it as signers.

use core::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cryptoki::slot::{Slot, TokenInfo};
use kubepki_keys::{KeyAlgorithm, Signer};

use crate::error::call;
use crate::module::Module;
use crate::objects::{KeyInfo, find_private_key, generate_key_pair, list_keys, read_private_key};
use crate::session::{SessionPool, login};
use crate::{OpenOptions, Pkcs11Error, Pkcs11Signer, Pkcs11Uri};

/// An open, logged-in token. Cloning is cheap; every clone and every signer made from it
/// share one pool of sessions, so signing from many threads opens as many sessions as
/// there are threads, and no more.
#[derive(Clone)]
pub struct Token {
    pool: Arc<SessionPool>,
    module: PathBuf,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.pool.label())
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

fn token_matches(uri: &Pkcs11Uri, slot: Slot, info: &TokenInfo) -> bool {
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
        let pin = uri.pin(options.fallback())?;
        let loaded = Module::load(&module)?;
        let ctx = loaded.ctx();
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
            login(&loaded, slot, &session, &label, pin.as_deref(), &info)?;
        }
        Ok(Token {
            pool: Arc::new(SessionPool::new(loaded, slot, label, session)),
            module,
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        self.pool.label()
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
        let Some(key) = find_private_key(&self.pool, uri)? else {
            return Ok(None);
        };
        Pkcs11Signer::new(&self.pool, key, &uri.object_description()).map(Some)
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
        let pair = generate_key_pair(&self.pool, uri, algorithm)?;
        let wanted = uri.object_description();
        let key = read_private_key(&self.pool, &pair.session, pair.private, &wanted)?;
        let signer = Pkcs11Signer::new(&self.pool, key, &wanted)?;
        if uri.id.is_some() {
            return Ok(signer);
        }
        // No id asked for: give both halves the key identifier our certificates carry as
        // SKI, so `pkcs11-tool` and the certificate name the key alike.
        let id = signer.public_key().key_id();
        if pair.set_id(&id) {
            return Ok(signer.with_id(id));
        }
        Ok(signer)
    }

    /// The private keys on the token: label, id, algorithm, and whether they can leave it.
    ///
    /// # Errors
    /// [`Pkcs11Error::Call`] when the token cannot be searched.
    pub fn keys(&self) -> Result<Vec<KeyInfo>, Pkcs11Error> {
        list_keys(&self.pool)
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
