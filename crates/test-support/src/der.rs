//! A DER writer for hostile test input: every length, order and type is the test's choice,
//! so a test can write what no well-behaved encoder would (a multi-valued RDN of two CNs,
//! two `extensionRequest` values, a BMPString CN). Signing is the caller's: these helpers
//! only lay out bytes.

/// Tag bytes used by the builders and the tests.
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// UTF8String.
    pub const UTF8: u8 = 0x0C;
    /// PrintableString.
    pub const PRINTABLE: u8 = 0x13;
    /// TeletexString (T61String).
    pub const TELETEX: u8 = 0x14;
    /// IA5String.
    pub const IA5: u8 = 0x16;
    /// VisibleString.
    pub const VISIBLE: u8 = 0x1A;
    /// UniversalString.
    pub const UNIVERSAL: u8 = 0x1C;
    /// BMPString.
    pub const BMP: u8 = 0x1E;
    /// SEQUENCE.
    pub const SEQUENCE: u8 = 0x30;
    /// SET.
    pub const SET: u8 = 0x31;
}

/// One TLV: `tag`, the DER length of `content`, `content`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).expect("below 0x80"));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).expect("a few bytes"));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of the parts, in the order given.
pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// A SET of the parts in the order given (DER wants them sorted: see [`set_sorted`]).
pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag::SET, &parts.concat())
}

/// A SET of the parts in DER order (sorted by encoding).
pub fn set_sorted(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = parts.to_vec();
    sorted.sort();
    set(&sorted)
}

/// An OBJECT IDENTIFIER from its dotted form.
///
/// # Panics
/// For a dotted form with fewer than two arcs or an arc that is not a number.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse().expect("a numeric arc"))
        .collect();
    assert!(arcs.len() >= 2, "an OID has two arcs at least");
    let mut body = Vec::new();
    let mut push = |mut arc: u64| {
        let mut chunk = vec![u8::try_from(arc & 0x7F).expect("7 bits")];
        arc >>= 7;
        while arc > 0 {
            chunk.push(0x80 | u8::try_from(arc & 0x7F).expect("7 bits"));
            arc >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    };
    push(arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        push(*arc);
    }
    tlv(tag::OID, &body)
}

/// An AttributeTypeAndValue: the OID and a value of tag `value_tag` holding `value`.
pub fn atv(attribute: &str, value_tag: u8, value: &[u8]) -> Vec<u8> {
    seq(&[oid(attribute), tlv(value_tag, value)])
}

/// An Extension: OID, `critical` (absent when `None`), OCTET STRING around `value`.
pub fn extension(id: &str, critical: Option<bool>, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if let Some(critical) = critical {
        parts.push(tlv(tag::BOOLEAN, &[if critical { 0xFF } else { 0x00 }]));
    }
    parts.push(tlv(tag::OCTET_STRING, value));
    seq(&parts)
}

/// An Attribute: OID and a SET of the values, in the order given.
pub fn attribute(id: &str, values: &[Vec<u8>]) -> Vec<u8> {
    seq(&[oid(id), set(values)])
}

/// A CertificationRequestInfo: version 0, the subject (a whole Name TLV), the SPKI DER and
/// the attributes as `[0] IMPLICIT SET` in DER order.
pub fn cert_req_info(subject: &[u8], spki: &[u8], attributes: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = attributes.to_vec();
    sorted.sort();
    seq(&[
        tlv(tag::INTEGER, &[0]),
        subject.to_vec(),
        spki.to_vec(),
        tlv(0xA0, &sorted.concat()),
    ])
}

/// A CertificationRequest around `info`, with the AlgorithmIdentifier DER and the signature.
pub fn cert_req(info: &[u8], algorithm: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut bits = vec![0];
    bits.extend_from_slice(signature);
    seq(&[
        info.to_vec(),
        algorithm.to_vec(),
        tlv(tag::BIT_STRING, &bits),
    ])
}

/// The OIDs the builders' users need most.
pub mod oids {
    /// commonName.
    pub const CN: &str = "2.5.4.3";
    /// organizationName.
    pub const O: &str = "2.5.4.10";
    /// organizationalUnitName.
    pub const OU: &str = "2.5.4.11";
    /// countryName.
    pub const C: &str = "2.5.4.6";
    /// emailAddress (PKCS#9).
    pub const EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";
    /// extensionRequest (PKCS#9).
    pub const EXTENSION_REQUEST: &str = "1.2.840.113549.1.9.14";
    /// challengePassword (PKCS#9).
    pub const CHALLENGE_PASSWORD: &str = "1.2.840.113549.1.9.7";
    /// subjectAltName.
    pub const SUBJECT_ALT_NAME: &str = "2.5.29.17";
    /// keyUsage.
    pub const KEY_USAGE: &str = "2.5.29.15";
    /// basicConstraints.
    pub const BASIC_CONSTRAINTS: &str = "2.5.29.19";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_oids_are_der() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 1, 44]);
        assert_eq!(oid(oids::CN), vec![0x06, 3, 0x55, 0x04, 0x03]);
        assert_eq!(
            oid(oids::EXTENSION_REQUEST),
            vec![
                0x06, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x0E
            ]
        );
    }
}
