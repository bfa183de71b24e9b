//! What README's "Install" section promises: shell completion that completes in a real bash,
//! man pages that groff renders without a warning and that are never silently replaced, and
//! `kubepki version` naming the build.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

mod common;
use common::{kubepki, ok, tool_available};

/// The subcommands `kubepki PATH... --help` lists under "Commands:" (clap's own list, so
/// the expectation comes from the command line's definition, not from this file).
fn subcommands(path: &[&str]) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut args = path.to_vec();
    args.push("--help");
    let help = ok(kubepki(dir.path(), &args));
    let listed: BTreeSet<String> = help
        .lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(!listed.is_empty(), "no Commands: in\n{help}");
    listed
}

/// What the bash completion offers for the command line `words` (the last one is being
/// completed), from `kubepki completion bash` loaded into a real bash.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kubepki.bash");
    std::fs::write(&script, ok(kubepki(dir.path(), &["completion", "bash"]))).unwrap();
    let cword = words.len() - 1;
    // Bash calls a `complete -F` function with the command, the word being completed and
    // the word before it; clap_complete's `_kubepki` reads those and COMP_WORDS/COMP_CWORD.
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(
            r#"set -u
source "$1"; shift
complete -p kubepki >&2
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_kubepki kubepki "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("bash")
        .arg(&script)
        .args(words)
        .output()
        .expect("run bash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bash failed: {stderr}");
    assert!(
        stderr.contains("-F _kubepki") && stderr.trim_end().ends_with(" kubepki"),
        "the script does not register _kubepki for kubepki: {stderr}"
    );
    assert!(cword >= 1);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_ce_to_exactly_the_subcommands_starting_with_ce() {
    if !tool_available("bash", &["--version"], "apt-get install bash") {
        return;
    }
    let expected: BTreeSet<String> = subcommands(&[])
        .into_iter()
        .filter(|name| name.starts_with("ce"))
        .collect();
    // certs and certificate today: more than one, so that a filter that keeps only the first
    // match fails.
    assert!(expected.len() >= 2, "{expected:?}");
    let offered: BTreeSet<String> = bash_completes(&["kubepki", "ce"]).into_iter().collect();
    assert_eq!(offered, expected);
}

#[test]
fn bash_completes_subcommands_of_a_subcommand() {
    if !tool_available("bash", &["--version"], "apt-get install bash") {
        return;
    }
    let expected: BTreeSet<String> = subcommands(&["certs"])
        .into_iter()
        .filter(|name| name.starts_with('r'))
        .collect();
    assert!(!expected.is_empty());
    let offered: BTreeSet<String> = bash_completes(&["kubepki", "certs", "r"])
        .into_iter()
        .collect();
    assert_eq!(offered, expected);
}

#[test]
fn zsh_and_fish_scripts_complete_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let zsh = ok(kubepki(dir.path(), &["completion", "zsh"]));
    assert!(zsh.starts_with("#compdef kubepki"), "{zsh}");
    let fish = ok(kubepki(dir.path(), &["completion", "fish"]));
    for name in subcommands(&[]) {
        assert!(zsh.contains(&format!("'{name}:")), "zsh misses {name}");
        assert!(
            fish.contains(&format!("-a \"{name}\"")),
            "fish misses {name}"
        );
    }
    let refused = kubepki(dir.path(), &["completion", "tcsh"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("'tcsh'"), "{stderr}");
}

#[test]
fn every_man_page_renders_without_a_warning() {
    if !tool_available("groff", &["--version"], "apt-get install groff-base") {
        return;
    }
    let man = tool_available("man", &["--version"], "apt-get install man-db").then_some("man");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    ok(kubepki(dir.path(), &["man", out.to_str().unwrap()]));
    let pages: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    // One page for the command, one for each subcommand (and theirs, as certs renew).
    let mut expected = vec!["kubepki.1".to_owned(), "kubepki-certs-renew.1".to_owned()];
    expected.extend(
        subcommands(&[])
            .into_iter()
            .filter(|name| name != "help")
            .map(|name| format!("kubepki-{name}.1")),
    );
    for page in &expected {
        assert!(pages.contains(page), "{page} missing from {pages:?}");
    }
    assert!(!pages.contains("kubepki-help.1"), "{pages:?}");
    for page in &pages {
        let output = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(out.join(page))
            .output()
            .expect("run groff");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "groff warns on {page}: {stderr}"
        );
        // As a user reads it: man-db's `man -l`, every groff warning on.
        if let Some(man) = &man {
            let output = Command::new(man)
                .args(["--warnings=w", "-l"])
                .arg(out.join(page))
                .env("MANWIDTH", "80")
                .output()
                .expect("run man");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success() && stderr.is_empty() && !output.stdout.is_empty(),
                "man -l warns on {page}: {stderr}"
            );
        }
        let text = without_overstrike(&String::from_utf8_lossy(&output.stdout));
        let name = page.trim_end_matches(".1");
        assert!(
            text.contains("NAME") && text.contains(&format!("{name}(1)")),
            "{page}:\n{text}"
        );
    }
}

/// grotty's text without its bold and underline (`X\bX`, `_\bX`).
fn without_overstrike(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn man_refuses_to_replace_a_page_without_force() {
    let dir = tempfile::tempdir().unwrap();
    ok(kubepki(dir.path(), &["man", "out"]));
    let page = dir.path().join("out/kubepki-init.1");
    std::fs::write(&page, "mine").unwrap();
    let refused = kubepki(dir.path(), &["man", "out"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "mine");
    ok(kubepki(dir.path(), &["man", "--force", "out"]));
    assert!(std::fs::read_to_string(&page).unwrap().starts_with(".ie"));
}

/// `git rev-parse HEAD` of this checkout, when git and a checkout are here.
fn head_revision() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn version_json_names_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(kubepki(dir.path(), &["version", "-o", "json"]))).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    let revision = json["git_revision"].as_str().unwrap();
    match head_revision() {
        Some(head) => assert_eq!(revision, head),
        None => assert_eq!(revision, "unknown"),
    }
    let built = kubepki::sign::parse_rfc3339(json["build_date"].as_str().unwrap()).unwrap();
    assert!(built <= std::time::SystemTime::now(), "{json}");
    let rustc = json["rustc"].as_str().unwrap();
    assert!(rustc.starts_with("rustc 1."), "{json}");
    // The CLI declares no cargo features (PKCS#11 and the controller are always built in).
    assert_eq!(json["features"], serde_json::json!([]));
    let host = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8_lossy(&host.stdout);
    let host = host.lines().find_map(|l| l.strip_prefix("host: ")).unwrap();
    assert_eq!(json["target"], host);
    let keys: BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "version",
            "git_revision",
            "build_date",
            "rustc",
            "features",
            "target"
        ])
    );
}

#[test]
fn version_text_and_dash_dash_version() {
    let dir = tempfile::tempdir().unwrap();
    let text = ok(kubepki(dir.path(), &["version"]));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(format!("kubepki {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let labels: Vec<&str> = lines.filter_map(|l| l.split(':').next()).collect();
    assert_eq!(
        labels,
        ["git revision", "build date", "rustc", "features", "target"]
    );
    let short = ok(kubepki(dir.path(), &["--version"]));
    assert_eq!(
        short.trim(),
        format!("kubepki {}", env!("CARGO_PKG_VERSION"))
    );
}
