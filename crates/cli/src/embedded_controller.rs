//! `kubepki controller embedded`: kube-controller-manager's CSR controllers (auto-approve
//! kubelet clients, sign, clean) over the embedded store, pass after pass. The rules are the
//! library's ([`StoreController::reconcile`]); this file has the flags, the loop and the
//! printing.

use std::thread;
use std::time::{Duration, SystemTime};

use clap::Args;
use kubepki::api::{
    ApiError, CsrStore, Decision, FileStore, SignOutcome, StoreController, format_time,
};

use crate::csr_store::{RESOURCE, StoreArgs, printable, warn_unreadable};
use crate::error::CliResult;
use crate::signing_flags::{SigningArgs, build_controller};

/// The flags of the embedded mode.
#[derive(Debug, Args)]
pub(crate) struct EmbeddedControllerArgs {
    #[command(flatten)]
    pub(crate) signing: SigningArgs,
    /// Do not auto-approve kubelet client requests.
    #[arg(long)]
    pub(crate) no_auto_approve: bool,
    /// Do not remove old requests.
    #[arg(long)]
    pub(crate) no_cleaner: bool,
    /// One pass, then exit.
    #[arg(long)]
    pub(crate) once: bool,
    /// Seconds between passes.
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub(crate) interval: u64,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// Runs the controllers over the store: once with `--once`, else every `--interval`.
pub(crate) fn run(args: &EmbeddedControllerArgs) -> CliResult<()> {
    let mut controllers = StoreController::new(build_controller(&args.signing)?);
    if args.no_auto_approve {
        controllers = controllers.without_auto_approval();
    }
    if args.no_cleaner {
        controllers = controllers.without_cleaner();
    }
    let store = args.store.open();
    loop {
        match pass(&controllers, &store, SystemTime::now()) {
            // A daemon outlives a store it cannot read for a moment; one pass reports it.
            Err(e) if !args.once => eprintln!("error: {}", printable(&e.to_string())),
            other => other?,
        }
        if args.once {
            return Ok(());
        }
        thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}

/// Reconciles every request of the store, printing what each step did.
fn pass(controllers: &StoreController, store: &FileStore, now: SystemTime) -> Result<(), ApiError> {
    let scan = store.scan()?;
    warn_unreadable(&scan);
    for csr in scan.objects {
        let name = csr.metadata.name;
        let shown = printable(&name);
        let done = controllers.reconcile(store, &name, now);
        // One object's trouble is reported and the pass goes on to the next.
        let report = |e: &ApiError| eprintln!("{RESOURCE}/{shown}: {}", printable(&e.to_string()));
        match &done.approval {
            Ok(Decision::Changed) => {
                eprintln!("{RESOURCE}/{shown} auto-approved (self kubelet client)");
            }
            Ok(Decision::Unchanged) => {}
            Err(e) => report(e),
        }
        match &done.signing {
            Ok(SignOutcome::Issued { not_after, .. }) => {
                eprintln!(
                    "{RESOURCE}/{shown} issued, valid until {}",
                    format_time(*not_after)
                );
            }
            Ok(SignOutcome::Failed(why)) => {
                eprintln!("{RESOURCE}/{shown} failed: {}", printable(why));
            }
            Ok(SignOutcome::Skipped) => {}
            Err(e) => report(e),
        }
        match &done.removal {
            Ok(Some(why)) => eprintln!("{RESOURCE}/{shown} removed: {why}"),
            Ok(None) => {}
            Err(e) => report(e),
        }
    }
    Ok(())
}
