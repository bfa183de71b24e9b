//! CA/Browser Forum Baseline Requirements checks, applied with `VerifyOptions::web_pki`.

use std::net::IpAddr;

use kubepki_keys::PublicKeyKind;
use x509_cert::ext::pkix::name::{DirectoryString, GeneralName};

use crate::VerifyError;
use crate::cert::{Cert, oids};

fn violation(cert: &Cert, reason: &'static str) -> VerifyError {
    VerifyError::WebPkiViolation {
        subject: cert.subject().to_owned(),
        reason,
    }
}

/// Rules for every certificate of a path.
pub(crate) fn check_any(cert: &Cert, kind: PublicKeyKind) -> Result<(), VerifyError> {
    if let PublicKeyKind::Rsa { bits } = kind
        && bits % 8 != 0
    {
        return Err(violation(
            cert,
            "the RSA modulus size is not a multiple of 8",
        ));
    }
    if let Some(aki) = &cert.aki_ext {
        if aki.key_identifier.is_none() {
            return Err(violation(
                cert,
                "authorityKeyIdentifier has no keyIdentifier",
            ));
        }
        if aki.authority_cert_issuer.is_some() || aki.authority_cert_serial_number.is_some() {
            return Err(violation(
                cert,
                "authorityKeyIdentifier has authorityCertIssuer or authorityCertSerialNumber",
            ));
        }
        if cert.ski.is_some() && cert.ski != cert.aki && cert.is_self_signed() {
            return Err(violation(
                cert,
                "authorityKeyIdentifier of a self-signed certificate differs from its subjectKeyIdentifier",
            ));
        }
    }
    Ok(())
}

/// Rules for the subscriber (leaf) certificate.
pub(crate) fn check_leaf(leaf: &Cert) -> Result<(), VerifyError> {
    let serial = leaf.cert.tbs_certificate().serial_number().as_bytes();
    if serial.iter().all(|b| *b == 0) {
        return Err(violation(leaf, "the serial number is zero"));
    }
    if serial.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(violation(leaf, "the serial number is negative"));
    }
    let magnitude = serial.strip_prefix(&[0]).unwrap_or(serial);
    if magnitude.len() > 20 {
        return Err(violation(
            leaf,
            "the serial number is longer than 20 octets",
        ));
    }
    if let Some(eku) = &leaf.eku {
        if leaf.eku_critical {
            return Err(violation(leaf, "the leaf's extendedKeyUsage is critical"));
        }
        if eku.contains(&oids::ANY_EKU) {
            return Err(violation(
                leaf,
                "the leaf's extendedKeyUsage contains anyExtendedKeyUsage",
            ));
        }
    }
    if leaf.is_ca()
        && leaf
            .key_usage
            .as_ref()
            .is_some_and(|ku| !ku.key_cert_sign())
    {
        return Err(violation(
            leaf,
            "the leaf has basicConstraints cA but a keyUsage without keyCertSign",
        ));
    }
    let subject = leaf.cert.tbs_certificate().subject();
    if leaf.san_critical && !subject.is_empty() {
        return Err(violation(
            leaf,
            "subjectAltName is critical although the subject is not empty",
        ));
    }
    let sans = leaf.san.as_deref().unwrap_or(&[]);
    for atv in subject.iter().filter(|atv| atv.oid == oids::COMMON_NAME) {
        let Ok(cn) = atv.value.decode_as::<DirectoryString>() else {
            return Err(violation(leaf, "the common name does not decode"));
        };
        check_common_name(leaf, &cn.value(), sans)?;
    }
    Ok(())
}

/// Whether `cn` is written like an IP address (dotted digits, `0x` hex, or with colons).
fn looks_like_ip(cn: &str) -> bool {
    let dotted =
        !cn.is_empty() && cn.bytes().all(|b| b.is_ascii_digit() || b == b'.') && cn.contains('.');
    let hex = cn
        .strip_prefix("0x")
        .or_else(|| cn.strip_prefix("0X"))
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let colons = cn.contains(':')
        && cn
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    dotted || hex || colons
}

/// CA/Browser Forum 7.1.4.3 says the common name, if present, is one of the
/// SANs, an IP address in its canonical text form. Kubernetes-style and
/// display-name common names are still common on server certificates, so only
/// the forms that are plainly a mis-written name are refused: an IP address
/// written other than canonically, a DNS name that differs from a SAN only in
/// case, and an internationalized name (Unicode or `xn--` A-label) that is not
/// a SAN.
fn check_common_name(leaf: &Cert, cn: &str, sans: &[GeneralName]) -> Result<(), VerifyError> {
    let dns_sans = || {
        sans.iter().filter_map(|s| match s {
            GeneralName::DnsName(d) => Some(d.as_str()),
            _ => None,
        })
    };
    if looks_like_ip(cn) && cn.parse::<IpAddr>().map_or(true, |ip| ip.to_string() != cn) {
        return Err(violation(
            leaf,
            "the common name is an IP address not written in canonical form",
        ));
    }
    if dns_sans().any(|d| d != cn && d.eq_ignore_ascii_case(cn)) {
        return Err(violation(
            leaf,
            "the common name differs from a SAN in letter case",
        ));
    }
    let international = !cn.is_ascii()
        || cn.split('.').any(|label| {
            label
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
        });
    if international && !dns_sans().any(|d| d == cn) {
        return Err(violation(
            leaf,
            "the common name is an internationalized domain name that is not a SAN",
        ));
    }
    Ok(())
}
