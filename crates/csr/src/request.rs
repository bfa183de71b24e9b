//! PKCS#10 requests: build one with a key, parse one and check its proof of possession.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS;
use const_oid::db::rfc5912::ID_CE_SUBJECT_ALT_NAME;
use der::asn1::{BitString, OctetString, SetOfVec};
use der::{Decode, Encode, Header, Reader, SliceReader};
use kubepki_keys::pem::{looks_like_pem, pem_blocks, pem_encode};
use kubepki_keys::{PublicKey, Signer, verify_signature};
use x509_cert::attr::Attribute;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};

use crate::request_rules::{extension_name, request_subject, requested_extensions, requested_sans};
use crate::{CsrError, San, Subject};

/// The largest request read, DER (PEM text may be twice this): 256 KiB holds a subject at
/// RFC 5280's bounds and hundreds of SANs, and refuses multi-megabyte requests before parsing.
pub const MAX_CSR_BYTES: usize = 256 * 1024;

/// Builds a PKCS#10 request: a subject, SANs, and the key that signs it.
#[derive(Clone, Debug, Default)]
pub struct CsrBuilder {
    subject: Subject,
    sans: Vec<San>,
}

impl CsrBuilder {
    /// A request for `subject`.
    pub fn new(subject: Subject) -> Self {
        CsrBuilder {
            subject,
            sans: Vec::new(),
        }
    }

    /// Adds a subject alternative name.
    pub fn san(mut self, san: San) -> Self {
        if !self.sans.contains(&san) {
            self.sans.push(san);
        }
        self
    }

    /// Adds subject alternative names.
    pub fn sans(mut self, sans: impl IntoIterator<Item = San>) -> Self {
        for san in sans {
            self = self.san(san);
        }
        self
    }

    /// Signs the request with `key`, proving possession of it.
    ///
    /// # Errors
    /// [`CsrError::InvalidSubject`] for a subject that cannot be encoded,
    /// [`CsrError::Signing`] when the key cannot sign, [`CsrError::Encode`] otherwise.
    pub fn build(&self, key: &dyn Signer) -> Result<Csr, CsrError> {
        let encode = |e: der::Error| CsrError::Encode(e.to_string());
        let mut attributes = SetOfVec::new();
        if !self.sans.is_empty() {
            let names = self
                .sans
                .iter()
                .map(San::to_general_name)
                .collect::<Result<Vec<_>, _>>()?;
            let extension = Extension {
                extn_id: ID_CE_SUBJECT_ALT_NAME,
                critical: false,
                extn_value: OctetString::new(SubjectAltName(names).to_der().map_err(encode)?)
                    .map_err(encode)?,
            };
            let attribute = Attribute::try_from(ExtensionReq(vec![extension])).map_err(encode)?;
            attributes.insert(attribute).map_err(encode)?;
        }
        let info = CertReqInfo {
            version: Version::V1,
            subject: self.subject.to_name()?,
            public_key: key.public_key().spki().clone(),
            attributes,
        };
        let info_der = info.to_der().map_err(encode)?;
        let signature = key.sign(&info_der).map_err(CsrError::Signing)?;
        let request = CertReq {
            info,
            algorithm: key.signature_algorithm(),
            signature: BitString::from_bytes(&signature).map_err(encode)?,
        };
        let der = request.to_der().map_err(encode)?;
        Csr::from_der(&der)
    }
}

/// An extension found in a request's extensionRequest attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedExtension {
    /// The extension's OID.
    pub oid: ObjectIdentifier,
    /// Whether the requester marked it critical.
    pub critical: bool,
    /// A readable name of the extension, or the dotted OID.
    pub name: String,
}

/// A parsed PKCS#10 request whose signature has been checked: holding a `Csr` means the
/// requester proved possession of the private key, and the key is of a supported, strong kind.
#[derive(Clone, Debug)]
pub struct Csr {
    der: Vec<u8>,
    request: CertReq,
    subject: Subject,
    sans: Vec<San>,
    extensions: Vec<Extension>,
    public_key: PublicKey,
}

/// The bytes of the CertificationRequestInfo (its whole TLV) inside a request's DER.
fn received_info(der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(der)?;
    Header::decode(&mut reader)?;
    reader.tlv_bytes()
}

impl Csr {
    /// Parses PEM (`CERTIFICATE REQUEST` or the older `NEW CERTIFICATE REQUEST`) or DER, and
    /// checks the proof of possession.
    ///
    /// # Errors
    /// As [`Csr::from_pem`] and [`Csr::from_der`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CsrError> {
        if bytes.len() > 2 * MAX_CSR_BYTES {
            return Err(CsrError::TooLarge {
                size: bytes.len(),
                max: 2 * MAX_CSR_BYTES,
            });
        }
        if looks_like_pem(bytes) {
            let text = core::str::from_utf8(bytes)
                .map_err(|_| CsrError::Malformed("PEM text is not valid UTF-8".to_owned()))?;
            Self::from_pem(text)
        } else {
            Self::from_der(bytes)
        }
    }

    /// Parses the first PEM block, which must be a certificate request.
    ///
    /// # Errors
    /// [`CsrError::Pem`] for text that is not PEM, [`CsrError::WrongPemLabel`] for another
    /// kind of block, else as [`Csr::from_der`].
    pub fn from_pem(pem: &str) -> Result<Self, CsrError> {
        if pem.len() > 2 * MAX_CSR_BYTES {
            return Err(CsrError::TooLarge {
                size: pem.len(),
                max: 2 * MAX_CSR_BYTES,
            });
        }
        let blocks = pem_blocks(pem).map_err(CsrError::Pem)?;
        let block = &blocks[0];
        match block.label.as_str() {
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Self::from_der(&block.der),
            label => Err(CsrError::WrongPemLabel {
                label: label.to_owned(),
            }),
        }
    }

    /// Parses DER, checks the proof of possession, and refuses anything Go's crypto/x509
    /// (what kube-apiserver, kubectl and the Kubernetes approvers read) and kubepki could
    /// read differently. Every issuing path (`kubepki sign`, `sign-batch`, the controllers,
    /// the C ABI and Go) parses requests here, so the rules live here, once.
    ///
    /// The subject and SANs this returns are what a certificate will carry, value for value:
    /// the signer writes only from this view (issue 20).
    ///
    /// # Errors
    /// [`CsrError::TooLarge`] past [`MAX_CSR_BYTES`] (checked first);
    /// [`CsrError::Malformed`] for bytes that do not decode, trailing data, or a malformed
    /// extensionRequest or subjectAltName; [`CsrError::NotDer`] for a request info that is not
    /// in DER form; [`CsrError::UnsupportedVersion`];
    /// the subject rules: [`CsrError::MultiValuedRdn`], [`CsrError::SeveralCommonNames`],
    /// [`CsrError::SubjectStringType`], [`CsrError::SubjectStringInvalid`],
    /// [`CsrError::SubjectControlCharacter`], [`CsrError::SubjectValueNotIssuable`],
    /// [`CsrError::AttributeTooLong`] for a value past RFC 5280's upper bound;
    /// [`CsrError::PublicKey`] for a weak or unsupported key;
    /// [`CsrError::ProofOfPossession`] when the signature does not verify;
    /// the extension rules: [`CsrError::SeveralExtensionRequests`],
    /// [`CsrError::ExtensionRequestValues`], [`CsrError::DuplicateExtension`],
    /// [`CsrError::UnknownCriticalExtension`]; the SAN rules: [`CsrError::EmptySubjectAltName`],
    /// [`CsrError::UnsupportedSanKind`], [`CsrError::InvalidSan`].
    pub fn from_der(der: &[u8]) -> Result<Self, CsrError> {
        if der.len() > MAX_CSR_BYTES {
            return Err(CsrError::TooLarge {
                size: der.len(),
                max: MAX_CSR_BYTES,
            });
        }
        let malformed = |e: der::Error| CsrError::Malformed(e.to_string());
        let request = CertReq::from_der(der).map_err(malformed)?;
        if request.info.version != Version::V1 {
            return Err(CsrError::UnsupportedVersion(request.info.version as u8));
        }
        // Only DER: the DER reader re-sorts a SET it reads (an RDN's values, the attributes),
        // Go keeps the order received, so the two would list several O values in different
        // orders (found by the Go differential test). What was read must encode back to the
        // bytes received.
        let info_der = received_info(der).map_err(malformed)?;
        if request.info.to_der().map_err(malformed)? != info_der {
            return Err(CsrError::NotDer);
        }
        // The subject first: cheaper than the signature, and what a huge CN trips.
        let subject = request_subject(&request.info.subject)?;
        subject.check_bounds()?;
        let public_key =
            PublicKey::from_spki(request.info.public_key.clone()).map_err(CsrError::PublicKey)?;
        // The signature covers the CertificationRequestInfo as received (equal, checked
        // above, to what we would encode).
        let signature = request.signature.as_bytes().ok_or_else(|| {
            CsrError::Malformed("the signature bit string has unused bits".to_owned())
        })?;
        verify_signature(public_key.spki(), &request.algorithm, info_der, signature)
            .map_err(CsrError::ProofOfPossession)?;

        let extensions = requested_extensions(&request.info.attributes)?;
        let sans = requested_sans(&extensions)?;
        Ok(Csr {
            der: der.to_vec(),
            request,
            subject,
            sans,
            extensions,
            public_key,
        })
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM `CERTIFICATE REQUEST`.
    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE REQUEST", &self.der)
    }

    /// The parsed request.
    pub fn request(&self) -> &CertReq {
        &self.request
    }

    /// The subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The subject alternative names (DNS, IP, URI and email: a request with any other kind
    /// is refused), each exactly as received and in the order received.
    pub fn sans(&self) -> &[San] {
        &self.sans
    }

    /// The requester's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The Kubernetes user name the request asks for: the CN.
    pub fn username(&self) -> Option<&str> {
        self.subject.common_name()
    }

    /// The Kubernetes groups the request asks for: every O value.
    pub fn groups(&self) -> Vec<&str> {
        self.subject.organizations()
    }

    /// The extensions requested in the extensionRequest attribute (a signer decides what to
    /// honour: kubepki takes only the SANs, as its profile allows).
    pub fn requested_extensions(&self) -> Vec<RequestedExtension> {
        self.extensions
            .iter()
            .map(|e| RequestedExtension {
                oid: e.extn_id,
                critical: e.critical,
                name: extension_name(&e.extn_id),
            })
            .collect()
    }

    /// Whether the request asks for a CA certificate (basicConstraints cA TRUE).
    pub fn requests_ca(&self) -> bool {
        self.extensions
            .iter()
            .filter(|e| e.extn_id == ID_CE_BASIC_CONSTRAINTS)
            .filter_map(|e| {
                x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes()).ok()
            })
            .any(|bc| bc.ca)
    }

    /// Warnings about the request that are not errors, e.g. a group name in OU, where
    /// Kubernetes will not see it.
    pub fn warnings(&self) -> Vec<String> {
        group_in_ou_warnings(&self.subject)
    }
}

/// Warnings for OU values that look like Kubernetes groups (`system:masters`): Kubernetes reads
/// groups from O only.
pub fn group_in_ou_warnings(subject: &Subject) -> Vec<String> {
    subject
        .organizational_units()
        .into_iter()
        .filter(|ou| ou.contains(':'))
        .map(|ou| {
            format!(
                "OU={ou} looks like a Kubernetes group, but Kubernetes reads groups from O only: use O={ou}"
            )
        })
        .collect()
}

#[cfg(test)]
mod bounds_tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use der::asn1::BitString;
    use kubepki_keys::{KeyAlgorithm, KeyPair};
    use x509_cert::name::Name;
    use x509_cert::spki::AlgorithmIdentifierOwned;

    use super::*;

    /// A request whose subject is `subject` (RFC 4514), signed with garbage: the bounds are
    /// checked before the signature.
    fn request_with(subject: &str) -> Vec<u8> {
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let info = CertReqInfo {
            version: Version::V1,
            subject: Name::from_str(subject).unwrap(),
            public_key: key.public_key().spki().clone(),
            attributes: SetOfVec::new(),
        };
        CertReq {
            info,
            algorithm: AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
                parameters: None,
            },
            signature: BitString::from_bytes(&[0; 8]).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn a_common_name_past_64_characters_is_refused() {
        let der = request_with(&format!("CN={}", "a".repeat(5000)));
        let err = Csr::from_der(&der).unwrap_err();
        assert!(
            matches!(&err, CsrError::AttributeTooLong { attribute, length: 5000, max: 64 } if attribute == "CN"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "subject attribute CN is 5000 characters long, more than RFC 5280's upper bound of 64"
        );
        let err = Csr::from_der(&request_with(&format!("O={}", "o".repeat(65)))).unwrap_err();
        assert!(
            matches!(err, CsrError::AttributeTooLong { max: 64, .. }),
            "{err}"
        );
        // At the bound the subject passes and the (garbage) signature is what fails.
        let err = Csr::from_der(&request_with(&format!("CN={}", "a".repeat(64)))).unwrap_err();
        assert!(matches!(err, CsrError::ProofOfPossession(_)), "{err}");
    }

    #[test]
    fn a_huge_request_is_refused_before_parsing() {
        let err = Csr::from_der(&vec![0x30; MAX_CSR_BYTES + 1]).unwrap_err();
        assert!(
            matches!(
                err,
                CsrError::TooLarge {
                    max: MAX_CSR_BYTES,
                    ..
                }
            ),
            "{err}"
        );
        let err = Csr::from_bytes(&vec![b'-'; 3 * MAX_CSR_BYTES]).unwrap_err();
        assert!(matches!(err, CsrError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn building_refuses_a_long_common_name() {
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let err = CsrBuilder::new(Subject::from_parts(&"x".repeat(65), &[] as &[&str]))
            .build(&key)
            .unwrap_err();
        assert!(
            matches!(err, CsrError::AttributeTooLong { length: 65, .. }),
            "{err}"
        );
    }

    /// Issue 24: a kubelet of a node with the longest name Kubernetes allows (253
    /// characters) asks for `system:node:<name>`, 265 characters: built and read back. One
    /// character more is no node name, and RFC 5280's bound applies.
    #[test]
    fn a_kubelet_of_the_longest_node_name_gets_its_request() {
        let label = "a".repeat(63);
        let node = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let cn = format!("system:node:{node}");
        let csr = CsrBuilder::new(Subject::from_parts(&cn, &["system:nodes"]))
            .build(&key)
            .unwrap();
        let parsed = Csr::from_der(csr.to_der()).unwrap();
        assert_eq!(parsed.subject().common_name(), Some(cn.as_str()));
        let err = CsrBuilder::new(Subject::from_parts(&format!("{cn}c"), &[] as &[&str]))
            .build(&key)
            .unwrap_err();
        assert!(
            matches!(
                err,
                CsrError::AttributeTooLong {
                    length: 266,
                    max: 64,
                    ..
                }
            ),
            "{err}"
        );
    }
}
