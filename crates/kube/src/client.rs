//! A client for the cluster: from a kubeconfig file, or inferred as kubectl does
//! (`$KUBECONFIG`, `~/.kube/config`, then the in-cluster service account).

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

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
    Client::try_from(config).map_err(|e| KubeError::Kubeconfig {
        path,
        source: Box::new(e),
    })
}
