//! Distinguished names as Kubernetes reads them: CN is the user, every O is a group.

use core::fmt;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519::{C, CN, DOMAIN_COMPONENT, L, O, OU, SERIAL_NUMBER, ST, STREET};
use der::asn1::{Ia5StringRef, PrintableStringRef, SetOfVec, TeletexStringRef, Utf8StringRef};
use der::{Any, Decode, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::CsrError;
use crate::node_name::names_a_node;

/// emailAddress (PKCS#9), deprecated in names but still written by OpenSSL users.
pub(crate) const ID_EMAIL_ADDRESS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

/// RFC 5280's upper bounds (Appendix A.1) on attribute values, in characters: `ub-common-name`,
/// `ub-organization-name`, … Any other attribute is held to `ub-name` (32768). C (two
/// letters exactly) is checked where it is encoded, with its own message.
const UPPER_BOUNDS: [(ObjectIdentifier, usize); 8] = [
    (CN, 64),
    (O, 64),
    (OU, 64),
    (ST, 128),
    (L, 128),
    (SERIAL_NUMBER, 64),
    (ID_EMAIL_ADDRESS, 255),
    (DOMAIN_COMPONENT, 63),
];

/// `ub-name`: the bound on any other attribute value.
const UB_NAME: usize = 32768;

/// The upper bound RFC 5280 sets on values of `oid`, in characters.
fn upper_bound(oid: &ObjectIdentifier) -> usize {
    UPPER_BOUNDS
        .iter()
        .find(|(known, _)| known == oid)
        .map_or(UB_NAME, |(_, max)| *max)
}

/// One attribute of a name: its type and its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NameAttribute {
    /// The attribute type, e.g. 2.5.4.3 for CN.
    pub oid: ObjectIdentifier,
    /// The value as text.
    pub value: String,
}

impl NameAttribute {
    /// The short name (`CN`, `O`, …) or the dotted OID.
    pub fn short_name(&self) -> String {
        short_name(&self.oid)
    }
}

/// A distinguished name: a sequence of RDNs, each one or more attributes.
///
/// Kubernetes takes the user name from CN and the groups from every O, whether the O values
/// are separate RDNs or one multi-valued RDN.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Subject {
    rdns: Vec<Vec<NameAttribute>>,
}

const KNOWN: [(&str, ObjectIdentifier); 11] = [
    ("CN", CN),
    ("O", O),
    ("OU", OU),
    ("C", C),
    ("ST", ST),
    ("L", L),
    ("DC", DOMAIN_COMPONENT),
    ("street", STREET),
    ("serialNumber", SERIAL_NUMBER),
    ("emailAddress", ID_EMAIL_ADDRESS),
    ("E", ID_EMAIL_ADDRESS),
];

/// The short name (`CN`, `O`, …) of an attribute type, or its dotted OID.
pub(crate) fn short_name(oid: &ObjectIdentifier) -> String {
    KNOWN
        .iter()
        .find(|(_, known)| known == oid)
        .map_or_else(|| oid.to_string(), |(name, _)| (*name).to_owned())
}

fn attribute_oid(name: &str) -> Result<ObjectIdentifier, CsrError> {
    let name = name.trim();
    if let Some((_, oid)) = KNOWN
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
    {
        return Ok(*oid);
    }
    match name {
        "commonName" => Ok(CN),
        "organizationName" => Ok(O),
        "organizationalUnitName" => Ok(OU),
        "countryName" => Ok(C),
        "stateOrProvinceName" => Ok(ST),
        "localityName" => Ok(L),
        _ if name.starts_with(|c: char| c.is_ascii_digit()) => {
            ObjectIdentifier::new(name).map_err(|_| CsrError::UnknownAttribute {
                name: name.to_owned(),
            })
        }
        _ => Err(CsrError::UnknownAttribute {
            name: name.to_owned(),
        }),
    }
}

/// Splits `s` on unescaped `sep`, keeping backslash escapes in the pieces.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next()
                && let Some(last) = parts.last_mut()
            {
                last.push('\\');
                last.push(next);
            }
        } else if c == sep {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Subject {
    /// An empty subject.
    pub fn new() -> Self {
        Subject::default()
    }

    /// Parses a subject in OpenSSL's form (`/CN=jane/O=dev/O=ops`, `+` joins attributes of one
    /// RDN) or in RFC 4514 form (`CN=jane,O=dev`, most significant last, as OpenSSL prints
    /// with `-nameopt RFC2253`).
    ///
    /// # Errors
    /// [`CsrError::InvalidSubject`] for a piece without `=` or an empty subject,
    /// [`CsrError::UnknownAttribute`] for an attribute name not known.
    pub fn parse(text: &str) -> Result<Self, CsrError> {
        let invalid = |reason: &str| CsrError::InvalidSubject {
            subject: text.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "/" {
            return Err(invalid("the subject is empty"));
        }
        let (pieces, reverse) = match trimmed.strip_prefix('/') {
            Some(rest) => (split_unescaped(rest, '/'), false),
            None => (split_unescaped(trimmed, ','), true),
        };
        let mut rdns = Vec::new();
        for piece in pieces {
            if piece.trim().is_empty() {
                return Err(invalid("an empty attribute between separators"));
            }
            let mut rdn = Vec::new();
            for part in split_unescaped(&piece, '+') {
                let (name, value) = part
                    .split_once('=')
                    .ok_or_else(|| invalid(&format!("{part:?} is not NAME=VALUE")))?;
                let value = unescape(if reverse { value.trim() } else { value });
                if value.is_empty() {
                    return Err(invalid(&format!("attribute {} has no value", name.trim())));
                }
                rdn.push(NameAttribute {
                    oid: attribute_oid(name)?,
                    value,
                });
            }
            rdns.push(rdn);
        }
        if reverse {
            rdns.reverse();
        }
        Ok(Subject { rdns })
    }

    /// A subject with a common name and organizations, each its own RDN: CN first, as kubeadm
    /// and Go order them (O, then CN in the DER).
    pub fn from_parts<S: AsRef<str>>(common_name: &str, organizations: &[S]) -> Self {
        let mut subject = Subject::new();
        for org in organizations {
            subject.push(O, org.as_ref());
        }
        subject.push(CN, common_name);
        subject
    }

    /// Appends an RDN with one attribute.
    pub fn push(&mut self, oid: ObjectIdentifier, value: &str) -> &mut Self {
        self.rdns.push(vec![NameAttribute {
            oid,
            value: value.to_owned(),
        }]);
        self
    }

    /// A subject of these RDNs, as read (the request rules build it).
    pub(crate) fn from_rdns(rdns: Vec<Vec<NameAttribute>>) -> Self {
        Subject { rdns }
    }

    /// The subject a certificate is written with: every attribute its own RDN, in the order
    /// the attributes were read (a multi-valued RDN flattened in its encoded order, the order
    /// Go reads it in). A multi-valued RDN is a DER SET, which an encoder re-sorts; with one
    /// attribute per RDN nothing is re-sorted, so every reader finds the values, and the
    /// last CN, where the signer found them (issue 20).
    pub fn canonical(&self) -> Subject {
        Subject {
            rdns: self.attributes().map(|a| vec![a.clone()]).collect(),
        }
    }

    /// Reads an X.509 name, leniently: certificates made elsewhere may use any string type
    /// and multi-valued RDNs. Requests are read strictly by [`Csr::from_der`](crate::Csr::from_der).
    ///
    /// # Errors
    /// [`CsrError::Malformed`] for attribute values that are not strings.
    pub fn from_name(name: &Name) -> Result<Self, CsrError> {
        let mut rdns = Vec::new();
        for rdn in name.iter_rdn() {
            let mut attrs = Vec::new();
            for atv in rdn.iter() {
                attrs.push(NameAttribute {
                    oid: atv.oid,
                    value: value_text(&atv.value).ok_or_else(|| {
                        CsrError::Malformed(format!(
                            "name attribute {} is not a string",
                            short_name(&atv.oid)
                        ))
                    })?,
                });
            }
            rdns.push(attrs);
        }
        Ok(Subject { rdns })
    }

    /// Checks every value against RFC 5280's upper bounds (CN, O and OU at most 64 characters,
    /// L and ST 128, DC 63, emailAddress 255, others 32768), but for a CN that names a
    /// Kubernetes node: a node name (up to 253 characters, etcd's certificates) or a kubelet's
    /// `system:node:<node name>` (up to 265). Kubernetes allows node names of 253 characters,
    /// kubeadm issues their certificates, and Go and kube-apiserver put no bound on the CN.
    ///
    /// # Errors
    /// [`CsrError::AttributeTooLong`] naming the first attribute past its bound.
    pub fn check_bounds(&self) -> Result<(), CsrError> {
        for attr in self.attributes() {
            if attr.oid == CN && names_a_node(&attr.value) {
                continue;
            }
            let max = upper_bound(&attr.oid);
            let length = attr.value.chars().count();
            if length > max {
                return Err(CsrError::AttributeTooLong {
                    attribute: attr.short_name(),
                    length,
                    max,
                });
            }
        }
        Ok(())
    }

    /// The X.509 name: UTF8String values, but PrintableString for C (as RFC 5280 requires)
    /// and IA5String for emailAddress and DC.
    ///
    /// # Errors
    /// [`CsrError::AttributeTooLong`] for a value past RFC 5280's upper bound (CN over 64
    /// characters); [`CsrError::InvalidSubject`] for a value its type cannot hold.
    pub fn to_name(&self) -> Result<Name, CsrError> {
        self.check_bounds()?;
        let invalid = |attr: &NameAttribute, reason: &str| CsrError::InvalidSubject {
            subject: self.to_string(),
            reason: format!("{}={:?}: {reason}", attr.short_name(), attr.value),
        };
        let mut seq = RdnSequence::default();
        for rdn in &self.rdns {
            let mut set = SetOfVec::new();
            for attr in rdn {
                let value = if attr.oid == C {
                    if attr.value.len() != 2 {
                        return Err(invalid(attr, "a country is two letters"));
                    }
                    Any::encode_from(
                        &PrintableStringRef::new(&attr.value)
                            .map_err(|_| invalid(attr, "not a printable string"))?,
                    )
                } else if attr.oid == ID_EMAIL_ADDRESS || attr.oid == DOMAIN_COMPONENT {
                    Any::encode_from(
                        &Ia5StringRef::new(&attr.value)
                            .map_err(|_| invalid(attr, "not an IA5 (ASCII) string"))?,
                    )
                } else {
                    Any::encode_from(
                        &Utf8StringRef::new(&attr.value)
                            .map_err(|_| invalid(attr, "not a UTF-8 string"))?,
                    )
                }
                .map_err(|e| invalid(attr, &e.to_string()))?;
                set.insert(AttributeTypeAndValue {
                    oid: attr.oid,
                    value,
                })
                .map_err(|_| invalid(attr, "repeated in one RDN"))?;
            }
            seq.push(RelativeDistinguishedName::from(set));
        }
        let der = seq.to_der().map_err(|e| CsrError::Encode(e.to_string()))?;
        Name::from_der(&der).map_err(|e| CsrError::Encode(e.to_string()))
    }

    /// The RDNs in order, each with its attributes.
    pub fn rdns(&self) -> &[Vec<NameAttribute>] {
        &self.rdns
    }

    /// Every attribute, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &NameAttribute> {
        self.rdns.iter().flatten()
    }

    /// The values of every attribute of type `oid`, in order.
    pub fn values(&self, oid: ObjectIdentifier) -> Vec<&str> {
        self.attributes()
            .filter(|a| a.oid == oid)
            .map(|a| a.value.as_str())
            .collect()
    }

    /// The common name (the last one if there are several, as Go reads it).
    pub fn common_name(&self) -> Option<&str> {
        self.values(CN).last().copied()
    }

    /// Every O value: the Kubernetes groups.
    pub fn organizations(&self) -> Vec<&str> {
        self.values(O)
    }

    /// Every OU value.
    pub fn organizational_units(&self) -> Vec<&str> {
        self.values(OU)
    }

    /// Whether the subject has no attribute at all.
    pub fn is_empty(&self) -> bool {
        self.rdns.iter().all(Vec::is_empty)
    }
}

impl fmt::Display for Subject {
    /// OpenSSL's one-line form: `/O=system:nodes/CN=system:node:a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for rdn in &self.rdns {
            f.write_str("/")?;
            for (i, attr) in rdn.iter().enumerate() {
                if i > 0 {
                    f.write_str("+")?;
                }
                let escaped = attr
                    .value
                    .replace('\\', "\\\\")
                    .replace('/', "\\/")
                    .replace('+', "\\+");
                write!(f, "{}={escaped}", attr.short_name())?;
            }
        }
        Ok(())
    }
}

/// The text of a directory string value, whatever string type it uses.
fn value_text(value: &Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String => Utf8StringRef::new(bytes)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => PrintableStringRef::new(bytes)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => Ia5StringRef::new(bytes).ok().map(|s| s.as_str().to_owned()),
        Tag::TeletexString => TeletexStringRef::new(bytes)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_form_with_repeated_o() {
        let s = Subject::parse("/CN=jane/O=dev/O=ops").unwrap();
        assert_eq!(s.common_name(), Some("jane"));
        assert_eq!(s.organizations(), vec!["dev", "ops"]);
        assert_eq!(s.to_string(), "/CN=jane/O=dev/O=ops");
    }

    #[test]
    fn tutorial_subject_puts_the_group_in_ou() {
        let s = Subject::parse("/CN=kube-admin/OU=system:masters").unwrap();
        assert_eq!(s.organizational_units(), vec!["system:masters"]);
        assert!(s.organizations().is_empty());
    }

    #[test]
    fn rfc4514_form_is_reversed() {
        let s = Subject::parse("CN=jane,O=dev").unwrap();
        assert_eq!(s.to_string(), "/O=dev/CN=jane");
    }

    #[test]
    fn multi_valued_rdn() {
        let s = Subject::parse("/O=a+O=b/CN=x").unwrap();
        assert_eq!(s.rdns()[0].len(), 2);
        assert_eq!(s.organizations(), vec!["a", "b"]);
        let name = s.to_name().unwrap();
        assert_eq!(Subject::from_name(&name).unwrap().organizations().len(), 2);
    }

    #[test]
    fn name_round_trip() {
        let s = Subject::parse("/C=DE/ST=Berlin/CN=jane doe/emailAddress=j@example.com").unwrap();
        let back = Subject::from_name(&s.to_name().unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(
            matches!(Subject::parse("/XX=1"), Err(CsrError::UnknownAttribute { name }) if name == "XX")
        );
        assert!(matches!(
            Subject::parse("/CN"),
            Err(CsrError::InvalidSubject { .. })
        ));
        assert!(matches!(
            Subject::parse(""),
            Err(CsrError::InvalidSubject { .. })
        ));
        assert!(matches!(
            Subject::parse("/C=Germany").unwrap().to_name(),
            Err(CsrError::InvalidSubject { reason, .. }) if reason.contains("two letters")
        ));
    }

    #[test]
    fn escaped_slash_stays_in_the_value() {
        let s = Subject::parse(r"/CN=a\/b").unwrap();
        assert_eq!(s.common_name(), Some("a/b"));
    }
}
