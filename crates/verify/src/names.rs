//! Name matching (RFC 6125 host names, IP addresses, e-mail) and RFC 5280 name constraints.

use std::fmt;
use std::net::IpAddr;

use der::Encode;
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use crate::VerifyError;
use crate::cert::{Cert, oids};

/// The name a caller expects the end-entity certificate to carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerName {
    /// A DNS host name, matched against dNSName SANs (wildcards allowed only as
    /// the whole leftmost label). The common name is never used.
    Dns(String),
    /// An IPv4 or IPv6 address, matched against iPAddress SANs.
    Ip(IpAddr),
    /// An e-mail address, matched against rfc822Name SANs.
    Email(String),
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(n) => write!(f, "DNS name {n}"),
            Self::Ip(a) => write!(f, "IP address {a}"),
            Self::Email(e) => write!(f, "e-mail address {e}"),
        }
    }
}

/// Whether `name` is a valid DNS host name: 1-63 byte labels of letters,
/// digits and `-` (not at either end), at most 253 bytes, with an
/// optional trailing dot. With `wildcard`, the leftmost label may be `*`.
pub(crate) fn is_valid_dns_name(name: &str, wildcard: bool) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    for (i, label) in name.split('.').enumerate() {
        if wildcard && i == 0 && label == "*" {
            continue;
        }
        if label.is_empty() || label.len() > 63 {
            return false;
        }
        if label.starts_with('-') || label.ends_with('-') {
            return false;
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return false;
        }
    }
    // a name of digits and dots only is an IPv4 literal, not a host name
    !name
        .split('.')
        .next_back()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// RFC 6125 matching of a presented dNSName against the reference host name.
fn dns_name_matches(presented: &str, reference: &str) -> bool {
    let presented = presented.strip_suffix('.').unwrap_or(presented);
    let reference = reference.strip_suffix('.').unwrap_or(reference);
    if !is_valid_dns_name(presented, true) {
        return false;
    }
    if let Some(rest) = presented.strip_prefix("*.") {
        // the wildcard stands for exactly one whole, non-empty label, and
        // must leave at least two labels to its right
        if !rest.contains('.') {
            return false;
        }
        match reference.split_once('.') {
            Some((first, ref_rest)) => !first.is_empty() && ref_rest.eq_ignore_ascii_case(rest),
            None => false,
        }
    } else {
        presented.eq_ignore_ascii_case(reference)
    }
}

fn email_matches(presented: &str, reference: &str) -> bool {
    match (presented.rsplit_once('@'), reference.rsplit_once('@')) {
        (Some((pl, pd)), Some((rl, rd))) => pl == rl && pd.eq_ignore_ascii_case(rd),
        _ => false,
    }
}

fn ip_from_octets(octets: &[u8]) -> Option<IpAddr> {
    match octets.len() {
        4 => <[u8; 4]>::try_from(octets).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(octets).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Checks that the leaf carries `expected` in its subjectAltName.
pub(crate) fn check_peer_name(leaf: &Cert, expected: &PeerName) -> Result<(), VerifyError> {
    let mismatch = || VerifyError::NameMismatch {
        subject: leaf.subject().to_owned(),
        expected: expected.to_string(),
    };
    let sans = leaf.san.as_deref().unwrap_or(&[]);
    let found = sans.iter().any(|san| match (san, expected) {
        (GeneralName::DnsName(p), PeerName::Dns(r)) => dns_name_matches(p.as_str(), r),
        (GeneralName::IpAddress(p), PeerName::Ip(r)) => {
            ip_from_octets(p.as_bytes()).is_some_and(|ip| ip == *r)
        }
        (GeneralName::Rfc822Name(p), PeerName::Email(r)) => email_matches(p.as_str(), r),
        _ => false,
    });
    if found { Ok(()) } else { Err(mismatch()) }
}

/// Checks that a caller-supplied expected name is well formed.
pub(crate) fn check_expected_name(name: &PeerName) -> Result<(), VerifyError> {
    match name {
        PeerName::Dns(n) if !is_valid_dns_name(n, false) => Err(VerifyError::BadExpectedName {
            name: n.clone(),
            kind: "DNS name",
        }),
        PeerName::Email(e)
            if e.rsplit_once('@')
                .is_none_or(|(l, d)| l.is_empty() || !is_valid_dns_name(d, false)) =>
        {
            Err(VerifyError::BadExpectedName {
                name: e.clone(),
                kind: "e-mail address",
            })
        }
        _ => Ok(()),
    }
}

/// A name of a certificate, as name constraints see it.
enum Subject<'a> {
    Dns(&'a str),
    Ip(&'a [u8]),
    Email(&'a str),
    Uri(&'a str),
    Dn(&'a Name),
    /// A kind of name this crate cannot check against a constraint of the same kind.
    Other(u8),
}

impl Subject<'_> {
    fn describe(&self) -> String {
        match self {
            Subject::Dns(n) => format!("DNS:{n}"),
            Subject::Ip(o) => match ip_from_octets(o) {
                Some(ip) => format!("IP:{ip}"),
                None => format!("IP:{o:02x?}"),
            },
            Subject::Email(e) => format!("email:{e}"),
            Subject::Uri(u) => format!("URI:{u}"),
            Subject::Dn(n) => format!("DirName:{n}"),
            Subject::Other(t) => format!("GeneralName[{t}]"),
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Subject::Email(_) => 1,
            Subject::Dns(_) => 2,
            Subject::Dn(_) => 4,
            Subject::Uri(_) => 6,
            Subject::Ip(_) => 7,
            Subject::Other(t) => *t,
        }
    }
}

fn general_name_kind(name: &GeneralName) -> u8 {
    match name {
        GeneralName::OtherName(_) => 0,
        GeneralName::Rfc822Name(_) => 1,
        GeneralName::DnsName(_) => 2,
        GeneralName::DirectoryName(_) => 4,
        GeneralName::EdiPartyName(_) => 5,
        GeneralName::UniformResourceIdentifier(_) => 6,
        GeneralName::IpAddress(_) => 7,
        GeneralName::RegisteredId(_) => 8,
    }
}

/// Outcome of comparing one name with one subtree.
enum Match {
    Yes,
    No,
    /// The constraint or the name cannot be evaluated (malformed).
    Invalid,
}

fn dns_in_subtree(name: &str, base: &str) -> Match {
    let name = name.strip_suffix('.').unwrap_or(name);
    if !is_valid_dns_name(name, true) {
        return Match::Invalid;
    }
    if base.is_empty() {
        return Match::Yes;
    }
    // RFC 5280 4.2.1.10 writes DNS constraints as host names: a leading
    // period (the URI and e-mail form) is malformed here
    if !is_valid_dns_name(base, false) {
        return Match::Invalid;
    }
    let name_l = name.to_ascii_lowercase();
    let base_l = base.to_ascii_lowercase();
    let inside = name_l
        .strip_suffix(&base_l)
        .is_some_and(|prefix| prefix.ends_with('.') || prefix.is_empty());
    if inside { Match::Yes } else { Match::No }
}

/// Whether a wildcard name could stand for a name inside the subtree `base`,
/// used for excluded subtrees: `*.example.com` may be `bad.example.com`.
fn wildcard_may_match(name: &str, base: &str) -> bool {
    let Some(rest) = name.strip_prefix("*.") else {
        return false;
    };
    let base = base.strip_prefix('.').unwrap_or(base);
    base.split_once('.')
        .is_some_and(|(first, base_rest)| !first.is_empty() && base_rest.eq_ignore_ascii_case(rest))
}

fn email_in_subtree(name: &str, base: &str) -> Match {
    let Some((local, domain)) = name.rsplit_once('@') else {
        return Match::Invalid;
    };
    if local.is_empty() || local.contains('@') || !is_valid_dns_name(domain, false) {
        return Match::Invalid;
    }
    if base.contains('@') {
        return if email_matches(name, base) {
            Match::Yes
        } else {
            Match::No
        };
    }
    if let Some(parent) = base.strip_prefix('.') {
        let d = domain.to_ascii_lowercase();
        let p = parent.to_ascii_lowercase();
        let inside = d.strip_suffix(&p).is_some_and(|pre| pre.ends_with('.'));
        return if inside { Match::Yes } else { Match::No };
    }
    if domain.eq_ignore_ascii_case(base) {
        Match::Yes
    } else {
        Match::No
    }
}

/// The host part of a URI, if it has an authority with a host name.
fn uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return None;
    }
    let host = host_port.split_once(':').map_or(host_port, |(h, _)| h);
    if host.is_empty() { None } else { Some(host) }
}

fn uri_in_subtree(uri: &str, base: &str) -> Match {
    let Some(host) = uri_host(uri) else {
        return Match::Invalid;
    };
    if !is_valid_dns_name(host, false) {
        return Match::Invalid;
    }
    if let Some(parent) = base.strip_prefix('.') {
        let h = host.to_ascii_lowercase();
        let p = parent.to_ascii_lowercase();
        return if h.strip_suffix(&p).is_some_and(|pre| pre.ends_with('.')) {
            Match::Yes
        } else {
            Match::No
        };
    }
    if host.eq_ignore_ascii_case(base) {
        Match::Yes
    } else {
        Match::No
    }
}

fn ip_in_subtree(name: &[u8], base: &[u8]) -> Match {
    if name.len() != 4 && name.len() != 16 {
        return Match::Invalid;
    }
    if base.len() != 8 && base.len() != 32 {
        return Match::Invalid;
    }
    let (addr, mask) = base.split_at(base.len() / 2);
    // the mask must be a run of ones followed by zeros
    let mut seen_zero = false;
    for byte in mask {
        for bit in (0..8).rev() {
            let one = byte & (1 << bit) != 0;
            if one && seen_zero {
                return Match::Invalid;
            }
            seen_zero |= !one;
        }
    }
    if name.len() != addr.len() {
        return Match::No;
    }
    let inside = name
        .iter()
        .zip(addr)
        .zip(mask)
        .all(|((n, a), m)| n & m == a & m);
    if inside { Match::Yes } else { Match::No }
}

fn dn_in_subtree(name: &Name, base: &Name) -> Match {
    let name_rdns: Vec<_> = name.iter_rdn().collect();
    let base_rdns: Vec<_> = base.iter_rdn().collect();
    if base_rdns.len() > name_rdns.len() {
        return Match::No;
    }
    let same = base_rdns
        .iter()
        .zip(&name_rdns)
        .all(|(b, n)| match (b.to_der(), n.to_der()) {
            (Ok(b), Ok(n)) => b == n,
            _ => false,
        });
    if same { Match::Yes } else { Match::No }
}

fn in_subtree(name: &Subject<'_>, base: &GeneralName) -> Match {
    match (name, base) {
        (Subject::Dns(n), GeneralName::DnsName(b)) => dns_in_subtree(n, b.as_str()),
        (Subject::Email(n), GeneralName::Rfc822Name(b)) => email_in_subtree(n, b.as_str()),
        (Subject::Uri(n), GeneralName::UniformResourceIdentifier(b)) => {
            uri_in_subtree(n, b.as_str())
        }
        (Subject::Ip(n), GeneralName::IpAddress(b)) => ip_in_subtree(n, b.as_bytes()),
        (Subject::Dn(n), GeneralName::DirectoryName(b)) => dn_in_subtree(n, b),
        _ if name.kind() == general_name_kind(base) => Match::Invalid,
        _ => Match::No,
    }
}

/// The names of `cert` that name constraints apply to: its SANs, its subject
/// DN, and e-mail addresses in its subject.
fn constrained_names(cert: &Cert) -> Vec<Subject<'_>> {
    let mut names = Vec::new();
    let subject = cert.cert.tbs_certificate().subject();
    if !subject.is_empty() {
        names.push(Subject::Dn(subject));
    }
    for atv in subject.iter() {
        if atv.oid == oids::EMAIL_ADDRESS {
            if let Ok(s) = atv.value.decode_as::<der::asn1::Ia5StringRef<'_>>() {
                names.push(Subject::Email(s.as_str()));
            } else {
                names.push(Subject::Other(1));
            }
        }
    }
    for san in cert.san.as_deref().unwrap_or(&[]) {
        names.push(match san {
            GeneralName::DnsName(n) => Subject::Dns(n.as_str()),
            GeneralName::Rfc822Name(n) => Subject::Email(n.as_str()),
            GeneralName::UniformResourceIdentifier(n) => Subject::Uri(n.as_str()),
            GeneralName::IpAddress(o) => Subject::Ip(o.as_bytes()),
            GeneralName::DirectoryName(n) => Subject::Dn(n),
            other => Subject::Other(general_name_kind(other)),
        });
    }
    names
}

/// Checks the names of `cert` against the nameConstraints of `ca`.
pub(crate) fn check_name_constraints(ca: &Cert, cert: &Cert) -> Result<(), VerifyError> {
    let Some(nc) = &ca.name_constraints else {
        return Ok(());
    };
    let violation = |name: &Subject<'_>| VerifyError::NameConstraintViolation {
        subject: cert.subject().to_owned(),
        name: name.describe(),
        constrained_by: ca.subject().to_owned(),
    };
    let permitted: &[GeneralSubtree] = nc.permitted_subtrees.as_deref().unwrap_or(&[]);
    let excluded: &[GeneralSubtree] = nc.excluded_subtrees.as_deref().unwrap_or(&[]);
    for name in constrained_names(cert) {
        let kind = name.kind();
        for subtree in excluded {
            match in_subtree(&name, &subtree.base) {
                Match::Yes | Match::Invalid => return Err(violation(&name)),
                Match::No => {}
            }
            if let (Subject::Dns(n), GeneralName::DnsName(b)) = (&name, &subtree.base)
                && wildcard_may_match(n, b.as_str())
            {
                return Err(violation(&name));
            }
        }
        let mut any_of_kind = false;
        let mut matched = false;
        for subtree in permitted {
            if general_name_kind(&subtree.base) != kind {
                continue;
            }
            any_of_kind = true;
            match in_subtree(&name, &subtree.base) {
                Match::Yes => matched = true,
                Match::Invalid => return Err(violation(&name)),
                Match::No => {}
            }
        }
        if any_of_kind && !matched {
            return Err(violation(&name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching() {
        assert!(dns_name_matches("*.example.com", "a.example.com"));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_name_matches("a*.example.com", "ab.example.com"));
        assert!(!dns_name_matches("*.com", "example.com"));
        assert!(dns_name_matches("Example.COM", "example.com"));
    }

    #[test]
    fn dns_subtrees() {
        assert!(matches!(
            dns_in_subtree("a.example.com", "example.com"),
            Match::Yes
        ));
        assert!(matches!(
            dns_in_subtree("example.com", "example.com"),
            Match::Yes
        ));
        assert!(matches!(
            dns_in_subtree("example.com", ".example.com"),
            Match::Invalid
        ));
        assert!(matches!(
            dns_in_subtree("badexample.com", "example.com"),
            Match::No
        ));
        assert!(matches!(dns_in_subtree("anything.org", ""), Match::Yes));
    }

    #[test]
    fn ip_subtrees() {
        let base = [10, 0, 0, 0, 255, 0, 0, 0];
        assert!(matches!(ip_in_subtree(&[10, 1, 2, 3], &base), Match::Yes));
        assert!(matches!(ip_in_subtree(&[11, 1, 2, 3], &base), Match::No));
        assert!(matches!(
            ip_in_subtree(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 255, 0]),
            Match::Invalid
        ));
    }
}
