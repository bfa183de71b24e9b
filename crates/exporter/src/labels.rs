//! A certificate's labels, as enix's exporter sets them.

use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519;
use kubepki_csr::Subject;
use kubepki_sign::parse_certificate;

use crate::read::Reason;

/// The name attributes enix makes labels of, with their label suffix, in its order.
const NAME_FIELDS: [(&str, ObjectIdentifier); 6] = [
    ("C", rfc4519::COUNTRY_NAME),
    ("ST", rfc4519::ST),
    ("L", rfc4519::L),
    ("O", rfc4519::O),
    ("OU", rfc4519::OU),
    ("CN", rfc4519::CN),
];

/// One certificate: its labels and validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSeries {
    /// enix's labels, name and value, those with an empty value left out.
    pub labels: Vec<(String, String)>,
    /// NotBefore.
    pub not_before: SystemTime,
    /// NotAfter.
    pub not_after: SystemTime,
}

impl CertSeries {
    /// The value of a label, if it is set.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where a certificate was found: the file (labelled as the path watched, a symlink's own
/// path) and, for a kubeconfig file, the entry it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The path watched.
    pub(crate) path: String,
    /// `cluster` or `user` (enix's `embedded_kind`) and the entry's name (`embedded_key`).
    pub(crate) embedded: Option<(&'static str, String)>,
}

/// The series of one DER certificate found at `origin`.
pub(crate) fn series(der: &[u8], origin: &Origin) -> Result<CertSeries, (Reason, String)> {
    let bad = |e: &dyn std::fmt::Display| (Reason::BadPem, e.to_string());
    let cert = parse_certificate(der).map_err(|e| bad(&e))?;
    let tbs = cert.tbs_certificate();
    let subject = Subject::from_name(tbs.subject()).map_err(|e| bad(&e))?;
    let issuer = Subject::from_name(tbs.issuer()).map_err(|e| bad(&e))?;
    let filename = std::path::Path::new(&origin.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut labels = vec![
        ("filename".to_owned(), filename),
        ("filepath".to_owned(), origin.path.clone()),
    ];
    if let Some((kind, key)) = &origin.embedded {
        labels.push(("embedded_kind".to_owned(), (*kind).to_owned()));
        labels.push(("embedded_key".to_owned(), key.clone()));
    }
    labels.push((
        "serial_number".to_owned(),
        decimal(tbs.serial_number().as_bytes()),
    ));
    name_labels("subject", &subject, &mut labels);
    name_labels("issuer", &issuer, &mut labels);
    labels.retain(|(_, value)| !value.is_empty());
    Ok(CertSeries {
        labels,
        not_before: tbs.validity().not_before.to_system_time(),
        not_after: tbs.validity().not_after.to_system_time(),
    })
}

/// `subject_C` .. `subject_CN` (or `issuer_`): the first value of each attribute, as Go's
/// `pkix.Name` fields give it, and the CN Go keeps (the last).
fn name_labels(prefix: &str, name: &Subject, labels: &mut Vec<(String, String)>) {
    for (suffix, oid) in NAME_FIELDS {
        let value = if oid == rfc4519::CN {
            name.common_name()
        } else {
            name.values(oid).first().copied()
        };
        if let Some(value) = value {
            labels.push((format!("{prefix}_{suffix}"), value.to_owned()));
        }
    }
}

/// A big-endian unsigned integer in decimal, as Go's `big.Int.String()` prints a serial.
fn decimal(bytes: &[u8]) -> String {
    let mut number: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut digits = Vec::new();
    while !number.is_empty() {
        let mut remainder = 0u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            // value < 10 * 256, so value / 10 < 256.
            *byte = u8::try_from(value / 10).unwrap_or(u8::MAX);
            remainder = value % 10;
        }
        digits.push(b'0' + u8::try_from(remainder).unwrap_or(0));
        let leading = number.iter().take_while(|b| **b == 0).count();
        number.drain(..leading);
    }
    if digits.is_empty() {
        return "0".to_owned();
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Seconds since the Unix epoch, negative before it.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_print_in_decimal_as_go_does() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0x00, 0xff]), "255");
        // 2^64 + 1
        assert_eq!(
            decimal(&[1, 0, 0, 0, 0, 0, 0, 0, 1]),
            "18446744073709551617"
        );
    }
}
