//! The clock of the tree commands: the system's, or the time in `KUBEPKI_NOW` (RFC 3339), so
//! that a test (or a rehearsal of what a timer will do next month) can pin it. A leaf: it
//! imports no command.

use std::time::SystemTime;

use crate::error::{CliError, CliResult};

/// The variable that pins the clock.
pub(crate) const NOW_ENV: &str = "KUBEPKI_NOW";

/// Now, or the time `KUBEPKI_NOW` names.
pub(crate) fn now() -> CliResult<SystemTime> {
    match std::env::var(NOW_ENV) {
        Ok(text) => kubepki::sign::parse_rfc3339(text.trim()).map_err(|_| {
            CliError(format!(
                "{NOW_ENV}={text:?} is not an RFC 3339 time such as 2026-01-02T03:04:05Z"
            ))
        }),
        Err(std::env::VarError::NotPresent) => Ok(SystemTime::now()),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError(format!("{NOW_ENV} is not UTF-8 text")))
        }
    }
}
