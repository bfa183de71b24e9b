//! Prometheus metrics, `/healthz` and `/readyz`, served on `--metrics-addr`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::KubeError;
use crate::first_sight::{FirstSight, REMEMBERED};

type Labels = Vec<(String, String)>;

/// A counter of requests: each request (by UID) adds one, however often it is reconciled.
#[derive(Debug)]
struct RequestCounter<L> {
    counted: Mutex<FirstSight>,
    counter: L,
}

impl<L> RequestCounter<L> {
    fn new(counter: L) -> Self {
        RequestCounter {
            counted: Mutex::new(FirstSight::new(REMEMBERED)),
            counter,
        }
    }

    /// Runs `count` on the counter if `request` was never counted here.
    fn once(&self, request: &str, count: impl FnOnce(&L)) {
        let first = self
            .counted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first(request);
        if first {
            count(&self.counter);
        }
    }
}

/// The controller's counters, and whether it is ready and leading.
///
/// `kubepki_csr_*` counts requests and certificates, labelled by signer where labelled;
/// `kubepki_approval_*` counts the approval policies' verdicts, labelled by policy.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    seen: RequestCounter<Counter>,
    approved: RequestCounter<Family<Labels, Counter>>,
    denied: RequestCounter<Counter>,
    policy_approvals: Family<Labels, Counter>,
    refusals: Family<Labels, Counter>,
    dry_run_approvals: Family<Labels, Counter>,
    signed: Family<Labels, Counter>,
    failed: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    signing_seconds: Histogram,
    status_write_seconds: Histogram,
    queue_seconds: Family<Labels, Histogram>,
    work_seconds: Family<Labels, Histogram>,
    leader: Gauge,
    ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn labels(key: &str, value: &str) -> Labels {
    vec![(key.to_owned(), value.to_owned())]
}

impl Metrics {
    /// Every metric at zero, not ready, not leading.
    pub fn new() -> Self {
        let mut root = Registry::default();
        let policy_approvals = Family::<Labels, Counter>::default();
        let refusals = Family::<Labels, Counter>::default();
        let dry_run_approvals = Family::<Labels, Counter>::default();
        root.register(
            "kubepki_approval_approvals",
            "Requests a policy approved (the approval written), by policy",
            policy_approvals.clone(),
        );
        root.register(
            "kubepki_approval_refusals",
            "Verdicts that left a request Pending, by policy and reason",
            refusals.clone(),
        );
        root.register(
            "kubepki_approval_dry_run_approvals",
            "Requests --approve-dry-run would have approved, by policy",
            dry_run_approvals.clone(),
        );
        let registry = root.sub_registry_with_prefix("kubepki_csr");
        let seen = Counter::default();
        let approved = Family::<Labels, Counter>::default();
        let denied = Counter::default();
        let signed = Family::<Labels, Counter>::default();
        let failed = Family::<Labels, Counter>::default();
        let errors = Family::<Labels, Counter>::default();
        // 100 µs .. ~1.6 s: ECDSA signs in well under a millisecond, RSA-4096 in tens.
        let signing_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 15));
        let status_write_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 15));
        // 100 µs .. ~1.6 s, by outcome: client-go's workqueue queue and work durations,
        // which kube-controller-manager's csrsigning reports under name="certificate".
        let latency = || Histogram::new(exponential_buckets(0.0001, 2.0, 15));
        let queue_seconds =
            Family::<Labels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        let work_seconds =
            Family::<Labels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        let leader = Gauge::default();
        registry.register(
            "requests_seen",
            "CertificateSigningRequests the controller looked at, each counted once",
            seen.clone(),
        );
        registry.register(
            "approved",
            "Requests seen approved (by any approver), each counted once, by signer",
            approved.clone(),
        );
        registry.register(
            "denied",
            "Requests seen denied, each counted once",
            denied.clone(),
        );
        registry.register(
            "signed",
            "Certificates issued into status.certificate, by signer",
            signed.clone(),
        );
        registry.register(
            "failed",
            "Requests marked Failed, by reason",
            failed.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed handlings of a request, retried with back-off, by reason",
            errors.clone(),
        );
        registry.register(
            "signing_duration_seconds",
            "Time to check and sign one request (the API write excluded)",
            signing_seconds.clone(),
        );
        registry.register(
            "status_write_duration_seconds",
            "Time of the status write that carried a certificate, as the controller saw it",
            status_write_seconds.clone(),
        );
        registry.register(
            "queue_duration_seconds",
            "Time from a request's watch event to the start of its reconcile, by outcome",
            queue_seconds.clone(),
        );
        registry.register(
            "work_duration_seconds",
            "Time of one reconcile (approving, signing and the API writes), by outcome",
            work_seconds.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader lease (or runs without election)",
            leader.clone(),
        );
        Metrics {
            registry: root,
            seen: RequestCounter::new(seen),
            approved: RequestCounter::new(approved),
            denied: RequestCounter::new(denied),
            policy_approvals,
            refusals,
            dry_run_approvals,
            signed,
            failed,
            errors,
            signing_seconds,
            status_write_seconds,
            queue_seconds,
            work_seconds,
            leader,
            ready: AtomicBool::new(false),
        }
    }

    /// The request whose UID is `request` looked at: counted the first time only.
    pub fn seen(&self, request: &str) {
        self.seen.once(request, |c| {
            c.inc();
        });
    }

    /// The request whose UID is `request`, for `signer`, seen approved: counted the first
    /// time only.
    pub fn approved(&self, request: &str, signer: &str) {
        self.approved.once(request, |c| {
            c.get_or_create(&labels("signer", signer)).inc();
        });
    }

    /// One approval written under `policy`.
    pub fn policy_approved(&self, policy: &str) {
        self.policy_approvals
            .get_or_create(&labels("policy", policy))
            .inc();
    }

    /// One verdict of `policy` that left a request Pending for `reason` (a fixed word,
    /// never request data).
    pub fn refused(&self, policy: &str, reason: &str) {
        self.refusals
            .get_or_create(&vec![
                ("policy".to_owned(), policy.to_owned()),
                ("reason".to_owned(), reason.to_owned()),
            ])
            .inc();
    }

    /// One request `--approve-dry-run` would have approved under `policy`.
    pub fn would_approve(&self, policy: &str) {
        self.dry_run_approvals
            .get_or_create(&labels("policy", policy))
            .inc();
    }

    /// The request whose UID is `request` seen denied: counted the first time only.
    pub fn denied(&self, request: &str) {
        self.denied.once(request, |c| {
            c.inc();
        });
    }

    /// One failed handling of a request, for `reason` (a fixed word,
    /// [`KubeError::reason`]).
    pub fn reconcile_error(&self, reason: &str) {
        self.errors.get_or_create(&labels("reason", reason)).inc();
    }

    /// One certificate issued for `signer`, after `seconds` of checking and signing.
    pub fn signed(&self, signer: &str, seconds: f64) {
        self.signed.get_or_create(&labels("signer", signer)).inc();
        self.signing_seconds.observe(seconds);
    }

    /// One reconcile ended with `outcome` after `work` of handling; `queued` is how long its
    /// watch event waited before it started (`None` for a retry after a back-off).
    pub fn reconciled(&self, outcome: &str, queued: Option<Duration>, work: Duration) {
        let outcome = labels("outcome", outcome);
        if let Some(queued) = queued {
            self.queue_seconds
                .get_or_create(&outcome)
                .observe(queued.as_secs_f64());
        }
        self.work_seconds
            .get_or_create(&outcome)
            .observe(work.as_secs_f64());
    }

    /// The status write that carried a certificate took `took`.
    pub fn status_written(&self, took: Duration) {
        self.status_write_seconds.observe(took.as_secs_f64());
    }

    /// One request marked Failed with `reason`.
    pub fn failed(&self, reason: &str) {
        self.failed.get_or_create(&labels("reason", reason)).inc();
    }

    /// Whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Whether `/readyz` says ready: connected, and either leading with its watch synced or
    /// standing by as a candidate.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// One answer of the metrics server: status code, body, content type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The HTTP status code.
    pub status: u16,
    /// The body.
    pub body: String,
    /// The `Content-Type`.
    pub content_type: &'static str,
}

impl Page {
    /// A `200 OK` page.
    pub fn ok(body: String, content_type: &'static str) -> Self {
        Page {
            status: 200,
            body,
            content_type,
        }
    }

    /// `404 Not Found`.
    pub fn not_found() -> Self {
        Page {
            status: 404,
            body: "not found".to_owned(),
            content_type: "text/plain",
        }
    }
}

/// What a metrics server serves, path by path: the controller's [`Metrics`], or another
/// program's (`kubepki certs exporter`), on the same hardened server ([`serve`]).
pub trait Pages: Send + Sync + 'static {
    /// The page at `path` (GET; the method is not looked at).
    fn page(&self, path: &str) -> Page;
}

impl Pages for Metrics {
    fn page(&self, path: &str) -> Page {
        match path {
            "/metrics" => Page::ok(
                self.render(),
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
            "/healthz" | "/livez" => Page::ok("ok".to_owned(), "text/plain"),
            "/readyz" if self.ready.load(Ordering::Relaxed) => {
                Page::ok("ok".to_owned(), "text/plain")
            }
            "/readyz" => Page {
                status: 503,
                body: "not ready".to_owned(),
                content_type: "text/plain",
            },
            _ => Page::not_found(),
        }
    }
}

fn respond(page: Page) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(page.body)));
    *response.status_mut() =
        StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = hyper::header::HeaderValue::from_str(page.content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// How long a client may take to send a request's headers before it is disconnected: a
/// client that sends half a request (or nothing) must not hold a connection open for ever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The first pause after a failed accept (out of file descriptors, say); it doubles on each
/// failure in a row up to [`ACCEPT_PAUSE_MAX`], as Go's net/http server does.
const ACCEPT_PAUSE_FIRST: Duration = Duration::from_millis(5);
/// The longest pause between accepts that fail.
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// The pause after a failed accept that followed a pause of `previous` (none: the first).
fn accept_pause(previous: Option<Duration>) -> Duration {
    previous.map_or(ACCEPT_PAUSE_FIRST, |p| (p * 2).min(ACCEPT_PAUSE_MAX))
}

/// Listens on `addr`; returns the bound address (port 0 picks one) and the server task.
///
/// # Errors
/// [`KubeError::Listen`] when the address cannot be bound.
pub async fn serve<P: Pages>(
    addr: SocketAddr,
    pages: Arc<P>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), KubeError> {
    serve_with(addr, pages, HEADER_READ_TIMEOUT).await
}

async fn serve_with<P: Pages>(
    addr: SocketAddr,
    pages: Arc<P>,
    header_read_timeout: Duration,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), KubeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| KubeError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| KubeError::Listen { addr, source })?;
    let task = tokio::spawn(async move {
        let mut pause = None;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => {
                    pause = None;
                    stream
                }
                Err(e) => {
                    // Retrying at once would spin while the cause lasts.
                    let wait = accept_pause(pause);
                    pause = Some(wait);
                    tracing::warn!(error = %e, "metrics: accept failed; retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let pages = Arc::clone(&pages);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let response = respond(pages.page(request.uri().path()));
                    async move { Ok::<_, Infallible>(response) }
                });
                if let Err(e) = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %e, "metrics connection");
                }
            });
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_labelled_by_signer_and_verdicts_by_policy_and_readyz_follows_readiness() {
        let m = Metrics::new();
        m.seen("uid-1");
        m.signed("kubernetes.io/kubelet-serving", 0.0004);
        m.failed("SignerValidationFailure");
        m.approved("uid-1", "kubernetes.io/kubelet-serving");
        m.policy_approved("kubelet-serving");
        m.refused("kubelet-serving", "ip_outside_prefixes");
        m.would_approve("kubelet-client");
        m.reconcile_error("signer_expired");
        m.set_leader(true);
        let text = m.render();
        for line in [
            "kubepki_csr_approved_total{signer=\"kubernetes.io/kubelet-serving\"} 1",
            "kubepki_approval_approvals_total{policy=\"kubelet-serving\"} 1",
            "kubepki_csr_reconcile_errors_total{reason=\"signer_expired\"} 1",
            "kubepki_approval_refusals_total{policy=\"kubelet-serving\",reason=\"ip_outside_prefixes\"} 1",
            "kubepki_approval_dry_run_approvals_total{policy=\"kubelet-client\"} 1",
            "kubepki_csr_requests_seen_total 1",
            "kubepki_csr_signed_total{signer=\"kubernetes.io/kubelet-serving\"} 1",
            "kubepki_csr_failed_total{reason=\"SignerValidationFailure\"} 1",
            "kubepki_csr_signing_duration_seconds_count 1",
            "kubepki_csr_leader 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert_eq!(m.page("/readyz").status, 503);
        m.set_ready(true);
        assert_eq!(m.page("/readyz").status, 200);
        assert_eq!(m.page("/healthz").status, 200);
        assert_eq!(m.page("/nothing").status, 404);
    }

    #[test]
    fn a_request_counted_many_times_counts_once() {
        let m = Metrics::new();
        for _ in 0..5 {
            m.seen("uid-1");
            m.denied("uid-1");
            m.approved("uid-2", "kubernetes.io/kube-apiserver-client");
        }
        m.seen("uid-2");
        let text = m.render();
        for line in [
            "kubepki_csr_requests_seen_total 2",
            "kubepki_csr_denied_total 1",
            "kubepki_csr_approved_total{signer=\"kubernetes.io/kube-apiserver-client\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }

    #[test]
    fn failed_accepts_pause_longer_each_time_up_to_a_second() {
        let mut pause = None;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let next = accept_pause(pause);
            seen.push(next.as_millis());
            pause = Some(next);
        }
        assert_eq!(seen, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    }

    /// Reads until the server closes the connection; how long that took, or `None` when it
    /// was still open after `limit`.
    async fn closed_within(
        stream: &mut tokio::net::TcpStream,
        limit: Duration,
    ) -> Option<Duration> {
        use tokio::io::AsyncReadExt;
        let started = std::time::Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(limit, stream.read(&mut buf)).await {
                Err(_) => return None,
                Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
                Ok(Ok(_)) => {}
            }
        }
    }

    #[tokio::test]
    async fn a_client_that_sends_half_a_request_is_disconnected() {
        use tokio::io::AsyncWriteExt;
        use tokio::net::TcpStream;
        let timeout = Duration::from_millis(300);
        let (addr, _task) = serve_with(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(Metrics::new()),
            timeout,
        )
        .await
        .unwrap();
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut partial = TcpStream::connect(addr).await.unwrap();
        partial
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        for (what, stream) in [("nothing", &mut silent), ("half the headers", &mut partial)] {
            let took = closed_within(stream, Duration::from_secs(3)).await;
            assert!(
                took.is_some_and(|t| t < Duration::from_secs(2)),
                "a client that sent {what} was not disconnected ({took:?})"
            );
        }
        // The server still answers.
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut client, &mut answer)
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("ok"), "{answer}");
    }
}
