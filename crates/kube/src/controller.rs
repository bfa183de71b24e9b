//! The controller: watches the cluster's CertificateSigningRequests (list, then watch with
//! bookmarks, resuming from the last resourceVersion), approves what its policies allow and
//! signs what is approved for the signers it serves, with the embedded controller's rules
//! ([`SigningController`]); optionally only while it holds the leader lease.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest as KubeCsr;
use kube::runtime::WatchStreamExt;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, reflector};
use kube::runtime::watcher::{self, watcher};
use kubepki_api::{SignOutcome, SigningController, format_time};

use crate::KubeError;
use crate::approve::{ApprovalPolicy, Approver};
use crate::csrs::{KubeCsrs, Subresource, from_kube};
use crate::decide::{Approval, Approvals, approve};
use crate::events::{self, EVENT_REPORTER};
use crate::leader::{LeaderElector, LeaseConfig};
use crate::metrics::Metrics;
use crate::retry::{Failures, failure_key};
use crate::serving::ServingConstraints;
use crate::signing::{panic_reason, sign_blocking};
use crate::verdict::Verdict;
use crate::waiting::Waiting;
use crate::workqueue::WorkQueue;

/// How long a stopped controller's requests in flight get to stop.
const STOP_GRACE: Duration = Duration::from_secs(1);

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
    signing: Arc<SigningController>,
    metrics: Arc<Metrics>,
    clock: fn() -> SystemTime,
    failures: Failures,
    waiting: Waiting,
    recorder: Recorder,
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
        signing: Arc::new(options.signing),
        metrics: Arc::clone(&metrics),
        clock: options.clock,
        failures: Failures::default(),
        waiting: Waiting::default(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: EVENT_REPORTER.to_owned(),
                instance: options.lease.as_ref().map(|l| l.identity.clone()),
            },
        ),
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
    // The work runs in a task of its own, so that a request being signed (a slow token)
    // never holds up the renewals: the lease is kept, or given up in time, whatever the
    // work is doing.
    let mut working = tokio::spawn(work(Arc::clone(&context), options.workers));
    let outcome = tokio::select! {
        lost = elector.hold() => Err(lost),
        _ = &mut working => Ok(()),
        () = &mut shutdown => Ok(()),
    };
    // The work is stopped here, each handler at its next await: no request is signed after
    // this point. A signature under way finishes, and its write may still go out; it is
    // conditional on the resourceVersion that was read, so a new leader's write of the same
    // request conflicts with it, and the request holds one certificate either way.
    working.abort();
    if tokio::time::timeout(STOP_GRACE, &mut working)
        .await
        .is_err()
    {
        tracing::error!("a request in progress did not stop within {STOP_GRACE:?}");
    }
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

/// The watch-driven loop; it ends only if the watch stream does. The watch feeds a work
/// queue ([`WorkQueue`], client-go's semantics) that `workers` handlers drain. Each handler
/// is a task of its own, so that one signing in place holds up no other; they belong to a
/// [`JoinSet`](tokio::task::JoinSet) of this future, so that stopping it stops them at their
/// next await.
async fn work(context: Arc<Context>, workers: u16) {
    let api = context.csrs.api().clone();
    // The controller runs on our own reflector stream so that readiness is the watch's
    // InitDone event (the first full list is in the store).
    let (reader, writer) = reflector::store();
    let queue = Arc::new(WorkQueue::default());
    let stream = reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    );
    let feed = async {
        let mut stream = std::pin::pin!(stream);
        let mut feed = Feed::default();
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => feed.on(&event, &queue, &context),
                Err(e) => tracing::warn!(error = %e, "watching certificatesigningrequests"),
            }
        }
    };
    let mut handlers = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        handlers.spawn(handle_queued(
            Arc::clone(&queue),
            reader.clone(),
            Arc::clone(&context),
        ));
    }
    tokio::select! {
        () = feed => {}
        Some(Err(stopped)) = handlers.join_next() => {
            tracing::error!(error = %stopped, "a request handler stopped");
        }
        () = queue.run_delays() => {}
    }
}

/// What the watch feeds the work queue. A changed request is queued as soon as the
/// reflector's store holds it. The requests of a list (the first one, or a relist after the
/// watch failed) are queued only when the whole list is in the store (`InitDone`): the
/// reflector makes a list readable at once, and a handler that looked a name up before that
/// would find nothing and drop it.
#[derive(Default)]
struct Feed {
    /// The names of the list in progress.
    listed: Vec<String>,
    /// Whether a first list was done.
    watching: bool,
}

impl Feed {
    fn on(&mut self, event: &watcher::Event<KubeCsr>, queue: &WorkQueue, context: &Context) {
        let now = Instant::now();
        let name = |csr: &KubeCsr| csr.metadata.name.clone();
        match event {
            watcher::Event::Apply(csr) => {
                if let Some(name) = name(csr) {
                    context.waiting.arrived(&name, now);
                    queue.add(&name);
                }
            }
            watcher::Event::InitApply(csr) => {
                if let Some(name) = name(csr) {
                    context.waiting.arrived(&name, now);
                    self.listed.push(name);
                }
            }
            watcher::Event::Delete(csr) => {
                if let Some(name) = name(csr) {
                    context.waiting.deleted(&name);
                }
            }
            watcher::Event::Init => self.listed.clear(),
            watcher::Event::InitDone => {
                for name in self.listed.drain(..) {
                    queue.add(&name);
                }
                context.metrics.set_ready(true);
                if !std::mem::replace(&mut self.watching, true) {
                    tracing::info!("watching certificatesigningrequests");
                }
            }
        }
    }
}

/// One handler: takes the next name from `queue` and reconciles the request as `reader` has
/// it now (a later event may have changed it since it was queued), forever. A request whose
/// handling panics is an error like any other ([`KubeError::HandlerPanicked`]): backed off,
/// counted and reported, and the handler goes on.
async fn handle_queued(
    queue: Arc<WorkQueue>,
    reader: reflector::Store<KubeCsr>,
    context: Arc<Context>,
) {
    loop {
        let name = queue.next().await;
        let Some(csr) = reader.get(&ObjectRef::new(&name)) else {
            queue.done(&name);
            continue;
        };
        let handled = AssertUnwindSafe(reconcile_counted(Arc::clone(&csr), Arc::clone(&context)))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(KubeError::HandlerPanicked {
                    name: name.clone(),
                    reason: panic_reason(panic.as_ref()),
                })
            });
        if let Err(error) = handled {
            let wait = retry_later(&csr, &error, &context);
            queue.add_after(&name, wait);
        }
        queue.done(&name);
    }
}

/// The error policy: counts the error by reason, logs it (a permanent one as an error) and
/// retries the request after its back-off.
fn retry_later(csr: &KubeCsr, error: &KubeError, context: &Context) -> Duration {
    let permanent = error.is_permanent();
    let wait = context.failures.failed(&failure_key(csr), permanent);
    context.metrics.reconcile_error(error.reason());
    let name = csr.metadata.name.as_deref().unwrap_or_default();
    if permanent {
        events::report(&context.recorder, csr, error);
        tracing::error!(
            csr = name,
            reason = error.reason(),
            error = %error,
            "will not succeed until fixed; retrying in {}s",
            wait.as_secs()
        );
    } else {
        tracing::warn!(
            csr = name,
            reason = error.reason(),
            error = %error,
            "will retry in {}s",
            wait.as_secs()
        );
    }
    wait
}

/// [`reconcile`], its success clearing the request's failures, its queue and work time
/// counted by outcome.
async fn reconcile_counted(object: Arc<KubeCsr>, context: Arc<Context>) -> Result<(), KubeError> {
    let started = Instant::now();
    let name = object.metadata.name.as_deref().unwrap_or_default();
    let queued = context.waiting.started(name, started);
    let key = failure_key(&object);
    let handled = reconcile(&object, &context).await;
    let outcome = match &handled {
        Ok(handled) => handled.as_str(),
        Err(_) => "error",
    };
    context
        .metrics
        .reconciled(outcome, queued, started.elapsed());
    handled?;
    context.failures.succeeded(&key);
    Ok(())
}

/// What one reconcile did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handled {
    /// A certificate was written into the request's status.
    Issued,
    /// The request was marked Failed.
    Failed,
    /// Nothing to sign: pending, denied, not ours, or already issued.
    Nothing,
}

impl Handled {
    /// The `outcome` label of the controller's latency metrics.
    fn as_str(self) -> &'static str {
        match self {
            Handled::Issued => "issued",
            Handled::Failed => "failed",
            Handled::Nothing => "nothing",
        }
    }
}

async fn reconcile(object: &KubeCsr, context: &Context) -> Result<Handled, KubeError> {
    match handle(object, context).await {
        Err(KubeError::Replaced {
            name,
            evaluated,
            found,
        }) => {
            // Another request under the same name: it has its own reconcile.
            tracing::info!(csr = %name, %evaluated, %found, "replaced while deciding: nothing written");
            Ok(Handled::Nothing)
        }
        other => other,
    }
}

async fn handle(object: &KubeCsr, context: &Context) -> Result<Handled, KubeError> {
    let mut csr = from_kube(object)?;
    let name = csr.metadata.name.clone();
    // Requests are counted once each, however often they are reconciled.
    let request = failure_key(object);
    context.metrics.seen(&request);
    if csr.is_denied() {
        context.metrics.denied(&request);
        return Ok(Handled::Nothing);
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
                context.metrics.policy_approved(policy.as_str());
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
    if csr.is_approved() {
        context.metrics.approved(&request, &csr.spec.signer_name);
    }
    let clock = context.clock;
    let started = Instant::now();
    let (stored, outcome) = context
        .csrs
        .modify(csr, Subresource::Status, |edited| {
            sign_blocking(Arc::clone(&context.signing), edited, clock())
        })
        .await?;
    let modified = started.elapsed();
    Ok(match outcome {
        Some((SignOutcome::Issued { not_after, .. }, times)) => {
            context
                .metrics
                .signed(&stored.spec.signer_name, times.signing.as_secs_f64());
            // What the write took: the whole edit, less the signing and its hand-off.
            context
                .metrics
                .status_written(modified.saturating_sub(times.total));
            tracing::info!(
                csr = %name,
                signer = %stored.spec.signer_name,
                not_after = %format_time(not_after),
                "issued"
            );
            Handled::Issued
        }
        Some((SignOutcome::Failed(why), _)) => {
            context.metrics.failed("SignerValidationFailure");
            tracing::warn!(csr = %name, signer = %stored.spec.signer_name, "failed: {why}");
            Handled::Failed
        }
        Some((SignOutcome::Skipped, _)) | None => Handled::Nothing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_api::FakeApi;
    use crate::fixtures::{ca_for, pinned, request};
    use crate::mock_api::mock_client;
    use kubepki_api::Signers;
    use kubepki_keys::{KeyAlgorithm, KeyPair};

    /// Two hours later: past the one-hour CA of [`expired_ca`].
    fn two_hours_later() -> SystemTime {
        pinned() + Duration::from_secs(2 * 3600)
    }

    fn signing(validity: Duration) -> SigningController {
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        SigningController::new(Signers::new()).with_default_ca(ca_for(Box::new(key), validity))
    }

    fn context(
        client: kube::Client,
        signing: SigningController,
        clock: fn() -> SystemTime,
    ) -> Context {
        Context {
            csrs: KubeCsrs::new(client.clone()),
            approver: Approver::new(
                client.clone(),
                ApprovalPolicy::default(),
                ServingConstraints::default(),
            ),
            approval: ApprovalPolicy::default(),
            approve_dry_run: false,
            signing: Arc::new(signing),
            metrics: Arc::new(Metrics::new()),
            clock,
            failures: Failures::default(),
            waiting: Waiting::default(),
            recorder: Recorder::new(client, EVENT_REPORTER.into()),
        }
    }

    fn has(metrics: &Metrics, line: &str) {
        let text = metrics.render();
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }

    #[tokio::test]
    async fn a_listed_request_is_queued_once_the_whole_list_is_readable() {
        let (client, _api) = mock_client();
        let context = context(client, signing(Duration::from_secs(86_400)), pinned);
        let queue = WorkQueue::default();
        let mut feed = Feed::default();
        let next = || tokio::time::timeout(Duration::from_millis(50), queue.next());
        feed.on(&watcher::Event::Init, &queue, &context);
        feed.on(&watcher::Event::InitApply(request(&[])), &queue, &context);
        // The reflector's store does not show the list yet: nothing to handle.
        assert!(next().await.is_err(), "queued before the list was readable");
        feed.on(&watcher::Event::InitDone, &queue, &context);
        assert_eq!(next().await.expect("queued at InitDone"), "jane");
        // After the list, a change is queued at once (the store holds it already).
        queue.done("jane");
        feed.on(
            &watcher::Event::Apply(request(&["Approved"])),
            &queue,
            &context,
        );
        assert_eq!(next().await.expect("queued at once"), "jane");
    }

    #[tokio::test]
    async fn a_request_whose_handling_panics_is_backed_off_and_the_handler_goes_on() {
        fn broken_clock() -> SystemTime {
            panic!("the clock broke")
        }
        let (client, _api) = mock_client();
        let context = Arc::new(context(
            client,
            signing(Duration::from_secs(86_400)),
            broken_clock,
        ));
        let (reader, mut writer) = reflector::store();
        writer.apply_watcher_event(&watcher::Event::Apply(request(&["Approved"])));
        let queue = Arc::new(WorkQueue::default());
        queue.add("jane");
        let handler = tokio::spawn(handle_queued(
            Arc::clone(&queue),
            reader,
            Arc::clone(&context),
        ));
        let counted = "kubepki_csr_reconcile_errors_total{reason=\"handler_panicked\"} 1";
        for _ in 0..100 {
            if context.metrics.render().contains(counted) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        has(&context.metrics, counted);
        assert!(!handler.is_finished(), "the handler died with the request");
        handler.abort();
    }

    #[tokio::test]
    async fn a_request_reconciled_five_times_is_seen_and_counted_denied_once() {
        // Denied: handled without a call to the API server.
        let (client, _api) = mock_client();
        let context = context(client, signing(Duration::from_secs(86_400)), pinned);
        let denied = request(&["Denied"]);
        for _ in 0..5 {
            handle(&denied, &context).await.unwrap();
        }
        has(&context.metrics, "kubepki_csr_requests_seen_total 1");
        has(&context.metrics, "kubepki_csr_denied_total 1");
    }

    #[tokio::test]
    async fn an_approved_request_is_signed_and_written_through_status_and_counted_by_signer() {
        let (client, mut api) = mock_client();
        let context = Arc::new(context(
            client,
            signing(Duration::from_secs(86_400)),
            pinned,
        ));
        let approved = request(&["Approved"]);
        context.waiting.arrived("jane", Instant::now());
        let server = async {
            let put = api.next().await;
            assert_eq!(put.method, http::Method::PUT);
            assert_eq!(
                put.path,
                "/apis/certificates.k8s.io/v1/certificatesigningrequests/jane/status"
            );
            assert_eq!(put.body["metadata"]["resourceVersion"], "10");
            assert!(
                put.body["status"]["certificate"].is_string(),
                "{}",
                put.body
            );
            put.echo();
        };
        let reconciled = reconcile_counted(Arc::new(approved.clone()), Arc::clone(&context));
        let (handled, ()) = tokio::join!(reconciled, server);
        handled.unwrap();
        // Its queue time (from the watch event) and its work are counted as an issue.
        has(
            &context.metrics,
            "kubepki_csr_queue_duration_seconds_count{outcome=\"issued\"} 1",
        );
        has(
            &context.metrics,
            "kubepki_csr_work_duration_seconds_count{outcome=\"issued\"} 1",
        );
        has(
            &context.metrics,
            "kubepki_csr_status_write_duration_seconds_count 1",
        );
        // Seen again (the watch shows our own write): counted once.
        let mut issued = approved.clone();
        issued
            .status
            .get_or_insert_with(Default::default)
            .certificate = Some(k8s_openapi::ByteString(b"issued".to_vec()));
        handle(&issued, &context).await.unwrap();
        has(&context.metrics, "kubepki_csr_requests_seen_total 1");
        has(
            &context.metrics,
            "kubepki_csr_approved_total{signer=\"kubernetes.io/kube-apiserver-client\"} 1",
        );
        has(
            &context.metrics,
            "kubepki_csr_signed_total{signer=\"kubernetes.io/kube-apiserver-client\"} 1",
        );
    }

    #[tokio::test]
    async fn a_permanent_error_backs_off_longer_is_counted_and_nothing_is_written() {
        // The CA expired: every try fails the same way until an operator replaces it.
        let (client, mut api) = mock_client();
        let context = Arc::new(context(
            client,
            signing(Duration::from_secs(3600)),
            two_hours_later,
        ));
        let approved = Arc::new(request(&["Approved"]));
        let mut waits = Vec::new();
        for attempt in 0..3 {
            let error = handle(&approved, &context).await.unwrap_err();
            assert!(error.is_permanent(), "{error}");
            assert_eq!(error.reason(), "signer_expired");
            waits.push(retry_later(&approved, &error, &context));
            // Each is reported as a Warning Event on the request: created the first time,
            // then counted as a series.
            let event = api.next().await;
            let (method, path) = if attempt == 0 {
                (
                    http::Method::POST,
                    "/apis/events.k8s.io/v1/namespaces/default/events".to_owned(),
                )
            } else {
                let name = event.body["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (
                    http::Method::PATCH,
                    format!("/apis/events.k8s.io/v1/namespaces/default/events/{name}"),
                )
            };
            assert_eq!((&event.method, &event.path), (&method, &path));
            if attempt == 0 {
                assert_eq!(event.body["type"], "Warning");
                assert_eq!(event.body["reason"], "SignerExpired");
                assert_eq!(event.body["action"], "Sign");
                assert_eq!(event.body["regarding"]["kind"], "CertificateSigningRequest");
                assert_eq!(event.body["regarding"]["name"], "jane");
                assert_eq!(event.body["reportingController"], EVENT_REPORTER);
                let note = event.body["note"].as_str().unwrap_or_default();
                assert!(note.contains("expired"), "{note}");
            }
            event.echo();
            // The recorder keeps the event once the API server has answered: let it.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(waits, [30, 60, 120].map(Duration::from_secs));
        has(
            &context.metrics,
            "kubepki_csr_reconcile_errors_total{reason=\"signer_expired\"} 3",
        );
        // A transient error starts at 2 s.
        let unreachable = KubeError::Timeout {
            action: "update status of csr/other".to_owned(),
            after: Duration::from_secs(1),
        };
        let mut other = (*approved).clone();
        other.metadata.uid = Some("uid-other".to_owned());
        assert_eq!(
            retry_later(&other, &unreachable, &context),
            Duration::from_secs(2)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_whose_renewals_stall_stops_within_the_renew_deadline() {
        let api = FakeApi::start().await;
        let metrics = Arc::new(Metrics::new());
        let options = ControllerOptions {
            signing: SigningController::new(kubepki_api::Signers::new()),
            approval: ApprovalPolicy::default(),
            serving: ServingConstraints::default(),
            approve_dry_run: false,
            lease: Some(crate::leader::tests::short("a")),
            workers: 1,
            clock: SystemTime::now,
        };
        let running = tokio::spawn(run(
            api.client(),
            options,
            Arc::clone(&metrics),
            std::future::pending(),
        ));
        let leading = || metrics.render().contains("kubepki_csr_leader 1");
        let started = Instant::now();
        while !leading() {
            assert!(started.elapsed() < Duration::from_secs(5), "never led");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!running.is_finished(), "stopped while renewals succeed");
        api.stall();
        let stalled = Instant::now();
        let stopped = tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("still signing long after the renew deadline")
            .unwrap();
        let took = stalled.elapsed();
        assert!(
            matches!(stopped, Err(KubeError::LeaseLost { .. })),
            "{stopped:?}"
        );
        assert!(
            took <= Duration::from_millis(1500),
            "stopped after {took:?}"
        );
        assert!(metrics.render().contains("kubepki_csr_leader 0"));
    }
}
