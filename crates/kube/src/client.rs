//! A client for the cluster: from a kubeconfig file, or inferred as kubectl does
//! (`$KUBECONFIG`, `~/.kube/config`, then the in-cluster service account).
//!
//! The connection is kube's own stack (base URI, authentication, extra headers, retries of
//! 429/503, connect/read/write timeouts, rustls) over a TCP connector with `TCP_NODELAY`:
//! kube 5's default client leaves Nagle's algorithm on (kube-rs issue #2056), which delays
//! the small writes of a controller by tens of milliseconds (measured in BENCHMARKS.md). A
//! kubeconfig with a proxy gets kube's default client.

use std::path::Path;

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tower::ServiceBuilder;
use tower::retry::RetryLayer;

use crate::KubeError;

/// A client from `kubeconfig`, or inferred when it is `None`. TLS is rustls.
///
/// # Errors
/// [`KubeError::Kubeconfig`] naming the file (or the inference) and the cause.
pub async fn connect(kubeconfig: Option<&Path>) -> Result<Client, KubeError> {
    let (config, path) = match kubeconfig {
        Some(path) => {
            let shown = path.display().to_string();
            let bad = |source: Box<dyn std::error::Error + Send + Sync>| KubeError::Kubeconfig {
                path: shown.clone(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(|e| bad(Box::new(e)))?;
            let config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| bad(Box::new(e)))?;
            (config, shown)
        }
        None => {
            let config = Config::infer().await.map_err(|e| KubeError::Kubeconfig {
                path: "$KUBECONFIG, ~/.kube/config or in-cluster".to_owned(),
                source: Box::new(e),
            })?;
            (config, String::new())
        }
    };
    let bad = |e: kube::Error| KubeError::Kubeconfig {
        path: path.clone(),
        source: Box::new(e),
    };
    if config.proxy_url.is_some() {
        return Client::try_from(config).map_err(bad);
    }
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    let tls = config
        .rustls_https_connector_with_connector(tcp)
        .map_err(bad)?;
    let mut connector = TimeoutConnector::new(tls);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer().map_err(bad)?)
        .layer(config.extra_headers_layer().map_err(bad)?)
        .map_err(tower::BoxError::from)
        .service(http);
    Ok(Client::new(service, config.default_namespace))
}
