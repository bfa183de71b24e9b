//! The one error type of this crate.

use const_oid::ObjectIdentifier;

/// Everything that can go wrong with a key or a signature.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// An algorithm name that is not one of kubeadm's.
    #[error(
        "unknown key algorithm {name:?} (expected RSA-2048, RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384)"
    )]
    UnknownAlgorithm {
        /// The name given.
        name: String,
    },
    /// An RSA key below the minimum size.
    #[error("RSA key of {bits} bits is below the {min}-bit minimum")]
    WeakKey {
        /// The modulus size found.
        bits: usize,
        /// The smallest size accepted.
        min: usize,
    },
    /// An RSA key above the size this library handles.
    #[error("RSA key of {bits} bits is above the {max}-bit maximum")]
    OversizedKey {
        /// The modulus size found.
        bits: usize,
        /// The largest size accepted.
        max: usize,
    },
    /// A public key algorithm or curve that is not supported.
    #[error("unsupported public key algorithm {}", describe_key(*oid, *curve))]
    UnsupportedKeyAlgorithm {
        /// The algorithm OID.
        oid: ObjectIdentifier,
        /// The named curve, for EC keys.
        curve: Option<ObjectIdentifier>,
    },
    /// A signature algorithm that is not supported.
    #[error("unsupported signature algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// The algorithm OID.
        oid: ObjectIdentifier,
    },
    /// A signature algorithm that is known but refused as weak (MD5, SHA-1).
    #[error("signature algorithm {name} ({oid}) is refused as insecure")]
    WeakSignatureAlgorithm {
        /// A readable name of the algorithm.
        name: &'static str,
        /// The algorithm OID.
        oid: ObjectIdentifier,
    },
    /// The signature algorithm does not belong to the key (e.g. ECDSA with an RSA key).
    #[error("signature algorithm {signature} does not fit a {key} key")]
    AlgorithmMismatch {
        /// The signature algorithm OID.
        signature: ObjectIdentifier,
        /// The key's algorithm, in kubeadm's words.
        key: String,
    },
    /// Malformed signature algorithm parameters (e.g. RSA-PSS parameters).
    #[error("malformed parameters for signature algorithm {oid}: {reason}")]
    BadAlgorithmParameters {
        /// The algorithm OID.
        oid: ObjectIdentifier,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A PEM block with a label that is not a private key.
    #[error(
        "PEM label {label:?} is not a private key (expected PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)"
    )]
    WrongPemLabel {
        /// The label found.
        label: String,
    },
    /// A key in OpenSSL's legacy encrypted PEM format (`Proc-Type: 4,ENCRYPTED` headers).
    #[error(
        "{label} block is in OpenSSL's legacy encrypted format (Proc-Type: 4,ENCRYPTED), which is not supported: convert it to encrypted PKCS#8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD.key -out NEW.key`"
    )]
    LegacyEncryptedPem {
        /// The block's label, e.g. `RSA PRIVATE KEY`.
        label: String,
    },
    /// Input that is not PEM at all, or PEM that does not decode.
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// Key bytes that do not decode as any supported format.
    #[error("malformed {format} key: {reason}")]
    Malformed {
        /// The format tried (PKCS#8, PKCS#1, SEC1, SubjectPublicKeyInfo).
        format: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// An encrypted key without a passphrase.
    #[error("the key is encrypted (ENCRYPTED PRIVATE KEY): a passphrase is needed")]
    PassphraseRequired,
    /// An encrypted key that the passphrase does not open.
    #[error("cannot decrypt the key: wrong passphrase or unsupported encryption ({0})")]
    Decrypt(String),
    /// An empty passphrase for encryption.
    #[error("refusing to encrypt a key with an empty passphrase")]
    EmptyPassphrase,
    /// A key format that does not exist for this algorithm.
    #[error("cannot encode a {algorithm} key as {format}")]
    Encode {
        /// The key algorithm.
        algorithm: String,
        /// The format asked for.
        format: &'static str,
    },
    /// The signing primitive failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// Key generation failed (e.g. the RNG).
    #[error("key generation failed: {0}")]
    Generation(String),
}

/// `Ed25519 (1.3.101.112)`, `ECDSA P-521 (1.2.840.10045.2.1 with curve 1.3.132.0.35)`, or
/// the OIDs alone for an algorithm without a common name here.
fn describe_key(oid: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> String {
    let oids = match curve {
        Some(curve) => format!("{oid} with curve {curve}"),
        None => oid.to_string(),
    };
    match key_name(oid, curve) {
        Some(name) => format!("{name} ({oids})"),
        None => oids,
    }
}

/// The common name of a key algorithm kubepki refuses, for messages: a bare OID says little.
fn key_name(oid: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> Option<&'static str> {
    const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
    let by_oid = [
        ("1.3.101.112", "Ed25519"),
        ("1.3.101.113", "Ed448"),
        ("1.3.101.110", "X25519"),
        ("1.3.101.111", "X448"),
        ("1.2.840.10040.4.1", "DSA"),
        ("1.2.840.10046.2.1", "DH"),
        ("1.2.643.7.1.1.1.1", "GOST R 34.10-2012"),
    ];
    let by_curve = [
        ("1.3.132.0.35", "ECDSA P-521"),
        ("1.3.132.0.10", "ECDSA secp256k1"),
        ("1.2.840.10045.3.1.1", "ECDSA P-192"),
        ("1.3.132.0.33", "ECDSA P-224"),
        ("1.3.36.3.3.2.8.1.1.7", "ECDSA brainpoolP256r1"),
    ];
    let oid = oid.to_string();
    if oid == EC_PUBLIC_KEY {
        let curve = curve?.to_string();
        return by_curve.iter().find(|(o, _)| *o == curve).map(|(_, n)| *n);
    }
    by_oid.iter().find(|(o, _)| *o == oid).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_key_algorithms_are_named() {
        let ed25519 = KeyError::UnsupportedKeyAlgorithm {
            oid: ObjectIdentifier::new_unwrap("1.3.101.112"),
            curve: None,
        };
        assert_eq!(
            ed25519.to_string(),
            "unsupported public key algorithm Ed25519 (1.3.101.112)"
        );
        let p521 = KeyError::UnsupportedKeyAlgorithm {
            oid: ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
            curve: Some(ObjectIdentifier::new_unwrap("1.3.132.0.35")),
        };
        assert_eq!(
            p521.to_string(),
            "unsupported public key algorithm ECDSA P-521 (1.2.840.10045.2.1 with curve 1.3.132.0.35)"
        );
        let unknown = KeyError::UnsupportedKeyAlgorithm {
            oid: ObjectIdentifier::new_unwrap("1.2.3.4"),
            curve: None,
        };
        assert_eq!(
            unknown.to_string(),
            "unsupported public key algorithm 1.2.3.4"
        );
    }
}
