//! Reading certificates: what a CA needs from its own, and what `inspect` shows of any.

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use flagset::FlagSet;
use kubepki_csr::{San, Subject};
use kubepki_keys::pem::{looks_like_pem, pem_blocks};
use kubepki_keys::{PublicKeyKind, signature_algorithm_name};
use kubepki_profile::{Usage, usages_from_cert_bits};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};

use crate::SignError;

/// Splits PEM text (one or more `CERTIFICATE` blocks) or a single DER certificate into DER
/// certificates, in order.
///
/// # Errors
/// [`SignError::WrongPemLabel`] for a PEM block of another kind, [`SignError::Key`] for PEM
/// that does not decode.
pub fn certificates_from_bytes(bytes: &[u8]) -> Result<Vec<Vec<u8>>, SignError> {
    if !looks_like_pem(bytes) {
        return Ok(vec![bytes.to_vec()]);
    }
    let text = core::str::from_utf8(bytes)
        .map_err(|_| SignError::MalformedCertificate("PEM text is not valid UTF-8".to_owned()))?;
    pem_blocks(text)?
        .iter()
        .map(|block| {
            if block.label == "CERTIFICATE" {
                Ok(block.der.clone())
            } else {
                Err(SignError::WrongPemLabel {
                    label: block.label.clone(),
                })
            }
        })
        .collect()
}

/// Parses a DER certificate.
///
/// # Errors
/// [`SignError::MalformedCertificate`] for bytes that are not a DER certificate.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate, SignError> {
    Certificate::from_der(der).map_err(|e| SignError::MalformedCertificate(e.to_string()))
}

/// What a certificate says, in the terms a Kubernetes operator uses.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// The subject.
    pub subject: Subject,
    /// The issuer.
    pub issuer: Subject,
    /// The serial number in hex, upper case, as OpenSSL prints it.
    pub serial: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Subject alternative names of kinds DNS, IP, URI and email.
    pub sans: Vec<San>,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u8>,
    /// KeyUsage bits (empty when the extension is absent).
    pub key_usage: FlagSet<KeyUsages>,
    /// Whether a KeyUsage extension is present at all.
    pub has_key_usage: bool,
    /// ExtendedKeyUsage OIDs.
    pub extended_key_usage: Vec<ObjectIdentifier>,
    /// The usages in Kubernetes' words.
    pub usages: Vec<Usage>,
    /// The public key's kind, e.g. `ECDSA-P256`, or the algorithm OID if unsupported.
    pub public_key: String,
    /// The signature algorithm's name.
    pub signature_algorithm: String,
    /// SubjectKeyIdentifier.
    pub subject_key_id: Option<Vec<u8>>,
    /// AuthorityKeyIdentifier keyIdentifier.
    pub authority_key_id: Option<Vec<u8>>,
    /// Whether subject and issuer are the same name.
    pub self_issued: bool,
}

impl CertificateInfo {
    /// Reads a DER certificate.
    ///
    /// # Errors
    /// [`SignError::MalformedCertificate`] for bytes that do not parse or malformed extensions.
    pub fn from_der(der: &[u8]) -> Result<Self, SignError> {
        Self::from_certificate(&parse_certificate(der)?)
    }

    /// Reads a parsed certificate.
    ///
    /// # Errors
    /// [`SignError::MalformedCertificate`] for malformed names or extensions.
    pub fn from_certificate(cert: &Certificate) -> Result<Self, SignError> {
        let tbs = cert.tbs_certificate();
        let malformed =
            |what: &str, e: der::Error| SignError::MalformedCertificate(format!("{what}: {e}"));
        let basic = tbs
            .get_extension::<BasicConstraints>()
            .map_err(|e| malformed("basicConstraints", e))?;
        let key_usage = tbs
            .get_extension::<KeyUsage>()
            .map_err(|e| malformed("keyUsage", e))?;
        let eku = tbs
            .get_extension::<ExtendedKeyUsage>()
            .map_err(|e| malformed("extendedKeyUsage", e))?
            .map(|(_, eku)| eku.0)
            .unwrap_or_default();
        let sans = tbs
            .get_extension::<SubjectAltName>()
            .map_err(|e| malformed("subjectAltName", e))?
            .map(|(_, names)| names.0.iter().filter_map(San::from_general_name).collect())
            .unwrap_or_default();
        let ski = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(|e| malformed("subjectKeyIdentifier", e))?
            .map(|(_, ski)| ski.0.as_bytes().to_vec());
        let aki = tbs
            .get_extension::<AuthorityKeyIdentifier>()
            .map_err(|e| malformed("authorityKeyIdentifier", e))?
            .and_then(|(_, aki)| aki.key_identifier.map(|k| k.as_bytes().to_vec()));
        let key_usage_bits = key_usage.map(|(_, ku)| ku.0).unwrap_or_default();
        let spki_der = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| malformed("subjectPublicKeyInfo", e))?;
        let public_key = SubjectPublicKeyInfoRef::from_der(&spki_der)
            .ok()
            .and_then(|spki| PublicKeyKind::of(&spki).ok())
            .map_or_else(
                || tbs.subject_public_key_info().algorithm.oid.to_string(),
                PublicKeyKind::describe,
            );
        let serial = tbs
            .serial_number()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Ok(CertificateInfo {
            subject: Subject::from_name(tbs.subject())?,
            issuer: Subject::from_name(tbs.issuer())?,
            serial,
            not_before: tbs.validity().not_before.to_system_time(),
            not_after: tbs.validity().not_after.to_system_time(),
            sans,
            is_ca: basic.as_ref().is_some_and(|(_, bc)| bc.ca),
            path_len: basic.and_then(|(_, bc)| bc.path_len_constraint),
            key_usage: key_usage_bits,
            has_key_usage: key_usage.is_some(),
            usages: usages_from_cert_bits(key_usage_bits, &eku),
            extended_key_usage: eku,
            public_key,
            signature_algorithm: signature_algorithm_name(&cert.signature_algorithm().oid),
            subject_key_id: ski,
            authority_key_id: aki,
            self_issued: tbs.subject() == tbs.issuer(),
        })
    }

    /// The Kubernetes user name: the CN.
    pub fn username(&self) -> Option<&str> {
        self.subject.common_name()
    }

    /// The Kubernetes groups: every O.
    pub fn groups(&self) -> Vec<&str> {
        self.subject.organizations()
    }

    /// Whole days from `now` until NotAfter (negative once expired).
    pub fn days_left(&self, now: SystemTime) -> i64 {
        let seconds = match self.not_after.duration_since(now) {
            Ok(left) => i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            Err(past) => -i64::try_from(past.duration().as_secs()).unwrap_or(i64::MAX),
        };
        seconds.div_euclid(86_400)
    }
}
