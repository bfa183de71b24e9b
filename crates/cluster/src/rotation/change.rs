//! A phase's files, written as one journaled change of the locked tree: every replaced or
//! removed file is backed up first, the journal says how to undo it all, the keys are
//! written before the certificates, and the backups are discarded only once everything is
//! in place. A process killed at any moment leaves either the whole old state (the next run
//! rolls the journal back) or the whole new one.

use std::fs;
use std::path::{Path, PathBuf};

use kubepki_fs::{
    Discard, FileKind, FileWrite, Journal, Overwrite, TreeLock, Undo, write_atomic_all,
};

use super::FileChange;
use crate::ClusterError;
use crate::files::backup;
use crate::files::ensure_dir;

/// The files of one phase, in the order they were added.
#[derive(Default)]
pub(crate) struct ChangeSet {
    items: Vec<(PathBuf, Option<Vec<u8>>, FileKind)>,
}

impl ChangeSet {
    /// `path` is to hold `bytes` (a later call for the same file replaces an earlier one).
    pub(crate) fn write(&mut self, path: &Path, bytes: impl Into<Vec<u8>>, kind: FileKind) {
        self.items.retain(|(p, _, _)| p != path);
        self.items
            .push((path.to_path_buf(), Some(bytes.into()), kind));
    }

    /// `path` is to be removed (a file holding a key: kind `Secret`).
    pub(crate) fn remove(&mut self, path: &Path, kind: FileKind) {
        self.items.retain(|(p, _, _)| p != path);
        self.items.push((path.to_path_buf(), None, kind));
    }

    /// What would change on disk: a write whose file already holds those bytes, and the
    /// removal of an absent file, are left out (so that a rerun changes nothing).
    pub(crate) fn effective(&self) -> Vec<FileChange> {
        self.pending()
            .map(|(path, bytes, _)| FileChange {
                path: path.clone(),
                action: if bytes.is_some() { "write" } else { "remove" },
            })
            .collect()
    }

    fn pending(&self) -> impl Iterator<Item = &(PathBuf, Option<Vec<u8>>, FileKind)> {
        self.items.iter().filter(|(path, bytes, _)| match bytes {
            Some(bytes) => fs::read(path).ok().as_ref() != Some(bytes),
            None => fs::symlink_metadata(path).is_ok(),
        })
    }

    /// Writes the change under `lock`; returns what changed.
    ///
    /// # Errors
    /// [`ClusterError::Fs`] and [`ClusterError::CreateDir`] when a file or folder cannot be
    /// written; the change is then undone by the next run that locks the tree.
    pub(crate) fn apply(&self, lock: &TreeLock) -> Result<Vec<FileChange>, ClusterError> {
        let pending: Vec<_> = self.pending().collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        for (path, _, _) in &pending {
            if let Some(parent) = path.parent() {
                ensure_dir(parent)?;
            }
        }
        let mut undo = Vec::new();
        let mut discard = Vec::new();
        for (path, _, kind) in &pending {
            if fs::symlink_metadata(path).is_ok() {
                let copy = backup(path, *kind)?;
                undo.push(Undo::Restore {
                    path: path.clone(),
                    backup: copy.clone(),
                });
                discard.push(Discard::Remove(copy));
            } else {
                undo.push(Undo::Remove(path.clone()));
            }
        }
        let journal = Journal::begin(lock, &undo)?;
        // Keys first: no certificate is ever on disk without its key.
        for keys_first in [true, false] {
            let files: Vec<FileWrite<'_>> = pending
                .iter()
                .filter(|(path, _, _)| is_key(path) == keys_first)
                .filter_map(|(path, bytes, kind)| {
                    bytes.as_ref().map(|bytes| FileWrite {
                        path,
                        bytes,
                        kind: *kind,
                    })
                })
                .collect();
            write_atomic_all(&files, Overwrite::Replace)?;
        }
        for (path, bytes, _) in &pending {
            if bytes.is_none() {
                fs::remove_file(path).map_err(|source| kubepki_fs::FsError::Io {
                    action: "remove",
                    path: path.clone(),
                    source,
                })?;
            }
        }
        journal.commit_discarding(&discard)?;
        Ok(self_changes(&pending))
    }
}

fn self_changes(pending: &[&(PathBuf, Option<Vec<u8>>, FileKind)]) -> Vec<FileChange> {
    pending
        .iter()
        .map(|(path, bytes, _)| FileChange {
            path: path.clone(),
            action: if bytes.is_some() { "write" } else { "remove" },
        })
        .collect()
}

fn is_key(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "key")
}

/// Overwrites `path` with zeros, syncs it, then unlinks it. On a journaling or copy-on-write
/// filesystem, or on flash, the old blocks may survive the overwrite; that is the disk
/// encryption's job, this only makes sure the file's own blocks are overwritten when the
/// filesystem writes in place.
///
/// # Errors
/// [`ClusterError::Fs`] when the file cannot be overwritten or removed.
pub(crate) fn shred(path: &Path) -> Result<(), ClusterError> {
    use std::io::Write;
    let io = |action: &'static str| {
        move |source| kubepki_fs::FsError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let len = fs::metadata(path).map_err(io("read the size of"))?.len();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io("open for shredding"))?;
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.write_all(&zeros).map_err(io("overwrite"))?;
    file.sync_all().map_err(io("sync"))?;
    drop(file);
    fs::remove_file(path).map_err(io("remove"))?;
    Ok(())
}
