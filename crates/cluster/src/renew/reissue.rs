//! Reissuing a certificate of the tree: the same subject, SANs and usages, a fresh key.

use std::time::{Duration, SystemTime};

use kubepki_csr::SanKind;
use kubepki_keys::{KeyAlgorithm, KeyPair};
use kubepki_profile::{BACKDATE, DEFAULT_CERT_VALIDITY, Profile, SanPolicy, SubjectPolicy, Usage};
use kubepki_sign::{Ca, CertificateInfo, IssueOptions};

use super::options::RenewOptions;
use crate::ClusterError;

/// A profile that reissues `info` as it is: same subject, SANs and usages.
fn same_as(info: &CertificateInfo, validity: Duration) -> Profile {
    Profile {
        name: "renewal".to_owned(),
        description: "the same certificate with a fresh key".to_owned(),
        usages: info.usages.clone(),
        ca: None,
        default_validity: validity,
        max_validity: validity,
        backdate: BACKDATE,
        subject: SubjectPolicy::default(),
        sans: SanPolicy {
            allowed: vec![SanKind::Dns, SanKind::Ip, SanKind::Uri, SanKind::Email],
            keep_requested: true,
            ..SanPolicy::default()
        },
    }
}

/// Reissues a certificate DER with a fresh key: returns the new certificate PEM and key.
pub(crate) fn reissue(
    ca: &Ca,
    name: &str,
    der: &[u8],
    old_key: Option<&KeyPair>,
    options: &RenewOptions,
    now: SystemTime,
) -> Result<(String, KeyPair), ClusterError> {
    let algorithm = options
        .algorithm
        .or_else(|| old_key.map(KeyPair::algorithm))
        .unwrap_or(KeyAlgorithm::EcdsaP256);
    let key = KeyPair::generate(algorithm).map_err(ClusterError::KeyGeneration)?;
    let cert_pem = reissue_for_key(ca, name, der, &key, options, now)?;
    Ok((cert_pem, key))
}

/// Reissues a certificate DER for `key` (the same subject, SANs and usages, plus
/// `options.add_sans` on a serving certificate): returns the new certificate PEM.
pub(crate) fn reissue_for_key(
    ca: &Ca,
    name: &str,
    der: &[u8],
    key: &KeyPair,
    options: &RenewOptions,
    now: SystemTime,
) -> Result<String, ClusterError> {
    let sign = |source| ClusterError::Sign {
        name: name.to_owned(),
        source,
    };
    let info = CertificateInfo::from_der(der).map_err(sign)?;
    let mut sans = info.sans.clone();
    if info.usages.contains(&Usage::ServerAuth) {
        for san in &options.add_sans {
            if !sans.contains(san) {
                sans.push(san.clone());
            }
        }
    }
    let profile = same_as(&info, options.validity.unwrap_or(DEFAULT_CERT_VALIDITY));
    let issued = ca
        .issue_for_key(
            key.public_key(),
            &info.subject,
            &sans,
            &profile,
            &IssueOptions::at(now),
        )
        .map_err(sign)?;
    Ok(issued.pem())
}
