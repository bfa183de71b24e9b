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

/// What the next process finds of a change that did not finish.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// New files of the interrupted change, removed.
    pub removed: Vec<PathBuf>,
    /// Replaced files put back from their backups.
    pub restored: Vec<PathBuf>,
    /// Stale temporary files (`.NAME.tmp.PID.N`) of killed writers, removed.
    pub temp_files: Vec<PathBuf>,
}

impl Recovered {
    /// Whether there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.restored.is_empty() && self.temp_files.is_empty()
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
        for line in text.lines().filter(|l| !l.is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            steps.push(match fields[..] {
                ["remove", path] => Undo::Remove(PathBuf::from(path)),
                ["restore", path, backup] => Undo::Restore {
                    path: PathBuf::from(path),
                    backup: PathBuf::from(backup),
                },
                _ => return Err(bad("a line is neither remove nor restore")),
            });
        }
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
