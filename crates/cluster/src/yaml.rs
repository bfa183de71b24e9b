//! Kubeconfig files and reports as YAML, read and written by serde-saphyr (the parser
//! kube-client brings).

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads YAML: a repeated key is refused, and the message carries no snippet of the input (a
/// kubeconfig file holds a private key).
pub(crate) fn from_yaml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { with_snippet: false })
        .map_err(|e| e.without_snippet().to_string())
}

/// Writes YAML as kubeadm and kubectl do: plain or quoted scalars, never folded block scalars
/// (a long base64 value stays on its line).
pub(crate) fn to_yaml<T: Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string_with_options(
        value,
        serde_saphyr::ser_options! { prefer_block_scalars: false },
    )
    .map_err(|e| e.to_string())
}
