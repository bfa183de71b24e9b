//! Private keys on a token: find one, read one, make a key pair, list them.

use const_oid::db::rfc5912::{SECP_256_R_1, SECP_384_R_1};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use der::Encode;
use kubepki_keys::{KeyAlgorithm, KeyError, PublicKey};

use crate::attributes::{Attrs, KEY_ATTRS, class_name, find, template};
use crate::error::call;
use crate::object_type::ObjectType;
use crate::public_key::{curve_name, curve_of, public_key_of};
use crate::session::SessionPool;
use crate::uri::hex;
use crate::{Pkcs11Error, Pkcs11Uri};

/// A private key found on a token: its handle and what the token says about it.
pub(crate) struct PrivateKeyObject {
    /// The object's handle.
    pub(crate) handle: ObjectHandle,
    /// Its public half.
    pub(crate) public: PublicKey,
    /// CKA_LABEL.
    pub(crate) label: String,
    /// CKA_ID.
    pub(crate) id: Vec<u8>,
}

/// What the token says about the private key `handle`; `wanted` names it in errors.
pub(crate) fn read_private_key(
    pool: &SessionPool,
    session: &Session,
    handle: ObjectHandle,
    wanted: &str,
) -> Result<PrivateKeyObject, Pkcs11Error> {
    let attrs = Attrs::read(session, handle, &KEY_ATTRS);
    let public = public_key_of(session, &attrs, wanted, pool.label())?;
    Ok(PrivateKeyObject {
        handle,
        public,
        label: attrs.label(),
        id: attrs.id(),
    })
}

/// `Err` when the URI's `type` names something other than a private key.
fn private_key_type(uri: &Pkcs11Uri) -> Result<(), Pkcs11Error> {
    match uri.object_type {
        Some(uri_type) if uri_type != ObjectType::Private => {
            Err(Pkcs11Error::WrongUriType { uri_type })
        }
        _ => Ok(()),
    }
}

/// The private key the URI's label and id name, or `Ok(None)` when nothing on the token
/// carries them.
pub(crate) fn find_private_key(
    pool: &SessionPool,
    uri: &Pkcs11Uri,
) -> Result<Option<PrivateKeyObject>, Pkcs11Error> {
    let wanted = uri.object_description();
    let token = pool.label().to_owned();
    private_key_type(uri)?;
    let lease = pool.lease()?;
    let session = lease.session()?;
    let keys = find(session, &template(uri, Some(ObjectClass::PRIVATE_KEY)))?;
    match keys.as_slice() {
        [handle] => Ok(Some(read_private_key(pool, session, *handle, &wanted)?)),
        [] => {
            // Something else with that label or id is a clearer error than "not found".
            if uri.object.is_some() || uri.id.is_some() {
                for other in find(session, &template(uri, None))? {
                    let attrs = Attrs::read(session, other, &[AttributeType::Class]);
                    if let Some(class) = attrs.class() {
                        return Err(Pkcs11Error::NotAPrivateKey {
                            wanted,
                            token,
                            found: class_name(class),
                        });
                    }
                }
            }
            Ok(None)
        }
        many => Err(Pkcs11Error::AmbiguousObject {
            count: many.len(),
            wanted,
            token,
        }),
    }
}

/// A key pair just made on a token, in the read-write session that made it.
pub(crate) struct NewKeyPair {
    /// The session that made the pair.
    pub(crate) session: Session,
    /// The public key object.
    pub(crate) public: ObjectHandle,
    /// The private key object.
    pub(crate) private: ObjectHandle,
}

impl NewKeyPair {
    /// Sets CKA_ID of both halves to `id`; `false` when the token refuses.
    pub(crate) fn set_id(&self, id: &[u8]) -> bool {
        let set_id = [Attribute::Id(id.to_vec())];
        self.session.update_attributes(self.public, &set_id).is_ok()
            && self
                .session
                .update_attributes(self.private, &set_id)
                .is_ok()
    }
}

/// Makes a key pair of `algorithm` on the token, labelled with the URI's `object` (and its
/// `id` when given): `CKA_TOKEN`, `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`, a private key
/// that signs and does nothing else.
pub(crate) fn generate_key_pair(
    pool: &SessionPool,
    uri: &Pkcs11Uri,
    algorithm: KeyAlgorithm,
) -> Result<NewKeyPair, Pkcs11Error> {
    let label = uri.object.clone().ok_or_else(|| Pkcs11Error::NoLabel {
        uri: uri.to_string(),
    })?;
    private_key_type(uri)?;
    let session = pool.rw_session()?;
    let existing = find(&session, &[Attribute::Label(label.as_bytes().to_vec())])?;
    if !existing.is_empty() {
        return Err(Pkcs11Error::ObjectExists {
            label,
            token: pool.label().to_owned(),
        });
    }
    let mechanisms = pool.mechanisms()?;
    let mut public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let mut private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        // A CA key signs and does nothing else.
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    if let Some(id) = &uri.id {
        public.push(Attribute::Id(id.clone()));
        private.push(Attribute::Id(id.clone()));
    }
    let mechanism = match algorithm {
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
            pool.require(
                &mechanisms,
                MechanismType::ECC_KEY_PAIR_GEN,
                algorithm.name(),
            )?;
            let curve = if algorithm == KeyAlgorithm::EcdsaP256 {
                SECP_256_R_1
            } else {
                SECP_384_R_1
            };
            let params = curve.to_der().map_err(|e| {
                Pkcs11Error::Key(KeyError::Malformed {
                    format: "EC parameters",
                    reason: e.to_string(),
                })
            })?;
            public.push(Attribute::EcParams(params));
            Mechanism::EccKeyPairGen
        }
        _ => {
            pool.require(
                &mechanisms,
                MechanismType::RSA_PKCS_KEY_PAIR_GEN,
                algorithm.name(),
            )?;
            let bits = algorithm.rsa_bits().unwrap_or(kubepki_keys::MIN_RSA_BITS);
            let bits = u64::try_from(bits).unwrap_or(2048);
            public.push(Attribute::ModulusBits(bits.into()));
            public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
            Mechanism::RsaPkcsKeyPairGen
        }
    };
    let (public, private) = session
        .generate_key_pair(&mechanism, &public, &private)
        .map_err(call("C_GenerateKeyPair"))?;
    Ok(NewKeyPair {
        session,
        public,
        private,
    })
}

/// What `pkcs11-tool --list-objects` would say about a private key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// CKA_LABEL.
    pub label: String,
    /// CKA_ID.
    pub id: Vec<u8>,
    /// The algorithm, e.g. `ECDSA-P256` or `RSA-2048`, or the key type when kubepki cannot
    /// sign with it.
    pub algorithm: String,
    /// CKA_EXTRACTABLE: whether the key may be wrapped out of the token.
    pub extractable: Option<bool>,
    /// CKA_SENSITIVE: whether the key's value is hidden.
    pub sensitive: Option<bool>,
    /// CKA_NEVER_EXTRACTABLE: whether the key has never been extractable.
    pub never_extractable: Option<bool>,
}

impl KeyInfo {
    /// The id as lowercase hex.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }
}

/// The private keys on the token, sorted by label and id.
pub(crate) fn list_keys(pool: &SessionPool) -> Result<Vec<KeyInfo>, Pkcs11Error> {
    let lease = pool.lease()?;
    let session = lease.session()?;
    let mut keys = Vec::new();
    for handle in find(session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)])? {
        let attrs = Attrs::read(session, handle, &KEY_ATTRS);
        let algorithm = match attrs.key_type() {
            Some(KeyType::RSA) | Some(KeyType::EC) => {
                match public_key_of(session, &attrs, "", pool.label()) {
                    Ok(public) => public.kind().describe(),
                    Err(_) => match attrs.key_type() {
                        Some(KeyType::EC) => format!(
                            "EC {}",
                            attrs
                                .bytes(AttributeType::EcParams)
                                .and_then(curve_of)
                                .map(curve_name)
                                .unwrap_or_else(|| "(unknown curve)".to_owned())
                        ),
                        _ => "RSA".to_owned(),
                    },
                }
            }
            Some(other) => other.to_string(),
            None => "unknown".to_owned(),
        };
        keys.push(KeyInfo {
            label: attrs.label(),
            id: attrs.id(),
            algorithm,
            extractable: attrs.flag(AttributeType::Extractable),
            sensitive: attrs.flag(AttributeType::Sensitive),
            never_extractable: attrs.flag(AttributeType::NeverExtractable),
        });
    }
    keys.sort_by(|a, b| (&a.label, &a.id).cmp(&(&b.label, &b.id)));
    Ok(keys)
}
