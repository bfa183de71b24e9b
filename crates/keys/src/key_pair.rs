//! Private keys: generate, load from any common format, store as kubeadm and OpenSSL do.

use core::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1};
use der::Decode;
use p256::elliptic_curve::Generate;
use pkcs8::{EncodePrivateKey, PrivateKeyInfoRef};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use sha2::Sha256;
use signature::{RandomizedSigner, SignatureEncoding, Signer as _};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::pem::{pem_blocks, pem_encode};
use crate::signature::{ecdsa_sha256, ecdsa_sha384, rsa_pkcs1_sha256};
use crate::{KeyAlgorithm, KeyError, MIN_RSA_BITS, PublicKey, PublicKeyKind, Signer};

/// How a private key is written out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyFormat {
    /// PKCS#8 `PRIVATE KEY` (the default: every tool reads it).
    #[default]
    Pkcs8,
    /// The algorithm's own format, as kubeadm writes its files: PKCS#1 `RSA PRIVATE KEY` for
    /// RSA, SEC1 `EC PRIVATE KEY` for ECDSA.
    Traditional,
}

enum Secret {
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// A private key with its public half. Key material is zeroized on drop and never printed.
pub struct KeyPair {
    secret: Secret,
    algorithm: KeyAlgorithm,
    public: PublicKey,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn rsa_algorithm(bits: usize) -> Result<KeyAlgorithm, KeyError> {
    match bits {
        2048 => Ok(KeyAlgorithm::Rsa2048),
        3072 => Ok(KeyAlgorithm::Rsa3072),
        4096 => Ok(KeyAlgorithm::Rsa4096),
        bits if bits < MIN_RSA_BITS => Err(KeyError::WeakKey {
            bits,
            min: MIN_RSA_BITS,
        }),
        bits => Err(KeyError::Malformed {
            format: "RSA private",
            reason: format!("modulus of {bits} bits is not 2048, 3072 or 4096"),
        }),
    }
}

fn malformed(format: &'static str) -> impl Fn(String) -> KeyError {
    move |reason| KeyError::Malformed { format, reason }
}

impl KeyPair {
    /// Generates a fresh key with the operating system's random number generator.
    ///
    /// # Errors
    /// [`KeyError::Generation`] when the RNG or the key generator fails.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let mut rng = getrandom::SysRng;
        let secret = match algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let bits = algorithm.rsa_bits().unwrap_or(MIN_RSA_BITS);
                let key = rsa::PrivateKey::new(&mut rng, bits)
                    .map_err(|e| KeyError::Generation(e.to_string()))?;
                Secret::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(key)))
            }
            KeyAlgorithm::EcdsaP256 => Secret::P256(
                p256::ecdsa::SigningKey::try_generate_from_rng(&mut rng)
                    .map_err(|e| KeyError::Generation(e.to_string()))?,
            ),
            KeyAlgorithm::EcdsaP384 => Secret::P384(
                p384::ecdsa::SigningKey::try_generate_from_rng(&mut rng)
                    .map_err(|e| KeyError::Generation(e.to_string()))?,
            ),
        };
        Self::from_secret(secret)
    }

    fn from_secret(secret: Secret) -> Result<Self, KeyError> {
        let spki_der = match &secret {
            Secret::Rsa(key) => key.as_ref().as_ref().to_public_key().to_public_key_der(),
            Secret::P256(key) => key.verifying_key().to_public_key_der(),
            Secret::P384(key) => key.verifying_key().to_public_key_der(),
        }
        .map_err(|e| malformed("SubjectPublicKeyInfo")(e.to_string()))?;
        let public = PublicKey::from_der(spki_der.as_bytes())?;
        let algorithm = match public.kind() {
            PublicKeyKind::Rsa { bits } => rsa_algorithm(bits)?,
            PublicKeyKind::EcdsaP256 => KeyAlgorithm::EcdsaP256,
            PublicKeyKind::EcdsaP384 => KeyAlgorithm::EcdsaP384,
        };
        Ok(KeyPair {
            secret,
            algorithm,
            public,
        })
    }

    /// Loads a key from PEM or DER bytes, detecting the format: PEM `PRIVATE KEY` (PKCS#8),
    /// `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY` (SEC1, with or without OpenSSL's leading
    /// `EC PARAMETERS` block), `ENCRYPTED PRIVATE KEY` (PKCS#8 PBES2, needs `passphrase`), or
    /// the DER of any of the unencrypted ones.
    ///
    /// # Errors
    /// [`KeyError::WrongPemLabel`] for a PEM block that is no private key,
    /// [`KeyError::PassphraseRequired`], [`KeyError::Decrypt`], [`KeyError::WeakKey`] for RSA
    /// under 2048 bits, [`KeyError::UnsupportedKeyAlgorithm`], [`KeyError::Pem`] and
    /// [`KeyError::Malformed`] for bytes that do not decode.
    pub fn from_bytes(bytes: &[u8], passphrase: Option<&[u8]>) -> Result<Self, KeyError> {
        if crate::pem::looks_like_pem(bytes) {
            let text = core::str::from_utf8(bytes)
                .map_err(|_| KeyError::Pem("PEM text is not valid UTF-8".to_owned()))?;
            Self::from_pem(text, passphrase)
        } else {
            Self::from_der(bytes)
        }
    }

    /// Loads a key from PEM text; see [`KeyPair::from_bytes`].
    ///
    /// # Errors
    /// As [`KeyPair::from_bytes`].
    pub fn from_pem(pem: &str, passphrase: Option<&[u8]>) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem)?;
        let block = blocks
            .iter()
            .find(|b| b.label != "EC PARAMETERS")
            .unwrap_or(&blocks[0]);
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.der),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&block.der),
            "EC PRIVATE KEY" => Self::from_sec1_der(&block.der),
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let encrypted = pkcs8::EncryptedPrivateKeyInfoRef::try_from(block.der.as_slice())
                    .map_err(|e| malformed("encrypted PKCS#8")(e.to_string()))?;
                let plain = encrypted
                    .decrypt(passphrase)
                    .map_err(|e| KeyError::Decrypt(e.to_string()))?;
                Self::from_pkcs8_der(plain.as_bytes())
            }
            label => Err(KeyError::WrongPemLabel {
                label: label.to_owned(),
            }),
        }
    }

    /// Loads a key from DER, trying PKCS#8, then PKCS#1, then SEC1.
    ///
    /// # Errors
    /// As [`KeyPair::from_bytes`].
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        if PrivateKeyInfoRef::from_der(der).is_ok() {
            return Self::from_pkcs8_der(der);
        }
        if rsa::pkcs1::RsaPrivateKey::<der::asn1::UintRef<'_>>::from_der(der).is_ok() {
            return Self::from_pkcs1_der(der);
        }
        if sec1::EcPrivateKey::from_der(der).is_ok() {
            return Self::from_sec1_der(der);
        }
        Err(KeyError::Malformed {
            format: "DER private",
            reason: "not PKCS#8, PKCS#1 or SEC1".to_owned(),
        })
    }

    /// Loads a PKCS#8 `PrivateKeyInfo`.
    ///
    /// # Errors
    /// As [`KeyPair::from_bytes`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info =
            PrivateKeyInfoRef::from_der(der).map_err(|e| malformed("PKCS#8")(e.to_string()))?;
        let oid = info.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            return Self::from_pkcs1_der(info.private_key.as_bytes());
        }
        if oid == ID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            let secret = match curve {
                Some(SECP_256_R_1) => Secret::P256(
                    p256::SecretKey::try_from(info)
                        .map_err(|e| malformed("PKCS#8 P-256")(e.to_string()))?
                        .into(),
                ),
                Some(SECP_384_R_1) => Secret::P384(
                    p384::SecretKey::try_from(info)
                        .map_err(|e| malformed("PKCS#8 P-384")(e.to_string()))?
                        .into(),
                ),
                curve => return Err(KeyError::UnsupportedKeyAlgorithm { oid, curve }),
            };
            return Self::from_secret(secret);
        }
        Err(KeyError::UnsupportedKeyAlgorithm { oid, curve: None })
    }

    /// Loads a PKCS#1 `RSAPrivateKey`, refusing moduli under 2048 bits.
    ///
    /// # Errors
    /// As [`KeyPair::from_bytes`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let parsed = rsa::pkcs1::RsaPrivateKey::<der::asn1::UintRef<'_>>::from_der(der)
            .map_err(|e| malformed("PKCS#1")(e.to_string()))?;
        let modulus = parsed.modulus.as_bytes();
        let leading = modulus.iter().take_while(|b| **b == 0).count();
        let bits = modulus[leading..].first().map_or(0, |first| {
            (modulus.len() - leading) * 8 - first.leading_zeros() as usize
        });
        rsa_algorithm(bits)?;
        let key =
            rsa::PrivateKey::from_pkcs1_der(der).map_err(|e| malformed("PKCS#1")(e.to_string()))?;
        Self::from_secret(Secret::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(key))))
    }

    /// Loads a SEC1 `ECPrivateKey` on P-256 or P-384.
    ///
    /// # Errors
    /// As [`KeyPair::from_bytes`]; a SEC1 key without curve parameters is tried as P-256, then
    /// P-384, by the length of its secret.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        let parsed =
            sec1::EcPrivateKey::from_der(der).map_err(|e| malformed("SEC1")(e.to_string()))?;
        let curve = parsed.parameters.as_ref().and_then(|p| p.named_curve());
        let secret = match (curve, parsed.private_key.len()) {
            (Some(SECP_256_R_1), _) | (None, 32) => Secret::P256(
                p256::SecretKey::from_sec1_der(der)
                    .map_err(|e| malformed("SEC1 P-256")(e.to_string()))?
                    .into(),
            ),
            (Some(SECP_384_R_1), _) | (None, 48) => Secret::P384(
                p384::SecretKey::from_sec1_der(der)
                    .map_err(|e| malformed("SEC1 P-384")(e.to_string()))?
                    .into(),
            ),
            (curve, _) => {
                return Err(KeyError::UnsupportedKeyAlgorithm {
                    oid: ID_EC_PUBLIC_KEY,
                    curve,
                });
            }
        };
        Self::from_secret(secret)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The unencrypted PKCS#8 DER.
    ///
    /// # Errors
    /// [`KeyError::Encode`] if the encoder fails.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let doc = match &self.secret {
            Secret::Rsa(key) => key.to_pkcs8_der(),
            Secret::P256(key) => key.to_pkcs8_der(),
            Secret::P384(key) => key.to_pkcs8_der(),
        }
        .map_err(|_| self.encode_error("PKCS#8"))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key as PEM in the given format.
    ///
    /// # Errors
    /// [`KeyError::Encode`] if the encoder fails.
    pub fn to_pem(&self, format: KeyFormat) -> Result<Zeroizing<String>, KeyError> {
        match format {
            KeyFormat::Pkcs8 => Ok(Zeroizing::new(pem_encode(
                "PRIVATE KEY",
                &self.to_pkcs8_der()?,
            ))),
            KeyFormat::Traditional => {
                let (label, der) = match &self.secret {
                    Secret::Rsa(key) => (
                        "RSA PRIVATE KEY",
                        key.as_ref()
                            .as_ref()
                            .to_pkcs1_der()
                            .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
                            .map_err(|_| self.encode_error("PKCS#1"))?,
                    ),
                    Secret::P256(key) => (
                        "EC PRIVATE KEY",
                        p256::SecretKey::from(key)
                            .to_sec1_der()
                            .map_err(|_| self.encode_error("SEC1"))?,
                    ),
                    Secret::P384(key) => (
                        "EC PRIVATE KEY",
                        p384::SecretKey::from(key)
                            .to_sec1_der()
                            .map_err(|_| self.encode_error("SEC1"))?,
                    ),
                };
                Ok(Zeroizing::new(pem_encode(label, &der)))
            }
        }
    }

    /// The key as PEM `ENCRYPTED PRIVATE KEY`: PKCS#8 under PBES2 (scrypt, AES-256-CBC), which
    /// `openssl pkey -passin` reads.
    ///
    /// # Errors
    /// [`KeyError::EmptyPassphrase`], or [`KeyError::Encode`] if encryption fails.
    pub fn to_encrypted_pem(&self, passphrase: &[u8]) -> Result<Zeroizing<String>, KeyError> {
        if passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        let der = self.to_pkcs8_der()?;
        let info =
            PrivateKeyInfoRef::from_der(&der).map_err(|_| self.encode_error("encrypted PKCS#8"))?;
        let encrypted = info
            .encrypt(passphrase)
            .map_err(|_| self.encode_error("encrypted PKCS#8"))?;
        Ok(Zeroizing::new(pem_encode(
            "ENCRYPTED PRIVATE KEY",
            encrypted.as_bytes(),
        )))
    }

    fn encode_error(&self, format: &'static str) -> KeyError {
        KeyError::Encode {
            algorithm: self.algorithm.name().to_owned(),
            format,
        }
    }
}

impl Signer for KeyPair {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self.secret {
            Secret::Rsa(_) => rsa_pkcs1_sha256(),
            Secret::P256(_) => ecdsa_sha256(),
            Secret::P384(_) => ecdsa_sha384(),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let signing = |e: signature::Error| KeyError::Signing(e.to_string());
        match &self.secret {
            // Blinded with fresh randomness against timing side channels.
            Secret::Rsa(key) => key
                .try_sign_with_rng(&mut getrandom::SysRng, message)
                .map(|s| s.to_vec())
                .map_err(signing),
            Secret::P256(key) => {
                let sig: p256::ecdsa::Signature = key.try_sign(message).map_err(signing)?;
                Ok(sig.to_der().to_vec())
            }
            Secret::P384(key) => {
                let sig: p384::ecdsa::Signature = key.try_sign(message).map_err(signing)?;
                Ok(sig.to_der().to_vec())
            }
        }
    }
}

/// The SubjectPublicKeyInfo of a key pair, for builders that want the raw structure.
impl From<&KeyPair> for SubjectPublicKeyInfoOwned {
    fn from(key: &KeyPair) -> Self {
        key.public.spki().clone()
    }
}
