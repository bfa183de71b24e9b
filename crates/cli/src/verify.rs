//! `kubepki verify`: chain verification from the command line.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use kubepki::verify::{KeyPurpose, PeerName, VerifyOptions, kubernetes_identity_pem, verify_pem};

use crate::commands::{CliError, CliResult, read_file};

/// The extended key usage a certificate must allow.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum UsageArg {
    /// TLS server (kube-apiserver, etcd, kubelet serving).
    ServerAuth,
    /// TLS client (users, components).
    ClientAuth,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The trusted CA certificate(s), PEM.
    #[arg(long)]
    pub(crate) ca: PathBuf,
    /// Untrusted intermediates, PEM (any order; junk is ignored).
    #[arg(long)]
    pub(crate) untrusted: Option<PathBuf>,
    /// The certificate to verify (further blocks count as intermediates).
    #[arg(long)]
    pub(crate) cert: PathBuf,
    /// The DNS name the certificate must be valid for.
    #[arg(long, conflicts_with = "ip")]
    pub(crate) dns_name: Option<String>,
    /// The IP address the certificate must be valid for.
    #[arg(long)]
    pub(crate) ip: Option<std::net::IpAddr>,
    /// The usage the certificate must allow.
    #[arg(long, value_enum)]
    pub(crate) usage: Option<UsageArg>,
    /// Verify at this time (RFC 3339, e.g. 2026-01-02T03:04:05Z) instead of now.
    #[arg(long)]
    pub(crate) at: Option<String>,
    /// Also say which user and groups the Kubernetes API server would see (client auth).
    #[arg(long)]
    pub(crate) kubernetes: bool,
}

/// Parses RFC 3339 UTC (`Z` or `+00:00`) to a SystemTime.
fn parse_time(text: &str) -> CliResult<SystemTime> {
    let bad = || {
        CliError(format!(
            "--at {text:?} is not an RFC 3339 UTC time such as 2026-01-02T03:04:05Z"
        ))
    };
    let trimmed = text.trim();
    let body = trimmed
        .strip_suffix('Z')
        .or_else(|| trimmed.strip_suffix("+00:00"))
        .ok_or_else(bad)?;
    let (date, time) = body.split_once('T').ok_or_else(bad)?;
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 3 {
        return Err(bad());
    }
    let (year, month, day) = (num(d[0])?, num(d[1])?, num(d[2])?);
    let (hour, minute, second) = (
        num(t[0])?,
        num(t[1])?,
        num(t[2].split('.').next().unwrap_or(""))?,
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    let secs = u64::try_from(secs).map_err(|_| bad())?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

pub(crate) fn verify(args: &VerifyArgs) -> CliResult<()> {
    let time = match &args.at {
        Some(text) => parse_time(text)?,
        None => SystemTime::now(),
    };
    let mut options = VerifyOptions::new(time);
    if let Some(name) = &args.dns_name {
        options = options.with_name(PeerName::Dns(name.clone()));
    }
    if let Some(ip) = args.ip {
        options = options.with_name(PeerName::Ip(ip));
    }
    let usage = if args.kubernetes {
        Some(UsageArg::ClientAuth)
    } else {
        args.usage
    };
    match usage {
        Some(UsageArg::ServerAuth) => options = options.with_purpose(KeyPurpose::ServerAuth),
        Some(UsageArg::ClientAuth) => options = options.with_purpose(KeyPurpose::ClientAuth),
        None => {}
    }
    let ca = read_file(&args.ca)?;
    // A --ca that holds no certificate is the file at fault, not the leaf.
    let anchors = kubepki::sign::certificates_from_bytes(&ca).map_err(|e| {
        CliError(format!(
            "{}: not a CA certificate file: {e}",
            args.ca.display()
        ))
    })?;
    if anchors.is_empty() {
        return Err(CliError(format!(
            "{}: not a CA certificate file: no CERTIFICATE PEM block",
            args.ca.display()
        )));
    }
    for der in &anchors {
        kubepki::sign::parse_certificate(der).map_err(|e| {
            CliError(format!(
                "{}: not a CA certificate file: {e}",
                args.ca.display()
            ))
        })?;
    }
    let cert = read_file(&args.cert)?;
    let untrusted = args.untrusted.as_deref().map(read_file).transpose()?;
    let path = verify_pem(&ca, untrusted.as_deref(), &cert, &options)
        .map_err(|e| CliError(format!("{}: verification failed: {e}", args.cert.display())))?;
    println!("{}: OK", args.cert.display());
    for (i, cert) in path.certificates().iter().enumerate() {
        let role = if i == 0 {
            "leaf"
        } else if i + 1 == path.certificates().len() {
            "trust anchor"
        } else {
            "intermediate"
        };
        println!("  [{i}] {} ({role})", cert.subject());
    }
    if args.kubernetes {
        let identity = kubernetes_identity_pem(&ca, untrusted.as_deref(), &cert, time)?;
        println!("  kubernetes user:   {}", identity.user);
        println!("  kubernetes groups: {}", identity.groups.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), UNIX_EPOCH);
        assert_eq!(
            parse_time("2026-01-02T03:04:05Z").unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_767_323_045)
        );
        assert!(parse_time("2026-13-02T03:04:05Z").is_err());
        assert!(parse_time("yesterday").is_err());
    }
}
