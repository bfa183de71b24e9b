//! `kubepki completion SHELL`: the shell's completion script, generated from the command
//! line's own definition by clap_complete.

use std::io::Write;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use crate::error::{CliError, CliResult};

#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub(crate) shell: CompletionShell,
}

/// The shells whose completion scripts `kubepki completion` writes.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum CompletionShell {
    /// bash (the function `_kubepki`, registered with `complete -F`).
    Bash,
    /// zsh (`#compdef kubepki`: put it in a folder of $fpath as `_kubepki`).
    Zsh,
    /// fish (put it in ~/.config/fish/completions/kubepki.fish).
    Fish,
}

/// Prints the completion script of `command` for the shell.
pub(crate) fn completion(args: &CompletionArgs, mut command: clap::Command) -> CliResult<()> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let name = command.get_name().to_owned();
    // Generated in memory: clap_complete panics on a failed write, `kubepki completion bash
    // | head` must not.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    match std::io::stdout().write_all(&script) {
        // `kubepki completion bash | head`: the reader had what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(|e| CliError(format!("cannot write the completion script: {e}"))),
    }
}
