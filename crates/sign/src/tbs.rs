//! The to-be-signed certificate, encoded by us: x509-cert 0.3 keeps `TbsCertificate`'s fields
//! private, and its builder would force our [`Signer`] through its own traits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{AnyRef, BitString, GeneralizedTime, UtcTime};
use der::{Decode, Encode, Sequence};
use kubepki_keys::Signer;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::Extensions;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::SignError;

/// TBSCertificate (RFC 5280 4.1), always version 3.
#[derive(Sequence)]
struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Extensions,
}

/// Certificate (RFC 5280 4.1), around the TBSCertificate's DER exactly as it was signed.
#[derive(Sequence)]
struct SignedCertificate<'a> {
    tbs_certificate: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// What goes into one certificate.
pub(crate) struct CertificateFields<'a> {
    pub serial: SerialNumber,
    pub issuer: Name,
    pub subject: Name,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub public_key: &'a SubjectPublicKeyInfoOwned,
    pub extensions: Extensions,
}

/// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds.
pub(crate) fn x509_time(time: SystemTime) -> Result<Time, SignError> {
    let out_of_range = || SignError::TimeOutOfRange(time);
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| out_of_range())?
        .as_secs();
    let whole = Duration::from_secs(seconds);
    let datetime = der::DateTime::from_unix_duration(whole).map_err(|_| out_of_range())?;
    if datetime.year() < 2050 {
        UtcTime::from_date_time(datetime)
            .map(Time::UtcTime)
            .map_err(|_| out_of_range())
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(datetime)))
    }
}

/// Encodes and signs a certificate, returning its DER.
pub(crate) fn sign_certificate(
    fields: CertificateFields<'_>,
    signer: &dyn Signer,
) -> Result<Vec<u8>, SignError> {
    let encode = |e: der::Error| SignError::Encode(e.to_string());
    let algorithm = signer.signature_algorithm();
    let tbs = TbsCertificate {
        version: 2,
        serial_number: fields.serial,
        signature: algorithm.clone(),
        issuer: fields.issuer,
        validity: Validity::new(x509_time(fields.not_before)?, x509_time(fields.not_after)?),
        subject: fields.subject,
        subject_public_key_info: fields.public_key.clone(),
        extensions: fields.extensions,
    };
    let tbs_der = tbs.to_der().map_err(encode)?;
    let signature = signer.sign(&tbs_der)?;
    SignedCertificate {
        // Wrap the signed bytes as they are: encoding the TBS a second time costs as much as
        // the first (der recomputes nested lengths) and could only differ by a bug.
        tbs_certificate: AnyRef::from_der(&tbs_der).map_err(encode)?,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(encode)?,
    }
    .to_der()
    .map_err(encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_past_9999_is_said_in_words() {
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        let err = x509_time(far).unwrap_err();
        assert!(matches!(err, SignError::TimeOutOfRange(_)), "{err}");
        let message = err.to_string();
        assert!(!message.contains("SystemTime"), "{message}");
        assert!(message.starts_with("time around the year 11476 is outside what a certificate can hold (1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z)"), "{message}");
    }
}
