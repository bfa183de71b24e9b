//! The kind of object a `pkcs11:` URI names (its `type` attribute).

use core::fmt;

/// The `type` attribute of a URI: which kind of object it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectType {
    /// `type=private`: a private key (what a CA signs with).
    Private,
    /// `type=public`: a public key.
    Public,
    /// `type=cert`: a certificate.
    Cert,
    /// `type=secret-key`: a secret (symmetric) key.
    SecretKey,
    /// `type=data`: a data object.
    Data,
}

impl ObjectType {
    /// The attribute value, as RFC 7512 spells it.
    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Private => "private",
            ObjectType::Public => "public",
            ObjectType::Cert => "cert",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }

    /// The type RFC 7512 spells `value`, if any.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        [
            ObjectType::Private,
            ObjectType::Public,
            ObjectType::Cert,
            ObjectType::SecretKey,
            ObjectType::Data,
        ]
        .into_iter()
        .find(|t| t.name() == value)
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
