//! client-go's work queue, for the controller's workers: a request's name is queued at most
//! once however many events arrive for it, no two workers handle one name at once, a name
//! that changes while it is being handled is handled again afterwards, and a failed one
//! comes back after its back-off.
//!
//! kube-runtime's controller passes every event through a timer queue (a `DelayQueue` of
//! 1 ms resolution) even when it is due at once; measured on a real control plane that
//! wait was most of the 2 ms between a request's watch event and the start of its handling
//! (BENCHMARKS.md). Here a worker waiting for work is woken directly.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The names waiting to be handled, being handled, and waiting out a back-off.
#[derive(Debug, Default)]
pub(crate) struct WorkQueue {
    state: Mutex<State>,
    /// Wakes a worker waiting in [`WorkQueue::next`].
    work: Notify,
    /// Wakes [`WorkQueue::run_delays`] when an earlier delay is added.
    delays: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Names to be handled, in arrival order.
    queue: VecDeque<String>,
    /// Names in `queue`, or changed while being handled (to be queued again when done).
    dirty: HashSet<String>,
    /// Names a worker is handling.
    processing: HashSet<String>,
    /// Back-offs: when each name is due again.
    delayed: BTreeSet<(Instant, String)>,
}

impl WorkQueue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `name` changed: it is handled once more, as soon as a worker is free and no other
    /// worker handles it.
    pub(crate) fn add(&self, name: &str) {
        let mut state = self.state();
        if !state.dirty.insert(name.to_owned()) {
            return;
        }
        if !state.processing.contains(name) {
            state.queue.push_back(name.to_owned());
            drop(state);
            self.work.notify_one();
        }
    }

    /// `name` is added again after `wait` (a back-off), unless an event adds it sooner.
    pub(crate) fn add_after(&self, name: &str, wait: Duration) {
        let due = Instant::now() + wait;
        let mut state = self.state();
        let earliest = state.delayed.first().map(|(at, _)| *at);
        state.delayed.insert((due, name.to_owned()));
        drop(state);
        if earliest.is_none_or(|at| due < at) {
            self.delays.notify_one();
        }
    }

    /// The next name to handle, marked as being handled; waits until there is one. The
    /// caller calls [`WorkQueue::done`] after handling it.
    pub(crate) async fn next(&self) -> String {
        loop {
            let notified = self.work.notified();
            tokio::pin!(notified);
            // Registered before the queue is looked at, so that an add in between wakes it.
            notified.as_mut().enable();
            {
                let mut state = self.state();
                if let Some(name) = state.queue.pop_front() {
                    state.dirty.remove(&name);
                    state.processing.insert(name.clone());
                    let more = !state.queue.is_empty();
                    drop(state);
                    if more {
                        // Another worker may be waiting while this one was woken for two.
                        self.work.notify_one();
                    }
                    return name;
                }
            }
            notified.await;
        }
    }

    /// The handling of `name` ended; if it changed meanwhile, it is queued again.
    pub(crate) fn done(&self, name: &str) {
        let mut state = self.state();
        state.processing.remove(name);
        if state.dirty.contains(name) {
            state.queue.push_back(name.to_owned());
            drop(state);
            self.work.notify_one();
        }
    }

    /// Adds each delayed name when it falls due; runs until dropped.
    pub(crate) async fn run_delays(&self) {
        loop {
            let notified = self.delays.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = Instant::now();
            let (due, next): (Vec<String>, Option<Instant>) = {
                let mut state = self.state();
                let mut due = Vec::new();
                while let Some((at, _)) = state.delayed.first() {
                    if *at > now {
                        break;
                    }
                    if let Some((_, name)) = state.delayed.pop_first() {
                        due.push(name);
                    }
                }
                (due, state.delayed.first().map(|(at, _)| *at))
            };
            for name in &due {
                self.add(name);
            }
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = &mut notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_name_is_queued_once_and_never_handled_twice_at_once() {
        let queue = WorkQueue::default();
        queue.add("a");
        queue.add("b");
        queue.add("a");
        assert_eq!(queue.next().await, "a");
        // "a" changes while it is handled: not handed to a second worker now...
        queue.add("a");
        assert_eq!(queue.next().await, "b");
        let waiting = tokio::time::timeout(Duration::from_millis(50), queue.next()).await;
        assert!(waiting.is_err(), "a name in hand was handed out again");
        // ...but handled again once the first handling ends.
        queue.done("a");
        assert_eq!(queue.next().await, "a");
        queue.done("a");
        queue.done("b");
        let idle = tokio::time::timeout(Duration::from_millis(50), queue.next()).await;
        assert!(idle.is_err(), "nothing changed, yet a name came back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_worker_is_woken_by_an_add() {
        let queue = Arc::new(WorkQueue::default());
        let worker = tokio::spawn({
            let queue = Arc::clone(&queue);
            async move { queue.next().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        queue.add("late");
        let name = tokio::time::timeout(Duration::from_secs(5), worker)
            .await
            .expect("the waiting worker was not woken")
            .unwrap();
        assert_eq!(name, "late");
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_name_comes_back_when_due() {
        let queue = Arc::new(WorkQueue::default());
        let delays = tokio::spawn({
            let queue = Arc::clone(&queue);
            async move { queue.run_delays().await }
        });
        queue.add_after("retry", Duration::from_secs(30));
        queue.add_after("sooner", Duration::from_secs(2));
        assert_eq!(queue.next().await, "sooner");
        let started = Instant::now();
        assert_eq!(queue.next().await, "retry");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(28) && waited < Duration::from_secs(29),
            "{waited:?}"
        );
        delays.abort();
    }
}
