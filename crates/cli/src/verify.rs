//! `kubepki verify`: chain verification from the command line.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use kubepki::verify::{KeyPurpose, PeerName, VerifyOptions, kubernetes_identity_pem, verify_pem};

use crate::error::{CliError, CliResult};
use crate::files::read_file;

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

/// Parses `--at`: RFC 3339, every form the API objects accept (`Z` or an offset, fractional
/// seconds), through the tree's one time module.
fn parse_time(text: &str) -> CliResult<SystemTime> {
    kubepki::sign::parse_rfc3339(text.trim()).map_err(|_| {
        CliError(format!(
            "--at {text:?} is not an RFC 3339 time such as 2026-01-02T03:04:05Z"
        ))
    })
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
    use std::time::{Duration, UNIX_EPOCH};

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
        // `--at` reads every form the API parser reads: offsets and fractions too.
        assert_eq!(
            parse_time("2026-01-02T05:04:05.5+02:00").unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_767_323_045)
        );
        assert!(parse_time("2026-01-02T03:04:05+\u{20ac}00").is_err());
    }
}
