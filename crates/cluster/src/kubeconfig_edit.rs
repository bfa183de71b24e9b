//! Editing a kubeconfig document in place (a user's file, not ours): the current context's
//! credentials and CA data replaced, every other field kept.

use base64ct::{Base64, Encoding};

/// Edits a kubeconfig document as kubeadm's renewal does: the current context's user gets
/// the new client certificate and key, its cluster the current CA; every other field (a
/// context's namespace, a cluster's `tls-server-name` or `proxy-url`, other users, `exec`,
/// extensions, fields this crate does not model) is kept as it was. Keys are written in
/// alphabetical order, as kubectl writes a kubeconfig; comments are not kept.
pub(crate) fn replace_credentials(
    text: &str,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<String, String> {
    use serde_json::Value;
    let mut doc: Value = crate::yaml::from_yaml(text)?;
    let data = |pem: &str| Value::String(Base64::encode_string(pem.as_bytes()));
    let user = current_context_field(&doc, "user")?;
    let cluster = current_context_field(&doc, "cluster")?;
    let user_map = named_mut(&mut doc, "users", &user, "user")?;
    user_map.insert("client-certificate-data".into(), data(cert_pem));
    user_map.insert("client-key-data".into(), data(key_pem));
    let cluster_map = named_mut(&mut doc, "clusters", &cluster, "cluster")?;
    cluster_map.insert("certificate-authority-data".into(), data(ca_pem));
    crate::yaml::to_yaml(&doc)
}

/// Edits a kubeconfig document in place as [`replace_credentials`] does, setting only the
/// current context's cluster's `certificate-authority-data` to `ca_pem`.
pub(crate) fn replace_ca_data(text: &str, ca_pem: &str) -> Result<String, String> {
    use serde_json::Value;
    let mut doc: Value = crate::yaml::from_yaml(text)?;
    let cluster = current_context_field(&doc, "cluster")?;
    let cluster_map = named_mut(&mut doc, "clusters", &cluster, "cluster")?;
    cluster_map.insert(
        "certificate-authority-data".into(),
        Value::String(Base64::encode_string(ca_pem.as_bytes())),
    );
    crate::yaml::to_yaml(&doc)
}

/// The `user` or `cluster` that a kubeconfig's current context names.
fn current_context_field(doc: &serde_json::Value, field: &str) -> Result<String, String> {
    use serde_json::Value;
    let current = doc
        .get("current-context")
        .and_then(Value::as_str)
        .ok_or("no current-context")?;
    let context = doc
        .get("contexts")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(current))
        })
        .and_then(|c| c.get("context"))
        .ok_or_else(|| format!("the current context {current:?} is not in contexts"))?;
    context
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("context {current:?} names no {field}"))
}

/// The mapping `inner` of the entry named `name` in the list `list` of a kubeconfig
/// (`users[name=..].user`, `clusters[name=..].cluster`).
fn named_mut<'a>(
    doc: &'a mut serde_json::Value,
    list: &str,
    name: &str,
    inner: &str,
) -> Result<&'a mut serde_json::Map<String, serde_json::Value>, String> {
    use serde_json::Value;
    doc.get_mut(list)
        .and_then(Value::as_array_mut)
        .and_then(|l| {
            l.iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|e| e.get_mut(inner))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{list} has no entry {name:?} with a {inner}"))
}
