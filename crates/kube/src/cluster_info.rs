//! The `kube-public/cluster-info` ConfigMap that bootstrap-token joins read: its kubeconfig's
//! `certificate-authority-data` set to the CA bundle a CA rotation phase leaves in `ca.crt`.
//! kube-controller-manager's bootstrapsigner signs the changed kubeconfig again for each
//! bootstrap token (`jws-kubeconfig-<id>`).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::Value;

use crate::KubeError;

/// Where bootstrap-token joins read the cluster's CA.
pub const CLUSTER_INFO: &str = "kube-public/cluster-info";

/// Sets every cluster's `certificate-authority-data` in the `kubeconfig` of
/// [`CLUSTER_INFO`] to `ca_pem` (replaced with its resourceVersion, so a concurrent change is
/// a conflict, not lost). Returns whether it changed; `Ok(false)` too when the ConfigMap
/// does not exist (a cluster not made by `kubeadm init`).
///
/// # Errors
/// [`KubeError::Api`] when reading or replacing fails; [`KubeError::ClusterInfo`] when its
/// kubeconfig does not read.
pub async fn set_cluster_info_ca(client: Client, ca_pem: &str) -> Result<bool, KubeError> {
    let api: Api<ConfigMap> = Api::namespaced(client, "kube-public");
    let Some(mut map) = api
        .get_opt("cluster-info")
        .await
        .map_err(|source| KubeError::Api {
            action: format!("get configmap {CLUSTER_INFO}"),
            source,
        })?
    else {
        return Ok(false);
    };
    let bad = |reason: String| KubeError::ClusterInfo { reason };
    let data = map.data.get_or_insert_with(Default::default);
    let text = data
        .get("kubeconfig")
        .ok_or_else(|| bad("it has no kubeconfig".to_owned()))?;
    let edited = with_ca(text, ca_pem).map_err(bad)?;
    if edited == *text {
        return Ok(false);
    }
    data.insert("kubeconfig".to_owned(), edited);
    api.replace("cluster-info", &PostParams::default(), &map)
        .await
        .map_err(|source| KubeError::Api {
            action: format!("replace configmap {CLUSTER_INFO}"),
            source,
        })?;
    Ok(true)
}

/// `text` (a kubeconfig) with every cluster's `certificate-authority-data` set to `ca_pem`,
/// every other field kept.
fn with_ca(text: &str, ca_pem: &str) -> Result<String, String> {
    use base64ct::{Base64, Encoding};
    let mut doc: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let clusters = doc
        .get_mut("clusters")
        .and_then(Value::as_array_mut)
        .ok_or("its kubeconfig has no clusters")?;
    let data = Base64::encode_string(ca_pem.as_bytes());
    for entry in clusters.iter_mut() {
        let cluster = entry
            .get_mut("cluster")
            .and_then(Value::as_object_mut)
            .ok_or("a cluster entry has no cluster")?;
        cluster.insert(
            "certificate-authority-data".to_owned(),
            Value::String(data.clone()),
        );
    }
    let edited = serde_saphyr::to_string_with_options(
        &doc,
        serde_saphyr::ser_options! { prefer_block_scalars: false },
    )
    .map_err(|e| e.to_string())?;
    // Unchanged data keeps the text as it was (no rewrite for formatting alone).
    let before: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    Ok(if before == doc {
        text.to_owned()
    } else {
        edited
    })
}

#[cfg(test)]
mod tests {
    use super::with_ca;

    #[test]
    fn every_cluster_gets_the_bundle_and_nothing_else_changes() {
        let text = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: b2xk\n    server: https://10.0.0.5:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n";
        let edited = with_ca(text, "new").expect("edit");
        assert!(
            edited.contains("certificate-authority-data: bmV3"),
            "{edited}"
        );
        assert!(edited.contains("server: https://10.0.0.5:6443"), "{edited}");
        assert_eq!(with_ca(&edited, "new").expect("again"), edited);
        assert!(with_ca("apiVersion: v1\n", "x").is_err());
    }
}
