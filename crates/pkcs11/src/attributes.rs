//! Objects on a token by their attributes: the search templates and what is read back.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::error::call;
use crate::{Pkcs11Error, Pkcs11Uri};

/// The attributes read about a private key: what it is, its names, its public half where
/// the key carries it, and whether it may leave the token.
pub(crate) const KEY_ATTRS: [AttributeType; 11] = [
    AttributeType::Class,
    AttributeType::KeyType,
    AttributeType::Label,
    AttributeType::Id,
    AttributeType::Modulus,
    AttributeType::PublicExponent,
    AttributeType::EcParams,
    AttributeType::Extractable,
    AttributeType::Sensitive,
    AttributeType::NeverExtractable,
    AttributeType::PublicKeyInfo,
];

/// The attributes read about one object, by type.
pub(crate) struct Attrs(Vec<Attribute>);

impl Attrs {
    /// The attributes `types` of the object `handle`, leaving out those the token does not
    /// give.
    pub(crate) fn read(session: &Session, handle: ObjectHandle, types: &[AttributeType]) -> Attrs {
        // Asked one at a time: some tokens refuse the whole template when one attribute
        // is unavailable (a sensitive value, an attribute of another key type).
        let mut found = Vec::new();
        for t in types {
            if let Ok(mut attrs) = session.get_attributes(handle, &[*t]) {
                found.append(&mut attrs);
            }
        }
        Attrs(found)
    }

    /// The value of a byte-string attribute.
    pub(crate) fn bytes(&self, t: AttributeType) -> Option<&[u8]> {
        self.0.iter().find_map(|a| match (a, t) {
            (Attribute::Label(v), AttributeType::Label)
            | (Attribute::Id(v), AttributeType::Id)
            | (Attribute::Modulus(v), AttributeType::Modulus)
            | (Attribute::PublicExponent(v), AttributeType::PublicExponent)
            | (Attribute::EcParams(v), AttributeType::EcParams)
            | (Attribute::EcPoint(v), AttributeType::EcPoint)
            | (Attribute::PublicKeyInfo(v), AttributeType::PublicKeyInfo) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The value of a boolean attribute.
    pub(crate) fn flag(&self, t: AttributeType) -> Option<bool> {
        self.0.iter().find_map(|a| match (a, t) {
            (Attribute::Extractable(v), AttributeType::Extractable)
            | (Attribute::Sensitive(v), AttributeType::Sensitive)
            | (Attribute::NeverExtractable(v), AttributeType::NeverExtractable) => Some(*v),
            _ => None,
        })
    }

    /// CKA_KEY_TYPE.
    pub(crate) fn key_type(&self) -> Option<KeyType> {
        self.0.iter().find_map(|a| match a {
            Attribute::KeyType(k) => Some(*k),
            _ => None,
        })
    }

    /// CKA_CLASS.
    pub(crate) fn class(&self) -> Option<ObjectClass> {
        self.0.iter().find_map(|a| match a {
            Attribute::Class(c) => Some(*c),
            _ => None,
        })
    }

    /// CKA_LABEL as text (empty when absent).
    pub(crate) fn label(&self) -> String {
        self.bytes(AttributeType::Label)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default()
    }

    /// CKA_ID (empty when absent).
    pub(crate) fn id(&self) -> Vec<u8> {
        self.bytes(AttributeType::Id).unwrap_or_default().to_vec()
    }
}

/// The template that finds what the URI names (label and id), of `class` if given.
pub(crate) fn template(uri: &Pkcs11Uri, class: Option<ObjectClass>) -> Vec<Attribute> {
    let mut template = Vec::new();
    if let Some(class) = class {
        template.push(Attribute::Class(class));
    }
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

/// Handles of objects matching `template`.
pub(crate) fn find(
    session: &Session,
    template: &[Attribute],
) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
    session
        .find_objects(template)
        .map_err(call("C_FindObjects"))
}

/// A readable name of an object class.
pub(crate) fn class_name(class: ObjectClass) -> String {
    match class {
        ObjectClass::PRIVATE_KEY => "private key".to_owned(),
        ObjectClass::PUBLIC_KEY => "public key".to_owned(),
        ObjectClass::CERTIFICATE => "certificate".to_owned(),
        ObjectClass::SECRET_KEY => "secret key".to_owned(),
        ObjectClass::DATA => "data object".to_owned(),
        other => other.to_string(),
    }
}
