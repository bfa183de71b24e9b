//! A fake API server for the tests: Leases kept in memory, an empty list of
//! CertificateSigningRequests and a watch that never sends, and a switch that makes every
//! Lease call hang, as an API server that stops answering does.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    stalled: AtomicBool,
    lease: Mutex<Option<Value>>,
    version: AtomicU64,
}

/// The server, serving until dropped.
pub(crate) struct FakeApi {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn respond(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn status(code: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    respond(
        code,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "reason": reason, "message": reason, "code": code.as_u16(),
        }),
    )
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    if path.contains("/leases") {
        if state.stalled.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let method = request.method().clone();
        let body = request
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let mut lease = state.lease.lock().unwrap_or_else(PoisonError::into_inner);
        let store = |lease: &mut Option<Value>| {
            let mut value: Value = serde_json::from_slice(&body).unwrap_or_default();
            let version = state.version.fetch_add(1, Ordering::SeqCst) + 1;
            value["metadata"]["resourceVersion"] = json!(version.to_string());
            *lease = Some(value.clone());
            value
        };
        return Ok(match method {
            Method::GET => match lease.as_ref() {
                Some(value) => respond(StatusCode::OK, value),
                None => status(StatusCode::NOT_FOUND, "NotFound"),
            },
            Method::POST if lease.is_some() => status(StatusCode::CONFLICT, "AlreadyExists"),
            Method::POST => respond(StatusCode::CREATED, &store(&mut lease)),
            Method::PUT => respond(StatusCode::OK, &store(&mut lease)),
            _ => status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
        });
    }
    if path.ends_with("/certificatesigningrequests") {
        if query.contains("watch=true") {
            std::future::pending::<()>().await;
        }
        return Ok(respond(
            StatusCode::OK,
            &json!({
                "kind": "CertificateSigningRequestList",
                "apiVersion": "certificates.k8s.io/v1",
                "metadata": {"resourceVersion": "1"},
                "items": [],
            }),
        ));
    }
    Ok(status(StatusCode::NOT_FOUND, "NotFound"))
}

impl FakeApi {
    /// Listens on a free local port.
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let serving = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = service_fn(move |r| handle(r, Arc::clone(&state)));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeApi { addr, state, task }
    }

    /// A client of this server.
    pub(crate) fn client(&self) -> kube::Client {
        let config = kube::Config::new(format!("http://{}", self.addr).parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    /// From now on, every Lease call hangs.
    pub(crate) fn stall(&self) {
        self.state.stalled.store(true, Ordering::SeqCst);
    }
}
