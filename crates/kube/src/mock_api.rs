//! A mocked API server for unit tests, as kube-rs tests itself: `tower-test`'s mock service
//! behind a real `kube::Client`, each request taken and answered by the test in turn, so a
//! test says exactly which calls it expects and in what order.

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle, SendResponse};

/// The test's end of the mocked API server.
pub(crate) struct MockApi {
    handle: Handle<Request<Body>, Response<Body>>,
}

/// One request the client sent, to be answered with [`Call::answer`].
pub(crate) struct Call {
    /// The method.
    pub(crate) method: Method,
    /// The path, without the query.
    pub(crate) path: String,
    /// The JSON body (`Null` when empty).
    pub(crate) body: Value,
    respond: SendResponse<Response<Body>>,
}

impl Call {
    /// Answers with `status` and the JSON `body`.
    pub(crate) fn answer(self, status: StatusCode, body: &Value) {
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string().into_bytes()))
            .expect("a valid response");
        self.respond.send_response(response);
    }

    /// Answers `200 OK` with the body that was sent, as an update that succeeds does.
    pub(crate) fn echo(self) {
        let body = self.body.clone();
        self.answer(StatusCode::OK, &body);
    }

    /// Answers with a `Status` failure of `code` and `reason`.
    pub(crate) fn fail(self, code: StatusCode, reason: &str) {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "reason": reason, "message": reason, "code": code.as_u16(),
        });
        self.answer(code, &status);
    }
}

/// A client whose every request the returned [`MockApi`] takes.
pub(crate) fn mock_client() -> (kube::Client, MockApi) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (kube::Client::new(service, "default"), MockApi { handle })
}

impl MockApi {
    /// The next request the client sends.
    ///
    /// # Panics
    /// When the client is gone without sending one.
    pub(crate) async fn next(&mut self) -> Call {
        let (request, respond) = self
            .handle
            .next_request()
            .await
            .expect("the client sent no further request");
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let bytes = request
            .into_body()
            .collect_bytes()
            .await
            .expect("a readable request body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON request body")
        };
        Call {
            method,
            path,
            body,
            respond,
        }
    }
}
