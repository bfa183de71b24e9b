//! Whether an existing file fits the tree: a certificate signed by its CA with its key, the
//! subject and SANs its profile needs, not expired; a kubeconfig file with the cluster CA
//! and such a client certificate.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use der::{Decode, Encode};
use kubepki_keys::{KeyPair, PublicKey, Signer, verify_signature};
use kubepki_profile::Profile;
use kubepki_sign::{Ca, CertificateInfo, SignError, Timestamp, parse_certificate};
use x509_cert::Certificate;

use crate::files::{data_field, first_certificate, pem_blocks_labelled, read_kubeconfig};
use crate::plan::{required_sans, subject_of};
use crate::{ClusterError, Misfit};

/// A CA certificate as read back, for checking what it signed.
pub(crate) struct CaCert {
    pub(crate) name: &'static str,
    pub(crate) der: Vec<u8>,
    pub(crate) cert: Certificate,
}

impl CaCert {
    pub(crate) fn from_der(name: &'static str, der: Vec<u8>) -> Result<Self, SignError> {
        let cert = Certificate::from_der(&der)
            .map_err(|e| SignError::MalformedCertificate(e.to_string()))?;
        Ok(CaCert { name, der, cert })
    }

    /// Whether `cert` carries this CA's signature.
    pub(crate) fn signed(&self, cert: &Certificate) -> bool {
        let Ok(tbs) = cert.tbs_certificate().to_der() else {
            return false;
        };
        let Some(signature) = cert.signature().as_bytes() else {
            return false;
        };
        cert.tbs_certificate().issuer() == self.cert.tbs_certificate().subject()
            && verify_signature(
                self.cert.tbs_certificate().subject_public_key_info(),
                cert.signature_algorithm(),
                &tbs,
                signature,
            )
            .is_ok()
    }
}

/// Checks that the existing certificate `path` fits: signed by `ca`, `key` is its key, the
/// expected CN, every required SAN, not expired at `now`.
///
/// # Errors
/// [`ClusterError::Misfit`] naming `path` and why it does not fit; [`ClusterError::Sign`]
/// when the certificate does not parse (broken, which is not the same as signed by
/// another CA); [`ClusterError::Profile`] when the profile cannot say which SANs it needs.
pub(crate) fn check_cert(
    path: &Path,
    cert_der: &[u8],
    key: &PublicKey,
    ca: &CaCert,
    profile: &Profile,
    now: SystemTime,
) -> Result<(), ClusterError> {
    let bad = misfit(path);
    let bad_ca = || {
        bad(Misfit::NotSignedBy {
            ca: ca.name.to_owned(),
        })
    };
    let malformed = |source| ClusterError::Sign {
        name: path.display().to_string(),
        source,
    };
    let cert = parse_certificate(cert_der).map_err(malformed)?;
    let info = CertificateInfo::from_certificate(&cert).map_err(malformed)?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| bad(Misfit::WrongKey))?;
    if spki != key.to_der() {
        return Err(bad(Misfit::WrongKey));
    }
    if !ca.signed(&cert) {
        return Err(bad_ca());
    }
    let expected = subject_of(profile);
    if info.subject.common_name() != expected.common_name() {
        return Err(bad(Misfit::WrongSubject {
            found: info.subject.to_string(),
            expected: expected.to_string(),
        }));
    }
    let required = required_sans(profile)?;
    if let Some(san) = required.iter().find(|s| !info.sans.contains(s)) {
        return Err(bad(Misfit::MissingSan {
            san: san.to_string(),
        }));
    }
    if info.not_after < now {
        return Err(bad(Misfit::Expired {
            not_after: Timestamp(info.not_after),
        }));
    }
    Ok(())
}

pub(crate) fn misfit(path: &Path) -> impl Fn(Misfit) -> ClusterError + '_ {
    move |reason| ClusterError::Misfit {
        path: path.to_path_buf(),
        reason,
    }
}

/// A CA of the tree (its certificate `der`, read from `crt_path` or to be placed there),
/// with the key that signs for it; it must not have expired.
pub(crate) fn existing_ca(
    crt_path: &Path,
    der: &[u8],
    signer: Box<dyn Signer>,
    now: SystemTime,
) -> Result<Ca, ClusterError> {
    let loaded = Ca::from_der(der, signer, Vec::new())
        .map_err(|e| misfit(crt_path)(Misfit::NotACa(e.to_string())))?;
    if loaded.not_after() < now {
        return Err(misfit(crt_path)(Misfit::CaExpired {
            not_after: Timestamp(loaded.not_after()),
        }));
    }
    Ok(loaded)
}

/// Checks an existing kubeconfig file as kubeadm does, and more: the CA data must be the
/// cluster CA (kubeadm's only hard check); another server URL is kept with a warning, as
/// kubeadm keeps it; the client certificate must be the profile's, signed by the CA, with
/// its key. A client certificate kept in a file (kubeadm's kubelet.conf after
/// kubelet-finalize) is checked when the file is readable here, and kept with a warning
/// when it is not. Returns the warning, if any.
pub(crate) fn check_kubeconfig(
    path: &Path,
    ca: &CaCert,
    profile: &Profile,
    server: &str,
    now: SystemTime,
) -> Result<Option<String>, ClusterError> {
    let bad = misfit(path);
    let (config, cert, key) = read_kubeconfig(path)?;
    let (cluster, user) = config
        .current()
        .ok_or_else(|| bad(Misfit::KubeconfigIncomplete("current context")))?;
    let ca_der = data_field(
        path,
        "certificate-authority-data",
        &cluster.certificate_authority_data,
    )?
    .map(|pem| first_certificate(path, "certificate-authority-data", &pem))
    .transpose()?;
    if ca_der.as_deref() != Some(ca.der.as_slice()) {
        return Err(bad(Misfit::WrongCaData {
            ca: ca.name.to_owned(),
        }));
    }
    let mut warnings = Vec::new();
    if cluster.server != server {
        warnings.push(format!(
            "its server is {}, not {server}: kept, as kubeadm keeps it",
            cluster.server
        ));
    }
    let (cert, key) = match (cert, key) {
        (Some(cert), key) => (cert, key),
        (None, _) if !user.client_certificate.is_empty() => {
            let cert_path = path
                .parent()
                .unwrap_or(Path::new("."))
                .join(&user.client_certificate);
            let key_path = match user.client_key.as_str() {
                "" => cert_path.clone(),
                file => path.parent().unwrap_or(Path::new(".")).join(file),
            };
            match (
                fs::read_to_string(&cert_path),
                fs::read_to_string(&key_path),
            ) {
                (Ok(cert_pem), Ok(key_pem)) => {
                    // The kubelet keeps certificate and key in one PEM file.
                    let cert = pem_blocks_labelled(&cert_pem, "CERTIFICATE")
                        .ok_or_else(|| bad(Misfit::KubeconfigIncomplete("client certificate")))?;
                    let cert = first_certificate(&cert_path, "certificate", cert.as_bytes())?;
                    let key = pem_blocks_labelled(&key_pem, "PRIVATE KEY")
                        .map(|block| {
                            KeyPair::from_bytes(block.as_bytes(), None).map_err(|source| {
                                ClusterError::Key {
                                    path: key_path.clone(),
                                    source,
                                }
                            })
                        })
                        .transpose()?;
                    (cert, key)
                }
                _ => {
                    warnings.push(format!(
                        "its client certificate is the file {}, not readable here: kept unchecked (the kubelet rotates it)",
                        cert_path.display()
                    ));
                    return Ok(Some(warnings.join("; ")));
                }
            }
        }
        (None, _) => return Err(bad(Misfit::KubeconfigIncomplete("client certificate"))),
    };
    let key = key.ok_or_else(|| bad(Misfit::KubeconfigIncomplete("client key")))?;
    check_cert(path, &cert, key.public_key(), ca, profile, now)?;
    Ok((!warnings.is_empty()).then(|| warnings.join("; ")))
}

#[cfg(test)]
mod tests {
    use kubepki_keys::KeyAlgorithm;
    use kubepki_profile::{ClusterParams, ProfileError, builtin};
    use kubepki_sign::IssueOptions;
    use kubepki_test_support::pinned_2026;

    use super::*;

    #[test]
    fn a_profile_that_cannot_name_its_sans_is_an_error_not_a_skipped_check() {
        let now = pinned_2026();
        let params = ClusterParams::default();
        let issue = IssueOptions::at(now);
        let ca_profile = builtin("ca", &params).unwrap();
        let ca_key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca = Ca::self_signed(
            Box::new(ca_key),
            &subject_of(&ca_profile),
            &ca_profile,
            &issue,
        )
        .unwrap();
        let ca_cert = CaCert::from_der("ca", ca.certificate_der().to_vec()).unwrap();
        let mut profile = builtin("admin", &params).unwrap();
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let issued = ca
            .issue_for_key(
                key.public_key(),
                &subject_of(&profile),
                &[],
                &profile,
                &issue,
            )
            .unwrap();
        let check = |profile: &Profile| {
            check_cert(
                Path::new("admin.crt"),
                issued.der(),
                key.public_key(),
                &ca_cert,
                profile,
                now,
            )
        };
        check(&profile).unwrap();
        // A profile that refuses its own subject cannot say which SANs it requires: the check
        // used to be skipped (`unwrap_or_default`), and the certificate kept.
        profile.subject.max_organizations = 0;
        match check(&profile) {
            Err(ClusterError::Profile(ProfileError::TooManyOrganizations { .. })) => {}
            other => panic!("{other:?}"),
        }
    }
}
