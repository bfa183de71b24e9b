//! RFC 7512 `pkcs11:` URIs, with the query attributes p11-kit defines (`module-path`,
//! `module-name`, `pin-source`, `pin-value`).

use core::fmt;
use core::str::FromStr;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::Pkcs11Error;
use crate::object_type::ObjectType;

/// A parsed `pkcs11:` URI (RFC 7512): which token, which object, and how to reach them.
///
/// `Debug` and `Display` never print a `pin-value`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer ID.
    pub manufacturer: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the object's label (CKA_LABEL).
    pub object: Option<String>,
    /// `id`: the object's CKA_ID bytes.
    pub id: Option<Vec<u8>>,
    /// `type`: the kind of object.
    pub object_type: Option<ObjectType>,
    /// `module-path`: the PKCS#11 module (shared library) to load.
    pub module_path: Option<PathBuf>,
    /// `module-name`: a module by name (p11-kit's; kept, but only `module-path` is loaded).
    pub module_name: Option<String>,
    /// `pin-source`: where to read the PIN (`file:/path` or a path).
    pub pin_source: Option<String>,
    /// `pin-value`: the PIN itself (discouraged: it ends up in shell history).
    pub pin_value: Option<Zeroizing<String>>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pkcs11Uri").field(&self.to_string()).finish()
    }
}

/// Characters written as they are in a URI attribute value (RFC 3986 unreserved, and the
/// few RFC 7512 allows in path values).
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,=".contains(&b)
}

fn encode(out: &mut String, bytes: &[u8], path_value: bool) {
    for &b in bytes {
        // `/` is allowed in query values (module-path), not in path values.
        if is_plain(b) || (!path_value && (b == b'/' || b == b'?')) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

impl fmt::Display for Pkcs11Uri {
    /// The URI in RFC 7512 form, `pin-value` replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path = Vec::new();
        let mut attr = |name: &str, bytes: &[u8]| {
            let mut s = format!("{name}=");
            encode(&mut s, bytes, true);
            path.push(s);
        };
        if let Some(v) = &self.token {
            attr("token", v.as_bytes());
        }
        if let Some(v) = &self.manufacturer {
            attr("manufacturer", v.as_bytes());
        }
        if let Some(v) = &self.model {
            attr("model", v.as_bytes());
        }
        if let Some(v) = &self.serial {
            attr("serial", v.as_bytes());
        }
        if let Some(v) = self.slot_id {
            attr("slot-id", v.to_string().as_bytes());
        }
        if let Some(v) = &self.object {
            attr("object", v.as_bytes());
        }
        if let Some(v) = self.object_type {
            attr("type", v.name().as_bytes());
        }
        if let Some(v) = &self.id {
            let mut s = "id=".to_owned();
            for b in v {
                s.push_str(&format!("%{b:02X}"));
            }
            path.push(s);
        }
        let mut query = Vec::new();
        let mut qattr = |name: &str, bytes: &[u8]| {
            let mut s = format!("{name}=");
            encode(&mut s, bytes, false);
            query.push(s);
        };
        if let Some(v) = &self.module_path {
            qattr("module-path", v.to_string_lossy().as_bytes());
        }
        if let Some(v) = &self.module_name {
            qattr("module-name", v.as_bytes());
        }
        if let Some(v) = &self.pin_source {
            qattr("pin-source", v.as_bytes());
        }
        if self.pin_value.is_some() {
            query.push("pin-value=***".to_owned());
        }
        write!(f, "pkcs11:{}", path.join(";"))?;
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

/// Whether `text` is a `pkcs11:` URI rather than a file name (the scheme is case-insensitive).
pub fn is_pkcs11_uri(text: &str) -> bool {
    text.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
}

fn bad(uri: &str, reason: String) -> Pkcs11Error {
    Pkcs11Error::BadUri {
        uri: redact(uri),
        reason,
    }
}

/// Whether a URI attribute (`name=value`, or a fragment without `=`) may carry a PIN: its
/// name is `pin-value` in any case. Such an attribute is never quoted.
fn is_pin_attribute(attr: &str) -> bool {
    attr.get(..9)
        .is_some_and(|name| name.eq_ignore_ascii_case("pin-value"))
}

/// The query attributes that never carry a PIN: after a `pin-value`, every other fragment
/// up to one of these may be the rest of a PIN that held an unescaped `&`.
fn is_plain_query_attribute(attr: &str) -> bool {
    let name = attr.split_once('=').map_or(attr, |(name, _)| name);
    matches!(name, "module-path" | "module-name" | "pin-source")
}

/// The query's `&`-separated attributes, each with whether it may hold part of a PIN: a
/// `pin-value` attribute, and the fragments after it up to the next attribute that cannot.
fn query_attributes(query: &str) -> Vec<(&str, bool)> {
    let mut in_pin = false;
    query
        .split('&')
        .map(|attr| {
            if is_pin_attribute(attr) {
                in_pin = true;
            } else if is_plain_query_attribute(attr) {
                in_pin = false;
            }
            (attr, in_pin)
        })
        .collect()
}

/// The URI text with anything that may be part of a PIN hidden, for error messages: each
/// run of `pin-value` fragments in the query becomes `pin-value=***`, and a `pin-value` in
/// the path (where it does not belong) hides everything from it on.
fn redact(uri: &str) -> String {
    let (path, query) = match uri.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (uri, None),
    };
    let lower = path.to_ascii_lowercase();
    if let Some(at) = lower.find("pin-value") {
        return format!("{}pin-value=***", &path[..at]);
    }
    let Some(query) = query else {
        return uri.to_owned();
    };
    let mut shown: Vec<&str> = Vec::new();
    let mut hiding = false;
    for (attr, secret) in query_attributes(query) {
        if !secret {
            shown.push(attr);
        } else if !hiding || is_pin_attribute(attr) {
            shown.push("pin-value=***");
        }
        hiding = secret;
    }
    format!("{path}?{}", shown.join("&"))
}

/// Decodes `%XX` escapes. `name` is the attribute; its value is quoted in the error unless
/// it is a PIN.
fn percent_decode(uri: &str, name: &str, value: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    let what = if is_pin_attribute(name) {
                        format!("{name} (its value not shown)")
                    } else {
                        format!("{name} value {value:?}")
                    };
                    bad(
                        uri,
                        format!("bad percent escape in {what}: % needs two hex digits"),
                    )
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn text(uri: &str, name: &str, value: &str) -> Result<String, Pkcs11Error> {
    String::from_utf8(percent_decode(uri, name, value)?)
        .map_err(|_| bad(uri, format!("attribute {name} is not UTF-8 text")))
}

fn set<T>(uri: &str, slot: &mut Option<T>, name: &str, value: T) -> Result<(), Pkcs11Error> {
    if slot.is_some() {
        return Err(bad(uri, format!("attribute {name} appears twice")));
    }
    *slot = Some(value);
    Ok(())
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI.
    ///
    /// Path attributes (`;`-separated): `token`, `manufacturer`, `model`, `serial`,
    /// `slot-id`, `object`, `id`, `type`; `library-*`, `slot-description`,
    /// `slot-manufacturer` and `x-` vendor attributes are accepted and ignored. Query
    /// attributes (`&`-separated): `module-path`, `module-name`, `pin-source`, `pin-value`.
    /// Values are percent-decoded.
    ///
    /// # Errors
    /// [`Pkcs11Error::BadUri`] for another scheme, an unknown or repeated attribute, a bad
    /// percent escape, an unknown `type`, or `pin-source` together with `pin-value`.
    pub fn parse(uri: &str) -> Result<Self, Pkcs11Error> {
        if !is_pkcs11_uri(uri) {
            return Err(bad(uri, "the scheme is not pkcs11:".to_owned()));
        }
        let rest = &uri[7..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            if is_pin_attribute(attr) {
                return Err(bad(
                    uri,
                    "pin-value is a query attribute: write it after '?' (or use pin-source)"
                        .to_owned(),
                ));
            }
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad(uri, format!("path attribute {attr:?} has no '='")))?;
            match name {
                "token" => set(uri, &mut out.token, name, text(uri, name, value)?)?,
                "manufacturer" => set(uri, &mut out.manufacturer, name, text(uri, name, value)?)?,
                "model" => set(uri, &mut out.model, name, text(uri, name, value)?)?,
                "serial" => set(uri, &mut out.serial, name, text(uri, name, value)?)?,
                "object" => set(uri, &mut out.object, name, text(uri, name, value)?)?,
                "id" => set(uri, &mut out.id, name, percent_decode(uri, name, value)?)?,
                "slot-id" => {
                    let id = text(uri, name, value)?
                        .parse::<u64>()
                        .map_err(|_| bad(uri, format!("slot-id {value:?} is not a number")))?;
                    set(uri, &mut out.slot_id, name, id)?;
                }
                "type" => {
                    let value = text(uri, name, value)?;
                    let t = ObjectType::parse(&value).ok_or_else(|| {
                        bad(
                            uri,
                            format!(
                                "type {value:?} is not one of private, public, cert, secret-key, data"
                            ),
                        )
                    })?;
                    set(uri, &mut out.object_type, name, t)?;
                }
                "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                _ if name.starts_with("x-") => {}
                _ => return Err(bad(uri, format!("unknown path attribute {name:?}"))),
            }
        }
        for (attr, secret) in query.map(query_attributes).unwrap_or_default() {
            if attr.is_empty() {
                continue;
            }
            // A fragment that may be part of a PIN is described, never quoted.
            let shown = |what: &str| {
                if secret {
                    format!(
                        "a query attribute at or after pin-value {what} (not shown: it may be part of the PIN; a '&' in a PIN is written %26)"
                    )
                } else {
                    format!("query attribute {attr:?} {what}")
                }
            };
            let Some((name, value)) = attr.split_once('=') else {
                return Err(bad(uri, shown("has no '='")));
            };
            if secret && !is_pin_attribute(name) && !name.starts_with("x-") {
                return Err(bad(uri, shown("is not known")));
            }
            match name {
                "module-path" => set(
                    uri,
                    &mut out.module_path,
                    name,
                    PathBuf::from(text(uri, name, value)?),
                )?,
                "module-name" => set(uri, &mut out.module_name, name, text(uri, name, value)?)?,
                "pin-source" => set(uri, &mut out.pin_source, name, text(uri, name, value)?)?,
                "pin-value" => set(
                    uri,
                    &mut out.pin_value,
                    name,
                    Zeroizing::new(text(uri, name, value)?),
                )?,
                _ if name.starts_with("x-") => {}
                _ => return Err(bad(uri, format!("unknown query attribute {name:?}"))),
            }
        }
        if out.pin_source.is_some() && out.pin_value.is_some() {
            return Err(bad(
                uri,
                "pin-source and pin-value both given: use one".to_owned(),
            ));
        }
        Ok(out)
    }

    /// The file `pin-source` names (`file:/path`, `file:///path` or a plain path), if any.
    ///
    /// # Errors
    /// [`Pkcs11Error::BadUri`] for a `pin-source` of another scheme (`|command` is refused).
    pub fn pin_file(&self) -> Result<Option<PathBuf>, Pkcs11Error> {
        let Some(source) = &self.pin_source else {
            return Ok(None);
        };
        let path = if let Some(rest) = source.strip_prefix("file://") {
            rest
        } else if let Some(rest) = source.strip_prefix("file:") {
            rest
        } else if source.contains(':') || source.starts_with('|') {
            return Err(Pkcs11Error::BadUri {
                uri: self.to_string(),
                reason: format!("pin-source {source:?} is not a file: only file: is read"),
            });
        } else {
            source.as_str()
        };
        Ok(Some(Path::new(path).to_path_buf()))
    }

    /// The PIN to log in with: `pin-value`, else the first line of the `pin-source` file,
    /// else `fallback` (which the caller takes from wherever it likes, e.g. the
    /// `KUBEPKI_PKCS11_PIN` environment variable). `None` when there is none at all.
    ///
    /// # Errors
    /// [`Pkcs11Error::PinSource`] when the `pin-source` file cannot be read or is empty,
    /// [`Pkcs11Error::BadUri`] for a `pin-source` that is not a file.
    pub fn pin(&self, fallback: Option<&str>) -> Result<Option<Zeroizing<String>>, Pkcs11Error> {
        if let Some(value) = &self.pin_value {
            return Ok(Some(value.clone()));
        }
        if let Some(path) = self.pin_file()? {
            let bytes =
                Zeroizing::new(std::fs::read(&path).map_err(|e| Pkcs11Error::PinSource {
                    path: path.clone(),
                    reason: e.to_string(),
                })?);
            let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                return Err(Pkcs11Error::PinSource {
                    path,
                    reason: "the first line is empty".to_owned(),
                });
            }
            let pin = core::str::from_utf8(line).map_err(|_| Pkcs11Error::PinSource {
                path: path.clone(),
                reason: "the PIN is not UTF-8 text".to_owned(),
            })?;
            return Ok(Some(Zeroizing::new(pin.to_owned())));
        }
        Ok(fallback.map(|p| Zeroizing::new(p.to_owned())))
    }

    /// A short description of the object the URI names, e.g. `object=cluster-ca id=01`.
    pub fn object_description(&self) -> String {
        let mut parts = Vec::new();
        if let Some(label) = &self.object {
            parts.push(format!("object={label}"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", hex(id)));
        }
        if let Some(t) = self.object_type {
            parts.push(format!("type={t}"));
        }
        if parts.is_empty() {
            "any object".to_owned()
        } else {
            parts.join(" ")
        }
    }

    /// A short description of the token the URI names, e.g. `token=kubepki`.
    pub fn token_description(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.token {
            parts.push(format!("token={v}"));
        }
        if let Some(v) = &self.manufacturer {
            parts.push(format!("manufacturer={v}"));
        }
        if let Some(v) = &self.model {
            parts.push(format!("model={v}"));
        }
        if let Some(v) = &self.serial {
            parts.push(format!("serial={v}"));
        }
        if let Some(v) = self.slot_id {
            parts.push(format!("slot-id={v}"));
        }
        if parts.is_empty() {
            "any token".to_owned()
        } else {
            parts.join(" ")
        }
    }
}

impl FromStr for Pkcs11Uri {
    type Err = Pkcs11Error;

    fn from_str(s: &str) -> Result<Self, Pkcs11Error> {
        Pkcs11Uri::parse(s)
    }
}

/// Lowercase hex, as `pkcs11-tool` prints IDs.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_path_and_query_attributes() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=kube%20pki;object=cluster-ca;id=%01%ab;type=private\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("kube pki"));
        assert_eq!(uri.object.as_deref(), Some("cluster-ca"));
        assert_eq!(uri.id.as_deref(), Some(&[0x01, 0xab][..]));
        assert_eq!(uri.object_type, Some(ObjectType::Private));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(uri.pin_file().unwrap(), Some(PathBuf::from("/run/pin")));
    }

    #[test]
    fn display_round_trips_and_hides_the_pin() {
        let text = "pkcs11:token=a%3Bb;object=ca;id=%01%02;type=private?module-path=/lib/x.so&pin-value=1234";
        let uri = Pkcs11Uri::parse(text).unwrap();
        let shown = uri.to_string();
        assert!(!shown.contains("1234"), "{shown}");
        assert!(!format!("{uri:?}").contains("1234"));
        assert!(shown.contains("pin-value=***"));
        let again = Pkcs11Uri::parse(&shown.replace("***", "1234")).unwrap();
        assert_eq!(again, uri);
        assert_eq!(again.token.as_deref(), Some("a;b"));
    }

    #[test]
    fn scheme_is_case_insensitive_and_checked() {
        assert!(is_pkcs11_uri("PKCS11:token=x"));
        assert!(!is_pkcs11_uri("ca.key"));
        let err = Pkcs11Uri::parse("file:ca.key").unwrap_err();
        assert!(
            matches!(err, Pkcs11Error::BadUri { ref reason, .. } if reason.contains("scheme")),
            "{err}"
        );
    }

    #[test]
    fn bad_input_names_the_fault() {
        let reason = |text: &str| match Pkcs11Uri::parse(text).unwrap_err() {
            Pkcs11Error::BadUri { reason, uri } => {
                assert!(!uri.contains("secret"), "{uri}");
                reason
            }
            other => panic!("{other}"),
        };
        assert!(reason("pkcs11:tokn=x").contains("\"tokn\""));
        assert!(reason("pkcs11:token=x;token=y").contains("twice"));
        assert!(reason("pkcs11:id=%0").contains("percent"));
        assert!(reason("pkcs11:type=key").contains("\"key\""));
        assert!(reason("pkcs11:object=%ff").contains("UTF-8"));
        assert!(reason("pkcs11:?pin-value=secret&pin-source=/p").contains("both"));
        assert!(reason("pkcs11:?color=red&pin-value=secret").contains("\"color\""));
        // After a pin-value it may be the rest of a PIN with an unescaped '&': not quoted.
        assert!(!reason("pkcs11:?pin-value=secret&color=red").contains("color"));
        assert!(reason("pkcs11:slot-id=one").contains("slot-id"));
    }

    /// Every piece of four characters or more of `pin`.
    fn pieces(pin: &str) -> Vec<&str> {
        (0..pin.len().saturating_sub(3))
            .filter_map(|i| pin.get(i..i + 4))
            .collect()
    }

    #[test]
    fn no_error_shows_any_part_of_the_pin() {
        // (URI, the PIN in it as written, what the reason says)
        let cases = [
            // A bad escape in the PIN.
            (
                "pkcs11:token=t?pin-value=S3cr3tPIN%zz",
                "S3cr3tPIN%zz",
                "percent",
            ),
            (
                "pkcs11:token=t?pin-value=S3cr3tPIN%4",
                "S3cr3tPIN%4",
                "percent",
            ),
            // A PIN that is not UTF-8 once decoded.
            (
                "pkcs11:token=t?pin-value=S3cr3t%ffPIN",
                "S3cr3t%ffPIN",
                "UTF-8",
            ),
            // Twice.
            (
                "pkcs11:token=t?pin-value=S3cr3tPIN&pin-value=S3cr3tPIN",
                "S3cr3tPIN",
                "twice",
            ),
            // Characters a URI does not allow in a value: an unescaped '&' cuts the PIN,
            // and what follows is not shown either.
            (
                "pkcs11:token=t?module-path=/m.so&pin-value=S3cr3t&PIN#x",
                "S3cr3t&PIN#x",
                "has no '='",
            ),
            (
                "pkcs11:token=t?pin-value=S3c r3t&PIN=\"zz\"&module-path=/m.so",
                "S3c r3t&PIN=\"zz\"",
                "is not known",
            ),
            // In the path, where it does not belong, with a ';' and a '?' inside.
            (
                "pkcs11:token=t;pin-value=S3cr3t;PIN?zz&module-path=/m.so",
                "S3cr3t;PIN?zz",
                "query attribute",
            ),
            // Another spelling, or no '='.
            ("pkcs11:token=t?PIN-VALUE=S3cr3tPIN", "S3cr3tPIN", "unknown"),
            (
                "pkcs11:token=t?pin-valueS3cr3tPIN",
                "S3cr3tPIN",
                "has no '='",
            ),
            // Another fault of the URI while it holds a PIN.
            ("pkcs12:token=t?pin-value=S3cr3tPIN", "S3cr3tPIN", "scheme"),
            ("pkcs12:pin-value=S3cr3tPIN", "S3cr3tPIN", "scheme"),
            (
                "pkcs11:token=t?pin-value=S3cr3tPIN&pin-source=/p",
                "S3cr3tPIN",
                "both",
            ),
            ("pkcs11:tokn=t?pin-value=S3cr3tPIN", "S3cr3tPIN", "\"tokn\""),
        ];
        for (text, pin, says) in cases {
            let err = Pkcs11Uri::parse(text).unwrap_err();
            let Pkcs11Error::BadUri { ref reason, .. } = err else {
                panic!("{text}: {err}");
            };
            assert!(reason.contains(says), "{text}: {reason}");
            let shown = format!("{err}\n{err:?}");
            for piece in pieces(pin) {
                assert!(!shown.contains(piece), "{text}: {piece:?} in {shown}");
            }
        }
    }

    #[test]
    fn redaction_keeps_the_attributes_that_hold_no_pin() {
        let err = Pkcs11Uri::parse(
            "pkcs11:token=t?pin-value=S3c&r3t&module-path=/m.so&pin-value=PIN9&pin-source=/p",
        )
        .unwrap_err();
        let Pkcs11Error::BadUri { uri, .. } = err else {
            panic!("{err}");
        };
        assert_eq!(
            uri,
            "pkcs11:token=t?pin-value=***&module-path=/m.so&pin-value=***&pin-source=/p"
        );
    }

    #[test]
    fn a_pin_with_odd_characters_parses_and_never_shows() {
        let uri = Pkcs11Uri::parse("pkcs11:token=t?pin-value=S3c r3t\"PIN#").unwrap();
        assert_eq!(
            uri.pin(None).unwrap().as_deref().map(String::as_str),
            Some("S3c r3t\"PIN#")
        );
        let shown = format!("{uri}\n{uri:?}");
        for piece in pieces("S3c r3t\"PIN#") {
            assert!(!shown.contains(piece), "{piece:?} in {shown}");
        }
    }

    #[test]
    fn vendor_and_informational_attributes_are_ignored() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:library-manufacturer=SoftHSM;x-vendor=1;token=t?x-foo=bar&module-name=softhsm2",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("t"));
        assert_eq!(uri.module_name.as_deref(), Some("softhsm2"));
    }

    #[test]
    fn pin_comes_from_value_then_file_then_fallback() {
        let dir = std::env::temp_dir().join(format!("kubepki-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pin");
        std::fs::write(&file, "4321\nignored\n").unwrap();
        let from_file = Pkcs11Uri::parse(&format!("pkcs11:?pin-source=file:{}", file.display()))
            .unwrap()
            .pin(Some("9999"))
            .unwrap();
        assert_eq!(from_file.as_deref().map(String::as_str), Some("4321"));
        let from_value = Pkcs11Uri::parse("pkcs11:?pin-value=1111")
            .unwrap()
            .pin(Some("9999"))
            .unwrap();
        assert_eq!(from_value.as_deref().map(String::as_str), Some("1111"));
        let from_fallback = Pkcs11Uri::parse("pkcs11:")
            .unwrap()
            .pin(Some("9999"))
            .unwrap();
        assert_eq!(from_fallback.as_deref().map(String::as_str), Some("9999"));
        assert!(
            Pkcs11Uri::parse("pkcs11:")
                .unwrap()
                .pin(None)
                .unwrap()
                .is_none()
        );
        let missing = dir.join("missing");
        let err = Pkcs11Uri::parse(&format!("pkcs11:?pin-source={}", missing.display()))
            .unwrap()
            .pin(None)
            .unwrap_err();
        assert!(matches!(err, Pkcs11Error::PinSource { ref path, .. } if *path == missing));
        let err = Pkcs11Uri::parse("pkcs11:?pin-source=%7Ccat%20/pin")
            .unwrap()
            .pin(None)
            .unwrap_err();
        assert!(matches!(err, Pkcs11Error::BadUri { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
