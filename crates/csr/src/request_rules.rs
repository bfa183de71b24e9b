//! What a request may hold: the one place where kubepki refuses anything that Go's
//! crypto/x509 (kube-apiserver, kubectl, the Kubernetes approvers) and kubepki could read
//! differently.
//!
//! Issue 20: a signer that decides on its own parsed view and then writes something else can
//! issue a certificate nobody approved. A multi-valued RDN `{CN=worker-2, CN=worker-1}` was
//! read as worker-1 (the last CN, as Go reads it), re-sorted by the DER SET encoder and read
//! back by Go as worker-2; a second `extensionRequest` value that Go, openssl and kubectl never
//! show was signed. So [`Csr::from_der`](crate::Csr::from_der), the parser every issuing path
//! uses, refuses every shape on which two readers can differ, and keeps only values that the
//! certificate writer can write back exactly as read:
//!
//! - subject: one CN at most; a multi-valued RDN only of several O or several OU values (Go's
//!   `pkix.Name.ToRDNSequence` writes several O values as one RDN, so Go-made requests look
//!   like that); values only UTF8String, PrintableString (charset checked) or IA5String, valid,
//!   without control characters, and writable as read (C two printable letters, emailAddress
//!   and DC ASCII);
//! - extensions: at most one `extensionRequest` attribute with exactly one value, no OID twice,
//!   no unknown critical extension;
//! - subjectAltName: not empty; only dNSName, rfc822Name, URI (IA5, and valid as
//!   [`San::dns`], [`San::email`], [`San::uri`] say) and iPAddress (4 or 16 bytes, not an
//!   IPv4-mapped IPv6 address); other kinds refused by name instead of silently dropped.
//!
//! [`Subject::from_name`] stays lenient: it reads certificates made elsewhere.

use core::net::{IpAddr, Ipv6Addr};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519::{C, CN, DOMAIN_COMPONENT, O, OU};
use const_oid::db::rfc5280::{
    ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use const_oid::db::rfc5912::{ID_CE_SUBJECT_ALT_NAME, ID_EXTENSION_REQ};
use der::asn1::{Ia5StringRef, PrintableStringRef};
use der::{Any, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::attr::Attributes;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;
use x509_cert::request::ExtensionReq;

use crate::subject::{ID_EMAIL_ADDRESS, short_name};
use crate::{CsrError, NameAttribute, San, Subject};

/// The extensions kubepki knows. A critical extension outside this list is refused: kubepki
/// does not copy it, but a requester who marks it critical says the certificate means
/// something else without it.
const KNOWN_EXTENSIONS: [ObjectIdentifier; 5] = [
    ID_CE_SUBJECT_ALT_NAME,
    ID_CE_KEY_USAGE,
    ID_CE_EXT_KEY_USAGE,
    ID_CE_BASIC_CONSTRAINTS,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
];

/// A readable name of an extension, or its dotted OID.
pub(crate) fn extension_name(oid: &ObjectIdentifier) -> String {
    match *oid {
        ID_CE_SUBJECT_ALT_NAME => "subjectAltName".to_owned(),
        ID_CE_BASIC_CONSTRAINTS => "basicConstraints".to_owned(),
        ID_CE_KEY_USAGE => "keyUsage".to_owned(),
        ID_CE_EXT_KEY_USAGE => "extendedKeyUsage".to_owned(),
        ID_CE_SUBJECT_KEY_IDENTIFIER => "subjectKeyIdentifier".to_owned(),
        other => other.to_string(),
    }
}

/// Reads a request's subject strictly (see the module documentation).
///
/// # Errors
/// [`CsrError::SubjectStringType`], [`CsrError::SubjectStringInvalid`],
/// [`CsrError::SubjectControlCharacter`], [`CsrError::SubjectValueNotIssuable`] for a value;
/// [`CsrError::MultiValuedRdn`], [`CsrError::SeveralCommonNames`] for the shape.
pub(crate) fn request_subject(name: &Name) -> Result<Subject, CsrError> {
    let mut rdns = Vec::new();
    for rdn in name.iter_rdn() {
        let mut attributes = Vec::new();
        for atv in rdn.iter() {
            attributes.push(NameAttribute {
                oid: atv.oid,
                value: request_value(&atv.oid, &atv.value)?,
            });
        }
        // The DER SET of a multi-valued RDN is sorted by encoding, so the order of its values
        // is the encoder's, not the requester's: which CN is "the" CN would depend on who
        // wrote it last. Several O (or OU) values in one RDN carry no such choice: every O is a
        // group, and Go itself writes them that way.
        if attributes.len() > 1
            && !(attributes.iter().all(|a| a.oid == O) || attributes.iter().all(|a| a.oid == OU))
        {
            let rdn = attributes
                .iter()
                .map(|a| format!("{}={}", a.short_name(), a.value))
                .collect::<Vec<_>>()
                .join("+");
            return Err(CsrError::MultiValuedRdn { rdn });
        }
        rdns.push(attributes);
    }
    let subject = Subject::from_rdns(rdns);
    // Go takes the last CN, openssl's X509_NAME_get_index_by_NID the first: one name only.
    let common_names = subject.values(CN);
    if common_names.len() > 1 {
        return Err(CsrError::SeveralCommonNames {
            count: common_names.len(),
            values: common_names.into_iter().map(str::to_owned).collect(),
        });
    }
    Ok(subject)
}

/// The text of one request subject value, refused unless every reader sees the same text and
/// the certificate can carry it as read.
fn request_value(oid: &ObjectIdentifier, value: &Any) -> Result<String, CsrError> {
    let attribute = short_name(oid);
    let bytes = value.value();
    let invalid = |string_type| CsrError::SubjectStringInvalid {
        attribute: attribute.clone(),
        string_type,
    };
    // TeletexString (Go: bytes as Latin-1-ish text, others: T.61), BMPString and
    // UniversalString (UTF-16/32 that Go and openssl decode differently on bad input) and
    // VisibleString are refused rather than translated.
    let text = match value.tag() {
        Tag::Utf8String => core::str::from_utf8(bytes)
            .map_err(|_| invalid("UTF8String"))?
            .to_owned(),
        Tag::PrintableString => PrintableStringRef::new(bytes)
            .map_err(|_| invalid("PrintableString"))?
            .as_str()
            .to_owned(),
        Tag::Ia5String => Ia5StringRef::new(bytes)
            .map_err(|_| invalid("IA5String"))?
            .as_str()
            .to_owned(),
        other => {
            return Err(CsrError::SubjectStringType {
                attribute,
                found: other.to_string(),
            });
        }
    };
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(CsrError::SubjectControlCharacter {
            attribute,
            value: text,
            code_point: format!("U+{:04X}", u32::from(c)),
        });
    }
    // What the certificate writer (Subject::to_name) cannot write as read is refused here,
    // not found out after approval.
    let not_issuable = |reason| CsrError::SubjectValueNotIssuable {
        attribute: attribute.clone(),
        value: text.clone(),
        reason,
    };
    if *oid == C && (text.len() != 2 || PrintableStringRef::new(&text).is_err()) {
        return Err(not_issuable("a country is two printable letters"));
    }
    if (*oid == ID_EMAIL_ADDRESS || *oid == DOMAIN_COMPONENT) && !text.is_ascii() {
        return Err(not_issuable(
            "it is written as an IA5String, which is ASCII",
        ));
    }
    Ok(text)
}

/// The extensions of a request's single `extensionRequest` attribute, checked.
///
/// # Errors
/// [`CsrError::SeveralExtensionRequests`], [`CsrError::ExtensionRequestValues`],
/// [`CsrError::Malformed`] for a value that is not `Extensions`,
/// [`CsrError::DuplicateExtension`], [`CsrError::UnknownCriticalExtension`].
pub(crate) fn requested_extensions(attributes: &Attributes) -> Result<Vec<Extension>, CsrError> {
    let requests: Vec<_> = attributes
        .iter()
        .filter(|a| a.oid == ID_EXTENSION_REQ)
        .collect();
    // Go's parseCSRExtensions reads the first value of every extensionRequest attribute,
    // openssl's X509_REQ_get_extensions the first attribute only: one attribute, one value.
    let Some(request) = requests.first() else {
        return Ok(Vec::new());
    };
    if requests.len() > 1 {
        return Err(CsrError::SeveralExtensionRequests {
            count: requests.len(),
        });
    }
    if request.values.len() != 1 {
        return Err(CsrError::ExtensionRequestValues {
            count: request.values.len(),
        });
    }
    let mut extensions = Vec::new();
    for value in request.values.iter() {
        let der = value
            .to_der()
            .map_err(|e| CsrError::Malformed(format!("extensionRequest: {e}")))?;
        let requested = ExtensionReq::from_der(&der)
            .map_err(|e| CsrError::Malformed(format!("extensionRequest: {e}")))?;
        extensions.extend(requested.0);
    }
    for (i, extension) in extensions.iter().enumerate() {
        if extensions[..i]
            .iter()
            .any(|e| e.extn_id == extension.extn_id)
        {
            return Err(CsrError::DuplicateExtension {
                extension: format!(
                    "{} ({})",
                    extension_name(&extension.extn_id),
                    extension.extn_id
                ),
            });
        }
        if extension.critical && !KNOWN_EXTENSIONS.contains(&extension.extn_id) {
            return Err(CsrError::UnknownCriticalExtension {
                oid: extension.extn_id.to_string(),
            });
        }
    }
    Ok(extensions)
}

/// The subject alternative names of a request's (single) subjectAltName extension, each
/// exactly as received.
///
/// # Errors
/// [`CsrError::Malformed`] for DER that is not a GeneralNames, [`CsrError::EmptySubjectAltName`],
/// [`CsrError::UnsupportedSanKind`], [`CsrError::InvalidSan`] for a value that is not IA5, an
/// iPAddress not of 4 or 16 bytes or IPv4-mapped, or a name [`San::dns`], [`San::email`] or
/// [`San::uri`] refuses.
pub(crate) fn requested_sans(extensions: &[Extension]) -> Result<Vec<San>, CsrError> {
    let Some(extension) = extensions
        .iter()
        .find(|e| e.extn_id == ID_CE_SUBJECT_ALT_NAME)
    else {
        return Ok(Vec::new());
    };
    let der = extension.extn_value.as_bytes();
    let malformed = |e: der::Error| CsrError::Malformed(format!("subjectAltName: {e}"));
    let names = Any::from_der(der).map_err(malformed)?;
    let mut reader = SliceReader::new(names.value()).map_err(malformed)?;
    let mut sans = Vec::new();
    while !reader.is_finished() {
        let name: Any = reader.decode().map_err(malformed)?;
        sans.push(general_name(&name)?);
    }
    if sans.is_empty() {
        return Err(CsrError::EmptySubjectAltName);
    }
    // The same DER must also be what x509-cert reads (a SEQUENCE, nothing after it), as
    // kubepki reads certificates with it.
    SubjectAltName::from_der(der).map_err(malformed)?;
    Ok(sans)
}

/// One GeneralName, read as Go's crypto/x509 `parseSANExtension` reads it (the IA5 check, the
/// IP length) and checked as kubepki's own constructors check names.
fn general_name(name: &Any) -> Result<San, CsrError> {
    let Tag::ContextSpecific {
        constructed,
        number: TagNumber(number),
    } = name.tag()
    else {
        return Err(CsrError::Malformed(format!(
            "subjectAltName: a {} is not a GeneralName",
            name.tag()
        )));
    };
    let bytes = name.value();
    let ia5 = |kind: &'static str| {
        Ia5StringRef::new(bytes)
            .map(|s| s.as_str())
            .map_err(|_| CsrError::InvalidSan {
                kind,
                value: String::from_utf8_lossy(bytes).into_owned(),
                reason: "not an IA5String (ASCII)",
            })
    };
    let san = match (number, constructed) {
        (0, true) => return Err(CsrError::UnsupportedSanKind { kind: "otherName" }),
        (3, true) => {
            return Err(CsrError::UnsupportedSanKind {
                kind: "x400Address",
            });
        }
        (4, true) => {
            return Err(CsrError::UnsupportedSanKind {
                kind: "directoryName",
            });
        }
        (5, true) => {
            return Err(CsrError::UnsupportedSanKind {
                kind: "ediPartyName",
            });
        }
        (8, false) => {
            return Err(CsrError::UnsupportedSanKind {
                kind: "registeredID",
            });
        }
        (1, false) => {
            let text = ia5("email")?;
            San::email(text)?;
            San::Email(text.to_owned())
        }
        (2, false) => {
            // Checked as San::dns checks, written as received: San::dns would lower-case it,
            // and a certificate whose names differ from the request's (even in case) is not
            // the one that was approved.
            let text = ia5("DNS")?;
            San::dns(text)?;
            San::Dns(text.to_owned())
        }
        (6, false) => {
            let text = ia5("URI")?;
            San::uri(text)?
        }
        (7, false) => ip_address(bytes)?,
        _ => {
            return Err(CsrError::Malformed(format!(
                "subjectAltName: {} is not a GeneralName",
                name.tag()
            )));
        }
    };
    Ok(san)
}

/// An iPAddress: 4 or 16 bytes (Go refuses any other length; kubepki used to drop it), and
/// not an IPv4-mapped IPv6 address, which Go shows as the IPv4 address and kubepki would not.
fn ip_address(bytes: &[u8]) -> Result<San, CsrError> {
    let hex = || bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Ok(San::Ip(IpAddr::from(v4)));
    }
    let Ok(v6) = <[u8; 16]>::try_from(bytes) else {
        return Err(CsrError::InvalidSan {
            kind: "IP",
            value: hex(),
            reason: "an iPAddress is 4 or 16 bytes",
        });
    };
    let v6 = Ipv6Addr::from(v6);
    if v6.to_ipv4_mapped().is_some() {
        return Err(CsrError::InvalidSan {
            kind: "IP",
            value: v6.to_string(),
            reason: "an IPv4-mapped IPv6 address reads as IPv4 in Go: send the 4-byte address",
        });
    }
    Ok(San::Ip(IpAddr::V6(v6)))
}
