//! The exporter's state: the last read, the error counters, and when to read again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::collect::{Collection, SourceError, collect};
use crate::exposition::{CONTENT_TYPE, ErrorCounts, Shape, render};
use crate::sources::Sources;
use crate::watch::FolderWatch;

/// How the exporter reads and what it exposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExporterOptions {
    /// What to read.
    pub sources: Sources,
    /// Also expose `x509_cert_expires_in_seconds` and `x509_cert_valid_since_seconds`
    /// (enix's `--expose-relative-metrics`).
    pub expose_relative: bool,
    /// The window `certs renew --if-expiring-within` runs with (see
    /// [`kubepki_cluster::renewal_time`]); `None`: two thirds of the validity.
    pub renewal_window: Option<Duration>,
    /// Read everything again at least this often, whatever inotify says (a missed event,
    /// an overflowed queue, a file system without inotify).
    pub max_age: Duration,
}

impl ExporterOptions {
    /// These sources, no relative metrics, the default renewal rule, a five-minute maximum
    /// age.
    pub fn new(sources: Sources) -> Self {
        ExporterOptions {
            sources,
            expose_relative: false,
            renewal_window: None,
            max_age: Duration::from_secs(300),
        }
    }
}

/// One scrape's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scrape {
    /// The exposition.
    pub text: String,
    /// Its content type.
    pub content_type: &'static str,
    /// The failed reads of the read this scrape made (empty when it reused the last one).
    pub errors: Vec<SourceError>,
    /// Folders that could not be watched (absent); tried again on the next read.
    pub watch_problems: Vec<String>,
}

struct State {
    collection: Collection,
    /// When the last read was made; `None` before the first.
    read_at: Option<SystemTime>,
    errors: ErrorCounts,
    watch: FolderWatch,
}

/// Reads the sources when a scrape finds the last read stale (a change reported by inotify,
/// a failed read, or older than the maximum age) and renders the metrics.
pub struct Exporter {
    options: ExporterOptions,
    stale: Arc<AtomicBool>,
    state: Mutex<State>,
    /// Why inotify is not used, if it is not.
    watch_unavailable: Option<String>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// An exporter that has read nothing yet; the first scrape reads.
    pub fn new(options: ExporterOptions) -> Self {
        let stale = Arc::new(AtomicBool::new(true));
        let (watch, watch_unavailable) = FolderWatch::new(Arc::clone(&stale));
        Exporter {
            options,
            stale,
            state: Mutex::new(State {
                collection: Collection::default(),
                read_at: None,
                errors: ErrorCounts::new(),
                watch,
            }),
            watch_unavailable,
        }
    }

    /// Why changes are not watched (inotify unavailable), if they are not.
    pub fn watch_unavailable(&self) -> Option<&str> {
        self.watch_unavailable.as_deref()
    }

    /// The metrics at `now`, reading the sources again first if the last read is stale.
    pub fn scrape(&self, now: SystemTime) -> Scrape {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut errors = Vec::new();
        let mut watch_problems = Vec::new();
        if self.is_stale(&state, now) {
            // Watch first, then clear the flag, then read: a change during the read marks
            // the next scrape stale again, and none is lost.
            let mut folders = self.options.sources.folders();
            folders.extend(
                state
                    .collection
                    .referenced_folders
                    .iter()
                    .map(|f| (f.clone(), false)),
            );
            watch_problems = state.watch.ensure(&folders);
            self.stale.store(false, Ordering::SeqCst);
            let collection = collect(&self.options.sources);
            for error in &collection.errors {
                let key = (error.source_kind, error.source_name.clone(), error.reason);
                *state.errors.entry(key).or_insert(0) += 1;
            }
            errors.clone_from(&collection.errors);
            let new_folders: Vec<_> = collection
                .referenced_folders
                .iter()
                .map(|f| (f.clone(), false))
                .collect();
            watch_problems.extend(state.watch.ensure(&new_folders));
            state.collection = collection;
            state.read_at = Some(now);
        }
        let shape = Shape {
            relative: self.options.expose_relative,
            renewal_window: self.options.renewal_window,
        };
        Scrape {
            text: render(&state.collection, &state.errors, now, shape),
            content_type: CONTENT_TYPE,
            errors,
            watch_problems,
        }
    }

    fn is_stale(&self, state: &State, now: SystemTime) -> bool {
        let Some(read_at) = state.read_at else {
            return true;
        };
        let too_old = now
            .duration_since(read_at)
            .map_or(true, |age| age >= self.options.max_age);
        // A failed read is tried again on every scrape, and counted each time.
        self.stale.load(Ordering::SeqCst) || too_old || !state.collection.errors.is_empty()
    }
}
