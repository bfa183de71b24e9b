//! Runs the whole x509-limbo corpus through the harness and compares the results
//! with `tests/limbo-exceptions.txt`.
//!
//! ```text
//! cargo test --release -p kubepki-verify --test limbo -- --include-ignored
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

#[path = "../examples/limbo-harness.rs"]
#[allow(dead_code, unreachable_pub)]
mod harness;

/// The corpus shared by the team (`../shared/limbo` next to the checkout).
const SHARED_CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/limbo/limbo.json"
);
/// The same corpus vendored, xz-compressed, for checkouts without `../shared`
/// (x509-limbo is Apache-2.0: `tests/limbo/LICENSE.txt`).
const VENDORED_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/limbo/limbo.json.xz");
const EXCEPTIONS: &str = include_str!("limbo-exceptions.txt");

/// Reads the corpus: `$KUBEPKI_LIMBO_JSON`, else the shared copy, else the vendored one
/// through `xz -dc`. Returns where it came from and the text, or why it could not.
fn read_corpus() -> Result<(String, String), String> {
    if let Some(path) = std::env::var_os("KUBEPKI_LIMBO_JSON") {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path:?}: {e}"))?;
        return Ok((format!("{path:?}"), text));
    }
    if let Ok(text) = std::fs::read_to_string(SHARED_CORPUS) {
        return Ok((SHARED_CORPUS.to_owned(), text));
    }
    let output = std::process::Command::new("xz")
        .args(["-dc", VENDORED_CORPUS])
        .output()
        .map_err(|e| {
            format!("{SHARED_CORPUS} is missing and `xz -dc {VENDORED_CORPUS}` failed: {e}")
        })?;
    if !output.status.success() {
        return Err(format!(
            "xz -dc {VENDORED_CORPUS}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8(output.stdout).map_err(|e| format!("{VENDORED_CORPUS}: {e}"))?;
    Ok((VENDORED_CORPUS.to_owned(), text))
}

#[test]
#[ignore = "runs the 9,780-case x509-limbo corpus (about 3 s in release)"]
fn limbo_corpus() {
    let (source, text) = match read_corpus() {
        Ok(found) => found,
        Err(why) => {
            kubepki_test_support::skip_unless(
                false,
                &format!("x509-limbo corpus unavailable: {why}"),
            );
            return;
        }
    };
    eprintln!("limbo: corpus from {source}");
    let corpus: serde_json::Value = serde_json::from_str(&text).expect("limbo.json is JSON");
    let exceptions: BTreeMap<&str, &str> = EXCEPTIONS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
        .collect();

    let start = Instant::now();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut unexpected = Vec::new();
    let cases = corpus["testcases"].as_array().expect("testcases array");
    for tc in cases {
        let id = tc["id"].as_str().expect("testcase id");
        let expected = tc["expected_result"].as_str().expect("expected_result");
        let (actual, context) = harness::evaluate(tc);
        let excepted = exceptions.contains_key(id);
        match actual {
            "SKIPPED" => skipped += 1,
            _ if actual == expected => {
                passed += 1;
                if excepted {
                    unexpected.push(format!(
                        "unexpected pass: {id} (remove it from the exceptions)"
                    ));
                }
            }
            _ => {
                failed += 1;
                if !excepted {
                    unexpected.push(format!(
                        "unexpected failure: {id}: expected {expected}, got {actual} ({})",
                        context.unwrap_or_default()
                    ));
                }
            }
        }
    }
    for id in exceptions.keys() {
        if !cases.iter().any(|tc| tc["id"].as_str() == Some(id)) {
            unexpected.push(format!("exception for unknown testcase {id}"));
        }
    }
    eprintln!(
        "limbo: {passed} passed, {failed} failed, {skipped} skipped in {:.1?}",
        start.elapsed()
    );
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}
