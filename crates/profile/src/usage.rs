//! The usage words of certificates.k8s.io and their KeyUsage / ExtendedKeyUsage meaning.

use core::fmt;
use core::str::FromStr;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{
    ANY_EXTENDED_KEY_USAGE, ID_KP_CLIENT_AUTH, ID_KP_CODE_SIGNING, ID_KP_EMAIL_PROTECTION,
    ID_KP_OCSP_SIGNING, ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING,
};
use flagset::FlagSet;
use x509_cert::ext::pkix::KeyUsages;

use crate::ProfileError;

/// id-kp-ipsecEndSystem (RFC 2459), Go's `ExtKeyUsageIPSECEndSystem`.
const ID_KP_IPSEC_END_SYSTEM: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.5");
/// id-kp-ipsecTunnel, Go's `ExtKeyUsageIPSECTunnel`.
const ID_KP_IPSEC_TUNNEL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.6");
/// id-kp-ipsecUser, Go's `ExtKeyUsageIPSECUser`.
const ID_KP_IPSEC_USER: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.7");
/// Microsoft Server Gated Crypto.
const MICROSOFT_SGC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.10.3.3");
/// Netscape Server Gated Crypto.
const NETSCAPE_SGC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.113730.4.1");

/// A usage word of the certificates.k8s.io API (`spec.usages` of a CertificateSigningRequest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Usage {
    /// `signing`: KeyUsage digitalSignature.
    Signing,
    /// `digital signature`: KeyUsage digitalSignature.
    DigitalSignature,
    /// `content commitment`: KeyUsage contentCommitment (nonRepudiation).
    ContentCommitment,
    /// `key encipherment`: KeyUsage keyEncipherment.
    KeyEncipherment,
    /// `key agreement`: KeyUsage keyAgreement.
    KeyAgreement,
    /// `data encipherment`: KeyUsage dataEncipherment.
    DataEncipherment,
    /// `cert sign`: KeyUsage keyCertSign.
    CertSign,
    /// `crl sign`: KeyUsage cRLSign.
    CrlSign,
    /// `encipher only`: KeyUsage encipherOnly.
    EncipherOnly,
    /// `decipher only`: KeyUsage decipherOnly.
    DecipherOnly,
    /// `any`: EKU anyExtendedKeyUsage (2.5.29.37.0).
    Any,
    /// `server auth`: EKU id-kp-serverAuth.
    ServerAuth,
    /// `client auth`: EKU id-kp-clientAuth.
    ClientAuth,
    /// `code signing`: EKU id-kp-codeSigning.
    CodeSigning,
    /// `email protection`: EKU id-kp-emailProtection.
    EmailProtection,
    /// `s/mime`: EKU id-kp-emailProtection, as `email protection`.
    SMime,
    /// `ipsec end system`: EKU 1.3.6.1.5.5.7.3.5.
    IpsecEndSystem,
    /// `ipsec tunnel`: EKU 1.3.6.1.5.5.7.3.6.
    IpsecTunnel,
    /// `ipsec user`: EKU 1.3.6.1.5.5.7.3.7.
    IpsecUser,
    /// `timestamping`: EKU id-kp-timeStamping.
    Timestamping,
    /// `ocsp signing`: EKU id-kp-OCSPSigning.
    OcspSigning,
    /// `microsoft sgc`: EKU 1.3.6.1.4.1.311.10.3.3.
    MicrosoftSgc,
    /// `netscape sgc`: EKU 2.16.840.1.113730.4.1.
    NetscapeSgc,
}

/// What a usage word means in a certificate.
enum Meaning {
    Bit(KeyUsages),
    /// The EKU OID and its rank: Go's `x509.ExtKeyUsage` value, by which the Kubernetes signer
    /// sorts the EKUs it writes.
    Eku(ObjectIdentifier, u8),
}

impl Usage {
    /// Every usage, in the order of the certificates.k8s.io API.
    pub const ALL: [Usage; 23] = [
        Usage::Signing,
        Usage::DigitalSignature,
        Usage::ContentCommitment,
        Usage::KeyEncipherment,
        Usage::KeyAgreement,
        Usage::DataEncipherment,
        Usage::CertSign,
        Usage::CrlSign,
        Usage::EncipherOnly,
        Usage::DecipherOnly,
        Usage::Any,
        Usage::ServerAuth,
        Usage::ClientAuth,
        Usage::CodeSigning,
        Usage::EmailProtection,
        Usage::SMime,
        Usage::IpsecEndSystem,
        Usage::IpsecTunnel,
        Usage::IpsecUser,
        Usage::Timestamping,
        Usage::OcspSigning,
        Usage::MicrosoftSgc,
        Usage::NetscapeSgc,
    ];

    /// The Kubernetes word, e.g. `"client auth"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Signing => "signing",
            Usage::DigitalSignature => "digital signature",
            Usage::ContentCommitment => "content commitment",
            Usage::KeyEncipherment => "key encipherment",
            Usage::KeyAgreement => "key agreement",
            Usage::DataEncipherment => "data encipherment",
            Usage::CertSign => "cert sign",
            Usage::CrlSign => "crl sign",
            Usage::EncipherOnly => "encipher only",
            Usage::DecipherOnly => "decipher only",
            Usage::Any => "any",
            Usage::ServerAuth => "server auth",
            Usage::ClientAuth => "client auth",
            Usage::CodeSigning => "code signing",
            Usage::EmailProtection => "email protection",
            Usage::SMime => "s/mime",
            Usage::IpsecEndSystem => "ipsec end system",
            Usage::IpsecTunnel => "ipsec tunnel",
            Usage::IpsecUser => "ipsec user",
            Usage::Timestamping => "timestamping",
            Usage::OcspSigning => "ocsp signing",
            Usage::MicrosoftSgc => "microsoft sgc",
            Usage::NetscapeSgc => "netscape sgc",
        }
    }

    /// `keyUsageDict` and `extKeyUsageDict` of the Kubernetes signer.
    fn meaning(self) -> Meaning {
        use Meaning::{Bit, Eku};
        match self {
            Usage::Signing | Usage::DigitalSignature => Bit(KeyUsages::DigitalSignature),
            Usage::ContentCommitment => Bit(KeyUsages::NonRepudiation),
            Usage::KeyEncipherment => Bit(KeyUsages::KeyEncipherment),
            Usage::KeyAgreement => Bit(KeyUsages::KeyAgreement),
            Usage::DataEncipherment => Bit(KeyUsages::DataEncipherment),
            Usage::CertSign => Bit(KeyUsages::KeyCertSign),
            Usage::CrlSign => Bit(KeyUsages::CRLSign),
            Usage::EncipherOnly => Bit(KeyUsages::EncipherOnly),
            Usage::DecipherOnly => Bit(KeyUsages::DecipherOnly),
            Usage::Any => Eku(ANY_EXTENDED_KEY_USAGE, 0),
            Usage::ServerAuth => Eku(ID_KP_SERVER_AUTH, 1),
            Usage::ClientAuth => Eku(ID_KP_CLIENT_AUTH, 2),
            Usage::CodeSigning => Eku(ID_KP_CODE_SIGNING, 3),
            Usage::EmailProtection | Usage::SMime => Eku(ID_KP_EMAIL_PROTECTION, 4),
            Usage::IpsecEndSystem => Eku(ID_KP_IPSEC_END_SYSTEM, 5),
            Usage::IpsecTunnel => Eku(ID_KP_IPSEC_TUNNEL, 6),
            Usage::IpsecUser => Eku(ID_KP_IPSEC_USER, 7),
            Usage::Timestamping => Eku(ID_KP_TIME_STAMPING, 8),
            Usage::OcspSigning => Eku(ID_KP_OCSP_SIGNING, 9),
            Usage::MicrosoftSgc => Eku(MICROSOFT_SGC, 10),
            Usage::NetscapeSgc => Eku(NETSCAPE_SGC, 11),
        }
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Usage {
    type Err = ProfileError;

    /// Parses a Kubernetes usage word (ASCII case and surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, ProfileError> {
        let word = s.trim();
        Usage::ALL
            .into_iter()
            .find(|u| u.as_str().eq_ignore_ascii_case(word))
            .ok_or_else(|| ProfileError::UnknownUsage {
                usage: s.to_owned(),
            })
    }
}

/// KeyUsage bits and EKU OIDs exactly as the Kubernetes signer's `keyUsagesFromStrings` maps
/// them: bits are OR-ed; EKUs are de-duplicated and sorted by Go's `x509.ExtKeyUsage` order
/// (any, server auth, client auth, code signing, email protection, ipsec end system, ipsec
/// tunnel, ipsec user, timestamping, ocsp signing, microsoft sgc, netscape sgc).
pub fn key_usage_and_eku(usages: &[Usage]) -> (FlagSet<KeyUsages>, Vec<ObjectIdentifier>) {
    let mut bits = FlagSet::<KeyUsages>::default();
    let mut ekus: Vec<(u8, ObjectIdentifier)> = Vec::new();
    for usage in usages {
        match usage.meaning() {
            Meaning::Bit(bit) => bits |= bit,
            Meaning::Eku(oid, rank) => {
                if !ekus.iter().any(|(r, _)| *r == rank) {
                    ekus.push((rank, oid));
                }
            }
        }
    }
    ekus.sort_by_key(|(rank, _)| *rank);
    (bits, ekus.into_iter().map(|(_, oid)| oid).collect())
}

/// The inverse of [`key_usage_and_eku`], for showing a certificate in Kubernetes words: one
/// word per bit and per known EKU, in the order of [`Usage::ALL`]. Where two words mean the
/// same thing, the plainer one is used (`digital signature` rather than `signing`,
/// `email protection` rather than `s/mime`). EKU OIDs without a Kubernetes word are left out.
pub fn usages_from_cert_bits(
    key_usage: FlagSet<KeyUsages>,
    eku: &[ObjectIdentifier],
) -> Vec<Usage> {
    Usage::ALL
        .into_iter()
        .filter(|u| !matches!(u, Usage::Signing | Usage::SMime))
        .filter(|u| match u.meaning() {
            Meaning::Bit(bit) => key_usage.contains(bit),
            Meaning::Eku(oid, _) => eku.contains(&oid),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips() {
        for usage in Usage::ALL {
            assert_eq!(usage.as_str().parse::<Usage>().unwrap(), usage);
            assert_eq!(usage.to_string(), usage.as_str());
        }
        assert_eq!(" Client Auth ".parse::<Usage>().unwrap(), Usage::ClientAuth);
    }

    #[test]
    fn unknown_word_is_named() {
        assert_eq!(
            "client-auth".parse::<Usage>(),
            Err(ProfileError::UnknownUsage {
                usage: "client-auth".into()
            })
        );
        let err = "bogus".parse::<Usage>().unwrap_err();
        assert!(err.to_string().contains("\"bogus\""), "{err}");
    }

    #[test]
    fn kubeadm_leaf_mapping() {
        let (bits, eku) = key_usage_and_eku(&[
            Usage::DigitalSignature,
            Usage::KeyEncipherment,
            Usage::ClientAuth,
        ]);
        assert_eq!(
            bits,
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
        );
        assert_eq!(eku, vec![ID_KP_CLIENT_AUTH]);
    }

    #[test]
    fn ekus_are_sorted_as_go_and_deduplicated() {
        let (bits, eku) = key_usage_and_eku(&[
            Usage::NetscapeSgc,
            Usage::ClientAuth,
            Usage::SMime,
            Usage::Signing,
            Usage::ServerAuth,
            Usage::EmailProtection,
            Usage::Any,
            Usage::MicrosoftSgc,
            Usage::ClientAuth,
        ]);
        assert_eq!(bits, FlagSet::from(KeyUsages::DigitalSignature));
        let text: Vec<String> = eku.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "2.5.29.37.0",
                "1.3.6.1.5.5.7.3.1",
                "1.3.6.1.5.5.7.3.2",
                "1.3.6.1.5.5.7.3.4",
                "1.3.6.1.4.1.311.10.3.3",
                "2.16.840.1.113730.4.1",
            ]
        );
    }

    #[test]
    fn every_key_usage_bit() {
        let (bits, eku) = key_usage_and_eku(&Usage::ALL[..10]);
        assert_eq!(bits, FlagSet::<KeyUsages>::full());
        assert!(eku.is_empty());
        let (bits, eku) = key_usage_and_eku(&[
            Usage::ContentCommitment,
            Usage::CodeSigning,
            Usage::IpsecEndSystem,
            Usage::IpsecTunnel,
            Usage::IpsecUser,
            Usage::Timestamping,
            Usage::OcspSigning,
        ]);
        assert_eq!(bits, FlagSet::from(KeyUsages::NonRepudiation));
        let text: Vec<String> = eku.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "1.3.6.1.5.5.7.3.3",
                "1.3.6.1.5.5.7.3.5",
                "1.3.6.1.5.5.7.3.6",
                "1.3.6.1.5.5.7.3.7",
                "1.3.6.1.5.5.7.3.8",
                "1.3.6.1.5.5.7.3.9",
            ]
        );
    }

    #[test]
    fn inverse_prefers_plain_words() {
        let (bits, eku) = key_usage_and_eku(&Usage::ALL);
        let back = usages_from_cert_bits(bits, &eku);
        assert_eq!(back.len(), 21);
        assert!(!back.contains(&Usage::Signing) && !back.contains(&Usage::SMime));
        let (bits, eku) = key_usage_and_eku(&back);
        assert_eq!(key_usage_and_eku(&Usage::ALL), (bits, eku));

        let unknown = ObjectIdentifier::new_unwrap("1.2.3.4");
        assert_eq!(
            usages_from_cert_bits(
                KeyUsages::DigitalSignature | KeyUsages::KeyCertSign,
                &[ID_KP_SERVER_AUTH, unknown, ID_KP_EMAIL_PROTECTION]
            ),
            vec![
                Usage::DigitalSignature,
                Usage::CertSign,
                Usage::ServerAuth,
                Usage::EmailProtection
            ]
        );
    }
}
