//! A client for the cluster: from a kubeconfig file, or from the pod's service account
//! (in-cluster).
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

/// How errors name the in-cluster configuration.
const IN_CLUSTER: &str = "in-cluster (the pod's service account)";

/// Where the controller finds its cluster.
#[derive(Debug, Clone, Copy)]
pub enum ClusterSource<'a> {
    /// A kubeconfig file.
    Kubeconfig(&'a Path),
    /// The pod's service account only (`KUBERNETES_SERVICE_HOST`/`_PORT` and the token and CA
    /// under `/var/run/secrets/kubernetes.io/serviceaccount`): never `$KUBECONFIG` or
    /// `~/.kube/config`, which would let the environment of the pod choose another cluster.
    InCluster,
}

/// A client for `source`. TLS is rustls.
///
/// # Errors
/// [`KubeError::Kubeconfig`] naming the file (or `in-cluster`) and the cause.
pub async fn connect(source: ClusterSource<'_>) -> Result<Client, KubeError> {
    let (config, path) = match source {
        ClusterSource::Kubeconfig(path) => {
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
        ClusterSource::InCluster => {
            let config = Config::incluster().map_err(|e| KubeError::Kubeconfig {
                path: IN_CLUSTER.to_owned(),
                source: Box::new(e),
            })?;
            (config, IN_CLUSTER.to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `--in-cluster` outside a pod fails naming in-cluster, even when a kubeconfig is at hand.
    #[tokio::test]
    async fn in_cluster_never_reads_a_kubeconfig() {
        let dir = std::env::temp_dir().join(format!("kubepki-incluster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("config");
        std::fs::write(
            &kubeconfig,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n\
             users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n\
             current-context: x\n",
        )
        .unwrap();
        // The test process is not a pod: KUBERNETES_SERVICE_HOST is unset here (the variable
        // is checked, not assumed, so the test cannot pass by accident inside a pod).
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            eprintln!("SKIP: running inside a pod");
            return;
        }
        let Err(error) = connect(ClusterSource::InCluster).await else {
            panic!("--in-cluster connected outside a pod");
        };
        assert!(error.to_string().contains("in-cluster"), "{error}");
        // The same file read as a kubeconfig works, so the failure above is the source's.
        assert!(
            connect(ClusterSource::Kubeconfig(&kubeconfig))
                .await
                .is_ok()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
