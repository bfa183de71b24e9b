//! The one error type of this crate.

use kubepki_keys::KeyError;

/// Everything that can go wrong building, parsing or checking a request.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    /// A subject string that does not parse.
    #[error("invalid subject {subject:?}: {reason}")]
    InvalidSubject {
        /// The subject as given.
        subject: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A subject attribute value longer than RFC 5280's upper bound for its type.
    #[error(
        "subject attribute {attribute} is {length} characters long, more than RFC 5280's upper bound of {max}"
    )]
    AttributeTooLong {
        /// The attribute's short name (`CN`, `O`, …) or dotted OID.
        attribute: String,
        /// The value's length in characters.
        length: usize,
        /// The bound.
        max: usize,
    },
    /// A node name that is not a Kubernetes node name (a DNS-1123 subdomain of at most 253
    /// characters).
    #[error(
        "invalid node name {name:?}: {reason} (a node name is a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' and '.')"
    )]
    InvalidNodeName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request larger than [`MAX_CSR_BYTES`](crate::MAX_CSR_BYTES).
    #[error("certificate request of {size} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// Its size (DER, or PEM text).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An attribute name in a subject that is not known.
    #[error(
        "unknown subject attribute {name:?} (use CN, O, OU, C, ST, L, DC, emailAddress, serialNumber or a dotted OID)"
    )]
    UnknownAttribute {
        /// The name given.
        name: String,
    },
    /// A subject alternative name that is not valid for its type.
    #[error("invalid {kind} subject alternative name {value:?}: {reason}")]
    InvalidSan {
        /// DNS, IP, URI or email.
        kind: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A PEM block whose label is not a certificate request.
    #[error("PEM label {label:?} is not a certificate request (expected CERTIFICATE REQUEST)")]
    WrongPemLabel {
        /// The label found.
        label: String,
    },
    /// Bytes that are not a DER PKCS#10 request.
    #[error("malformed certificate request: {0}")]
    Malformed(String),
    /// A request whose version is not v1 (0).
    #[error("certificate request version {0} is not 1")]
    UnsupportedVersion(u8),
    /// The request's self-signature does not verify: the sender did not prove possession of
    /// the private key.
    #[error("proof of possession failed: the request's signature does not verify ({0})")]
    ProofOfPossession(KeyError),
    /// The request's public key is refused (weak, unsupported).
    #[error("request public key refused: {0}")]
    PublicKey(KeyError),
    /// Signing the request failed.
    #[error("cannot sign the request: {0}")]
    Signing(KeyError),
    /// PEM input that does not decode.
    #[error("{0}")]
    Pem(KeyError),
    /// Encoding the request failed.
    #[error("cannot encode the request: {0}")]
    Encode(String),
    /// A CertificationRequestInfo that is not in DER form: the DER reader sorts a SET it
    /// reads, Go keeps the received order, so the two would list its values differently.
    #[error(
        "the request is not DER: its certificationRequestInfo encodes differently once read (a SET out of order?)"
    )]
    NotDer,
    /// A request RDN with several attributes that are not all O or all OU: a DER SET is
    /// re-sorted when encoded, so which value a reader takes "last" depends on the encoder.
    #[error(
        "multi-valued RDN {rdn} is refused: only several O or several OU values may share an RDN"
    )]
    MultiValuedRdn {
        /// The RDN as OpenSSL prints it, e.g. `CN=system:node:a+CN=system:node:b`.
        rdn: String,
    },
    /// A request subject with more than one CN: Go takes the last, others the first.
    #[error("the subject has {count} CN values {values:?}: a request may name one user")]
    SeveralCommonNames {
        /// How many CN values.
        count: usize,
        /// The values, in the order they were read.
        values: Vec<String>,
    },
    /// A request subject value of an ASN.1 type other than UTF8String, PrintableString or
    /// IA5String (BMPString, TeletexString, UniversalString, VisibleString, a number, …).
    #[error(
        "subject attribute {attribute} is a {found}: only UTF8String, PrintableString or IA5String values are accepted"
    )]
    SubjectStringType {
        /// The attribute's short name or dotted OID.
        attribute: String,
        /// The ASN.1 type found.
        found: String,
    },
    /// A request subject value whose bytes are not valid for its string type.
    #[error("subject attribute {attribute} is not a valid {string_type}")]
    SubjectStringInvalid {
        /// The attribute's short name or dotted OID.
        attribute: String,
        /// The declared string type.
        string_type: &'static str,
    },
    /// A request subject value that holds a control character (U+0000–U+001F, U+007F–U+009F).
    #[error("subject attribute {attribute} value {value:?} holds control character {code_point}")]
    SubjectControlCharacter {
        /// The attribute's short name or dotted OID.
        attribute: String,
        /// The value.
        value: String,
        /// The character, as `U+0000`.
        code_point: String,
    },
    /// A request subject value that the certificate could not carry as read (C not two
    /// printable letters, emailAddress or DC not ASCII).
    #[error("subject attribute {attribute} value {value:?} cannot be issued: {reason}")]
    SubjectValueNotIssuable {
        /// The attribute's short name or dotted OID.
        attribute: String,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// More than one extensionRequest attribute: readers disagree on which one counts.
    #[error("the request has {count} extensionRequest attributes: at most one is allowed")]
    SeveralExtensionRequests {
        /// How many.
        count: usize,
    },
    /// An extensionRequest attribute with other than exactly one value: Go, openssl and
    /// kubectl read only the first.
    #[error("the extensionRequest attribute has {count} values: exactly one is allowed")]
    ExtensionRequestValues {
        /// How many values it has.
        count: usize,
    },
    /// The same extension requested twice.
    #[error("extension {extension} is requested more than once")]
    DuplicateExtension {
        /// Its name and OID, e.g. `subjectAltName (2.5.29.17)`.
        extension: String,
    },
    /// A critical extension kubepki does not know: a reader that honours it would see a
    /// certificate other than the one kubepki decided on.
    #[error("unknown critical extension {oid} is refused")]
    UnknownCriticalExtension {
        /// Its OID.
        oid: String,
    },
    /// A subjectAltName with no name in it.
    #[error("the subjectAltName extension is empty")]
    EmptySubjectAltName,
    /// A GeneralName of a kind kubepki does not sign (dropping it silently would issue
    /// something other than what was asked and shown).
    #[error("subjectAltName holds an {kind}: kubepki signs only DNS, IP, URI and email names")]
    UnsupportedSanKind {
        /// otherName, x400Address, directoryName, ediPartyName or registeredID.
        kind: &'static str,
    },
}
