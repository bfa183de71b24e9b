//! `kubepki controller`: kube-controller-manager's CSR controllers, in one of two modes with
//! flags of their own. `embedded` serves the embedded store (`--store`, `--once`,
//! `--interval`, `--no-cleaner`, `--no-auto-approve`); `cluster` serves a real cluster
//! (`--kubeconfig` or `--in-cluster`, `--approve`, `--leader-elect`, `--metrics-addr`, ...).
//! Both take the same signing flags ([`crate::signing_flags`]).

use clap::Subcommand;

use crate::cluster_controller::ClusterControllerArgs;
use crate::embedded_controller::EmbeddedControllerArgs;
use crate::error::CliResult;

/// The controller's modes. (Boxed: the flags would make `Command::Controller` the one large
/// variant.)
#[derive(Debug, Subcommand)]
pub(crate) enum ControllerCommand {
    /// Sign approved requests, auto-approve kubelet clients and clean old requests in the
    /// embedded store (--store).
    Embedded(Box<EmbeddedControllerArgs>),
    /// Sign, and approve what --approve allows, the requests of a real cluster, through
    /// --kubeconfig or --in-cluster; watch-based, optionally leader-elected.
    Cluster(Box<ClusterControllerArgs>),
}

/// Runs the controller in its mode.
pub(crate) fn run(command: &ControllerCommand) -> CliResult<()> {
    match command {
        ControllerCommand::Embedded(args) => crate::embedded_controller::run(args),
        ControllerCommand::Cluster(args) => crate::cluster_controller::run(args),
    }
}
