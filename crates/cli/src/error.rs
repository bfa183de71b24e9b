//! The CLI's one error: a line for `error: ...`. A leaf: it imports no command.

use std::fmt;
use std::path::Path;

/// A command's failure: one line for `error: ...`.
#[derive(Debug)]
pub(crate) struct CliError(pub(crate) String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

pub(crate) type CliResult<T> = Result<T, CliError>;

/// An error with the file it concerns.
pub(crate) fn in_file(path: &Path) -> impl Fn(CliError) -> CliError + '_ {
    move |e| CliError(format!("{}: {e}", path.display()))
}
