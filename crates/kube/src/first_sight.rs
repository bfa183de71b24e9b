//! Requests counted once: the controller reconciles a request many times (each change, each
//! retry, each resync), and a counter of requests must not count it again each time.

use std::collections::{HashSet, VecDeque};

/// How many requests one counter remembers. Past it the first remembered is forgotten: by then
/// it is long gone from the cluster (the cleaner removes a decided request within the hour and
/// a pending one within the day), so it is not reconciled again.
pub(crate) const REMEMBERED: usize = 100_000;

/// The keys (request UIDs) a counter has counted, oldest first.
#[derive(Debug)]
pub(crate) struct FirstSight {
    capacity: usize,
    order: VecDeque<String>,
    known: HashSet<String>,
}

impl FirstSight {
    /// Remembers up to `capacity` keys.
    pub(crate) fn new(capacity: usize) -> Self {
        FirstSight {
            capacity,
            order: VecDeque::new(),
            known: HashSet::new(),
        }
    }

    /// Whether `key` is seen for the first time (and remembers it).
    pub(crate) fn first(&mut self, key: &str) -> bool {
        if self.known.contains(key) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.known.remove(&oldest);
        }
        self.order.push_back(key.to_owned());
        self.known.insert(key.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_first_once_and_the_oldest_is_forgotten_past_the_capacity() {
        let mut sight = FirstSight::new(2);
        assert!(sight.first("a"));
        assert!(!sight.first("a"));
        assert!(sight.first("b"));
        assert!(sight.first("c"));
        // "a" was forgotten to make room for "c"; "b" and "c" are remembered.
        assert!(!sight.first("c"));
        assert!(!sight.first("b"));
        assert!(sight.first("a"));
    }
}
