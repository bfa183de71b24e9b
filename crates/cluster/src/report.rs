//! What `init` did, file by file.

use std::path::PathBuf;

/// What happened to one file (or key/certificate pair).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Created now.
    Written,
    /// Existed, fits, left untouched.
    Kept,
    /// Not written: its CA's key is absent (external CA mode); it must be signed elsewhere.
    Missing {
        /// The CA whose key is missing.
        ca: &'static str,
    },
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportEntry {
    /// kubeadm's name (`ca`, `apiserver`, `admin.conf`, `sa`).
    pub name: String,
    /// The certificate, kubeconfig or `sa.key` file.
    pub path: PathBuf,
    /// What was done.
    pub action: Action,
}

/// What `init` did, file by file, in kubeadm's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitReport {
    /// The entries.
    pub entries: Vec<ReportEntry>,
    /// What was kept although it is not as `init` would write it (a kubeconfig file's
    /// server URL, a kubelet-managed client certificate), one line each.
    pub warnings: Vec<String>,
}

impl InitReport {
    /// The entries with this action.
    pub fn with(&self, action: &Action) -> impl Iterator<Item = &ReportEntry> {
        let action = action.clone();
        self.entries.iter().filter(move |e| e.action == action)
    }

    /// Whether some files could not be made (external CA mode).
    pub fn is_incomplete(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.action, Action::Missing { .. }))
    }

    pub(crate) fn push(&mut self, name: &str, path: PathBuf, action: Action) {
        self.entries.push(ReportEntry {
            name: name.to_owned(),
            path,
            action,
        });
    }
}
