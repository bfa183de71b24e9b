//! Signature algorithms: the identifiers we sign with, and verification of what others signed.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_MGF_1, ID_RSASSA_PSS, ID_SHA_1,
    ID_SHA_256, ID_SHA_384, ID_SHA_512, MD_2_WITH_RSA_ENCRYPTION, MD_5_WITH_RSA_ENCRYPTION,
    SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use der::asn1::Null;
use der::referenced::OwnedToRef;
use der::{Any, Decode};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};

use crate::{KeyError, PublicKeyKind};

/// ecdsa-with-SHA1 (RFC 3279), which const-oid's database lacks.
const ECDSA_WITH_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

/// The hash inside a signature algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: ObjectIdentifier) -> Option<Hash> {
        match oid {
            ID_SHA_256 => Some(Hash::Sha256),
            ID_SHA_384 => Some(Hash::Sha384),
            ID_SHA_512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
            Hash::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

/// A signature algorithm this crate can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    RsaPkcs1(Hash),
    RsaPss { hash: Hash, salt_len: usize },
    Ecdsa(Hash),
}

/// The AlgorithmIdentifier for sha256WithRSAEncryption (parameters NULL, as RFC 4055 requires).
pub fn rsa_pkcs1_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: SHA_256_WITH_RSA_ENCRYPTION,
        parameters: Some(Any::from(Null)),
    }
}

/// The AlgorithmIdentifier for ecdsa-with-SHA256 (parameters absent, as RFC 5758 requires).
pub fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA_256,
        parameters: None,
    }
}

/// The AlgorithmIdentifier for ecdsa-with-SHA384 (parameters absent).
pub fn ecdsa_sha384() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA_384,
        parameters: None,
    }
}

/// A readable name for a signature algorithm OID, e.g. `sha256WithRSAEncryption`.
pub fn signature_algorithm_name(oid: &ObjectIdentifier) -> String {
    match *oid {
        SHA_256_WITH_RSA_ENCRYPTION => "sha256WithRSAEncryption".to_owned(),
        SHA_384_WITH_RSA_ENCRYPTION => "sha384WithRSAEncryption".to_owned(),
        SHA_512_WITH_RSA_ENCRYPTION => "sha512WithRSAEncryption".to_owned(),
        SHA_1_WITH_RSA_ENCRYPTION => "sha1WithRSAEncryption".to_owned(),
        MD_5_WITH_RSA_ENCRYPTION => "md5WithRSAEncryption".to_owned(),
        ID_RSASSA_PSS => "rsassaPss".to_owned(),
        ECDSA_WITH_SHA_256 => "ecdsa-with-SHA256".to_owned(),
        ECDSA_WITH_SHA_384 => "ecdsa-with-SHA384".to_owned(),
        ECDSA_WITH_SHA_512 => "ecdsa-with-SHA512".to_owned(),
        ECDSA_WITH_SHA_1 => "ecdsa-with-SHA1".to_owned(),
        other => other.to_string(),
    }
}

fn weak(oid: ObjectIdentifier) -> Option<&'static str> {
    match oid {
        MD_2_WITH_RSA_ENCRYPTION => Some("md2WithRSAEncryption"),
        MD_5_WITH_RSA_ENCRYPTION => Some("md5WithRSAEncryption"),
        SHA_1_WITH_RSA_ENCRYPTION => Some("sha1WithRSAEncryption"),
        ECDSA_WITH_SHA_1 => Some("ecdsa-with-SHA1"),
        _ => None,
    }
}

fn bad_params(oid: ObjectIdentifier, reason: &'static str) -> KeyError {
    KeyError::BadAlgorithmParameters { oid, reason }
}

/// Reads a signature AlgorithmIdentifier, checking its parameters as RFC 4055 and RFC 5758 say.
fn scheme_of(algorithm: &AlgorithmIdentifierOwned) -> Result<Scheme, KeyError> {
    let oid = algorithm.oid;
    if let Some(name) = weak(oid) {
        return Err(KeyError::WeakSignatureAlgorithm { name, oid });
    }
    let pkcs1 = |hash| {
        // RFC 4055 2.1: the parameters MUST be NULL; absent ones are tolerated, as OpenSSL
        // and Go do.
        match &algorithm.parameters {
            None => Ok(Scheme::RsaPkcs1(hash)),
            Some(any) if any.is_null() => Ok(Scheme::RsaPkcs1(hash)),
            Some(_) => Err(bad_params(oid, "parameters must be NULL")),
        }
    };
    let ecdsa = |hash| match &algorithm.parameters {
        // RFC 5758 3.2: the parameters MUST be absent.
        None => Ok(Scheme::Ecdsa(hash)),
        Some(_) => Err(bad_params(oid, "parameters must be absent")),
    };
    match oid {
        SHA_256_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha256),
        SHA_384_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha384),
        SHA_512_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha512),
        ECDSA_WITH_SHA_256 => ecdsa(Hash::Sha256),
        ECDSA_WITH_SHA_384 => ecdsa(Hash::Sha384),
        ECDSA_WITH_SHA_512 => ecdsa(Hash::Sha512),
        ID_RSASSA_PSS => pss_scheme(algorithm),
        _ => Err(KeyError::UnsupportedSignatureAlgorithm { oid }),
    }
}

/// Reads RSASSA-PSS-params (RFC 4055 3.1): SHA-2 hashes only, MGF1 with the same hash.
fn pss_scheme(algorithm: &AlgorithmIdentifierOwned) -> Result<Scheme, KeyError> {
    let oid = algorithm.oid;
    let params = algorithm
        .parameters
        .as_ref()
        .ok_or(bad_params(oid, "RSASSA-PSS parameters are missing"))?;
    let der = der::Encode::to_der(params)
        .map_err(|_| bad_params(oid, "RSASSA-PSS parameters do not encode"))?;
    let params = rsa::pkcs1::RsaPssParams::<Any>::from_der(&der)
        .map_err(|_| bad_params(oid, "RSASSA-PSS parameters do not decode"))?;
    if params.hash.oid == ID_SHA_1 {
        return Err(KeyError::WeakSignatureAlgorithm {
            name: "rsassaPss with SHA-1",
            oid,
        });
    }
    let hash = Hash::from_oid(params.hash.oid).ok_or(bad_params(
        oid,
        "RSASSA-PSS hash is not SHA-256, SHA-384 or SHA-512",
    ))?;
    if params.mask_gen.oid != ID_MGF_1 {
        return Err(bad_params(oid, "RSASSA-PSS mask generation is not MGF1"));
    }
    let mgf_hash = params
        .mask_gen
        .parameters
        .as_ref()
        .and_then(|p| Hash::from_oid(p.oid));
    if mgf_hash != Some(hash) {
        return Err(bad_params(
            oid,
            "RSASSA-PSS MGF1 hash differs from the message hash",
        ));
    }
    Ok(Scheme::RsaPss {
        hash,
        salt_len: usize::from(params.salt_len),
    })
}

/// Verifies `signature` over `message` with the key in `spki`, under `algorithm`.
///
/// Supports RSA PKCS#1 v1.5 and RSA-PSS with SHA-256/384/512, and ECDSA on P-256 and P-384
/// with SHA-256/384/512. RSA keys under 2048 bits, MD5 and SHA-1 are refused. To check many
/// signatures of one key (a trust anchor's), decode it once with [`VerifyingKey::from_spki`].
///
/// # Errors
/// [`KeyError::BadSignature`] when the signature does not verify; [`KeyError::WeakKey`],
/// [`KeyError::WeakSignatureAlgorithm`], [`KeyError::UnsupportedSignatureAlgorithm`],
/// [`KeyError::UnsupportedKeyAlgorithm`], [`KeyError::AlgorithmMismatch`],
/// [`KeyError::BadAlgorithmParameters`] or [`KeyError::Malformed`] for what cannot be checked.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), KeyError> {
    VerifyingKey::from_spki(spki)?.verify(algorithm, message, signature)
}

/// A public key decoded (and its strength checked) once, to verify any number of signatures:
/// decoding an RSA key costs as much as a third of an RSA signature check.
#[derive(Clone, Debug)]
pub struct VerifyingKey {
    kind: PublicKeyKind,
    key: DecodedKey,
}

#[derive(Clone, Debug)]
enum DecodedKey {
    Rsa(Box<rsa::PublicKey>),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl VerifyingKey {
    /// Decodes the key in `spki`.
    ///
    /// # Errors
    /// [`KeyError::WeakKey`] for RSA under 2048 bits, [`KeyError::UnsupportedKeyAlgorithm`],
    /// [`KeyError::Malformed`] for a key that does not decode.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, KeyError> {
        let spki_ref = spki.owned_to_ref();
        let kind = PublicKeyKind::of(&spki_ref)?;
        kind.check_strength()?;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Malformed {
                format: "SubjectPublicKeyInfo",
                reason: "the public key bit string has unused bits".to_owned(),
            })?;
        let not_on_curve = |format| KeyError::Malformed {
            format,
            reason: "not a point on the curve".to_owned(),
        };
        let key = match kind {
            PublicKeyKind::Rsa { .. } => DecodedKey::Rsa(Box::new(rsa_public_key(spki_ref)?)),
            PublicKeyKind::EcdsaP256 => DecodedKey::P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                    .map_err(|_| not_on_curve("P-256 public"))?,
            ),
            PublicKeyKind::EcdsaP384 => DecodedKey::P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                    .map_err(|_| not_on_curve("P-384 public"))?,
            ),
        };
        Ok(VerifyingKey { kind, key })
    }

    /// Verifies `signature` over `message` under `algorithm`, as [`verify_signature`] does.
    ///
    /// # Errors
    /// [`KeyError::BadSignature`] when the signature does not verify;
    /// [`KeyError::WeakSignatureAlgorithm`], [`KeyError::UnsupportedSignatureAlgorithm`],
    /// [`KeyError::AlgorithmMismatch`] or [`KeyError::BadAlgorithmParameters`] for an
    /// algorithm this key cannot check.
    pub fn verify(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        match (&self.key, scheme_of(algorithm)?) {
            (DecodedKey::Rsa(key), Scheme::RsaPkcs1(hash)) => {
                let padding = match hash {
                    Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                };
                key.verify(padding, &hash.digest(message), signature)
                    .map_err(bad)
            }
            (DecodedKey::Rsa(key), Scheme::RsaPss { hash, salt_len }) => {
                let digest = hash.digest(message);
                match hash {
                    Hash::Sha256 => key.verify(
                        rsa::Pss::<Sha256>::new_with_salt(salt_len),
                        &digest,
                        signature,
                    ),
                    Hash::Sha384 => key.verify(
                        rsa::Pss::<Sha384>::new_with_salt(salt_len),
                        &digest,
                        signature,
                    ),
                    Hash::Sha512 => key.verify(
                        rsa::Pss::<Sha512>::new_with_salt(salt_len),
                        &digest,
                        signature,
                    ),
                }
                .map_err(bad)
            }
            (DecodedKey::P256(key), Scheme::Ecdsa(hash)) => {
                let sig = p256::ecdsa::DerSignature::from_bytes(signature).map_err(bad)?;
                key.verify_prehash(&hash.digest(message), &sig).map_err(bad)
            }
            (DecodedKey::P384(key), Scheme::Ecdsa(hash)) => {
                let sig = p384::ecdsa::DerSignature::from_bytes(signature).map_err(bad)?;
                key.verify_prehash(&hash.digest(message), &sig).map_err(bad)
            }
            _ => Err(KeyError::AlgorithmMismatch {
                signature: algorithm.oid,
                key: self.kind.describe(),
            }),
        }
    }
}

/// Any failure of the signature check itself: the signature does not verify.
fn bad<E>(_: E) -> KeyError {
    KeyError::BadSignature
}

fn rsa_public_key(spki: SubjectPublicKeyInfoRef<'_>) -> Result<rsa::PublicKey, KeyError> {
    rsa::PublicKey::try_from(spki).map_err(|e| KeyError::Malformed {
        format: "RSA public",
        reason: e.to_string(),
    })
}
