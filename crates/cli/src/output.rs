//! The `-o text|json` choice of the commands that print one report. A leaf: it imports no
//! command.

use clap::ValueEnum;

/// Output formats of `inspect`, `profiles` and `version`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}
