//! The folders of an existing tree, as every command on one takes them. A leaf: it imports
//! no command.

use std::path::PathBuf;

use clap::Args;

/// The folders of an existing tree.
#[derive(Debug, Args)]
pub(crate) struct TreeDirs {
    /// The certificate folder.
    #[arg(long, default_value = "./kubernetes/pki")]
    pub(crate) cert_dir: PathBuf,
    /// The kubeconfig folder.
    #[arg(long, default_value = "./kubernetes")]
    pub(crate) kubeconfig_dir: PathBuf,
}
