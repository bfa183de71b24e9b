//! Sessions on one token: the login, a pool of sessions, and what the token can do.

use std::sync::{Arc, Mutex, PoisonError};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::AuthPin;

use crate::Pkcs11Error;
use crate::error::call;
use crate::module::Module;

/// What every handle to one token shares: the module, the slot, and the idle sessions.
pub(crate) struct SessionPool {
    module: Arc<Module>,
    slot: Slot,
    label: String,
    idle: Mutex<Vec<Session>>,
}

impl Drop for SessionPool {
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
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl Lease<'_> {
    /// The session borrowed.
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
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(session);
        }
    }
}

impl SessionPool {
    /// The pool of the token `label` in `slot`, holding `session`, its first session: while
    /// that one stays in the pool, the application's login lasts.
    pub(crate) fn new(module: Arc<Module>, slot: Slot, label: String, session: Session) -> Self {
        Self {
            module,
            slot,
            label,
            idle: Mutex::new(vec![session]),
        }
    }

    /// The token's label.
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
                .ctx()
                .open_ro_session(self.slot)
                .map_err(call("C_OpenSession"))?,
        };
        Ok(Lease {
            pool: self,
            session: Some(session),
        })
    }

    /// A new read-write session, outside the pool (to make objects).
    pub(crate) fn rw_session(&self) -> Result<Session, Pkcs11Error> {
        self.module
            .ctx()
            .open_rw_session(self.slot)
            .map_err(call("C_OpenSession"))
    }

    /// The mechanisms the token offers.
    pub(crate) fn mechanisms(&self) -> Result<Vec<MechanismType>, Pkcs11Error> {
        self.module
            .ctx()
            .get_mechanism_list(self.slot)
            .map_err(call("C_GetMechanismList"))
    }

    /// `Ok` when `mechanism` is among `offered` (as [`SessionPool::mechanisms`] lists them),
    /// else the error that names it and the `key` (e.g. `ECDSA-P256`) that needs it.
    pub(crate) fn require(
        &self,
        offered: &[MechanismType],
        mechanism: MechanismType,
        key: &str,
    ) -> Result<(), Pkcs11Error> {
        if offered.contains(&mechanism) {
            Ok(())
        } else {
            Err(Pkcs11Error::MechanismNotSupported {
                mechanism: mechanism_name(mechanism),
                token: self.label.clone(),
                key: key.to_owned(),
            })
        }
    }
}

fn mechanism_name(m: MechanismType) -> &'static str {
    match m {
        MechanismType::ECDSA => "CKM_ECDSA",
        MechanismType::SHA256_RSA_PKCS => "CKM_SHA256_RSA_PKCS",
        MechanismType::SHA256_RSA_PKCS_PSS => "CKM_SHA256_RSA_PKCS_PSS",
        MechanismType::ECC_KEY_PAIR_GEN => "CKM_EC_KEY_PAIR_GEN",
        MechanismType::RSA_PKCS_KEY_PAIR_GEN => "CKM_RSA_PKCS_KEY_PAIR_GEN",
        _ => "the mechanism",
    }
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

/// Logs the user in on `session` of the token `label` in `slot` (described by `info`), with
/// `pin`, or through the token's own PIN pad when it has one and no PIN is given.
pub(crate) fn login(
    module: &Module,
    slot: Slot,
    session: &Session,
    label: &str,
    pin: Option<&String>,
    info: &TokenInfo,
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
    let login_key = format!(
        "{}:{}:{label}",
        module.path().display(),
        info.serial_number()
    );
    let mut logins = LOGINS.lock().unwrap_or_else(PoisonError::into_inner);
    let recorded = logins.iter().position(|(key, _)| *key == login_key);
    match result {
        Ok(()) => {
            if let Some(pin) = pin {
                let digest = pin_digest(pin);
                match recorded {
                    Some(i) => logins[i].1 = digest,
                    None => logins.push((login_key, digest)),
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
            let after = module.ctx().get_token_info(slot).ok();
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
