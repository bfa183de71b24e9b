//! The controller: watches the cluster's CertificateSigningRequests (list, then watch with
//! bookmarks, resuming from the last resourceVersion), approves what its policies allow and
//! signs what is approved for the signers it serves, with the embedded controller's rules
//! ([`SigningController`]); optionally only while it holds the leader lease.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest as KubeCsr;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::watcher;
use kubepki_api::{SignOutcome, SigningController, format_time};

use crate::KubeError;
use crate::approve::{ApprovalPolicy, Approver, Verdict};
use crate::csrs::{KubeCsrs, Subresource, from_kube};
use crate::decide::{Approval, Approvals, approve};
use crate::leader::{LeaderElector, LeaseConfig};
use crate::metrics::Metrics;
use crate::serving::ServingConstraints;

/// How long a request whose handling failed waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// What the controller does and how.
pub struct ControllerOptions {
    /// The signers, their CAs and `--cluster-signing-duration`.
    pub signing: SigningController,
    /// Which requests it approves on its own.
    pub approval: ApprovalPolicy,
    /// What kubelet serving certificates may name (`--serving-*`).
    pub serving: ServingConstraints,
    /// `--approve-dry-run`: decide, log and count every verdict, never write an approval.
    pub approve_dry_run: bool,
    /// Leader election; `None` runs without it (one replica only).
    pub lease: Option<LeaseConfig>,
    /// Requests handled at once (kube-controller-manager's csrsigning runs 5 workers).
    pub workers: u16,
    /// The clock certificates are issued at.
    pub clock: fn() -> SystemTime,
}

impl std::fmt::Debug for ControllerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerOptions")
            .field("signing", &self.signing)
            .field("approval", &self.approval)
            .field("serving", &self.serving)
            .field("approve_dry_run", &self.approve_dry_run)
            .field("lease", &self.lease)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

struct Context {
    csrs: KubeCsrs,
    approver: Approver,
    approval: ApprovalPolicy,
    approve_dry_run: bool,
    signing: SigningController,
    metrics: Arc<Metrics>,
    clock: fn() -> SystemTime,
}

impl Approvals for Context {
    async fn verdict(
        &self,
        csr: &kubepki_api::CertificateSigningRequest,
    ) -> Result<Verdict, KubeError> {
        self.approver.verdict(csr).await
    }

    async fn read(&self, name: &str) -> Result<kubepki_api::CertificateSigningRequest, KubeError> {
        self.csrs.get(name).await
    }

    async fn write(
        &self,
        csr: &kubepki_api::CertificateSigningRequest,
    ) -> Result<kubepki_api::CertificateSigningRequest, KubeError> {
        self.csrs.write(Subresource::Approval, csr).await
    }
}

/// Runs the controller on the cluster of `client` until `shutdown` resolves (a graceful
/// stop: the lease is released) or the lease is lost (an error: the process should exit, as
/// kube-controller-manager does, and be restarted as a candidate).
///
/// # Errors
/// [`KubeError::LeaseLost`]; [`KubeError::Api`] when the lease cannot be released.
pub async fn run(
    client: kube::Client,
    options: ControllerOptions,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), KubeError> {
    let context = Arc::new(Context {
        csrs: KubeCsrs::new(client.clone()),
        approver: Approver::new(client.clone(), options.approval, options.serving),
        approval: options.approval,
        approve_dry_run: options.approve_dry_run,
        signing: options.signing,
        metrics: Arc::clone(&metrics),
        clock: options.clock,
    });
    let mut shutdown = std::pin::pin!(shutdown);
    let Some(lease) = options.lease else {
        metrics.set_leader(true);
        tokio::select! {
            () = work(context, options.workers) => {}
            () = &mut shutdown => tracing::info!("shutting down"),
        }
        return Ok(());
    };
    let mut elector = LeaderElector::new(client, lease);
    // A candidate standing by is ready: it serves as soon as it wins.
    metrics.set_ready(true);
    tracing::info!(identity = %elector.config().identity, "waiting for the leader lease");
    tokio::select! {
        acquired = elector.acquire() => acquired?,
        () = &mut shutdown => return Ok(()),
    }
    metrics.set_leader(true);
    let outcome = tokio::select! {
        lost = elector.hold() => Err(lost),
        () = work(Arc::clone(&context), options.workers) => Ok(()),
        () = &mut shutdown => Ok(()),
    };
    // The controller future is dropped here: no request is signed after this point.
    metrics.set_leader(false);
    match outcome {
        Ok(()) => {
            tracing::info!("shutting down: releasing the leader lease");
            elector.release().await
        }
        Err(lost) => {
            tracing::error!(error = %lost, "stopped signing");
            Err(lost)
        }
    }
}

/// The watch-driven loop; it ends only if the watch stream does.
async fn work(context: Arc<Context>, workers: u16) {
    let api = context.csrs.api().clone();
    let controller = Controller::new(api, watcher::Config::default())
        .with_config(ControllerConfig::default().concurrency(workers));
    let store = controller.store();
    let metrics = Arc::clone(&context.metrics);
    tokio::spawn(async move {
        if store.wait_until_ready().await.is_ok() {
            metrics.set_ready(true);
            tracing::info!("watching certificatesigningrequests");
        }
    });
    controller
        .run(reconcile, retry_later, context)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile");
            }
        })
        .await;
}

fn retry_later(csr: Arc<KubeCsr>, error: &KubeError, _: Arc<Context>) -> Action {
    tracing::warn!(
        csr = csr.metadata.name.as_deref().unwrap_or_default(),
        error = %error,
        "will retry in {}s",
        RETRY_AFTER.as_secs()
    );
    Action::requeue(RETRY_AFTER)
}

async fn reconcile(object: Arc<KubeCsr>, context: Arc<Context>) -> Result<Action, KubeError> {
    match handle(&object, &context).await {
        Err(KubeError::Replaced {
            name,
            evaluated,
            found,
        }) => {
            // Another request under the same name: it has its own reconcile.
            tracing::info!(csr = %name, %evaluated, %found, "replaced while deciding: nothing written");
            Ok(Action::await_change())
        }
        other => other,
    }
}

async fn handle(object: &KubeCsr, context: &Context) -> Result<Action, KubeError> {
    let mut csr = from_kube(object)?;
    let name = csr.metadata.name.clone();
    context.metrics.seen();
    if csr.is_denied() {
        context.metrics.denied();
        return Ok(Action::await_change());
    }
    if context.approval.any() {
        let now = (context.clock)();
        csr = match approve(context, csr, now, context.approve_dry_run).await? {
            Approval::NotOurs(csr) => csr,
            Approval::Approved {
                stored,
                policy,
                message,
            } => {
                context.metrics.approved(policy.as_str());
                tracing::info!(csr = %name, signer = %stored.spec.signer_name, policy = policy.as_str(), "approved: {message}");
                stored
            }
            Approval::WouldApprove {
                csr,
                policy,
                message,
            } => {
                context.metrics.would_approve(policy.as_str());
                tracing::info!(csr = %name, signer = %csr.spec.signer_name, policy = policy.as_str(), "dry run, would approve: {message}");
                csr
            }
            Approval::Left {
                csr,
                policy,
                reason,
                message,
            } => {
                context.metrics.refused(policy.as_str(), reason.as_str());
                tracing::info!(csr = %name, signer = %csr.spec.signer_name, policy = policy.as_str(), reason = reason.as_str(), "left pending: {message}");
                csr
            }
        };
    }
    let signing = &context.signing;
    let clock = context.clock;
    let (stored, outcome) = context
        .csrs
        .modify(csr, Subresource::Status, |c| {
            let started = Instant::now();
            match signing.sign(c, clock())? {
                SignOutcome::Skipped => Ok(None),
                outcome => Ok(Some((outcome, started.elapsed()))),
            }
        })
        .await?;
    match outcome {
        Some((SignOutcome::Issued { not_after, .. }, took)) => {
            context
                .metrics
                .signed(&stored.spec.signer_name, took.as_secs_f64());
            tracing::info!(
                csr = %name,
                signer = %stored.spec.signer_name,
                not_after = %format_time(not_after),
                "issued"
            );
        }
        Some((SignOutcome::Failed(why), _)) => {
            context.metrics.failed("SignerValidationFailure");
            tracing::warn!(csr = %name, signer = %stored.spec.signer_name, "failed: {why}");
        }
        Some((SignOutcome::Skipped, _)) | None => {}
    }
    Ok(Action::await_change())
}
