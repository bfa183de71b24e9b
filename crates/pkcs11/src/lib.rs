#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod key;
mod token;
mod uri;

pub use error::Pkcs11Error;
pub use key::{KeyInfo, Pkcs11Signer};
pub use token::{OpenOptions, Token, UriOrigin, open_signer};
pub use uri::{ObjectType, Pkcs11Uri, is_pkcs11_uri};
