//! inotify (through `notify`): a change in a watched folder marks the last read stale.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// The folders watched so far, and the flag a change sets.
pub(crate) struct FolderWatch {
    watcher: Option<RecommendedWatcher>,
    watched: BTreeSet<PathBuf>,
    stale: Arc<AtomicBool>,
}

impl FolderWatch {
    /// A watch that marks `stale` on every change; `None` as the watcher when inotify is
    /// not available (the exporter then re-reads on its maximum age only).
    pub(crate) fn new(stale: Arc<AtomicBool>) -> (Self, Option<String>) {
        let flag = Arc::clone(&stale);
        let handler = move |event: notify::Result<Event>| {
            // Our own reads are events too (open, close after reading): not a change.
            let ours = matches!(
                &event,
                Ok(Event {
                    kind: EventKind::Access(kind),
                    ..
                }) if !matches!(kind, AccessKind::Close(AccessMode::Write))
            );
            if !ours {
                flag.store(true, Ordering::SeqCst);
            }
        };
        let (watcher, problem) = match notify::recommended_watcher(handler) {
            Ok(watcher) => (Some(watcher), None),
            Err(e) => (None, Some(format!("inotify is not available: {e}"))),
        };
        let watch = FolderWatch {
            watcher,
            watched: BTreeSet::new(),
            stale,
        };
        (watch, problem)
    }

    /// Watches each folder not watched yet (`recursive` for the cert dir's `etcd/`); a
    /// folder that cannot be watched now (absent) is tried again on the next call. Returns
    /// what could not be watched.
    pub(crate) fn ensure(&mut self, folders: &[(PathBuf, bool)]) -> Vec<String> {
        let Some(watcher) = &mut self.watcher else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for (folder, recursive) in folders {
            if self.watched.contains(folder) {
                continue;
            }
            let mode = if *recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            match watcher.watch(Path::new(folder), mode) {
                Ok(()) => {
                    self.watched.insert(folder.clone());
                    // Whatever changed before the watch began is read again.
                    self.stale.store(true, Ordering::SeqCst);
                }
                Err(e) => problems.push(format!("cannot watch {}: {e}", folder.display())),
            }
        }
        problems
    }
}
