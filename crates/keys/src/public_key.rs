//! Public keys as found in certificates and requests.

use core::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};

use crate::pem::{pem_blocks, pem_encode};
use crate::{KeyError, MAX_RSA_BITS, MIN_RSA_BITS};

/// What kind of key a public key is, with its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKeyKind {
    /// RSA with a modulus of this many bits.
    Rsa {
        /// The modulus size in bits.
        bits: usize,
    },
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
}

impl PublicKeyKind {
    /// Reads the kind from a SubjectPublicKeyInfo, without checking the size policy.
    ///
    /// # Errors
    /// [`KeyError::UnsupportedKeyAlgorithm`] for algorithms other than RSA, P-256 and P-384,
    /// [`KeyError::Malformed`] when the key bytes do not decode.
    pub fn of(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<Self, KeyError> {
        let oid = spki.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            let bytes = spki.subject_public_key.as_bytes().ok_or(malformed_spki(
                "the RSA public key bit string has unused bits",
            ))?;
            let key = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(bytes).map_err(
                |e| KeyError::Malformed {
                    format: "PKCS#1 RSA public",
                    reason: e.to_string(),
                },
            )?;
            let modulus = key.modulus.as_bytes();
            let bits = significant_bits(modulus);
            return Ok(PublicKeyKind::Rsa { bits });
        }
        if oid == ID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            return match curve {
                Some(c) if c == SECP_256_R_1 => Ok(PublicKeyKind::EcdsaP256),
                Some(c) if c == SECP_384_R_1 => Ok(PublicKeyKind::EcdsaP384),
                curve => Err(KeyError::UnsupportedKeyAlgorithm { oid, curve }),
            };
        }
        Err(KeyError::UnsupportedKeyAlgorithm { oid, curve: None })
    }

    /// A short description such as `RSA-2048` or `ECDSA-P256`.
    pub fn describe(self) -> String {
        match self {
            PublicKeyKind::Rsa { bits } => format!("RSA-{bits}"),
            PublicKeyKind::EcdsaP256 => "ECDSA-P256".to_owned(),
            PublicKeyKind::EcdsaP384 => "ECDSA-P384".to_owned(),
        }
    }

    /// The key size in bits (modulus for RSA, field size for ECDSA).
    pub fn bits(self) -> usize {
        match self {
            PublicKeyKind::Rsa { bits } => bits,
            PublicKeyKind::EcdsaP256 => 256,
            PublicKeyKind::EcdsaP384 => 384,
        }
    }

    /// Refuses RSA keys below 2048 or above 8192 bits.
    ///
    /// # Errors
    /// [`KeyError::WeakKey`] or [`KeyError::OversizedKey`].
    pub fn check_strength(self) -> Result<(), KeyError> {
        match self {
            PublicKeyKind::Rsa { bits } if bits < MIN_RSA_BITS => Err(KeyError::WeakKey {
                bits,
                min: MIN_RSA_BITS,
            }),
            PublicKeyKind::Rsa { bits } if bits > MAX_RSA_BITS => Err(KeyError::OversizedKey {
                bits,
                max: MAX_RSA_BITS,
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for PublicKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A checked public key: a supported algorithm, and RSA of at least 2048 bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    spki: SubjectPublicKeyInfoOwned,
    der: Vec<u8>,
    kind: PublicKeyKind,
}

impl PublicKey {
    /// Checks and wraps a SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// [`KeyError::UnsupportedKeyAlgorithm`], [`KeyError::WeakKey`] (RSA under 2048 bits),
    /// [`KeyError::Malformed`].
    pub fn from_spki(spki: SubjectPublicKeyInfoOwned) -> Result<Self, KeyError> {
        let der = spki
            .to_der()
            .map_err(|e| malformed_spki_owned(e.to_string()))?;
        let kind = PublicKeyKind::of(
            &SubjectPublicKeyInfoRef::from_der(&der)
                .map_err(|e| malformed_spki_owned(e.to_string()))?,
        )?;
        kind.check_strength()?;
        Ok(PublicKey { spki, der, kind })
    }

    /// Parses a DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// As [`PublicKey::from_spki`], and [`KeyError::Malformed`] for bad DER.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| malformed_spki_owned(e.to_string()))?;
        Self::from_spki(spki)
    }

    /// Parses a PEM `PUBLIC KEY` block.
    ///
    /// # Errors
    /// [`KeyError::Pem`] for bad PEM or another label, else as [`PublicKey::from_der`].
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem)?;
        let block = blocks
            .iter()
            .find(|b| b.label == "PUBLIC KEY")
            .ok_or_else(|| {
                KeyError::Pem(format!("label {:?} is not PUBLIC KEY", blocks[0].label))
            })?;
        Self::from_der(&block.der)
    }

    /// The SubjectPublicKeyInfo.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// The DER encoding of the SubjectPublicKeyInfo.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM `PUBLIC KEY` (as kubeadm's `sa.pub`).
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.der)
    }

    /// The key's algorithm and size.
    pub fn kind(&self) -> PublicKeyKind {
        self.kind
    }

    /// The key identifier for SubjectKeyIdentifier: the leftmost 160 bits of the SHA-256 of
    /// the subjectPublicKey bit string (RFC 7093, section 2, method 1).
    pub fn key_id(&self) -> Vec<u8> {
        let digest = Sha256::digest(self.spki.subject_public_key.raw_bytes());
        digest[..20].to_vec()
    }
}

/// The number of significant bits of a big-endian unsigned integer.
fn significant_bits(be: &[u8]) -> usize {
    let mut bytes = be;
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    match bytes.first() {
        None => 0,
        Some(first) => bytes.len() * 8 - first.leading_zeros() as usize,
    }
}

fn malformed_spki(reason: &str) -> KeyError {
    malformed_spki_owned(reason.to_owned())
}

fn malformed_spki_owned(reason: String) -> KeyError {
    KeyError::Malformed {
        format: "SubjectPublicKeyInfo",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_bits_ignores_leading_zeros() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(significant_bits(&[0x01]), 1);
        assert_eq!(significant_bits(&[]), 0);
    }
}
