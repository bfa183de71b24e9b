#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

// Layers, each importing only those before it: `object_type`, `error`, `uri`; `options`;
// `module` (the loaded library); `session` (login, the session pool); `attributes`,
// `public_key` and `objects` (what is on the token); `signer` (a key as a `Signer`);
// `token` (the public entry point, on top).
mod attributes;
mod error;
mod module;
mod object_type;
mod objects;
mod options;
mod public_key;
mod session;
mod signer;
mod token;
mod uri;

pub use error::Pkcs11Error;
pub use object_type::ObjectType;
pub use objects::KeyInfo;
pub use options::{OpenOptions, UriOrigin};
pub use signer::Pkcs11Signer;
pub use token::{Token, open_signer};
pub use uri::{Pkcs11Uri, is_pkcs11_uri};
