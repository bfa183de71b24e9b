//! `certs check-expiration`: kubeadm's two tables, and the data behind them.

use std::path::Path;
use std::time::{Duration, SystemTime};

use der::Encode;
use kubepki_sign::{CertificateInfo, format_rfc3339, parse_certificate};
use serde::Serialize;

use crate::ClusterError;
use crate::files::{load_cert, load_key, read_kubeconfig};
use crate::tree::{CaName, LEAVES, crt, key};

/// One row of check-expiration: kubeadm's `output.kubeadm.k8s.io/v1alpha3` `Certificate`,
/// field for field and in its order (`-o json` and `-o yaml` print these names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationEntry {
    /// kubeadm's name (`apiserver`, `admin.conf`, `ca`).
    pub name: String,
    /// NotAfter, RFC 3339 UTC; `null` when the file is missing (Go's zero `metav1.Time`).
    pub expiration_date: Option<String>,
    /// Whole seconds left, as kubeadm's `int64(ResidualTime() / time.Second)`: negative once
    /// expired, 0 when missing.
    #[serde(rename = "residualTime")]
    pub residual_seconds: i64,
    /// Whether the CA key is absent here (external CA mode).
    pub externally_managed: bool,
    /// The signing CA's name; empty (and left out) for a CA and for a missing file.
    #[serde(rename = "caName", skip_serializing_if = "String::is_empty")]
    pub ca_name: String,
    /// Whether the file is absent.
    pub missing: bool,
    #[serde(skip)]
    not_after: Option<SystemTime>,
}

impl ExpirationEntry {
    /// NotAfter, when the file is present.
    pub fn not_after(&self) -> Option<SystemTime> {
        self.not_after
    }

    /// Whether it is present and ends before `now + within` ([`due_for_renewal`]).
    pub fn expires_within(&self, now: SystemTime, within: Duration) -> bool {
        self.not_after
            .is_some_and(|end| due_for_renewal(end, within, now))
    }
}

/// The one renewal decision: whether a certificate ending at `not_after` is due at `now`
/// with a margin of `within`: it has expired, or it ends before `now + within`. A
/// certificate ending exactly at `now + within` is not yet due; with `within` zero only an
/// expired one is. `certs renew --if-expiring-within`, `certs recover`,
/// `check-expiration --warn-within` and the exporter all decide with this function.
pub fn due_for_renewal(not_after: SystemTime, within: Duration, now: SystemTime) -> bool {
    match now.checked_add(within) {
        Some(limit) => not_after < limit,
        // A margin past the end of time: everything is due.
        None => true,
    }
}

/// Both tables of check-expiration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationReport {
    /// `CertificateExpirationInfo`.
    pub kind: &'static str,
    /// `output.kubeadm.k8s.io/v1alpha3`.
    pub api_version: &'static str,
    /// The certificates and kubeconfig files, by name.
    pub certificates: Vec<ExpirationEntry>,
    /// The CAs.
    pub certificate_authorities: Vec<ExpirationEntry>,
    /// Pairs whose key file holds another key than the certificate's (kubeadm does not
    /// look; kubepki reports them, one line each). Not part of kubeadm's schema.
    #[serde(skip)]
    pub mismatched_keys: Vec<String>,
}

fn entry(
    name: &str,
    ca: &str,
    externally_managed: bool,
    der: Option<Vec<u8>>,
    now: SystemTime,
) -> Result<ExpirationEntry, ClusterError> {
    let not_after = match der {
        Some(der) => Some(
            CertificateInfo::from_der(&der)
                .map_err(|source| ClusterError::Sign {
                    name: name.to_owned(),
                    source,
                })?
                .not_after,
        ),
        None => None,
    };
    // Go's Duration / time.Second truncates toward zero, as i128 division does.
    let residual_nanos = not_after.map_or(0, |end| match end.duration_since(now) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    });
    let residual_seconds = i64::try_from(residual_nanos / 1_000_000_000).unwrap_or(i64::MAX);
    Ok(ExpirationEntry {
        name: name.to_owned(),
        expiration_date: not_after.map(format_rfc3339),
        residual_seconds,
        externally_managed: not_after.is_some() && externally_managed,
        ca_name: if not_after.is_some() {
            ca.to_owned()
        } else {
            String::new()
        },
        missing: not_after.is_none(),
        not_after,
    })
}

/// Reads the expiration of every certificate of the tree, as kubeadm's
/// `certs check-expiration`: the leaves and the kubeconfig files' client certificates
/// (kubelet.conf excepted: its certificate rotates), then the CAs. Absent files are rows
/// marked missing.
///
/// # Errors
/// [`ClusterError::Sign`], [`ClusterError::Kubeconfig`] or [`ClusterError::Read`] for a
/// present file that does not read.
pub fn check_expiration(
    cert_dir: &Path,
    kubeconfig_dir: &Path,
    now: SystemTime,
) -> Result<ExpirationReport, ClusterError> {
    // A CA key on a token (`ca.key.uri`) is managed here, not externally.
    let external = |ca: CaName| {
        crt(cert_dir, ca.base()).exists()
            && !key(cert_dir, ca.base()).exists()
            && !crate::tree::key_uri_file(cert_dir, ca).exists()
    };
    let mut certificates = Vec::new();
    for file in [
        "admin.conf",
        "super-admin.conf",
        "controller-manager.conf",
        "scheduler.conf",
    ] {
        let path = kubeconfig_dir.join(file);
        let der = if path.exists() {
            read_kubeconfig(&path)?.1
        } else {
            None
        };
        certificates.push(entry(file, "ca", external(CaName::Ca), der, now)?);
    }
    let mut mismatched_keys = Vec::new();
    for leaf in LEAVES {
        let path = crt(cert_dir, leaf.base);
        let der = if path.exists() {
            Some(load_cert(&path)?)
        } else {
            None
        };
        let key_path = key(cert_dir, leaf.base);
        if let Some(der) = &der
            && key_path.exists()
            && !key_matches(der, &key_path)?
        {
            mismatched_keys.push(format!(
                "{} does not hold the key of {}",
                key_path.display(),
                path.display()
            ));
        }
        certificates.push(entry(
            leaf.name,
            leaf.ca.name(),
            external(leaf.ca),
            der,
            now,
        )?);
    }
    certificates.sort_by(|a, b| a.name.cmp(&b.name));
    let mut certificate_authorities = Vec::new();
    for ca in CaName::ALL {
        let path = crt(cert_dir, ca.base());
        let der = if path.exists() {
            Some(load_cert(&path)?)
        } else {
            None
        };
        certificate_authorities.push(entry(ca.name(), "", external(ca), der, now)?);
    }
    Ok(ExpirationReport {
        kind: "CertificateExpirationInfo",
        api_version: "output.kubeadm.k8s.io/v1alpha3",
        certificates,
        certificate_authorities,
        mismatched_keys,
    })
}

/// Whether the key file holds the private key of the certificate's public key.
fn key_matches(cert_der: &[u8], key_path: &Path) -> Result<bool, ClusterError> {
    let key = load_key(key_path)?;
    let cert = parse_certificate(cert_der).map_err(|source| ClusterError::Sign {
        name: key_path.display().to_string(),
        source,
    })?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap_or_default();
    Ok(spki == key.public_key().to_der())
}

impl ExpirationReport {
    /// The present certificates (not CAs) that are [`due_for_renewal`]: what
    /// `certs renew --if-expiring-within` renews.
    pub fn due_certificates(&self, now: SystemTime, within: Duration) -> Vec<&ExpirationEntry> {
        self.certificates
            .iter()
            .filter(|e| e.expires_within(now, within))
            .collect()
    }

    /// The report as YAML, with the field names of kubeadm's `-o yaml`.
    ///
    /// # Errors
    /// The serializer's message (not expected for these plain types).
    pub fn to_yaml(&self) -> Result<String, String> {
        crate::yaml::to_yaml(self)
    }

    /// The present entries (certificates and CAs) that end before `now + within`.
    pub fn expiring_within(&self, now: SystemTime, within: Duration) -> Vec<&ExpirationEntry> {
        self.certificates
            .iter()
            .chain(&self.certificate_authorities)
            .filter(|e| e.expires_within(now, within))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_means_expired_or_ending_before_the_margin() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        // Expired an hour ago: due even with no margin.
        assert!(due_for_renewal(now - hour, Duration::ZERO, now));
        // Ends in an hour: due within two hours, not within half an hour.
        assert!(due_for_renewal(now + hour, 2 * hour, now));
        assert!(!due_for_renewal(now + hour, hour / 2, now));
        // Exactly at the margin: not yet.
        assert!(!due_for_renewal(now + hour, hour, now));
        // A margin past the end of time: due.
        assert!(due_for_renewal(now + hour, Duration::MAX, now));
    }
}
