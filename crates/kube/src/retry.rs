//! How often a request whose handling failed is tried again: exponential back-off, longer
//! for errors that retrying soon cannot fix, by request.

use std::time::Duration;

use k8s_openapi::api::certificates::v1::CertificateSigningRequest as KubeCsr;

/// How long a request whose handling failed once with a transient error waits before it is
/// tried again; each further failure in a row doubles it, up to [`RETRY_MAX`].
pub(crate) const RETRY_FIRST: Duration = Duration::from_secs(2);
/// The longest wait between tries of a request that keeps failing transiently.
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(300);
/// The first wait after a permanent error ([`KubeError::is_permanent`]): retrying sooner
/// only repeats it.
pub(crate) const PERMANENT_RETRY_FIRST: Duration = Duration::from_secs(30);
/// The longest wait between tries of a request that keeps failing permanently:
/// kube-controller-manager's workqueue cap (1000 s).
pub(crate) const PERMANENT_RETRY_MAX: Duration = Duration::from_secs(1000);
/// The wait before the next try of a request that failed `failures` times in a row, the last
/// time permanently or not.
pub(crate) fn backoff(failures: u32, permanent: bool) -> Duration {
    let (first, max) = if permanent {
        (PERMANENT_RETRY_FIRST, PERMANENT_RETRY_MAX)
    } else {
        (RETRY_FIRST, RETRY_MAX)
    };
    let doublings = failures.saturating_sub(1).min(16);
    first.saturating_mul(1 << doublings).min(max)
}

/// Failures in a row, by request: an error is retried ever more slowly instead of every few
/// seconds, and a success starts over.
#[derive(Debug, Default)]
pub(crate) struct Failures(std::sync::Mutex<std::collections::HashMap<String, u32>>);

impl Failures {
    /// Records one more failure of `key`, permanent or not; the wait before its next try.
    pub(crate) fn failed(&self, key: &str, permanent: bool) -> Duration {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Requests deleted while failing leave their count behind: forget them all now
        // and then rather than grow without bound.
        if counts.len() >= 10_000 {
            counts.clear();
        }
        let count = counts.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        backoff(*count, permanent)
    }

    /// `key` was handled: its next failure waits the shortest time again.
    pub(crate) fn succeeded(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

/// The key a request's failures are counted under: its uid (a request deleted and made
/// again under the same name starts over), else its name.
pub(crate) fn failure_key(csr: &KubeCsr) -> String {
    csr.metadata
        .uid
        .clone()
        .or_else(|| csr.metadata.name.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_errors_back_off_from_30s_to_kube_controller_managers_cap() {
        assert_eq!(backoff(1, true), Duration::from_secs(30));
        assert_eq!(backoff(2, true), Duration::from_secs(60));
        assert_eq!(backoff(5, true), Duration::from_secs(480));
        assert_eq!(backoff(6, true), Duration::from_secs(960));
        assert_eq!(backoff(7, true), PERMANENT_RETRY_MAX);
        assert_eq!(backoff(u32::MAX, true), PERMANENT_RETRY_MAX);
    }

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap_and_start_over_after_a_success() {
        assert_eq!(backoff(1, false), Duration::from_secs(2));
        assert_eq!(backoff(2, false), Duration::from_secs(4));
        assert_eq!(backoff(5, false), Duration::from_secs(32));
        assert_eq!(backoff(9, false), RETRY_MAX);
        assert_eq!(backoff(u32::MAX, false), RETRY_MAX);
        let failures = Failures::default();
        assert_eq!(failures.failed("a", false), Duration::from_secs(2));
        assert_eq!(failures.failed("a", false), Duration::from_secs(4));
        assert_eq!(failures.failed("b", false), Duration::from_secs(2));
        failures.succeeded("a");
        assert_eq!(failures.failed("a", false), Duration::from_secs(2));
    }
}
