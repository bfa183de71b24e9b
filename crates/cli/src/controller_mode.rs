//! The command line as typed, made explicit before clap reads it, and clap's refusals made
//! clear where the controller's modes are concerned.
//!
//! `kubepki controller` has two modes, `embedded` and `cluster`, each with only its own
//! flags. An invocation from before the split (`kubepki controller --kubeconfig FILE ...`,
//! `kubepki controller --store DIR --once ...`, deployed in manifests and scripts) still
//! runs: when no mode follows `controller`, it is read from the flags (`--kubeconfig` or
//! `--in-cluster`: the cluster; otherwise the embedded store). A flag of the other mode is
//! refused by name, with the mode it belongs to.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

use crate::args::Cli;

/// The modes, as `kubepki controller` names them.
const EMBEDDED: &str = "embedded";
const CLUSTER: &str = "cluster";

/// The top level's options that take a value in the next word (the global PKCS#11 ones).
const GLOBAL_OPTIONS_WITH_VALUE: [&str; 2] = ["--pkcs11-module", "--pkcs11-module-allow"];

/// The command line, parsed; exits with clap's usage error (or ours) when it does not parse.
pub(crate) fn parse() -> Cli {
    let args = with_mode(std::env::args_os().collect());
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => match other_mode_flag(&e, &args) {
            Some(message) => {
                eprintln!("error: {message}");
                std::process::exit(2)
            }
            None => e.exit(),
        },
    }
}

/// Where `controller` is in `args`, when it is the command.
fn controller_at(args: &[OsString]) -> Option<usize> {
    let mut at = 1;
    while let Some(word) = args.get(at) {
        let word = word.to_str()?;
        if GLOBAL_OPTIONS_WITH_VALUE.contains(&word) {
            at += 2;
        } else if word.starts_with('-') {
            at += 1;
        } else {
            return (word == "controller").then_some(at);
        }
    }
    None
}

/// Whether `args` (the controller's) choose the cluster: `--kubeconfig` or `--in-cluster`.
fn names_a_cluster(args: &[OsString]) -> bool {
    args.iter()
        .filter_map(|a| a.to_str())
        .any(|a| a == "--kubeconfig" || a.starts_with("--kubeconfig=") || a == "--in-cluster")
}

/// `args` with the controller's mode written after `controller` when it is not there.
pub(crate) fn with_mode(mut args: Vec<OsString>) -> Vec<OsString> {
    let Some(at) = controller_at(&args) else {
        return args;
    };
    let next = args.get(at + 1).map(|a| a.to_str());
    if matches!(
        next,
        None | Some(None | Some(EMBEDDED | CLUSTER | "help" | "-h" | "--help"))
    ) {
        return args;
    }
    let mode = if names_a_cluster(&args[at + 1..]) {
        CLUSTER
    } else {
        EMBEDDED
    };
    args.insert(at + 1, mode.into());
    args
}

/// When clap refused a flag that belongs to the other controller mode: a message that says
/// so.
fn other_mode_flag(error: &clap::Error, args: &[OsString]) -> Option<String> {
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(given)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let flag = given.split('=').next()?.strip_prefix("--")?;
    let at = controller_at(args)?;
    let mode = args.get(at + 1)?.to_str()?;
    let (other, how) = match mode {
        EMBEDDED => (
            CLUSTER,
            "the embedded store's controller; give --kubeconfig FILE or --in-cluster for a cluster",
        ),
        CLUSTER => (EMBEDDED, "a real cluster's controller"),
        _ => return None,
    };
    let cli = Cli::command();
    let belongs = cli
        .find_subcommand("controller")?
        .find_subcommand(other)?
        .get_arguments()
        .any(|a| a.get_long() == Some(flag));
    belongs.then(|| {
        format!(
            "--{flag} is a flag of `kubepki controller {other}`, not of `kubepki controller {mode}` ({how}); see `kubepki controller {mode} --help`"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    fn shown(args: &[OsString]) -> String {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn an_invocation_without_a_mode_gets_the_one_its_flags_choose() {
        for (typed, meant) in [
            (
                "kubepki controller --kubeconfig k.conf --leader-elect",
                "kubepki controller cluster --kubeconfig k.conf --leader-elect",
            ),
            (
                "kubepki controller --in-cluster --approve kubelet-client",
                "kubepki controller cluster --in-cluster --approve kubelet-client",
            ),
            (
                "kubepki controller --kubeconfig=k.conf",
                "kubepki controller cluster --kubeconfig=k.conf",
            ),
            (
                "kubepki controller --store s --once",
                "kubepki controller embedded --store s --once",
            ),
            (
                "kubepki --pkcs11-module /m.so controller --once",
                "kubepki --pkcs11-module /m.so controller embedded --once",
            ),
            // Given, or asking for help: left as typed.
            (
                "kubepki controller cluster --in-cluster",
                "kubepki controller cluster --in-cluster",
            ),
            ("kubepki controller embedded", "kubepki controller embedded"),
            ("kubepki controller --help", "kubepki controller --help"),
            ("kubepki controller", "kubepki controller"),
            // Another command: untouched, even with a word `controller` later on.
            ("kubepki get csr controller", "kubepki get csr controller"),
        ] {
            assert_eq!(shown(&with_mode(words(typed))), meant, "{typed}");
        }
    }

    fn refusal(line: &str) -> Option<String> {
        let args = with_mode(words(line));
        let error = Cli::try_parse_from(&args).expect_err("refused");
        other_mode_flag(&error, &args)
    }

    #[test]
    fn a_flag_of_the_other_mode_is_refused_by_name() {
        assert_eq!(
            refusal("kubepki controller embedded --store s --leader-elect").as_deref(),
            Some(
                "--leader-elect is a flag of `kubepki controller cluster`, not of `kubepki controller embedded` (the embedded store's controller; give --kubeconfig FILE or --in-cluster for a cluster); see `kubepki controller embedded --help`"
            )
        );
        assert_eq!(
            refusal("kubepki controller --kubeconfig k.conf --store=s").as_deref(),
            Some(
                "--store is a flag of `kubepki controller embedded`, not of `kubepki controller cluster` (a real cluster's controller); see `kubepki controller cluster --help`"
            )
        );
        // A flag of neither mode keeps clap's own message.
        assert_eq!(refusal("kubepki controller embedded --nonsense"), None);
    }

    #[test]
    fn each_mode_has_only_its_own_flags() {
        let cli = Cli::command();
        let controller = cli.find_subcommand("controller").unwrap();
        let longs = |mode: &str| -> Vec<String> {
            controller
                .find_subcommand(mode)
                .unwrap()
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect()
        };
        let (embedded, cluster) = (longs(EMBEDDED), longs(CLUSTER));
        for flag in ["store", "once", "interval", "no-cleaner", "no-auto-approve"] {
            assert!(
                embedded.iter().any(|f| f == flag),
                "embedded lacks --{flag}"
            );
            assert!(!cluster.iter().any(|f| f == flag), "cluster has --{flag}");
        }
        for flag in [
            "kubeconfig",
            "in-cluster",
            "leader-elect",
            "approve",
            "metrics-addr",
        ] {
            assert!(cluster.iter().any(|f| f == flag), "cluster lacks --{flag}");
            assert!(!embedded.iter().any(|f| f == flag), "embedded has --{flag}");
        }
        for flag in ["cluster-signing-cert-file", "profiles", "signer-domain"] {
            assert!(embedded.iter().any(|f| f == flag) && cluster.iter().any(|f| f == flag));
        }
    }
}
