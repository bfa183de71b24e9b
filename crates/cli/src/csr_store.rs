//! The embedded store as the commands over it see it: the `--store` flag, the resource's
//! name, and stored text made safe to print.

use std::path::PathBuf;

use clap::Args;
use kubepki::api::{FileStore, Scan};

/// The resource, as kubectl names it in its messages.
pub(crate) const RESOURCE: &str = "certificatesigningrequest.certificates.k8s.io";

/// Where the requests are kept.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The store directory (one JSON file per request).
    #[arg(long = "store", default_value = "kubernetes/csr-store")]
    pub(crate) store: PathBuf,
}

impl StoreArgs {
    pub(crate) fn open(&self) -> FileStore {
        FileStore::new(&self.store)
    }
}

/// Stored text made safe for a terminal: control characters (ANSI escapes, newlines that
/// would forge a table row, C1 controls) are written as `\u{..}` escapes.
pub(crate) fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Prints one warning per object the store could not read; the others are used.
pub(crate) fn warn_unreadable(scan: &Scan) {
    for e in &scan.unreadable {
        eprintln!("warning: skipping {}", printable(&e.to_string()));
    }
}
