//! The signing trait: what a CA needs from a key, wherever the key is held.

use spki::AlgorithmIdentifierOwned;

use crate::{KeyError, PublicKey};

/// Something that signs with a private key: a [`crate::KeyPair`] in memory, or a key held
/// elsewhere (an HSM, a KMS) behind the same three calls.
///
/// The signature must be in the X.509 encoding of [`Signer::signature_algorithm`]: the raw
/// PKCS#1 signature for RSA, a DER `Ecdsa-Sig-Value` for ECDSA.
pub trait Signer: Send + Sync {
    /// The public half of the key.
    fn public_key(&self) -> &PublicKey;

    /// The AlgorithmIdentifier of the signatures this signer makes.
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned;

    /// Signs `message` (the DER of a to-be-signed structure), hashing it as the algorithm says.
    ///
    /// # Errors
    /// [`KeyError::Signing`] when the key cannot sign.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}
