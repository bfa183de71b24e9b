//! A parsed certificate with the extensions path validation needs, decoded once.

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Header, Reader, SliceReader, Tag};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage,
    KeyUsage, NameConstraints, SubjectAltName, SubjectKeyIdentifier,
};

use kubepki_keys::pem::pem_block_results;
use kubepki_keys::{KeyError, VerifyingKey};

use crate::VerifyError;

/// Object identifiers this crate looks at.
pub(crate) mod oids {
    use const_oid::ObjectIdentifier as Oid;

    pub(crate) const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
    pub(crate) const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
    pub(crate) const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
    pub(crate) const SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
    pub(crate) const ISSUER_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.18");
    pub(crate) const NAME_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.30");
    pub(crate) const AUTHORITY_KEY_ID: Oid = Oid::new_unwrap("2.5.29.35");
    pub(crate) const SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
    pub(crate) const CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
    pub(crate) const CRL_DISTRIBUTION_POINTS: Oid = Oid::new_unwrap("2.5.29.31");
    pub(crate) const AUTHORITY_INFO_ACCESS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.1");
    pub(crate) const SCT_LIST: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

    pub(crate) const ANY_EKU: Oid = Oid::new_unwrap("2.5.29.37.0");
    pub(crate) const SERVER_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.1");
    pub(crate) const CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");

    pub(crate) const COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
    pub(crate) const ORGANIZATION: Oid = Oid::new_unwrap("2.5.4.10");
    pub(crate) const EMAIL_ADDRESS: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");
}

/// A certificate parsed and structurally checked once, ready for path building.
///
/// Parsing checks what does not depend on the certificate's place in a path:
/// canonical DER, version, matching signature algorithms, extensions that decode,
/// no duplicate extensions and no unknown critical ones.
#[derive(Clone, Debug)]
pub struct Cert {
    der: Vec<u8>,
    pub(crate) cert: Certificate,
    /// Where the TBSCertificate, the issuer and subject names and the SPKI sit in `der`:
    /// path building compares and hashes these bytes as received.
    parts: Parts,
    /// The subject as text, made the first time an error or a caller asks for it.
    subject: OnceLock<String>,
    /// The public key, decoded the first time it checks a signature: a trust anchor loaded
    /// once decodes its key once, however many paths end at it.
    key: OnceLock<VerifyingKey>,
    pub(crate) not_before: Duration,
    pub(crate) not_after: Duration,
    pub(crate) basic: Option<BasicConstraints>,
    pub(crate) key_usage: Option<KeyUsage>,
    pub(crate) eku: Option<Vec<ObjectIdentifier>>,
    pub(crate) san: Option<Vec<GeneralName>>,
    pub(crate) name_constraints: Option<NameConstraints>,
    pub(crate) aki: Option<Vec<u8>>,
    /// The full authorityKeyIdentifier, for the CA/Browser Forum checks.
    pub(crate) aki_ext: Option<AuthorityKeyIdentifier>,
    pub(crate) ski: Option<Vec<u8>>,
    pub(crate) basic_critical: bool,
    pub(crate) san_critical: bool,
    pub(crate) eku_critical: bool,
}

/// Byte ranges of a certificate's parts inside its DER encoding.
#[derive(Clone, Debug)]
struct Parts {
    tbs: Range<usize>,
    issuer: Range<usize>,
    subject: Range<usize>,
    spki: Range<usize>,
}

impl Parts {
    /// Walks the TLVs of a certificate already known to be canonical DER (it decoded and
    /// re-encoded to the same bytes), so that nothing needs encoding again.
    fn locate(der: &[u8]) -> der::Result<Self> {
        let mut outer = SliceReader::new(der)?;
        Header::decode(&mut outer)?;
        let tbs_start = u32::from(outer.position()) as usize;
        let tbs = outer.tlv_bytes()?;
        let mut reader = SliceReader::new(tbs)?;
        Header::decode(&mut reader)?;
        let version = Tag::ContextSpecific {
            constructed: true,
            number: der::TagNumber(0),
        };
        if Tag::peek(&reader)? == version {
            reader.tlv_bytes()?;
        }
        reader.tlv_bytes()?; // serialNumber
        reader.tlv_bytes()?; // signature
        let next = |reader: &mut SliceReader<'_>| -> der::Result<Range<usize>> {
            let start = tbs_start + u32::from(reader.position()) as usize;
            let len = reader.tlv_bytes()?.len();
            Ok(start..start + len)
        };
        let issuer = next(&mut reader)?;
        next(&mut reader)?; // validity
        let subject = next(&mut reader)?;
        let spki = next(&mut reader)?;
        Ok(Parts {
            tbs: tbs_start..tbs_start + tbs.len(),
            issuer,
            subject,
            spki,
        })
    }
}

impl Cert {
    /// Parses one DER-encoded certificate.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] or [`VerifyError::NotDer`] for bad encodings, and
    /// the structural errors listed on [`Cert`] ([`VerifyError::DuplicateExtension`],
    /// [`VerifyError::UnknownCriticalExtension`], [`VerifyError::MalformedExtension`],
    /// [`VerifyError::BadVersion`], [`VerifyError::SignatureAlgorithmMismatch`]).
    pub fn from_der(der: &[u8]) -> Result<Self, VerifyError> {
        let cert =
            Certificate::from_der(der).map_err(|source| VerifyError::Malformed { source })?;
        let reencoded = cert
            .to_der()
            .map_err(|source| VerifyError::Malformed { source })?;
        if reencoded != der {
            return Err(VerifyError::NotDer);
        }
        let parts = Parts::locate(der).map_err(|source| VerifyError::Malformed { source })?;
        let validity = cert.tbs_certificate().validity();
        let not_before = validity.not_before.to_unix_duration();
        let not_after = validity.not_after.to_unix_duration();

        let mut out = Cert {
            der: reencoded,
            cert,
            parts,
            subject: OnceLock::new(),
            key: OnceLock::new(),
            not_before,
            not_after,
            basic: None,
            key_usage: None,
            eku: None,
            san: None,
            name_constraints: None,
            aki: None,
            aki_ext: None,
            ski: None,
            basic_critical: false,
            san_critical: false,
            eku_critical: false,
        };
        out.check_structure()?;
        Ok(out)
    }

    /// Parses one PEM `CERTIFICATE` block.
    ///
    /// # Errors
    /// [`VerifyError::Pem`] or [`VerifyError::PemLabel`] when the text is not a
    /// certificate PEM block, then whatever [`Cert::from_der`] reports.
    pub fn from_pem(pem: &[u8]) -> Result<Self, VerifyError> {
        let (label, der) = der::pem::decode_vec(pem).map_err(|e| VerifyError::Pem {
            source: der::Error::from(e),
        })?;
        Self::from_labelled_der(label, &der)
    }

    /// Parses every PEM block of a bundle, one result per block, in order, as
    /// [`kubepki_keys::pem::pem_block_results`] splits it: a block that does not decode is
    /// [`VerifyError::PemBlock`], a block with another label [`VerifyError::PemLabel`].
    /// Text outside the blocks is ignored.
    #[must_use]
    pub fn from_pem_bundle(pem: &[u8]) -> Vec<Result<Self, VerifyError>> {
        let text = String::from_utf8_lossy(pem);
        pem_block_results(&text)
            .map(|block| {
                let block = block.map_err(|e| VerifyError::PemBlock {
                    source: Arc::new(e),
                })?;
                Self::from_labelled_der(&block.label, &block.der)
            })
            .collect()
    }

    /// A certificate from a PEM block's label and bytes.
    fn from_labelled_der(label: &str, der: &[u8]) -> Result<Self, VerifyError> {
        if label != "CERTIFICATE" {
            return Err(VerifyError::PemLabel {
                label: label.to_owned(),
            });
        }
        Self::from_der(der)
    }

    /// The certificate's DER encoding.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The subject as an RFC 4514 string.
    #[must_use]
    pub fn subject(&self) -> &str {
        self.subject
            .get_or_init(|| self.cert.tbs_certificate().subject().to_string())
    }

    /// The DER of the TBSCertificate, as signed.
    pub(crate) fn tbs_der(&self) -> &[u8] {
        &self.der[self.parts.tbs.clone()]
    }

    /// The DER of the subject name.
    pub(crate) fn subject_der(&self) -> &[u8] {
        &self.der[self.parts.subject.clone()]
    }

    /// The DER of the issuer name.
    pub(crate) fn issuer_der(&self) -> &[u8] {
        &self.der[self.parts.issuer.clone()]
    }

    /// The DER of the subjectPublicKeyInfo.
    pub(crate) fn spki_der(&self) -> &[u8] {
        &self.der[self.parts.spki.clone()]
    }

    /// Whether subject and issuer are the same name (RFC 5280 "self-issued").
    pub(crate) fn is_self_issued(&self) -> bool {
        self.subject_der() == self.issuer_der()
    }

    /// Whether the certificate is self-issued and its signature verifies with its own key.
    pub(crate) fn is_self_signed(&self) -> bool {
        self.is_self_issued() && self.verify_signature_of(self).is_ok()
    }

    /// Checks `child`'s signature with this certificate's public key.
    pub(crate) fn verify_signature_of(&self, child: &Cert) -> Result<(), KeyError> {
        let key = match self.key.get() {
            Some(key) => key,
            None => {
                let spki = self.cert.tbs_certificate().subject_public_key_info();
                let decoded = VerifyingKey::from_spki(spki)?;
                self.key.get_or_init(|| decoded)
            }
        };
        key.verify(
            child.cert.signature_algorithm(),
            child.tbs_der(),
            child.cert.signature().as_bytes().unwrap_or(&[]),
        )
    }

    /// Whether basicConstraints says cA=TRUE.
    pub(crate) fn is_ca(&self) -> bool {
        self.basic.as_ref().is_some_and(|b| b.ca)
    }

    fn check_structure(&mut self) -> Result<(), VerifyError> {
        let tbs = self.cert.tbs_certificate();
        // Errors are rare: the subject text is only made for one.
        let name = || tbs.subject().to_string();
        let version = match tbs.version() {
            x509_cert::certificate::Version::V1 => 1,
            x509_cert::certificate::Version::V2 => 2,
            x509_cert::certificate::Version::V3 => 3,
        };
        if version < 2 && (tbs.issuer_unique_id().is_some() || tbs.subject_unique_id().is_some()) {
            return Err(VerifyError::BadVersion {
                subject: name(),
                version,
                field: "unique identifiers",
            });
        }
        if version < 3 && tbs.extensions().is_some() {
            return Err(VerifyError::BadVersion {
                subject: name(),
                version,
                field: "extensions",
            });
        }
        if tbs.signature() != self.cert.signature_algorithm() {
            return Err(VerifyError::SignatureAlgorithmMismatch {
                subject: name(),
                inner: tbs.signature().oid,
                outer: self.cert.signature_algorithm().oid,
            });
        }
        let Some(exts) = tbs.extensions() else {
            return Ok(());
        };
        let mut seen: Vec<ObjectIdentifier> = Vec::with_capacity(exts.len());
        for ext in exts {
            if seen.contains(&ext.extn_id) {
                return Err(VerifyError::DuplicateExtension {
                    subject: name(),
                    oid: ext.extn_id,
                });
            }
            seen.push(ext.extn_id);
            let value = ext.extn_value.as_bytes();
            let malformed = |source| VerifyError::MalformedExtension {
                subject: name(),
                oid: ext.extn_id,
                source,
            };
            let invalid = |reason| VerifyError::InvalidExtension {
                subject: name(),
                oid: ext.extn_id,
                reason,
            };
            match ext.extn_id {
                oids::BASIC_CONSTRAINTS => {
                    let bc = BasicConstraints::from_der(value).map_err(malformed)?;
                    if !bc.ca && bc.path_len_constraint.is_some() {
                        return Err(invalid("pathLenConstraint is set but cA is false"));
                    }
                    self.basic = Some(bc);
                    self.basic_critical = ext.critical;
                }
                oids::KEY_USAGE => {
                    let ku = KeyUsage::from_der(value).map_err(malformed)?;
                    if ku.0.is_empty() {
                        return Err(invalid("keyUsage has no bit set"));
                    }
                    self.key_usage = Some(ku);
                }
                oids::EXT_KEY_USAGE => {
                    let eku = ExtendedKeyUsage::from_der(value).map_err(malformed)?;
                    if eku.0.is_empty() {
                        return Err(invalid("extendedKeyUsage is empty"));
                    }
                    self.eku = Some(eku.0);
                    self.eku_critical = ext.critical;
                }
                oids::SUBJECT_ALT_NAME => {
                    let san = SubjectAltName::from_der(value).map_err(malformed)?;
                    if san.0.is_empty() {
                        return Err(invalid("subjectAltName is empty"));
                    }
                    self.san = Some(san.0);
                    self.san_critical = ext.critical;
                }
                oids::NAME_CONSTRAINTS => {
                    let nc = NameConstraints::from_der(value).map_err(malformed)?;
                    if nc.permitted_subtrees.is_none() && nc.excluded_subtrees.is_none() {
                        return Err(invalid(
                            "nameConstraints has neither permitted nor excluded subtrees",
                        ));
                    }
                    let empty = |t: &Option<Vec<_>>| t.as_ref().is_some_and(Vec::is_empty);
                    if empty(&nc.permitted_subtrees) || empty(&nc.excluded_subtrees) {
                        return Err(invalid("nameConstraints has an empty list of subtrees"));
                    }
                    let mut subtrees = nc
                        .permitted_subtrees
                        .iter()
                        .chain(&nc.excluded_subtrees)
                        .flatten();
                    if subtrees.any(|t| t.minimum != 0 || t.maximum.is_some()) {
                        return Err(invalid("nameConstraints subtree has a minimum or maximum"));
                    }
                    self.name_constraints = Some(nc);
                }
                oids::AUTHORITY_KEY_ID => {
                    let aki = AuthorityKeyIdentifier::from_der(value).map_err(malformed)?;
                    if ext.critical {
                        return Err(invalid("authorityKeyIdentifier must not be critical"));
                    }
                    self.aki = aki.key_identifier.as_ref().map(|k| k.as_bytes().to_vec());
                    self.aki_ext = Some(aki);
                }
                oids::SUBJECT_KEY_ID => {
                    let ski = SubjectKeyIdentifier::from_der(value).map_err(malformed)?;
                    if ext.critical {
                        return Err(invalid("subjectKeyIdentifier must not be critical"));
                    }
                    self.ski = Some(ski.0.as_bytes().to_vec());
                }
                oids::AUTHORITY_INFO_ACCESS => {
                    let aia = AuthorityInfoAccessSyntax::from_der(value).map_err(malformed)?;
                    if aia.0.is_empty() {
                        return Err(invalid("authorityInfoAccess is empty"));
                    }
                    if ext.critical {
                        return Err(invalid("authorityInfoAccess must not be critical"));
                    }
                }
                oids::CERTIFICATE_POLICIES
                | oids::CRL_DISTRIBUTION_POINTS
                | oids::SCT_LIST
                | oids::ISSUER_ALT_NAME
                    if ext.critical && ext.extn_id != oids::CERTIFICATE_POLICIES =>
                {
                    return Err(VerifyError::UnknownCriticalExtension {
                        subject: name(),
                        oid: ext.extn_id,
                    });
                }
                oid if ext.critical => {
                    return Err(VerifyError::UnknownCriticalExtension {
                        subject: name(),
                        oid,
                    });
                }
                _ => {}
            }
        }
        let subject_empty = self.cert.tbs_certificate().subject().is_empty();
        if subject_empty && self.san.is_none() {
            return Err(VerifyError::InvalidExtension {
                subject: name(),
                oid: oids::SUBJECT_ALT_NAME,
                reason: "the subject is empty and there is no subjectAltName",
            });
        }
        if subject_empty && !self.san_critical {
            return Err(VerifyError::InvalidExtension {
                subject: name(),
                oid: oids::SUBJECT_ALT_NAME,
                reason: "the subject is empty and subjectAltName is not critical",
            });
        }
        if self.key_usage.as_ref().is_some_and(KeyUsage::key_cert_sign) && !self.is_ca() {
            return Err(VerifyError::InvalidExtension {
                subject: name(),
                oid: oids::KEY_USAGE,
                reason: "keyCertSign is set but basicConstraints cA is not",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_block_of_a_bundle_is_named_and_does_not_hide_the_others() {
        let bundle = concat!(
            "junk before\n",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\nAQID\n",
        );
        let results = Cert::from_pem_bundle(bundle.as_bytes());
        assert_eq!(results.len(), 4);
        match &results[0] {
            Err(e @ VerifyError::PemBlock { .. }) => assert!(
                e.to_string().starts_with(
                    "not a PEM certificate: malformed PEM: CERTIFICATE block: invalid Base64"
                ),
                "{e}"
            ),
            other => panic!("expected PemBlock, got {other:?}"),
        }
        assert!(
            matches!(&results[1], Err(VerifyError::PemLabel { label }) if label == "PRIVATE KEY"),
            "{:?}",
            results[1]
        );
        assert!(
            matches!(&results[2], Err(VerifyError::Malformed { .. })),
            "{:?}",
            results[2]
        );
        match &results[3] {
            Err(e @ VerifyError::PemBlock { .. }) => {
                assert!(
                    e.to_string()
                        .contains("no END line for the CERTIFICATE block"),
                    "{e}"
                );
            }
            other => panic!("expected PemBlock, got {other:?}"),
        }
        assert!(Cert::from_pem_bundle(b"no PEM here").is_empty());
    }
}
