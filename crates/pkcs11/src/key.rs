//! Private keys on a token: find one, make one, list them, sign with one.

use core::fmt;
use std::sync::Arc;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ID_EC_PUBLIC_KEY, ID_RSASSA_PSS, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1,
};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use der::asn1::{BitString, Null, OctetString, UintRef};
use der::{Any, Decode, Encode};
use kubepki_keys::{
    KeyAlgorithm, KeyError, PublicKey, PublicKeyKind, Signer, ecdsa_sha256, ecdsa_sha384,
    rsa_pkcs1_sha256,
};
use sha2::{Digest, Sha256, Sha384};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::token::{Inner, call, class_name, find};
use crate::uri::{ObjectType, hex};
use crate::{Pkcs11Error, Pkcs11Uri};

/// How a key signs on the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    /// CKM_ECDSA over our SHA-256 digest (P-256).
    EcdsaP256,
    /// CKM_ECDSA over our SHA-384 digest (P-384).
    EcdsaP384,
    /// CKM_SHA256_RSA_PKCS: the token hashes.
    RsaSha256,
    /// CKM_RSA_PKCS over our DigestInfo, for tokens without CKM_SHA256_RSA_PKCS.
    RsaDigestInfo,
    /// CKM_SHA256_RSA_PKCS_PSS: RSASSA-PSS with SHA-256, MGF1-SHA-256, a 32-byte salt.
    RsaPssSha256,
}

/// DER of RSASSA-PSS-params { sha256, mgf1(sha256), saltLength 32 } (RFC 4055, section 3.1),
/// as openssl writes them; trailerField is the default.
const PSS_SHA256_PARAMS: [u8; 54] = [
    0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
    0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
];

/// The PSS salt length, the SHA-256 digest's.
const PSS_SALT_LEN: u64 = 32;

fn pss_algorithm() -> Result<AlgorithmIdentifierOwned, der::Error> {
    Ok(AlgorithmIdentifierOwned {
        oid: ID_RSASSA_PSS,
        parameters: Some(Any::from_der(&PSS_SHA256_PARAMS)?),
    })
}

/// DER of DigestInfo { sha256, NULL } up to the digest (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// A private key on a PKCS#11 token, as a [`Signer`]. It holds a handle, never the key.
/// Sharing one across threads is safe: each signature borrows a session from the token's
/// pool.
pub struct Pkcs11Signer {
    inner: Arc<Inner>,
    handle: ObjectHandle,
    public: PublicKey,
    scheme: Scheme,
    /// The AlgorithmIdentifier of `scheme`, made once.
    algorithm: AlgorithmIdentifierOwned,
    label: String,
    id: Vec<u8>,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.inner.label())
            .field("label", &self.label)
            .field("id", &hex(&self.id))
            .field("kind", &self.public.kind())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// The key's label (CKA_LABEL).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The key's CKA_ID.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The key's CKA_ID as lowercase hex, as `pkcs11-tool` prints it.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        self.inner.label()
    }

    /// The same key, signing RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) with
    /// `CKM_SHA256_RSA_PKCS_PSS` instead of PKCS#1 v1.5.
    ///
    /// # Errors
    /// [`Pkcs11Error::UnsupportedKey`] for an ECDSA key,
    /// [`Pkcs11Error::MechanismNotSupported`] when the token lacks the mechanism.
    pub fn with_rsa_pss(mut self) -> Result<Self, Pkcs11Error> {
        let kind = self.public.kind();
        if !matches!(kind, PublicKeyKind::Rsa { .. }) {
            return Err(Pkcs11Error::UnsupportedKey {
                wanted: format!("object={}", self.label),
                token: self.inner.label().to_owned(),
                reason: format!("RSASSA-PSS needs an RSA key, not {kind}"),
            });
        }
        need(
            &self.inner,
            &self.inner.mechanisms()?,
            MechanismType::SHA256_RSA_PKCS_PSS,
            &kind.describe(),
        )?;
        self.algorithm = pss_algorithm().map_err(|e| {
            Pkcs11Error::Key(KeyError::Malformed {
                format: "RSASSA-PSS parameters",
                reason: e.to_string(),
            })
        })?;
        self.scheme = Scheme::RsaPssSha256;
        Ok(self)
    }

    fn sign_on_token(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let (mechanism, data) = match self.scheme {
            Scheme::EcdsaP256 => (Mechanism::Ecdsa, Sha256::digest(message).to_vec()),
            Scheme::EcdsaP384 => (Mechanism::Ecdsa, Sha384::digest(message).to_vec()),
            Scheme::RsaSha256 => (Mechanism::Sha256RsaPkcs, message.to_vec()),
            Scheme::RsaPssSha256 => (
                Mechanism::Sha256RsaPkcsPss(PkcsPssParams {
                    hash_alg: MechanismType::SHA256,
                    mgf: PkcsMgfType::MGF1_SHA256,
                    s_len: PSS_SALT_LEN.into(),
                }),
                message.to_vec(),
            ),
            Scheme::RsaDigestInfo => {
                let mut data = SHA256_DIGEST_INFO.to_vec();
                data.extend_from_slice(&Sha256::digest(message));
                (Mechanism::RsaPkcs, data)
            }
        };
        let lease = self.inner.lease()?;
        let result = lease.session()?.sign(&mechanism, self.handle, &data);
        let raw = match result {
            Ok(raw) => raw,
            Err(e) => {
                lease.discard();
                return Err(call("C_Sign")(e));
            }
        };
        drop(lease);
        match self.scheme {
            Scheme::EcdsaP256 => ecdsa_der(&raw, 32),
            Scheme::EcdsaP384 => ecdsa_der(&raw, 48),
            Scheme::RsaSha256 | Scheme::RsaDigestInfo | Scheme::RsaPssSha256 => Ok(raw),
        }
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.algorithm.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.sign_on_token(message).map_err(|e| {
            KeyError::Signing(format!(
                "key {:?} on token {}: {e}",
                self.label,
                self.inner.label()
            ))
        })
    }
}

#[derive(der::Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

#[derive(der::Sequence)]
struct RsaPublicKeyDer<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// PKCS#11's ECDSA signature (r and s, each `half` bytes, big-endian) as X.509's DER
/// `Ecdsa-Sig-Value`.
pub(crate) fn ecdsa_der(raw: &[u8], half: usize) -> Result<Vec<u8>, Pkcs11Error> {
    let malformed = |reason: String| {
        Pkcs11Error::Key(KeyError::Malformed {
            format: "PKCS#11 ECDSA signature",
            reason,
        })
    };
    if raw.len() != 2 * half {
        return Err(malformed(format!(
            "{} bytes, expected {} (r and s of {half} bytes)",
            raw.len(),
            2 * half
        )));
    }
    let (r, s) = raw.split_at(half);
    let value = EcdsaSigValue {
        r: UintRef::new(r).map_err(|e| malformed(e.to_string()))?,
        s: UintRef::new(s).map_err(|e| malformed(e.to_string()))?,
    };
    value.to_der().map_err(|e| malformed(e.to_string()))
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

/// The attributes we read about a key, by type.
struct Attrs(Vec<Attribute>);

impl Attrs {
    fn read(session: &Session, handle: ObjectHandle, types: &[AttributeType]) -> Attrs {
        // Asked one at a time: some tokens refuse the whole template when one attribute
        // is unavailable (a sensitive value, an attribute of another key type).
        let mut found = Vec::new();
        for t in types {
            if let Ok(mut attrs) = session.get_attributes(handle, &[*t]) {
                found.append(&mut attrs);
            }
        }
        Attrs(found)
    }

    fn bytes(&self, t: AttributeType) -> Option<&[u8]> {
        self.0.iter().find_map(|a| match (a, t) {
            (Attribute::Label(v), AttributeType::Label)
            | (Attribute::Id(v), AttributeType::Id)
            | (Attribute::Modulus(v), AttributeType::Modulus)
            | (Attribute::PublicExponent(v), AttributeType::PublicExponent)
            | (Attribute::EcParams(v), AttributeType::EcParams)
            | (Attribute::EcPoint(v), AttributeType::EcPoint)
            | (Attribute::PublicKeyInfo(v), AttributeType::PublicKeyInfo) => Some(v.as_slice()),
            _ => None,
        })
    }

    fn flag(&self, t: AttributeType) -> Option<bool> {
        self.0.iter().find_map(|a| match (a, t) {
            (Attribute::Extractable(v), AttributeType::Extractable)
            | (Attribute::Sensitive(v), AttributeType::Sensitive)
            | (Attribute::NeverExtractable(v), AttributeType::NeverExtractable) => Some(*v),
            _ => None,
        })
    }

    fn key_type(&self) -> Option<KeyType> {
        self.0.iter().find_map(|a| match a {
            Attribute::KeyType(k) => Some(*k),
            _ => None,
        })
    }

    fn class(&self) -> Option<ObjectClass> {
        self.0.iter().find_map(|a| match a {
            Attribute::Class(c) => Some(*c),
            _ => None,
        })
    }

    fn label(&self) -> String {
        self.bytes(AttributeType::Label)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default()
    }
}

/// The template that finds what the URI names (label and id), of `class` if given.
fn template(uri: &Pkcs11Uri, class: Option<ObjectClass>) -> Vec<Attribute> {
    let mut template = Vec::new();
    if let Some(class) = class {
        template.push(Attribute::Class(class));
    }
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

fn curve_of(params: &[u8]) -> Option<ObjectIdentifier> {
    ObjectIdentifier::from_der(params).ok()
}

fn curve_name(oid: ObjectIdentifier) -> String {
    match oid {
        SECP_256_R_1 => "P-256".to_owned(),
        SECP_384_R_1 => "P-384".to_owned(),
        other => other.to_string(),
    }
}

/// The uncompressed point from CKA_EC_POINT: a DER OCTET STRING as the standard says, or the
/// raw point as some tokens return it.
fn ec_point(value: &[u8]) -> Vec<u8> {
    match OctetString::from_der(value) {
        Ok(octets) if octets.as_bytes().first() == Some(&0x04) => octets.as_bytes().to_vec(),
        _ => value.to_vec(),
    }
}

fn ec_spki(curve: ObjectIdentifier, point: &[u8]) -> Result<SubjectPublicKeyInfoOwned, KeyError> {
    let encode = |e: der::Error| KeyError::Malformed {
        format: "PKCS#11 EC public",
        reason: e.to_string(),
    };
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(Any::from_der(&curve.to_der().map_err(encode)?).map_err(encode)?),
        },
        subject_public_key: BitString::from_bytes(point).map_err(encode)?,
    })
}

fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<SubjectPublicKeyInfoOwned, KeyError> {
    let encode = |e: der::Error| KeyError::Malformed {
        format: "PKCS#11 RSA public",
        reason: e.to_string(),
    };
    let key = RsaPublicKeyDer {
        modulus: UintRef::new(modulus).map_err(encode)?,
        public_exponent: UintRef::new(exponent).map_err(encode)?,
    }
    .to_der()
    .map_err(encode)?;
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::from(Null)),
        },
        subject_public_key: BitString::from_bytes(&key).map_err(encode)?,
    })
}

const KEY_ATTRS: [AttributeType; 11] = [
    AttributeType::Class,
    AttributeType::KeyType,
    AttributeType::Label,
    AttributeType::Id,
    AttributeType::Modulus,
    AttributeType::PublicExponent,
    AttributeType::EcParams,
    AttributeType::Extractable,
    AttributeType::Sensitive,
    AttributeType::NeverExtractable,
    AttributeType::PublicKeyInfo,
];

/// The public key of a private key: from its own attributes (RSA modulus and exponent,
/// CKA_PUBLIC_KEY_INFO), else from the public key object with the same id (or label).
fn public_key_of(
    session: &Session,
    attrs: &Attrs,
    wanted: &str,
    token: &str,
) -> Result<PublicKey, Pkcs11Error> {
    if let Some(spki) = attrs.bytes(AttributeType::PublicKeyInfo)
        && !spki.is_empty()
        && let Ok(key) = PublicKey::from_der(spki)
    {
        return Ok(key);
    }
    let unsupported = |reason: String| Pkcs11Error::UnsupportedKey {
        wanted: wanted.to_owned(),
        token: token.to_owned(),
        reason,
    };
    match attrs.key_type() {
        Some(KeyType::RSA) => {
            let (Some(n), Some(e)) = (
                attrs.bytes(AttributeType::Modulus),
                attrs.bytes(AttributeType::PublicExponent),
            ) else {
                return Err(Pkcs11Error::NoPublicKey {
                    wanted: wanted.to_owned(),
                    token: token.to_owned(),
                });
            };
            Ok(PublicKey::from_spki(rsa_spki(n, e)?)?)
        }
        Some(KeyType::EC) => {
            let curve = attrs
                .bytes(AttributeType::EcParams)
                .and_then(curve_of)
                .ok_or_else(|| unsupported("an EC key without a named curve".to_owned()))?;
            if curve != SECP_256_R_1 && curve != SECP_384_R_1 {
                return Err(unsupported(format!(
                    "an EC key on curve {}, not P-256 or P-384",
                    curve_name(curve)
                )));
            }
            // The point is on the public key object: the one with the same id, else the
            // same label.
            let id = attrs.bytes(AttributeType::Id).unwrap_or_default();
            let mut search = vec![
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC),
            ];
            if id.is_empty() {
                search.push(Attribute::Label(
                    attrs
                        .bytes(AttributeType::Label)
                        .unwrap_or_default()
                        .to_vec(),
                ));
            } else {
                search.push(Attribute::Id(id.to_vec()));
            }
            for handle in find(session, &search)? {
                let public = Attrs::read(
                    session,
                    handle,
                    &[AttributeType::EcParams, AttributeType::EcPoint],
                );
                if public.bytes(AttributeType::EcParams).and_then(curve_of) != Some(curve) {
                    continue;
                }
                if let Some(point) = public.bytes(AttributeType::EcPoint) {
                    return Ok(PublicKey::from_spki(ec_spki(curve, &ec_point(point))?)?);
                }
            }
            Err(Pkcs11Error::NoPublicKey {
                wanted: wanted.to_owned(),
                token: token.to_owned(),
            })
        }
        Some(other) => Err(unsupported(format!("a {other} key, not RSA or EC"))),
        None => Err(unsupported("a key without CKA_KEY_TYPE".to_owned())),
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

fn need(
    inner: &Inner,
    mechanisms: &[MechanismType],
    m: MechanismType,
    key: &str,
) -> Result<(), Pkcs11Error> {
    if mechanisms.contains(&m) {
        Ok(())
    } else {
        Err(Pkcs11Error::MechanismNotSupported {
            mechanism: mechanism_name(m),
            token: inner.label().to_owned(),
            key: key.to_owned(),
        })
    }
}

/// The signer for the private key `handle`.
fn signer_for(
    inner: &Arc<Inner>,
    session: &Session,
    handle: ObjectHandle,
    wanted: &str,
) -> Result<Pkcs11Signer, Pkcs11Error> {
    let attrs = Attrs::read(session, handle, &KEY_ATTRS);
    let public = public_key_of(session, &attrs, wanted, inner.label())?;
    let kind = public.kind();
    let mechanisms = inner.mechanisms()?;
    let scheme = match kind {
        PublicKeyKind::EcdsaP256 | PublicKeyKind::EcdsaP384 => {
            need(inner, &mechanisms, MechanismType::ECDSA, &kind.describe())?;
            if kind == PublicKeyKind::EcdsaP256 {
                Scheme::EcdsaP256
            } else {
                Scheme::EcdsaP384
            }
        }
        PublicKeyKind::Rsa { .. } => {
            if mechanisms.contains(&MechanismType::SHA256_RSA_PKCS) {
                Scheme::RsaSha256
            } else if mechanisms.contains(&MechanismType::RSA_PKCS) {
                Scheme::RsaDigestInfo
            } else {
                need(
                    inner,
                    &mechanisms,
                    MechanismType::SHA256_RSA_PKCS,
                    &kind.describe(),
                )?;
                Scheme::RsaSha256
            }
        }
        _ => {
            return Err(Pkcs11Error::UnsupportedKey {
                wanted: wanted.to_owned(),
                token: inner.label().to_owned(),
                reason: format!("a {kind} key"),
            });
        }
    };
    let algorithm = match scheme {
        Scheme::EcdsaP256 => ecdsa_sha256(),
        Scheme::EcdsaP384 => ecdsa_sha384(),
        Scheme::RsaSha256 | Scheme::RsaDigestInfo | Scheme::RsaPssSha256 => rsa_pkcs1_sha256(),
    };
    Ok(Pkcs11Signer {
        inner: Arc::clone(inner),
        handle,
        public,
        scheme,
        algorithm,
        label: attrs.label(),
        id: attrs.bytes(AttributeType::Id).unwrap_or_default().to_vec(),
    })
}

pub(crate) fn find_private_key(
    inner: &Arc<Inner>,
    uri: &Pkcs11Uri,
) -> Result<Option<Pkcs11Signer>, Pkcs11Error> {
    let wanted = uri.object_description();
    let token = inner.label().to_owned();
    if let Some(uri_type) = uri.object_type
        && uri_type != ObjectType::Private
    {
        return Err(Pkcs11Error::WrongUriType { uri_type });
    }
    let lease = inner.lease()?;
    let session = lease.session()?;
    let keys = find(session, &template(uri, Some(ObjectClass::PRIVATE_KEY)))?;
    match keys.as_slice() {
        [handle] => Ok(Some(signer_for(inner, session, *handle, &wanted)?)),
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

pub(crate) fn generate_key(
    inner: &Arc<Inner>,
    uri: &Pkcs11Uri,
    algorithm: KeyAlgorithm,
) -> Result<Pkcs11Signer, Pkcs11Error> {
    let label = uri.object.clone().ok_or_else(|| Pkcs11Error::NoLabel {
        uri: uri.to_string(),
    })?;
    if let Some(uri_type) = uri.object_type
        && uri_type != ObjectType::Private
    {
        return Err(Pkcs11Error::WrongUriType { uri_type });
    }
    let session = inner.rw_session()?;
    let existing = find(&session, &[Attribute::Label(label.as_bytes().to_vec())])?;
    if !existing.is_empty() {
        return Err(Pkcs11Error::ObjectExists {
            label,
            token: inner.label().to_owned(),
        });
    }
    let mechanisms = inner.mechanisms()?;
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
            need(
                inner,
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
            need(
                inner,
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
    let (public_handle, private_handle) = session
        .generate_key_pair(&mechanism, &public, &private)
        .map_err(call("C_GenerateKeyPair"))?;
    let wanted = uri.object_description();
    let signer = signer_for(inner, &session, private_handle, &wanted)?;
    if uri.id.is_some() {
        return Ok(signer);
    }
    // No id asked for: give both halves the key identifier our certificates carry as SKI,
    // so `pkcs11-tool` and the certificate name the key alike.
    let id = signer.public_key().key_id();
    let set_id = [Attribute::Id(id.clone())];
    if session.update_attributes(public_handle, &set_id).is_ok()
        && session.update_attributes(private_handle, &set_id).is_ok()
    {
        return Ok(Pkcs11Signer { id, ..signer });
    }
    Ok(signer)
}

pub(crate) fn list_keys(inner: &Arc<Inner>) -> Result<Vec<KeyInfo>, Pkcs11Error> {
    let lease = inner.lease()?;
    let session = lease.session()?;
    let mut keys = Vec::new();
    for handle in find(session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)])? {
        let attrs = Attrs::read(session, handle, &KEY_ATTRS);
        let algorithm = match attrs.key_type() {
            Some(KeyType::RSA) | Some(KeyType::EC) => {
                match public_key_of(session, &attrs, "", inner.label()) {
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
            id: attrs.bytes(AttributeType::Id).unwrap_or_default().to_vec(),
            algorithm,
            extractable: attrs.flag(AttributeType::Extractable),
            sensitive: attrs.flag(AttributeType::Sensitive),
            never_extractable: attrs.flag(AttributeType::NeverExtractable),
        });
    }
    keys.sort_by(|a, b| (&a.label, &a.id).cmp(&(&b.label, &b.id)));
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubepki_keys::{KeyPair, verify_signature};

    #[test]
    fn raw_ecdsa_signature_becomes_der_that_verifies() {
        for (algorithm, half) in [(KeyAlgorithm::EcdsaP256, 32), (KeyAlgorithm::EcdsaP384, 48)] {
            let key = KeyPair::generate(algorithm).unwrap();
            let message = b"tbs certificate";
            let der_sig = key.sign(message).unwrap();
            // Take r and s out of the DER, as a token would return them, and back.
            let value = EcdsaSigValue::from_der(&der_sig).unwrap();
            let mut raw = vec![0u8; 2 * half];
            let (r, s) = (value.r.as_bytes(), value.s.as_bytes());
            raw[half - r.len()..half].copy_from_slice(r);
            raw[2 * half - s.len()..].copy_from_slice(s);
            let again = ecdsa_der(&raw, half).unwrap();
            assert_eq!(again, der_sig);
            verify_signature(
                key.public_key().spki(),
                &key.signature_algorithm(),
                message,
                &again,
            )
            .unwrap();
        }
    }

    #[test]
    fn pss_parameters_are_the_ones_the_verifier_reads() {
        // An RSA key signing PSS in software must verify under our identifier: proof that
        // the hand-written parameters say SHA-256, MGF1-SHA-256 and a 32-byte salt.
        let algorithm = pss_algorithm().unwrap();
        assert_eq!(algorithm.oid, ID_RSASSA_PSS);
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let err =
            verify_signature(key.public_key().spki(), &algorithm, b"m", &[0; 64]).unwrap_err();
        assert!(
            matches!(err, KeyError::AlgorithmMismatch { .. }),
            "parameters refused: {err}"
        );
    }

    #[test]
    fn ecdsa_signature_of_the_wrong_length_is_refused() {
        let err = ecdsa_der(&[1; 63], 32).unwrap_err();
        assert!(err.to_string().contains("63 bytes, expected 64"), "{err}");
    }

    #[test]
    fn small_r_keeps_its_leading_zeros_out_of_the_der() {
        let mut raw = vec![0u8; 64];
        raw[31] = 0x80; // r = 128: needs a 0x00 pad byte in DER
        raw[63] = 1;
        let der = ecdsa_der(&raw, 32).unwrap();
        assert_eq!(der, [0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01]);
    }

    #[test]
    fn spki_from_token_attributes_matches_the_key() {
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let point = key
            .public_key()
            .spki()
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let wrapped = OctetString::new(point.clone()).unwrap().to_der().unwrap();
        for attr in [wrapped, point] {
            let spki = ec_spki(SECP_256_R_1, &ec_point(&attr)).unwrap();
            assert_eq!(PublicKey::from_spki(spki).unwrap(), *key.public_key());
        }
        assert_eq!(SHA256_DIGEST_INFO.len() + 32, 51);
    }
}
