//! The `kube-root-ca.crt` ConfigMap of every namespace: kube-controller-manager publishes its
//! `--root-ca-file` there, and every pod's service-account volume reads it. During a CA
//! rotation a pod trusts the API server only through what this ConfigMap carries, so each
//! phase reports how many namespaces carry the tree's `ca.crt`.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, ListParams};

use crate::KubeError;

/// The ConfigMap's name (in every namespace).
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";

/// What the namespaces' `kube-root-ca.crt` carry, against a CA bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootCaReport {
    /// Namespaces whose `ca.crt` is the bundle (whitespace around it aside).
    pub current: Vec<String>,
    /// Namespaces whose `ca.crt` is something else: kube-controller-manager has not yet
    /// published the bundle there (it does after its restart with the phase's files).
    pub stale: Vec<String>,
}

/// Reads every namespace's [`ROOT_CA_CONFIG_MAP`] and compares its `ca.crt` with `ca_pem`.
///
/// # Errors
/// [`KubeError::Api`] when the list fails.
pub async fn root_ca_report(client: Client, ca_pem: &str) -> Result<RootCaReport, KubeError> {
    let api: Api<ConfigMap> = Api::all(client);
    let params = ListParams::default().fields(&format!("metadata.name={ROOT_CA_CONFIG_MAP}"));
    let maps = api.list(&params).await.map_err(|source| KubeError::Api {
        action: format!("list configmaps {ROOT_CA_CONFIG_MAP}"),
        source,
    })?;
    let mut report = RootCaReport::default();
    for map in maps {
        let namespace = map.metadata.namespace.clone().unwrap_or_default();
        let carried = map
            .data
            .as_ref()
            .and_then(|d| d.get("ca.crt"))
            .map(|c| c.trim().to_owned());
        if carried.as_deref() == Some(ca_pem.trim()) {
            report.current.push(namespace);
        } else {
            report.stale.push(namespace);
        }
    }
    report.current.sort();
    report.stale.sort();
    Ok(report)
}
