//! The public half of a private key on a token, as a [`PublicKey`].

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, SECP_256_R_1, SECP_384_R_1};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::Session;
use der::asn1::{BitString, OctetString, UintRef};
use der::{Any, Decode, Encode};
use kubepki_keys::{KeyError, PublicKey};
use rsa::pkcs1;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::Pkcs11Error;
use crate::attributes::{Attrs, find};

/// The named curve in CKA_EC_PARAMS.
pub(crate) fn curve_of(params: &[u8]) -> Option<ObjectIdentifier> {
    ObjectIdentifier::from_der(params).ok()
}

/// A curve's usual name (`P-256`), or its OID.
pub(crate) fn curve_name(oid: ObjectIdentifier) -> String {
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

/// The SubjectPublicKeyInfo of an RSA key from CKA_MODULUS and CKA_PUBLIC_EXPONENT (each
/// an unsigned big-endian integer): PKCS#1's `RSAPublicKey` under `rsaEncryption`.
fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<SubjectPublicKeyInfoOwned, KeyError> {
    let encode = |e: der::Error| KeyError::Malformed {
        format: "PKCS#11 RSA public",
        reason: e.to_string(),
    };
    let key = pkcs1::RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(encode)?,
        public_exponent: UintRef::new(exponent).map_err(encode)?,
    }
    .to_der()
    .map_err(encode)?;
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: pkcs1::ALGORITHM_ID.into(),
        subject_public_key: BitString::from_bytes(&key).map_err(encode)?,
    })
}

/// The public key of a private key: from its own attributes (RSA modulus and exponent,
/// CKA_PUBLIC_KEY_INFO), else from the public key object with the same id (or label).
/// `attrs` are the private key's [`crate::attributes::KEY_ATTRS`]; `wanted` and `token`
/// name it in errors.
pub(crate) fn public_key_of(
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
    let no_public_key = || Pkcs11Error::NoPublicKey {
        wanted: wanted.to_owned(),
        token: token.to_owned(),
    };
    match attrs.key_type() {
        Some(KeyType::RSA) => {
            let (Some(n), Some(e)) = (
                attrs.bytes(AttributeType::Modulus),
                attrs.bytes(AttributeType::PublicExponent),
            ) else {
                return Err(no_public_key());
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
            ec_public_key(session, attrs, curve)?.ok_or_else(no_public_key)
        }
        Some(other) => Err(unsupported(format!("a {other} key, not RSA or EC"))),
        None => Err(unsupported("a key without CKA_KEY_TYPE".to_owned())),
    }
}

/// The point of an EC private key on `curve`, which is on its public key object: the one
/// with the same id, else the same label.
fn ec_public_key(
    session: &Session,
    attrs: &Attrs,
    curve: ObjectIdentifier,
) -> Result<Option<PublicKey>, Pkcs11Error> {
    let id = attrs.id();
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
        search.push(Attribute::Id(id));
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
            return Ok(Some(PublicKey::from_spki(ec_spki(
                curve,
                &ec_point(point),
            )?)?));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubepki_keys::{KeyAlgorithm, KeyPair};

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
    }

    #[test]
    fn rsa_spki_from_modulus_and_exponent_matches_the_key() {
        let key = KeyPair::generate(KeyAlgorithm::Rsa2048).unwrap();
        let spki = key.public_key().spki();
        // The token's CKA_MODULUS and CKA_PUBLIC_EXPONENT, as read from the key's own DER.
        let ours =
            pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(spki.subject_public_key.raw_bytes())
                .unwrap();
        let again = rsa_spki(ours.modulus.as_bytes(), ours.public_exponent.as_bytes()).unwrap();
        assert_eq!(again.to_der().unwrap(), spki.to_der().unwrap());
    }
}
