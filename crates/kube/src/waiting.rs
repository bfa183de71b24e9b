//! How long each request waited between its watch event and the start of its reconcile:
//! client-go's workqueue queue duration, for kubepki's controller, so that the two signers'
//! latency can be taken apart the same way.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many requests are remembered as waiting. A request deleted before its
/// reconcile leaves its entry behind; past the bound the record starts over, which loses a
/// few observations and never grows without end.
const MAX_WAITING: usize = 100_000;

/// The first watch event of each request whose reconcile has not started yet, by name (the
/// controller's queue key: events for a request already queued are merged into one
/// reconcile, and the wait counts from the first).
#[derive(Debug, Default)]
pub(crate) struct Waiting(Mutex<HashMap<String, Instant>>);

impl Waiting {
    /// A watch event for `name` arrived `at`.
    pub(crate) fn arrived(&self, name: &str, at: Instant) {
        let mut waiting = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if waiting.len() >= MAX_WAITING && !waiting.contains_key(name) {
            waiting.clear();
        }
        waiting.entry(name.to_owned()).or_insert(at);
    }

    /// The reconcile of `name` started `at`: how long it waited since its first unhandled
    /// event, or `None` when no event is waiting (a retry after a back-off).
    pub(crate) fn started(&self, name: &str, at: Instant) -> Option<Duration> {
        let mut waiting = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        waiting
            .remove(name)
            .map(|since| at.saturating_duration_since(since))
    }

    /// How many requests are remembered as waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// `name` is gone: nothing of it waits any more.
    pub(crate) fn deleted(&self, name: &str) {
        let mut waiting = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        waiting.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_counts_from_the_first_unhandled_event() {
        let waiting = Waiting::default();
        let t0 = Instant::now();
        waiting.arrived("a", t0);
        waiting.arrived("a", t0 + Duration::from_millis(5));
        assert_eq!(
            waiting.started("a", t0 + Duration::from_millis(7)),
            Some(Duration::from_millis(7))
        );
        // Handled: a retry with no new event has no queue time.
        assert_eq!(waiting.started("a", t0 + Duration::from_millis(9)), None);
        waiting.arrived("b", t0);
        waiting.deleted("b");
        assert_eq!(waiting.started("b", t0 + Duration::from_millis(1)), None);
    }

    /// The record is bounded: a new name past the bound starts it over, a name already
    /// waiting does not.
    #[test]
    fn the_record_starts_over_past_its_bound() {
        let waiting = Waiting::default();
        let t0 = Instant::now();
        for i in 0..MAX_WAITING {
            waiting.arrived(&format!("csr-{i}"), t0);
        }
        waiting.arrived("csr-0", t0 + Duration::from_millis(1));
        assert_eq!(waiting.len(), MAX_WAITING);
        assert_eq!(
            waiting.started("csr-0", t0 + Duration::from_millis(2)),
            Some(Duration::from_millis(2))
        );
        waiting.arrived("csr-0", t0);
        waiting.arrived("new", t0);
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting.started("csr-1", t0), None);
        assert_eq!(waiting.started("new", t0), Some(Duration::ZERO));
    }
}
