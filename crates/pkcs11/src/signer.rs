//! A private key on a token as a [`Signer`]: the mechanism it signs with, and the
//! signature in X.509's encoding.

use core::fmt;
use std::sync::Arc;

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use kubepki_keys::{
    KeyError, PublicKey, PublicKeyKind, Signer, ecdsa_sha256, ecdsa_sha384, rsa_pkcs1_sha256,
};
use rsa::Pkcs1v15Sign;
use sha2::{Digest, Sha256, Sha384};
use spki::AlgorithmIdentifierOwned;

use crate::Pkcs11Error;
use crate::error::call;
use crate::objects::PrivateKeyObject;
use crate::session::SessionPool;
use crate::uri::hex;

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

/// The PSS salt length, the SHA-256 digest's.
const PSS_SALT_LEN: u64 = 32;

/// The AlgorithmIdentifier of RSASSA-PSS { sha256, mgf1(sha256), saltLength 32 } (RFC 4055,
/// section 3.1), as openssl writes it: the salt is the digest's length, which is what
/// [`PSS_SALT_LEN`] asks the token for.
fn pss_algorithm() -> Result<AlgorithmIdentifierOwned, spki::Error> {
    rsa::pss::get_default_pss_signature_algo_id::<Sha256>()
}

/// DigestInfo { sha256, NULL } around the SHA-256 digest of `message` (RFC 8017, section
/// 9.2): what CKM_RSA_PKCS signs for a PKCS#1 v1.5 signature with SHA-256.
fn sha256_digest_info(message: &[u8]) -> Vec<u8> {
    let mut data = Pkcs1v15Sign::new::<Sha256>().prefix.into_vec();
    data.extend_from_slice(&Sha256::digest(message));
    data
}

/// A private key on a PKCS#11 token, as a [`Signer`]. It holds a handle, never the key.
/// Sharing one across threads is safe: each signature borrows a session from the token's
/// pool.
pub struct Pkcs11Signer {
    pool: Arc<SessionPool>,
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
            .field("token", &self.pool.label())
            .field("label", &self.label)
            .field("id", &hex(&self.id))
            .field("kind", &self.public.kind())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// The signer for `key`, a private key of the token `pool` belongs to: ECDSA with
    /// CKM_ECDSA, RSA with CKM_SHA256_RSA_PKCS or else CKM_RSA_PKCS; `wanted` names the key
    /// in errors.
    pub(crate) fn new(
        pool: &Arc<SessionPool>,
        key: PrivateKeyObject,
        wanted: &str,
    ) -> Result<Self, Pkcs11Error> {
        let kind = key.public.kind();
        let mechanisms = pool.mechanisms()?;
        let scheme = match kind {
            PublicKeyKind::EcdsaP256 | PublicKeyKind::EcdsaP384 => {
                pool.require(&mechanisms, MechanismType::ECDSA, &kind.describe())?;
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
                    pool.require(
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
                    token: pool.label().to_owned(),
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
            pool: Arc::clone(pool),
            handle: key.handle,
            public: key.public,
            scheme,
            algorithm,
            label: key.label,
            id: key.id,
        })
    }

    /// The same signer, its key now known by CKA_ID `id`.
    pub(crate) fn with_id(self, id: Vec<u8>) -> Self {
        Self { id, ..self }
    }

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
        self.pool.label()
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
                token: self.pool.label().to_owned(),
                reason: format!("RSASSA-PSS needs an RSA key, not {kind}"),
            });
        }
        self.pool.require(
            &self.pool.mechanisms()?,
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
            Scheme::RsaDigestInfo => (Mechanism::RsaPkcs, sha256_digest_info(message)),
        };
        let lease = self.pool.lease()?;
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
            Scheme::EcdsaP256 => ecdsa_der(&raw, Curve::P256),
            Scheme::EcdsaP384 => ecdsa_der(&raw, Curve::P384),
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
                self.pool.label()
            ))
        })
    }
}

/// The curve of an ECDSA key, which sets the length of r and s in the token's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

/// PKCS#11's ECDSA signature on `curve` (r and s, each as long as the curve's field,
/// big-endian) as X.509's DER `Ecdsa-Sig-Value`.
fn ecdsa_der(raw: &[u8], curve: Curve) -> Result<Vec<u8>, Pkcs11Error> {
    let malformed = |reason: String| {
        Pkcs11Error::Key(KeyError::Malformed {
            format: "PKCS#11 ECDSA signature",
            reason,
        })
    };
    let half = match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
    };
    if raw.len() != 2 * half {
        return Err(malformed(format!(
            "{} bytes, expected {} (r and s of {half} bytes)",
            raw.len(),
            2 * half
        )));
    }
    let der = match curve {
        Curve::P256 => ecdsa::Signature::<p256::NistP256>::from_slice(raw)
            .map(|signature| signature.to_der().as_bytes().to_vec()),
        Curve::P384 => ecdsa::Signature::<p384::NistP384>::from_slice(raw)
            .map(|signature| signature.to_der().as_bytes().to_vec()),
    };
    der.map_err(|_| malformed("r or s is zero or not below the curve order".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use const_oid::db::rfc5912::ID_RSASSA_PSS;
    use der::{Any, Decode};
    use kubepki_keys::{KeyAlgorithm, KeyPair, verify_signature};

    /// DER of RSASSA-PSS-params { sha256, mgf1(sha256), saltLength 32 } as openssl writes
    /// them (`openssl req -sigopt rsa_padding_mode:pss`); trailerField is the default.
    const OPENSSL_PSS_SHA256_PARAMS: [u8; 54] = [
        0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
        0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
        0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
        0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
    ];

    /// DER of DigestInfo { sha256, NULL } up to the digest (RFC 8017, section 9.2, note 1).
    const RFC8017_SHA256_DIGEST_INFO: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];

    /// The ECDSA signature `der` in PKCS#11's form: r and s, each `half` bytes.
    fn raw_of(der: &[u8], half: usize) -> Vec<u8> {
        #[derive(der::Sequence)]
        struct EcdsaSigValue<'a> {
            r: der::asn1::UintRef<'a>,
            s: der::asn1::UintRef<'a>,
        }
        let value = EcdsaSigValue::from_der(der).unwrap();
        let mut raw = vec![0u8; 2 * half];
        let (r, s) = (value.r.as_bytes(), value.s.as_bytes());
        raw[half - r.len()..half].copy_from_slice(r);
        raw[2 * half - s.len()..].copy_from_slice(s);
        raw
    }

    #[test]
    fn raw_ecdsa_signature_becomes_der_that_verifies() {
        for (algorithm, curve, half) in [
            (KeyAlgorithm::EcdsaP256, Curve::P256, 32),
            (KeyAlgorithm::EcdsaP384, Curve::P384, 48),
        ] {
            let key = KeyPair::generate(algorithm).unwrap();
            let message = b"tbs certificate";
            let der_sig = key.sign(message).unwrap();
            // Take r and s out of the DER, as a token would return them, and back.
            let raw = raw_of(&der_sig, half);
            let again = ecdsa_der(&raw, curve).unwrap();
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
    fn pss_parameters_are_the_ones_openssl_writes() {
        let algorithm = pss_algorithm().unwrap();
        assert_eq!(algorithm.oid, ID_RSASSA_PSS);
        assert_eq!(
            algorithm.parameters,
            Some(Any::from_der(&OPENSSL_PSS_SHA256_PARAMS).unwrap())
        );
        // And the verifier reads them as PSS: an EC key is refused for the algorithm, not
        // for unreadable parameters.
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let err =
            verify_signature(key.public_key().spki(), &algorithm, b"m", &[0; 64]).unwrap_err();
        assert!(
            matches!(err, KeyError::AlgorithmMismatch { .. }),
            "parameters refused: {err}"
        );
    }

    #[test]
    fn digest_info_is_rfc_8017s() {
        let data = sha256_digest_info(b"m");
        assert_eq!(data.len(), 51);
        assert_eq!(data[..19], RFC8017_SHA256_DIGEST_INFO);
        assert_eq!(data[19..], Sha256::digest(b"m")[..]);
    }

    #[test]
    fn ecdsa_signature_of_the_wrong_length_is_refused() {
        let err = ecdsa_der(&[1; 63], Curve::P256).unwrap_err();
        assert!(err.to_string().contains("63 bytes, expected 64"), "{err}");
    }

    #[test]
    fn ecdsa_signature_with_r_zero_is_refused() {
        let mut raw = vec![0u8; 64];
        raw[63] = 1;
        let err = ecdsa_der(&raw, Curve::P256).unwrap_err();
        assert!(err.to_string().contains("r or s is zero"), "{err}");
    }

    #[test]
    fn small_r_keeps_its_leading_zeros_out_of_the_der() {
        let mut raw = vec![0u8; 64];
        raw[31] = 0x80; // r = 128: needs a 0x00 pad byte in DER
        raw[63] = 1;
        let der = ecdsa_der(&raw, Curve::P256).unwrap();
        assert_eq!(der, [0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01]);
    }
}
