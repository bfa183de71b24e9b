//! Subject alternative names of the four kinds a Kubernetes PKI uses.

use core::fmt;
use core::net::IpAddr;
use core::str::FromStr;

use der::asn1::{Ia5String, OctetString};
use x509_cert::ext::pkix::name::GeneralName;

use crate::CsrError;

/// The kind of a subject alternative name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SanKind {
    /// dNSName.
    Dns,
    /// iPAddress.
    Ip,
    /// uniformResourceIdentifier.
    Uri,
    /// rfc822Name.
    Email,
}

impl SanKind {
    /// The prefix OpenSSL uses for the kind: `DNS`, `IP`, `URI`, `email`.
    pub fn prefix(self) -> &'static str {
        match self {
            SanKind::Dns => "DNS",
            SanKind::Ip => "IP",
            SanKind::Uri => "URI",
            SanKind::Email => "email",
        }
    }
}

impl fmt::Display for SanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

impl FromStr for SanKind {
    type Err = CsrError;

    fn from_str(s: &str) -> Result<Self, CsrError> {
        match s.to_ascii_lowercase().as_str() {
            "dns" => Ok(SanKind::Dns),
            "ip" | "ip address" => Ok(SanKind::Ip),
            "uri" => Ok(SanKind::Uri),
            "email" | "rfc822" => Ok(SanKind::Email),
            _ => Err(CsrError::InvalidSan {
                kind: "unknown",
                value: s.to_owned(),
                reason: "the kind is not DNS, IP, URI or email",
            }),
        }
    }
}

/// `host[:port]`: non-empty labels of letters, digits, `-` and `_`, and 1 to 5 digits.
fn uri_authority_ok(authority: &str) -> bool {
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// RFC 3986 `pchar`s and `/` (and `?` in a query or fragment), with `%` only as `%XX`.
fn uri_chars_ok(part: &str, question_mark: bool) -> bool {
    let bytes = part.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let ok = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@/".contains(&b)
            || (question_mark && b == b'?');
        if b == b'%' {
            let escape_ok = bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
            if !escape_ok {
                return false;
            }
            i += 3;
            continue;
        }
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// A validated subject alternative name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum San {
    /// A DNS name; a leading `*.` wildcard label is allowed. [`San::dns`] lower-cases it; a
    /// name read from a request is kept exactly as received (checked as [`San::dns`] checks).
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A URI with a scheme, e.g. `spiffe://cluster.local/ns/default/sa/x`.
    Uri(String),
    /// An email address.
    Email(String),
}

impl San {
    /// A checked DNS name.
    ///
    /// # Errors
    /// [`CsrError::InvalidSan`] when `name` is not a valid DNS name.
    pub fn dns(name: &str) -> Result<Self, CsrError> {
        let invalid = |reason| CsrError::InvalidSan {
            kind: "DNS",
            value: name.to_owned(),
            reason,
        };
        let lower = name.to_ascii_lowercase();
        let body = lower.strip_prefix("*.").unwrap_or(&lower);
        if body.is_empty() {
            return Err(invalid("empty name"));
        }
        if lower.len() > 253 {
            return Err(invalid("longer than 253 characters"));
        }
        for label in body.split('.') {
            if label.is_empty() {
                return Err(invalid("empty label"));
            }
            if label.len() > 63 {
                return Err(invalid("a label is longer than 63 characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    "only letters, digits, '-' and '_' may appear in a label",
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(invalid("a label starts or ends with '-'"));
            }
        }
        if body.parse::<IpAddr>().is_ok() {
            return Err(invalid("an IP address belongs in an IP SAN"));
        }
        Ok(San::Dns(lower))
    }

    /// A checked URI, in a form Go's `net/url` reads and prints back unchanged (so that
    /// kubectl, the approvers and kubepki show the same text): a lower-case scheme (Go
    /// lower-cases it), `:`, then an optional `//host[:port]` authority (host labels of
    /// letters, digits, `-` and `_`; Go unescapes `%` in an authority and would print another
    /// host), a path, an optional `?query` and an optional `#fragment` (one `#`), all of
    /// RFC 3986 characters (unreserved, sub-delims, `:`, `@`, `/`, `?`) and valid `%XX`
    /// escapes; no empty fragment.
    ///
    /// # Errors
    /// [`CsrError::InvalidSan`] naming what breaks that form.
    pub fn uri(uri: &str) -> Result<Self, CsrError> {
        let invalid = |reason| CsrError::InvalidSan {
            kind: "URI",
            value: uri.to_owned(),
            reason,
        };
        let (scheme, rest) = uri.split_once(':').ok_or(invalid("no scheme"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
            && scheme
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !scheme_ok {
            return Err(invalid(
                "the scheme is not lower-case letters, digits, '+', '-' or '.'",
            ));
        }
        let (rest, fragment) = match rest.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (rest, None),
        };
        let (hier, query) = match rest.split_once('?') {
            Some((hier, query)) => (hier, Some(query)),
            None => (rest, None),
        };
        let path = match hier.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                let (authority, path) = after.split_at(end);
                if !uri_authority_ok(authority) {
                    return Err(invalid(
                        "the authority is not host[:port] with a host of letters, digits, '-', '_' and '.'",
                    ));
                }
                path
            }
            None if hier.is_empty() => return Err(invalid("nothing after the scheme")),
            None => hier,
        };
        if !uri_chars_ok(path, false) {
            return Err(invalid(
                "the path holds a character outside RFC 3986 or a bad '%' escape",
            ));
        }
        if query.is_some_and(|q| !uri_chars_ok(q, true)) {
            return Err(invalid(
                "the query holds a character outside RFC 3986 or a bad '%' escape",
            ));
        }
        // Go's url.URL forgets an empty fragment and prints "x:a", not "x:a#" (found by the
        // Go differential test).
        if fragment == Some("") {
            return Err(invalid("an empty fragment ('#' at the end)"));
        }
        if fragment.is_some_and(|f| !uri_chars_ok(f, true)) {
            return Err(invalid(
                "the fragment holds a character outside RFC 3986, a second '#' or a bad '%' escape",
            ));
        }
        Ok(San::Uri(uri.to_owned()))
    }

    /// A checked email address: `local@domain`, the domain a valid DNS name.
    ///
    /// # Errors
    /// [`CsrError::InvalidSan`] when `address` is not `local@domain`.
    pub fn email(address: &str) -> Result<Self, CsrError> {
        let invalid = |reason| CsrError::InvalidSan {
            kind: "email",
            value: address.to_owned(),
            reason,
        };
        let (local, domain) = address.rsplit_once('@').ok_or(invalid("no '@'"))?;
        if local.is_empty() || !local.bytes().all(|b| b.is_ascii_graphic() && b != b'@') {
            return Err(invalid("the local part is empty or not printable ASCII"));
        }
        San::dns(domain).map_err(|_| invalid("the domain is not a valid DNS name"))?;
        Ok(San::Email(address.to_owned()))
    }

    /// Parses `DNS:name`, `IP:addr`, `URI:uri` or `email:addr` (OpenSSL's words, any case), or
    /// a bare value: an IP address if it parses as one, else a DNS name.
    ///
    /// # Errors
    /// [`CsrError::InvalidSan`] when the value is not valid for its kind.
    pub fn parse(text: &str) -> Result<Self, CsrError> {
        let text = text.trim();
        if let Some((kind, value)) = text.split_once(':')
            && let Ok(kind) = kind.parse::<SanKind>()
        {
            return San::parse_as(kind, value.trim());
        }
        match text.parse::<IpAddr>() {
            Ok(ip) => Ok(San::Ip(ip)),
            Err(_) => San::dns(text),
        }
    }

    /// Parses `value` as a SAN of the given kind.
    ///
    /// # Errors
    /// [`CsrError::InvalidSan`] when the value is not valid for its kind.
    pub fn parse_as(kind: SanKind, value: &str) -> Result<Self, CsrError> {
        match kind {
            SanKind::Dns => San::dns(value),
            SanKind::Ip => value
                .parse()
                .map(San::Ip)
                .map_err(|_| CsrError::InvalidSan {
                    kind: "IP",
                    value: value.to_owned(),
                    reason: "not an IPv4 or IPv6 address",
                }),
            SanKind::Uri => San::uri(value),
            SanKind::Email => San::email(value),
        }
    }

    /// The kind of this name.
    pub fn kind(&self) -> SanKind {
        match self {
            San::Dns(_) => SanKind::Dns,
            San::Ip(_) => SanKind::Ip,
            San::Uri(_) => SanKind::Uri,
            San::Email(_) => SanKind::Email,
        }
    }

    /// The value without its kind prefix.
    pub fn value(&self) -> String {
        match self {
            San::Dns(v) | San::Uri(v) | San::Email(v) => v.clone(),
            San::Ip(ip) => ip.to_string(),
        }
    }

    /// The X.509 GeneralName.
    ///
    /// # Errors
    /// [`CsrError::Encode`] if a value cannot be held in an IA5String (cannot happen for a
    /// checked name).
    pub fn to_general_name(&self) -> Result<GeneralName, CsrError> {
        let ia5 = |s: &str| Ia5String::new(s).map_err(|e| CsrError::Encode(e.to_string()));
        Ok(match self {
            San::Dns(v) => GeneralName::DnsName(ia5(v)?),
            San::Uri(v) => GeneralName::UniformResourceIdentifier(ia5(v)?),
            San::Email(v) => GeneralName::Rfc822Name(ia5(v)?),
            San::Ip(IpAddr::V4(ip)) => GeneralName::IpAddress(
                OctetString::new(ip.octets().to_vec())
                    .map_err(|e| CsrError::Encode(e.to_string()))?,
            ),
            San::Ip(IpAddr::V6(ip)) => GeneralName::IpAddress(
                OctetString::new(ip.octets().to_vec())
                    .map_err(|e| CsrError::Encode(e.to_string()))?,
            ),
        })
    }

    /// Reads a GeneralName as found in a certificate made elsewhere, without re-validating
    /// its syntax (such certificates may carry odd names). Kinds other than the four give
    /// `None`; an IP address of a length other than 4 or 16 gives `None`. Requests are not
    /// read with this: [`Csr::from_der`](crate::Csr::from_der) refuses what this would drop.
    pub fn from_general_name(name: &GeneralName) -> Option<Self> {
        match name {
            GeneralName::DnsName(v) => Some(San::Dns(v.to_string())),
            GeneralName::UniformResourceIdentifier(v) => Some(San::Uri(v.to_string())),
            GeneralName::Rfc822Name(v) => Some(San::Email(v.to_string())),
            GeneralName::IpAddress(octets) => match octets.as_bytes().len() {
                4 => <[u8; 4]>::try_from(octets.as_bytes())
                    .ok()
                    .map(|b| San::Ip(IpAddr::from(b))),
                16 => <[u8; 16]>::try_from(octets.as_bytes())
                    .ok()
                    .map(|b| San::Ip(IpAddr::from(b))),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for San {
    /// OpenSSL's form: `DNS:kubernetes`, `IP:10.96.0.1`, `URI:…`, `email:…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind().prefix(), self.value())
    }
}

impl FromStr for San {
    type Err = CsrError;

    fn from_str(s: &str) -> Result<Self, CsrError> {
        San::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openssl_prefixes_and_bare_values() {
        assert_eq!(
            San::parse("DNS:Kubernetes").unwrap(),
            San::Dns("kubernetes".into())
        );
        assert_eq!(
            San::parse("IP:10.96.0.1").unwrap().to_string(),
            "IP:10.96.0.1"
        );
        assert_eq!(San::parse("::1").unwrap(), San::Ip("::1".parse().unwrap()));
        assert_eq!(
            San::parse("kubernetes.default.svc").unwrap().kind(),
            SanKind::Dns
        );
        assert_eq!(
            San::parse("email:jane@example.com").unwrap().kind(),
            SanKind::Email
        );
        assert_eq!(
            San::parse("URI:spiffe://cluster.local/ns/a")
                .unwrap()
                .kind(),
            SanKind::Uri
        );
        assert_eq!(
            San::parse("*.example.com").unwrap(),
            San::Dns("*.example.com".into())
        );
    }

    #[test]
    fn invalid_values_are_named() {
        for bad in [
            "bad name",
            "-x.example",
            "a..b",
            "IP:300.1.1.1",
            "URI:nocolon",
            "email:x",
        ] {
            let err = San::parse(bad).unwrap_err();
            assert!(matches!(err, CsrError::InvalidSan { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn general_name_round_trip() {
        for text in [
            "DNS:a.b",
            "IP:10.0.0.1",
            "IP:fd00::1",
            "URI:https://x/y",
            "email:a@b.c",
        ] {
            let san = San::parse(text).unwrap();
            let back = San::from_general_name(&san.to_general_name().unwrap()).unwrap();
            assert_eq!(back, san);
        }
    }
}
