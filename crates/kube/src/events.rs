//! Kubernetes Events for the requests the controller cannot sign.

use k8s_openapi::api::certificates::v1::CertificateSigningRequest as KubeCsr;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};

use crate::KubeError;

/// The controller that Events name as their reporter.
pub(crate) const EVENT_REPORTER: &str = "kubepki-controller";

/// The longest note of an Event (the API server refuses more than 1 kB).
const EVENT_NOTE_MAX: usize = 1024;

/// `message` cut to what an Event's note may hold ([`EVENT_NOTE_MAX`] bytes), at a character
/// boundary.
fn event_note(mut message: String) -> String {
    if message.len() > EVENT_NOTE_MAX {
        let mut end = EVENT_NOTE_MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

/// Publishes a Warning Event on `csr` for a permanent error, so that `kubectl describe csr`
/// and `kubectl events` show why it is not signed, as kube-controller-manager's signers do.
/// It runs in a task of its own (the error policy is not async); a refused event is logged,
/// never retried.
pub(crate) fn report(recorder: &Recorder, csr: &KubeCsr, error: &KubeError) {
    let event = Event {
        type_: EventType::Warning,
        reason: upper_camel(error.reason()),
        note: Some(event_note(error.to_string())),
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

    #[test]
    fn a_long_note_is_cut_to_1_kb_at_a_character_boundary() {
        assert_eq!(event_note("short".to_owned()), "short");
        let exact = "a".repeat(EVENT_NOTE_MAX);
        assert_eq!(event_note(exact.clone()), exact);
        // "é" is two bytes: it would end at byte 1024, one past the limit.
        let note = event_note(format!("{}é and more", "a".repeat(EVENT_NOTE_MAX - 1)));
        assert_eq!(note.len(), EVENT_NOTE_MAX - 1);
        assert!(note.chars().all(|c| c == 'a'));
        let long = event_note("€".repeat(1000));
        assert!(long.len() <= EVENT_NOTE_MAX && long.len() > EVENT_NOTE_MAX - 3);
    }
}
