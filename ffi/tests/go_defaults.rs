//! The Go binding's `NewClusterParams` cannot import kubeadm's defaults from Rust: this test
//! holds its literals against the one definition (`kubepki::profile`), without Go.

use std::time::Duration;

use kubepki::profile::{
    DEFAULT_BIND_PORT, DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY, DEFAULT_CLUSTER_NAME,
    DEFAULT_DNS_DOMAIN, DEFAULT_SERVICE_CIDR,
};

/// The body of `NewClusterParams` in `ffi/go/cluster.go`, each line's words joined by one
/// space.
fn go_defaults() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/go/cluster.go");
    let text = std::fs::read_to_string(path).expect("ffi/go/cluster.go");
    let start = text
        .find("func NewClusterParams(")
        .expect("NewClusterParams in cluster.go");
    let body = &text[start..];
    let end = body.find("\n}\n").expect("the end of NewClusterParams");
    body[..end]
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// `n * 24 * time.Hour` for a whole number of days, as Go writes it.
fn go_days(validity: Duration) -> String {
    let days = validity.as_secs() / 86_400;
    assert!(
        validity.as_secs().is_multiple_of(86_400),
        "{validity:?} is whole days"
    );
    if days.is_multiple_of(365) && days > 365 {
        format!("{} * 365 * 24 * time.Hour", days / 365)
    } else {
        format!("{days} * 24 * time.Hour")
    }
}

#[test]
fn go_new_cluster_params_says_kubeadm_s_defaults() {
    let lines = go_defaults();
    let expected = [
        format!("BindPort: {DEFAULT_BIND_PORT},"),
        format!("ClusterName: {DEFAULT_CLUSTER_NAME:?},"),
        format!("ServiceCIDR: {DEFAULT_SERVICE_CIDR:?},"),
        format!("DNSDomain: {DEFAULT_DNS_DOMAIN:?},"),
        format!("CertValidity: {},", go_days(DEFAULT_CERT_VALIDITY)),
        format!("CAValidity: {},", go_days(DEFAULT_CA_VALIDITY)),
    ];
    for line in expected {
        assert!(
            lines.contains(&line),
            "ffi/go/cluster.go's NewClusterParams lacks `{line}`: {lines:#?}"
        );
    }
}
