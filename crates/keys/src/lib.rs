#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod algorithm;
mod error;
mod key_pair;
pub mod pem;
mod public_key;
mod signature;
mod signer;

pub use algorithm::{KeyAlgorithm, MAX_RSA_BITS, MIN_RSA_BITS};
pub use error::KeyError;
pub use key_pair::{KeyFormat, KeyPair};
pub use public_key::{PublicKey, PublicKeyKind};
pub use signature::{
    VerifyingKey, ecdsa_sha256, ecdsa_sha384, rsa_pkcs1_sha256, signature_algorithm_name,
    verify_signature,
};
pub use signer::Signer;

/// PEM text of a private key, zeroized when dropped.
pub type KeyPem = zeroize::Zeroizing<String>;
