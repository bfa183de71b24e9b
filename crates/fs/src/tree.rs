//! A folder of files changed as one: an exclusive lock so that two processes cannot mix their
//! changes, and a journal so that a process killed half-way is rolled back by the next one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{FileKind, FsError, Overwrite, io, sync_dir, write_atomic};

/// The lock file, in the locked folder.
pub const LOCK_FILE: &str = ".kubepki.lock";
/// The journal of a change in progress, in the locked folder.
pub const JOURNAL_FILE: &str = ".kubepki.journal";

/// An exclusive lock on a folder (an advisory `flock` of [`LOCK_FILE`] in it), held until it
/// is dropped. The lock file stays: removing it would let a waiting process lock a file
/// that no longer exists while a third creates a new one.
#[derive(Debug)]
pub struct TreeLock {
    _file: File,
    dir: PathBuf,
}

impl TreeLock {
    /// Locks `dir`, waiting up to `wait` for another process to release it.
    ///
    /// # Errors
    /// [`FsError::Locked`] (naming the holder's process id) when the wait runs out;
    /// [`FsError::Io`] when the lock file cannot be opened.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<Self, FsError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("open the lock file", &path))?;
        let end = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < end => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = fs::read_to_string(&path).unwrap_or_default();
                    return Err(FsError::Locked {
                        path,
                        holder: holder.trim().to_owned(),
                        waited: wait,
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &path)(e)),
            }
        }
        // Say who holds it, for the message of a process that gives up waiting.
        let _ = file.set_len(0);
        let _ = writeln!(file, "pid {}", std::process::id());
        Ok(Self {
            _file: file,
            dir: dir.to_path_buf(),
        })
    }

    /// The locked folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// One change a journal can undo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undo {
    /// The file is new: remove it.
    Remove(PathBuf),
    /// The file is being replaced: put back the copy kept at `backup`.
    Restore {
        /// The file being replaced.
        path: PathBuf,
        /// A complete copy of it, written (and synced) before the journal.
        backup: PathBuf,
    },
}

/// What becomes of a backup once the change it guarded is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discard {
    /// Unlink it. Not overwritten first: on journaling and copy-on-write filesystems and on
    /// flash an overwrite in place gives no guarantee that the old blocks are gone, so it
    /// would only promise what it cannot keep; old key material at rest is the disk
    /// encryption's job. What this guarantees is that no old key stays readable in the tree.
    Remove(PathBuf),
    /// Move it out of the tree to `to` (renamed, or copied with its mode and then unlinked
    /// across filesystems). Missing folders of `to` are created 0700.
    MoveTo {
        /// The backup.
        backup: PathBuf,
        /// Where it goes.
        to: PathBuf,
    },
}

/// What the next process finds of a change that did not finish.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// New files of the interrupted change, removed.
    pub removed: Vec<PathBuf>,
    /// Replaced files put back from their backups.
    pub restored: Vec<PathBuf>,
    /// Stale temporary files (`.NAME.tmp.PID.N`) of killed writers, removed.
    pub temp_files: Vec<PathBuf>,
    /// Backups of a change that was kept but whose process died before disposing of them:
    /// removed or moved as that change asked.
    pub discarded: Vec<PathBuf>,
}

impl Recovered {
    /// Whether there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty()
            && self.restored.is_empty()
            && self.temp_files.is_empty()
            && self.discarded.is_empty()
    }
}

/// A change in progress under a [`TreeLock`]: begun by writing the journal of how to undo
/// it, ended by [`Journal::commit`]. Until the commit, a crash leaves the journal, and the
/// next [`recover`] undoes the change.
#[derive(Debug)]
#[must_use = "a journal that is not committed is undone by the next process"]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// Writes (and syncs) the journal of the change about to be made in the locked folder.
    ///
    /// # Errors
    /// [`FsError::Io`] when it cannot be written; [`FsError::Journal`] for a path that is not
    /// UTF-8 or holds a tab or newline.
    pub fn begin(lock: &TreeLock, undo: &[Undo]) -> Result<Self, FsError> {
        let path = lock.dir().join(JOURNAL_FILE);
        let mut text = String::new();
        for step in undo {
            let line = match step {
                Undo::Remove(p) => format!("remove\t{}", journal_path(p)?),
                Undo::Restore { path, backup } => {
                    format!(
                        "restore\t{}\t{}",
                        journal_path(path)?,
                        journal_path(backup)?
                    )
                }
            };
            text.push_str(&line);
            text.push('\n');
        }
        write_atomic(&path, text.as_bytes(), FileKind::Secret, Overwrite::Replace)?;
        Ok(Self { path })
    }

    /// Ends the change: removes the journal, so that it is kept.
    ///
    /// # Errors
    /// [`FsError::Io`] when the journal cannot be removed.
    pub fn commit(self) -> Result<(), FsError> {
        fs::remove_file(&self.path).map_err(io("remove the journal", &self.path))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        sync_dir(dir)
    }

    /// Ends the change and disposes of its backups. The journal is first replaced (one
    /// atomic rename) by the list of backups to dispose of: from that moment the change is
    /// kept, and a process killed while disposing leaves that list, which the next
    /// [`recover`] finishes. Then each backup is removed or moved, their folders synced,
    /// and the journal removed. No moment leaves both the old and the new state undone, and
    /// none leaves a backup that nothing will clean up.
    ///
    /// # Errors
    /// [`FsError::Io`] when the list cannot be written or a backup not disposed of (the list
    /// stays, for the next process); [`FsError::Journal`] for a path the journal cannot
    /// record.
    pub fn commit_discarding(self, backups: &[Discard]) -> Result<(), FsError> {
        let mut text = String::new();
        for step in backups {
            let line = match step {
                Discard::Remove(p) => format!("discard\t{}", journal_path(p)?),
                Discard::MoveTo { backup, to } => {
                    format!("keep\t{}\t{}", journal_path(backup)?, journal_path(to)?)
                }
            };
            text.push_str(&line);
            text.push('\n');
        }
        write_atomic(
            &self.path,
            text.as_bytes(),
            FileKind::Secret,
            Overwrite::Replace,
        )?;
        dispose(backups)?;
        self.commit()
    }
}

/// Removes or moves each backup (one already gone is skipped: a second pass after a crash),
/// then syncs the folders it changed.
fn dispose(backups: &[Discard]) -> Result<Vec<PathBuf>, FsError> {
    let mut done = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for step in backups {
        let backup = match step {
            Discard::Remove(backup) | Discard::MoveTo { backup, .. } => backup,
        };
        if fs::symlink_metadata(backup).is_err() {
            continue;
        }
        if let Discard::MoveTo { to, .. } = step {
            let folder = to.parent().unwrap_or(Path::new("."));
            crate::create_dir_all(folder, FileKind::Secret)?;
            if fs::rename(backup, to).is_err() {
                // Another filesystem: a copy with the backup's mode, then the unlink below.
                let bytes = fs::read(backup).map_err(io("read the backup", backup))?;
                write_atomic(to, &bytes, secret_or_public(backup), Overwrite::Replace)?;
            }
            dirs.insert(folder.to_path_buf());
        }
        if fs::symlink_metadata(backup).is_ok() {
            fs::remove_file(backup).map_err(io("remove the backup", backup))?;
        }
        if let Some(dir) = backup.parent() {
            dirs.insert(dir.to_path_buf());
        }
        done.push(backup.clone());
    }
    for dir in &dirs {
        sync_dir(dir)?;
    }
    Ok(done)
}

fn journal_path(path: &Path) -> Result<&str, FsError> {
    path.to_str()
        .filter(|s| !s.contains(['\t', '\n']))
        .ok_or_else(|| FsError::Journal {
            path: path.to_path_buf(),
            reason: "the path is not UTF-8 text without tabs and newlines",
        })
}

/// Under the lock: undoes a change that a killed process left half-done (its journal), and
/// removes the temporary files killed writers left in `folders` (nothing else writes there
/// while the lock is held).
///
/// # Errors
/// [`FsError::Journal`] for a journal that does not parse (it is left in place, so that
/// nothing is undone wrongly); [`FsError::Io`] when a file cannot be removed or restored.
pub fn recover(lock: &TreeLock, folders: &[&Path]) -> Result<Recovered, FsError> {
    let mut recovered = Recovered::default();
    let journal = lock.dir().join(JOURNAL_FILE);
    if let Ok(text) = fs::read_to_string(&journal) {
        let bad = |reason| FsError::Journal {
            path: journal.clone(),
            reason,
        };
        let mut steps = Vec::new();
        let mut discards = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields[..] {
                ["remove", path] => steps.push(Undo::Remove(PathBuf::from(path))),
                ["restore", path, backup] => steps.push(Undo::Restore {
                    path: PathBuf::from(path),
                    backup: PathBuf::from(backup),
                }),
                ["discard", backup] => discards.push(Discard::Remove(PathBuf::from(backup))),
                ["keep", backup, to] => discards.push(Discard::MoveTo {
                    backup: PathBuf::from(backup),
                    to: PathBuf::from(to),
                }),
                _ => {
                    return Err(bad("a line is neither remove, restore, discard nor keep"));
                }
            }
        }
        if !steps.is_empty() && !discards.is_empty() {
            return Err(bad(
                "it mixes undo steps with the disposal of a kept change's backups",
            ));
        }
        // A kept change whose backups were not all disposed of: finish that.
        recovered.discarded = dispose(&discards)?;
        for step in steps {
            match step {
                Undo::Remove(path) => {
                    if fs::symlink_metadata(&path).is_ok() {
                        fs::remove_file(&path).map_err(io("remove", &path))?;
                        recovered.removed.push(path);
                    }
                }
                Undo::Restore { path, backup } => {
                    let bytes = fs::read(&backup).map_err(io("read the backup", &backup))?;
                    let kind = secret_or_public(&backup);
                    write_atomic(&path, &bytes, kind, Overwrite::Replace)?;
                    recovered.restored.push(path);
                }
            }
        }
        for path in recovered.removed.iter().chain(&recovered.restored) {
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
        }
        fs::remove_file(&journal).map_err(io("remove the journal", &journal))?;
        sync_dir(lock.dir())?;
    }
    for folder in folders {
        let Ok(entries) = fs::read_dir(folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if is_temp_name(&name.to_string_lossy()) {
                let path = entry.path();
                fs::remove_file(&path).map_err(io("remove the stale temporary file", &path))?;
                recovered.temp_files.push(path);
            }
        }
    }
    Ok(recovered)
}

/// Whether `name` is one of [`crate::write_atomic`]'s temporary names: `.NAME.tmp.PID.N`.
fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let mut parts = rest.rsplitn(4, '.');
    let (Some(n), Some(pid), Some("tmp"), Some(file)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !file.is_empty()
        && !n.is_empty()
        && !pid.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && pid.bytes().all(|b| b.is_ascii_digit())
}

/// A backup's kind from its mode: secret unless readable by others.
fn secret_or_public(path: &Path) -> FileKind {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o004 != 0
        {
            return FileKind::Public;
        }
    }
    let _ = path;
    FileKind::Secret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_ours_only() {
        assert!(is_temp_name(".ca.key.tmp.1234.0"));
        assert!(is_temp_name(".admin.conf.tmp.77.12"));
        assert!(!is_temp_name("ca.key"));
        assert!(!is_temp_name(".ca.key.tmp.x.0"));
        assert!(!is_temp_name(".tmp.1.2"));
        assert!(!is_temp_name(".kubepki.lock"));
    }

    #[test]
    fn an_uncommitted_journal_is_undone_and_a_committed_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let lock = TreeLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let (new, old, backup) = (
            dir.path().join("new.crt"),
            dir.path().join("old.key"),
            dir.path().join("old.key.bak"),
        );
        std::fs::write(&old, "old").unwrap();
        std::fs::write(&backup, "old").unwrap();
        let undo = [
            Undo::Remove(new.clone()),
            Undo::Restore {
                path: old.clone(),
                backup: backup.clone(),
            },
        ];
        // Killed before the commit: the journal stays.
        drop(Journal::begin(&lock, &undo).unwrap());
        std::fs::write(&new, "half").unwrap();
        std::fs::write(&old, "new").unwrap();
        std::fs::write(dir.path().join(".new.crt.tmp.99.0"), "torn").unwrap();
        let recovered = recover(&lock, &[dir.path()]).unwrap();
        assert_eq!(recovered.removed, std::slice::from_ref(&new));
        assert_eq!(recovered.restored, std::slice::from_ref(&old));
        assert_eq!(recovered.temp_files.len(), 1);
        assert!(!new.exists());
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "old");
        assert!(!dir.path().join(JOURNAL_FILE).exists());
        // Committed: nothing to undo.
        let journal = Journal::begin(&lock, &undo).unwrap();
        std::fs::write(&new, "whole").unwrap();
        journal.commit().unwrap();
        assert!(recover(&lock, &[dir.path()]).unwrap().is_empty());
        assert!(new.exists());
    }

    #[test]
    fn a_kept_change_leaves_no_backup_and_a_killed_disposal_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let lock = TreeLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let (key, backup) = (dir.path().join("a.key"), dir.path().join("a.key.bak"));
        write_atomic(&backup, b"old", FileKind::Secret, Overwrite::Refuse).unwrap();
        let undo = [Undo::Restore {
            path: key.clone(),
            backup: backup.clone(),
        }];
        let journal = Journal::begin(&lock, &undo).unwrap();
        std::fs::write(&key, "new").unwrap();
        journal
            .commit_discarding(&[Discard::Remove(backup.clone())])
            .unwrap();
        assert!(!backup.exists());
        assert!(!dir.path().join(JOURNAL_FILE).exists());
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "new");
        // Killed after the disposal list replaced the journal, before the backup moved: the
        // next process moves it (0600 kept, folder 0700) and keeps the new key.
        write_atomic(&backup, b"old", FileKind::Secret, Overwrite::Refuse).unwrap();
        let to = dir.path().join("old/2026/a.key");
        let line = format!("keep\t{}\t{}\n", backup.display(), to.display());
        std::fs::write(dir.path().join(JOURNAL_FILE), line).unwrap();
        let recovered = recover(&lock, &[dir.path()]).unwrap();
        assert_eq!(recovered.discarded, std::slice::from_ref(&backup));
        assert!(recovered.restored.is_empty());
        assert!(!backup.exists());
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "old");
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&to), 0o600);
            assert_eq!(mode(to.parent().unwrap()), 0o700);
            assert_eq!(mode(&dir.path().join("old")), 0o700);
        }
        assert!(recover(&lock, &[dir.path()]).unwrap().is_empty());
    }

    #[test]
    fn a_journal_mixing_undo_and_disposal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let lock = TreeLock::acquire(dir.path(), Duration::ZERO).unwrap();
        std::fs::write(
            dir.path().join(JOURNAL_FILE),
            "remove\t/tmp/x\ndiscard\t/tmp/y\n",
        )
        .unwrap();
        let err = recover(&lock, &[]).unwrap_err();
        assert!(err.to_string().contains("mixes undo steps"), "{err}");
    }

    #[test]
    fn a_second_lock_waits_then_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _held = TreeLock::acquire(dir.path(), Duration::ZERO).unwrap();
        // flock locks belong to the open file: a second open in this process contends too.
        let err = TreeLock::acquire(dir.path(), Duration::from_millis(200)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, FsError::Locked { .. }), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
    }

    #[test]
    fn a_garbled_journal_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let lock = TreeLock::acquire(dir.path(), Duration::ZERO).unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), "delete\t/etc/passwd\n").unwrap();
        assert!(matches!(recover(&lock, &[]), Err(FsError::Journal { .. })));
        assert!(dir.path().join(JOURNAL_FILE).exists());
    }
}
