//! What build.rs recorded about this binary's build. A leaf: it imports no command.

use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::error::{CliError, CliResult};

/// The binary's version and build, as `kubepki version` prints it (JSON keys as named here).
#[derive(Debug, Serialize)]
pub(crate) struct BuildInfo {
    /// The crate's version.
    pub(crate) version: &'static str,
    /// `git rev-parse HEAD` of the source, or `unknown`.
    pub(crate) git_revision: &'static str,
    /// RFC 3339 UTC: `SOURCE_DATE_EPOCH` when the build set it, else when it ran build.rs.
    pub(crate) build_date: String,
    /// `rustc -V` of the compiler.
    pub(crate) rustc: &'static str,
    /// The cargo features of the `kubepki-cli` crate that were enabled.
    pub(crate) features: Vec<&'static str>,
    /// The target triple.
    pub(crate) target: &'static str,
}

impl BuildInfo {
    /// This binary's.
    pub(crate) fn of_this_binary() -> CliResult<Self> {
        let epoch = env!("KUBEPKI_BUILD_EPOCH");
        let seconds: u64 = epoch.parse().map_err(|_| {
            CliError(format!(
                "the build date {epoch:?} recorded by build.rs is not a number of seconds"
            ))
        })?;
        let built = UNIX_EPOCH + Duration::from_secs(seconds);
        Ok(BuildInfo {
            version: env!("CARGO_PKG_VERSION"),
            git_revision: env!("KUBEPKI_GIT_REVISION"),
            build_date: kubepki::sign::format_rfc3339(built),
            rustc: env!("KUBEPKI_RUSTC_VERSION"),
            features: env!("KUBEPKI_FEATURES")
                .split(',')
                .filter(|feature| !feature.is_empty())
                .collect(),
            target: env!("KUBEPKI_TARGET"),
        })
    }

    /// The day of the build, `YYYY-MM-DD` (the man pages' date).
    pub(crate) fn build_day(&self) -> &str {
        self.build_date.get(..10).unwrap_or(&self.build_date)
    }
}
