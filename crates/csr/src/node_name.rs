//! Kubernetes node names: the one rule by which every path (init, `certs issue`, `sign
//! --node-name`, the C ABI, Go) checks them, and the identity `system:node:<name>`.

use crate::CsrError;

/// The longest node name: Kubernetes node names are DNS-1123 subdomains, at most 253
/// characters.
pub const MAX_NODE_NAME: usize = 253;

/// The prefix of a kubelet's user name (its certificate's CN): `system:node:<node name>`.
pub const NODE_USER_PREFIX: &str = "system:node:";

/// Checks `name` as Kubernetes checks a node's name: a DNS-1123 subdomain (1 to 253
/// characters; lower-case letters, digits, `-` and `.`; each dot-separated label starts and
/// ends with a letter or digit). Because the name is also a DNS SAN of the API server, etcd
/// and kubelet certificates, each label is at most 63 characters, as DNS allows.
///
/// # Errors
/// [`CsrError::InvalidNodeName`] naming the name and what is wrong with it.
pub fn check_node_name(name: &str) -> Result<(), CsrError> {
    let invalid = |reason: String| CsrError::InvalidNodeName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("empty".to_owned()));
    }
    if name.len() > MAX_NODE_NAME {
        return Err(invalid(format!(
            "{} characters long, more than the limit of {MAX_NODE_NAME}",
            name.len()
        )));
    }
    for label in name.split('.') {
        let alphanumeric =
            |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !alphanumeric(label.as_bytes().first()) || !alphanumeric(label.as_bytes().last()) {
            return Err(invalid(format!(
                "the label {label:?} does not start and end with a lower-case letter or digit"
            )));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(invalid(format!(
                "{c:?} is not a lower-case letter, digit, '-' or '.'"
            )));
        }
        if label.len() > 63 {
            return Err(invalid(format!(
                "the label {label:?} is {} characters long, more than DNS's 63",
                label.len()
            )));
        }
    }
    Ok(())
}

/// Whether a CN names a node: a node name, or a kubelet's user name `system:node:<node
/// name>`. Such a CN may be longer than RFC 5280's 64 characters, as Go and kube-apiserver
/// write and read it (see [`crate::Subject::check_bounds`]).
pub(crate) fn names_a_node(common_name: &str) -> bool {
    let name = common_name
        .strip_prefix(NODE_USER_PREFIX)
        .unwrap_or(common_name);
    check_node_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest node name: four labels, 63 + 63 + 63 + 61 characters and three dots.
    fn longest() -> String {
        let label = "a".repeat(63);
        format!("{label}.{label}.{label}.{}", "b".repeat(61))
    }

    #[test]
    fn kubernetes_node_names_pass() {
        for name in ["node", "cp-1", "worker-1.example.com", "1node", &longest()] {
            check_node_name(name).unwrap();
        }
        assert_eq!(longest().len(), MAX_NODE_NAME);
        assert!(names_a_node(&format!("{NODE_USER_PREFIX}{}", longest())));
        assert!(names_a_node(&longest()));
    }

    #[test]
    fn other_names_are_refused_naming_the_problem() {
        let too_long = format!("{}c", longest());
        for (name, reason) in [
            ("", "empty"),
            (
                too_long.as_str(),
                "254 characters long, more than the limit of 253",
            ),
            (
                "Node",
                "the label \"Node\" does not start and end with a lower-case letter or digit",
            ),
            ("no_de", "'_' is not a lower-case letter, digit, '-' or '.'"),
            ("a..b", "the label \"\" does not start and end"),
            ("-a", "the label \"-a\" does not start and end"),
            ("a.", "the label \"\" does not start and end"),
        ] {
            let err = check_node_name(name).unwrap_err();
            assert!(
                matches!(&err, CsrError::InvalidNodeName { name: n, .. } if n == name),
                "{err}"
            );
            assert!(err.to_string().contains(reason), "{name:?}: {err}");
        }
        let long_label = format!("{}.b", "a".repeat(64));
        let err = check_node_name(&long_label).unwrap_err();
        assert!(
            err.to_string()
                .contains("64 characters long, more than DNS's 63"),
            "{err}"
        );
        assert!(!names_a_node(&format!("{NODE_USER_PREFIX}{too_long}")));
        assert!(!names_a_node("Jane Doe"));
    }
}
