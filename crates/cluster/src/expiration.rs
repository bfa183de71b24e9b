//! `certs check-expiration`: kubeadm's two tables, and the data behind them.

use std::path::Path;
use std::time::{Duration, SystemTime};

use der::Encode;
use kubepki_sign::{CertificateInfo, format_kubeadm_date, format_rfc3339, parse_certificate};
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

    /// Whether it is present and ends before `now + within`.
    pub fn expires_within(&self, now: SystemTime, within: Duration) -> bool {
        match (self.not_after, now.checked_add(within)) {
            (Some(end), Some(limit)) => end < limit,
            _ => false,
        }
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

/// apimachinery's `duration.HumanDuration` of a residual time in seconds, as kubeadm's
/// table prints it: `<invalid>` when past, then `Ns` below 2 minutes, `NmSs` below 10
/// minutes, `Nm` below 3 hours, `NhMm` below 8 hours, `Nh` below 2 days, `NdHh` below 8 days,
/// `Nd` below 2 years, `NyDd` below 8 years, `Ny`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{}y", days / 365),
            d => format!("{}y{d}d", days / 365),
        };
    }
    format!("{}y", days / 365)
}

/// Lays out lines as Go's `text/tabwriter` does with kubeadm's settings (minwidth 10,
/// padding 3): every cell of a line but the last is tab-terminated; a column's width is
/// set per block of consecutive lines that have a terminated cell in that column.
fn tabwriter(lines: &[Vec<String>]) -> String {
    const MIN_WIDTH: usize = 10;
    const PADDING: usize = 3;
    let terminated = |line: &Vec<String>| line.len().saturating_sub(1);
    let columns = lines.iter().map(terminated).max().unwrap_or(0);
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; terminated(l)]).collect();
    for c in 0..columns {
        let mut i = 0;
        while i < lines.len() {
            if lines.get(i).map_or(0, terminated) <= c {
                i += 1;
                continue;
            }
            let start = i;
            while i < lines.len() && lines.get(i).map_or(0, terminated) > c {
                i += 1;
            }
            let block = lines.get(start..i).unwrap_or_default();
            let width = block
                .iter()
                .filter_map(|l| l.get(c))
                .map(|cell| cell.chars().count() + PADDING)
                .max()
                .unwrap_or(0)
                .max(MIN_WIDTH);
            for row in widths.get_mut(start..i).unwrap_or_default() {
                if let Some(w) = row.get_mut(c) {
                    *w = width;
                }
            }
        }
    }
    let mut out = String::new();
    for (line, row) in lines.iter().zip(&widths) {
        for (cell, width) in line.iter().zip(row) {
            out.push_str(cell);
            out.push_str(&" ".repeat(width.saturating_sub(cell.chars().count())));
        }
        if let Some(last) = line.last() {
            out.push_str(last);
        }
        out.push('\n');
    }
    out
}

/// kubeadm's last column: `%-8v` of yes/no.
fn yes_no(b: bool) -> String {
    format!("{:<8}", if b { "yes" } else { "no" })
}

impl ExpirationReport {
    /// kubeadm's two tables, as `kubeadm certs check-expiration` prints them.
    pub fn table(&self) -> String {
        let mut rows = vec![
            [
                "CERTIFICATE",
                "EXPIRES",
                "RESIDUAL TIME",
                "CERTIFICATE AUTHORITY",
                "EXTERNALLY MANAGED",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for e in &self.certificates {
            rows.push(match e.not_after {
                Some(end) => vec![
                    e.name.clone(),
                    format_kubeadm_date(end),
                    human_duration(e.residual_seconds),
                    e.ca_name.clone(),
                    yes_no(e.externally_managed),
                ],
                // kubeadm: "!MISSING! %s\t\t\t\t", four empty cells that keep the columns.
                None => vec![
                    format!("!MISSING! {}", e.name),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            });
        }
        rows.push(Vec::new());
        rows.push(
            [
                "CERTIFICATE AUTHORITY",
                "EXPIRES",
                "RESIDUAL TIME",
                "EXTERNALLY MANAGED",
            ]
            .map(str::to_owned)
            .to_vec(),
        );
        for e in &self.certificate_authorities {
            rows.push(match e.not_after {
                Some(end) => vec![
                    e.name.clone(),
                    format_kubeadm_date(end),
                    human_duration(e.residual_seconds),
                    yes_no(e.externally_managed),
                ],
                // kubeadm: "!MISSING! %s\t\t\t".
                None => vec![
                    format!("!MISSING! {}", e.name),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            });
        }
        tabwriter(&rows)
    }

    /// The report as YAML, with the field names of kubeadm's `-o yaml`.
    ///
    /// # Errors
    /// The serializer's message (not expected for these plain types).
    pub fn to_yaml(&self) -> Result<String, String> {
        serde_yaml::to_string(self).map_err(|e| e.to_string())
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
    fn dates_and_durations_as_kubeadm() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + 3_600 * 13 + 60 * 7);
        assert_eq!(format_kubeadm_date(t), "Jan 01, 2026 13:07 UTC");
        assert_eq!(format_rfc3339(t), "2026-01-01T13:07:00Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format_kubeadm_date(leap), "Feb 29, 2000 00:00 UTC");
        for (seconds, text) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (59, "59s"),
            (119, "119s"),
            (9 * 60 + 5, "9m5s"),
            (59 * 60, "59m"),
            (5 * 3600 + 60, "5h1m"),
            (23 * 3600, "23h"),
            (3 * 86_400 + 7200, "3d2h"),
            (364 * 86_400, "364d"),
            (1096 * 86_400, "3y1d"),
            (3649 * 86_400, "9y"),
        ] {
            assert_eq!(human_duration(seconds), text, "{seconds} s");
        }
    }
}
