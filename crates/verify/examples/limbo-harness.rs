//! x509-limbo harness: reads the corpus (`limbo.json`) on standard input and
//! writes limbo's result JSON on standard output.
//!
//! ```text
//! cargo run --release -p kubepki-verify --example limbo-harness < limbo.json > results.json
//! ```
//!
//! The integration test `tests/limbo.rs` includes this file as a module and
//! calls [`evaluate`] on every testcase.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::time::SystemTime;

use kubepki_verify::{Cert, KeyPurpose, PeerName, VerifyOptions, verify};
use serde_json::{Value, json};

/// Features whose testcases the harness skips, with the reason given in `context`.
const UNSUPPORTED_FEATURES: &[(&str, &str)] = &[
    (
        "pedantic-public-suffix-wildcard",
        "feature pedantic-public-suffix-wildcard not supported: no public suffix list",
    ),
    (
        "rfc5280-incompatible-with-webpki",
        "feature rfc5280-incompatible-with-webpki: the harness checks the web PKI reading",
    ),
    (
        "has-crl",
        "feature has-crl not supported: kubepki-verify does no revocation checking",
    ),
    (
        "has-policy-constraints",
        "feature has-policy-constraints not supported: certificate policies are not processed",
    ),
];

/// The outcome of one testcase: `SUCCESS`, `FAILURE` or `SKIPPED`, and a context.
pub(crate) fn evaluate(tc: &Value) -> (&'static str, Option<String>) {
    match run(tc) {
        Ok(()) => ("SUCCESS", None),
        Err(Outcome::Skip(why)) => ("SKIPPED", Some(why)),
        Err(Outcome::Fail(why)) => ("FAILURE", Some(why)),
    }
}

enum Outcome {
    Skip(String),
    Fail(String),
}

fn fail(e: impl std::fmt::Display) -> Outcome {
    Outcome::Fail(e.to_string())
}

fn strings<'a>(tc: &'a Value, key: &str) -> Vec<&'a str> {
    tc[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Parses limbo's `YYYY-MM-DDTHH:MM:SS+00:00` (or `Z`) timestamps.
fn parse_time(s: &str) -> Option<SystemTime> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u16>().ok();
    let rest = s.get(19..)?;
    let rest = rest
        .strip_prefix('.')
        .map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    if !matches!(rest, "Z" | "+00:00" | "") {
        return None;
    }
    let byte = |v: u16| u8::try_from(v).ok();
    let dt = der::DateTime::new(
        num(0..4)?,
        byte(num(5..7)?)?,
        byte(num(8..10)?)?,
        byte(num(11..13)?)?,
        byte(num(14..16)?)?,
        byte(num(17..19)?)?,
    )
    .ok()?;
    Some(dt.to_system_time())
}

fn peer_name(v: &Value) -> Result<PeerName, Outcome> {
    let value = v["value"].as_str().unwrap_or_default().to_owned();
    match v["kind"].as_str() {
        Some("DNS") => Ok(PeerName::Dns(value)),
        Some("IP") => value
            .parse::<IpAddr>()
            .map(PeerName::Ip)
            .map_err(|e| fail(format!("bad IP address {value:?}: {e}"))),
        Some("RFC822") => Ok(PeerName::Email(value)),
        other => Err(Outcome::Skip(format!(
            "peer name kind {other:?} not supported"
        ))),
    }
}

fn run(tc: &Value) -> Result<(), Outcome> {
    for feature in strings(tc, "features") {
        if let Some((_, why)) = UNSUPPORTED_FEATURES.iter().find(|(f, _)| *f == feature) {
            return Err(Outcome::Skip((*why).to_owned()));
        }
    }
    if !strings(tc, "signature_algorithms").is_empty() {
        return Err(Outcome::Skip(
            "signature_algorithms constraint not supported".into(),
        ));
    }

    let time = match tc["validation_time"].as_str() {
        Some(t) => parse_time(t).ok_or_else(|| fail(format!("bad validation_time {t:?}")))?,
        // the harness, not the library, reads the clock
        None => SystemTime::now(),
    };
    let mut options = VerifyOptions::new(time);
    options.web_pki = true;
    if let Some(depth) = tc["max_chain_depth"].as_u64() {
        options = options.with_max_intermediates(usize::try_from(depth).unwrap_or(usize::MAX));
    }
    for ku in strings(tc, "key_usage") {
        match ku {
            "digitalSignature" => options.require_digital_signature = true,
            other => return Err(Outcome::Skip(format!("key_usage {other} not supported"))),
        }
    }
    let ekus = strings(tc, "extended_key_usage");
    let server = tc["validation_kind"].as_str() == Some("SERVER");
    if ekus.contains(&"clientAuth") || (!server && ekus.is_empty()) {
        options.purpose = Some(KeyPurpose::ClientAuth);
    } else if ekus.contains(&"serverAuth") || server {
        options.purpose = Some(KeyPurpose::ServerAuth);
    }
    if let Some(other) = ekus
        .iter()
        .find(|e| !matches!(**e, "serverAuth" | "clientAuth"))
    {
        return Err(Outcome::Skip(format!(
            "extended_key_usage {other} not supported"
        )));
    }

    // a trust anchor that does not parse can anchor no path; the others still can
    let anchors: Vec<Cert> = strings(tc, "trusted_certs")
        .into_iter()
        .filter_map(|pem| Cert::from_pem(pem.as_bytes()).ok())
        .collect();
    let intermediates: Vec<Cert> = strings(tc, "untrusted_intermediates")
        .into_iter()
        .filter_map(|pem| Cert::from_pem(pem.as_bytes()).ok())
        .collect();
    let leaf = Cert::from_pem(
        tc["peer_certificate"]
            .as_str()
            .unwrap_or_default()
            .as_bytes(),
    )
    .map_err(|e| fail(format!("leaf: {e}")))?;

    let mut names = Vec::new();
    if server {
        if !tc["expected_peer_name"].is_null() {
            names.push(peer_name(&tc["expected_peer_name"])?);
        }
    } else if let Some(list) = tc["expected_peer_names"].as_array() {
        for n in list {
            names.push(peer_name(n)?);
        }
    }
    if names.is_empty() {
        verify(&anchors, &intermediates, &leaf, &options).map_err(fail)?;
    }
    for name in names {
        let opts = options.clone().with_name(name);
        verify(&anchors, &intermediates, &leaf, &opts).map_err(fail)?;
    }
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let corpus: Value = serde_json::from_str(&input)?;
    let cases = corpus["testcases"]
        .as_array()
        .ok_or("input has no testcases array")?;
    let results: Vec<Value> = cases
        .iter()
        .map(|tc| {
            let (result, context) = evaluate(tc);
            json!({"id": tc["id"], "actual_result": result, "context": context})
        })
        .collect();
    let out = json!({
        "version": 1,
        "harness": concat!("kubepki-verify-", env!("CARGO_PKG_VERSION")),
        "results": results,
    });
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &out)?;
    writeln!(stdout)?;
    Ok(())
}
