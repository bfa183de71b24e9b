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

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/limbo/limbo.json"
);
const EXCEPTIONS: &str = include_str!("limbo-exceptions.txt");

#[test]
#[ignore = "runs the 9,780-case x509-limbo corpus (about 3 s in release)"]
fn limbo_corpus() {
    let Ok(text) = std::fs::read_to_string(CORPUS) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "x509-limbo corpus missing at {CORPUS} (CI is set, so this is a failure)"
        );
        eprintln!("SKIP: x509-limbo corpus missing at {CORPUS}");
        return;
    };
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
