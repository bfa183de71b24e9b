//! Kubernetes Events for the requests the controller cannot sign.

use k8s_openapi::api::certificates::v1::CertificateSigningRequest as KubeCsr;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};

use crate::KubeError;

/// The controller that Events name as their reporter.
pub(crate) const EVENT_REPORTER: &str = "kubepki-controller";

/// The longest note of an Event (the API server refuses more than 1 kB).
const EVENT_NOTE_MAX: usize = 1024;

/// Publishes a Warning Event on `csr` for a permanent error, so that `kubectl describe csr`
/// and `kubectl events` show why it is not signed, as kube-controller-manager's signers do.
/// It runs in a task of its own (the error policy is not async); a refused event is logged,
/// never retried.
pub(crate) fn report(recorder: &Recorder, csr: &KubeCsr, error: &KubeError) {
    let mut note = error.to_string();
    if note.len() > EVENT_NOTE_MAX {
        let mut end = EVENT_NOTE_MAX;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    let event = Event {
        type_: EventType::Warning,
        reason: upper_camel(error.reason()),
        note: Some(note),
        action: "Sign".to_owned(),
        secondary: None,
    };
    let reference = csr.object_ref(&());
    let recorder = recorder.clone();
    tokio::spawn(async move {
        if let Err(e) = recorder.publish(&event, &reference).await {
            tracing::warn!(error = %e, "could not publish the event");
        }
    });
}

/// `signer_expired` as an Event reason: `SignerExpired`.
fn upper_camel(words: &str) -> String {
    words
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_upper_camel_case() {
        assert_eq!(upper_camel("signer_expired"), "SignerExpired");
        assert_eq!(upper_camel("invalid_request"), "InvalidRequest");
    }
}
