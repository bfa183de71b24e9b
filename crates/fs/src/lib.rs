#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

mod tree;
pub use tree::{Discard, JOURNAL_FILE, Journal, LOCK_FILE, Recovered, TreeLock, Undo, recover};

/// What a file holds, which decides its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A private key or anything else secret: mode 0600.
    Secret,
    /// A certificate, request or public key: mode 0644.
    Public,
}

impl FileKind {
    /// The Unix permission bits.
    pub fn mode(self) -> u32 {
        match self {
            FileKind::Secret => 0o600,
            FileKind::Public => 0o644,
        }
    }
}

/// Whether an existing file may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`FsError::Exists`] if the file exists.
    Refuse,
    /// Replace it (atomically).
    Replace,
}

/// What can go wrong writing a file.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The target exists and overwriting was not allowed.
    #[error("{path} already exists: refusing to overwrite it (use --force to replace it)")]
    Exists {
        /// The target.
        path: PathBuf,
    },
    /// Another process holds the lock on the folder.
    #[error(
        "{path} is locked by another kubepki ({holder}), still after {waited:?}: try again when it is done"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote in it (`pid N`).
        holder: String,
        /// How long this process waited.
        waited: std::time::Duration,
    },
    /// The journal of an interrupted change cannot be used.
    #[error("the journal {path} of an interrupted change cannot be used: {reason}")]
    Journal {
        /// The journal (or the path it could not record).
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// An I/O error, with the path it concerns.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FsError {
    let path = path.to_path_buf();
    move |source| FsError::Io {
        action,
        path,
        source,
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder (created with the
/// final mode), `fsync`, rename over `path`, `fsync` of the folder. Missing parent folders are
/// created (mode 0700 for secrets' folders, 0755 otherwise).
///
/// # Errors
/// [`FsError::Exists`] when `path` exists and `overwrite` is [`Overwrite::Refuse`];
/// [`FsError::Io`] for any I/O failure, in which case `path` is untouched.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    kind: FileKind,
    overwrite: Overwrite,
) -> Result<(), FsError> {
    let staged = stage(path, bytes, kind, overwrite)?;
    if let Err(e) = staged.file.sync_all().map_err(io("sync", &staged.tmp)) {
        let _ = fs::remove_file(&staged.tmp);
        return Err(e);
    }
    put_in_place(&staged.tmp, path, overwrite)?;
    sync_dir(&staged.dir)
}

/// One file for [`write_atomic_all`].
#[derive(Clone, Copy, Debug)]
pub struct FileWrite<'a> {
    /// Where the file goes.
    pub path: &'a Path,
    /// Its whole content.
    pub bytes: &'a [u8],
    /// Secret (0600) or public (0644).
    pub kind: FileKind,
}

/// Writes many files as [`write_atomic`] does, each one complete or absent (after a crash or
/// a power loss too), with one durability pass for all of them rather than an fsync per
/// file. First every file's content goes to a temporary file in its folder; then all of them
/// are made durable at once; then each is put in place (linked, or renamed over the old one)
/// in the order given, so that a caller listing keys before certificates never shows a
/// certificate without its key; then the new names are made durable. On Linux each pass is
/// one `syncfs` per filesystem (a tree usually sits on one; Linux 5.8 and later report
/// write-back errors through it); elsewhere an `fsync` per file, issued together, and one per
/// folder.
///
/// # Errors
/// The error of the first failing file (in the order given), as [`write_atomic`] reports
/// it; the other files are still written (each is whole or absent) and made durable. When a
/// durability pass fails, its error is returned; if it is the first, nothing is put in place.
pub fn write_atomic_all(files: &[FileWrite<'_>], overwrite: Overwrite) -> Result<(), FsError> {
    let mut errors: Vec<Option<FsError>> = files.iter().map(|_| None).collect();
    // The folders exist and are open before any write, so that a write-back error of what
    // follows reaches the sync of their filesystem.
    let mut dirs = BTreeSet::new();
    for (file, error) in files.iter().zip(&mut errors) {
        let dir = parent_dir(file.path);
        match create_dir_all(&dir, file.kind) {
            Ok(()) => {
                dirs.insert(dir);
            }
            Err(e) => *error = Some(e),
        }
    }
    let durable = Durability::open(&dirs)?;
    let mut staged = Vec::new();
    for (i, file) in files.iter().enumerate() {
        if errors[i].is_some() {
            continue;
        }
        match stage(file.path, file.bytes, file.kind, overwrite) {
            Ok(s) => staged.push((i, s)),
            Err(e) => errors[i] = Some(e),
        }
    }
    if let Err(e) = durable.contents(&staged) {
        for (_, s) in &staged {
            let _ = fs::remove_file(&s.tmp);
        }
        return Err(e);
    }
    for (i, s) in &staged {
        if let Err(e) = put_in_place(&s.tmp, files[*i].path, overwrite) {
            errors[*i] = Some(e);
        }
    }
    durable.names()?;
    errors.into_iter().flatten().next().map_or(Ok(()), Err)
}

/// A file's content in a temporary file of its folder, not yet synced nor in place.
struct Staged {
    file: File,
    tmp: PathBuf,
    dir: PathBuf,
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to a new temporary file next to `path` (missing folders created), after
/// refusing an existing `path` under [`Overwrite::Refuse`].
fn stage(
    path: &Path,
    bytes: &[u8],
    kind: FileKind,
    overwrite: Overwrite,
) -> Result<Staged, FsError> {
    if overwrite == Overwrite::Refuse && fs::symlink_metadata(path).is_ok() {
        return Err(FsError::Exists {
            path: path.to_path_buf(),
        });
    }
    let dir = parent_dir(path);
    create_dir_all(&dir, kind)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let tmp = unique_temp_path(&dir, &file_name);
    let mut file = open_new(&tmp, kind.mode()).map_err(io("create", &tmp))?;
    if let Err(e) = file.write_all(bytes) {
        let _ = fs::remove_file(&tmp);
        return Err(io("write", &tmp)(e));
    }
    Ok(Staged { file, tmp, dir })
}

/// Puts a staged (and synced) temporary file at `path`; the temporary name is gone after.
fn put_in_place(tmp: &Path, path: &Path, overwrite: Overwrite) -> Result<(), FsError> {
    let result = if overwrite == Overwrite::Refuse {
        // hard_link fails if the target appeared meanwhile: no race replaces a key.
        fs::hard_link(tmp, path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                FsError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                FsError::Io {
                    action: "link",
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })
    } else {
        fs::rename(tmp, path).map_err(io("rename onto", path))
    };
    if result.is_err() || overwrite == Overwrite::Refuse {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// The durability passes of [`write_atomic_all`] over a set of folders.
struct Durability<'a> {
    /// One open folder per filesystem, with its path for messages.
    #[cfg(target_os = "linux")]
    filesystems: Vec<(File, &'a Path)>,
    #[cfg(not(target_os = "linux"))]
    dirs: &'a BTreeSet<PathBuf>,
}

impl<'a> Durability<'a> {
    fn open(dirs: &'a BTreeSet<PathBuf>) -> Result<Self, FsError> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            let mut devices = BTreeSet::new();
            let mut filesystems = Vec::new();
            for dir in dirs {
                let folder = File::open(dir).map_err(io("open folder", dir))?;
                let device = folder.metadata().map_err(io("read folder", dir))?.dev();
                if devices.insert(device) {
                    filesystems.push((folder, dir.as_path()));
                }
            }
            Ok(Durability { filesystems })
        }
        #[cfg(not(target_os = "linux"))]
        Ok(Durability { dirs })
    }

    /// Makes the staged contents durable.
    fn contents(&self, staged: &[(usize, Staged)]) -> Result<(), FsError> {
        #[cfg(target_os = "linux")]
        {
            let _ = staged;
            self.sync_filesystems()
        }
        #[cfg(not(target_os = "linux"))]
        {
            let results = kubepki_parallel::parallel_map(staged, 8, |(_, s)| s.file.sync_all());
            for (result, (_, s)) in results.into_iter().zip(staged) {
                result.map_err(io("sync", &s.tmp))?;
            }
            Ok(())
        }
    }

    /// Makes the new names durable.
    fn names(&self) -> Result<(), FsError> {
        #[cfg(target_os = "linux")]
        {
            self.sync_filesystems()
        }
        #[cfg(not(target_os = "linux"))]
        {
            for dir in self.dirs {
                sync_dir(dir)?;
            }
            Ok(())
        }
    }

    #[cfg(target_os = "linux")]
    fn sync_filesystems(&self) -> Result<(), FsError> {
        for (folder, dir) in &self.filesystems {
            rustix::fs::syncfs(folder).map_err(|e| FsError::Io {
                action: "sync the filesystem of",
                path: dir.to_path_buf(),
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

fn unique_temp_path(dir: &Path, name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Keep the temp name within NAME_MAX (255 bytes) even for a 250-byte target name:
    // "." + name + ".tmp." + pid (<= 10 digits) + "." + n (<= 20 digits).
    let mut end = name.len().min(255 - 36);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    dir.join(format!(".{}.tmp.{}.{n}", &name[..end], std::process::id()))
}

#[cfg(unix)]
fn open_new(path: &Path, mode: u32) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn open_new(path: &Path, _mode: u32) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

fn sync_dir(dir: &Path) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("sync folder", dir))?;
    }
    let _ = dir;
    Ok(())
}

/// Creates `dir` and its parents if missing: mode 0700 when it will hold secrets, 0755
/// otherwise. Existing folders are left as they are.
///
/// # Errors
/// [`FsError::Io`] when a folder cannot be created.
pub fn create_dir_all(dir: &Path, kind: FileKind) -> Result<(), FsError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(if kind == FileKind::Secret {
            0o700
        } else {
            0o755
        });
    }
    builder.create(dir).map_err(io("create folder", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_0600_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ca.key");
        write_atomic(&path, b"one", FileKind::Secret, Overwrite::Refuse).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let err = write_atomic(&path, b"two", FileKind::Secret, Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, FsError::Exists { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"three", FileKind::Secret, Overwrite::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        // No temporary files are left behind.
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn failure_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cert.pem");
        write_atomic(&path, b"old", FileKind::Public, Overwrite::Replace).unwrap();
        // A target that is a folder cannot be replaced: the error names it, nothing is lost.
        let folder = dir.path().join("folder");
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join("x"), b"x").unwrap();
        assert!(write_atomic(&folder, b"new", FileKind::Public, Overwrite::Replace).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn a_file_that_cannot_be_placed_is_reported_first_and_the_others_are_written() {
        let dir = tempfile::tempdir().unwrap();
        // A folder that cannot be made: its name is taken by a file.
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, b"a file").unwrap();
        let paths: Vec<PathBuf> = ["pki/a.key", "blocker/b.crt", "pki/c.crt", "d.conf"]
            .iter()
            .map(|p| dir.path().join(p))
            .collect();
        let files: Vec<FileWrite<'_>> = paths
            .iter()
            .map(|path| FileWrite {
                path,
                bytes: b"new",
                kind: FileKind::Public,
            })
            .collect();
        let err = write_atomic_all(&files, Overwrite::Replace).unwrap_err();
        assert!(
            matches!(&err, FsError::Io { path, .. } if path == &dir.path().join("blocker")),
            "{err}"
        );
        for path in [&paths[0], &paths[2], &paths[3]] {
            assert_eq!(fs::read(path).unwrap(), b"new", "{}", path.display());
        }
        // No temporary file stays behind.
        for folder in [dir.path().to_path_buf(), dir.path().join("pki")] {
            for entry in fs::read_dir(&folder).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                assert!(!name.contains(".tmp."), "left behind: {name}");
            }
        }
    }

    #[test]
    fn many_files_are_written_and_an_existing_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("pki/ca.key");
        write_atomic(&existing, b"kept", FileKind::Secret, Overwrite::Refuse).unwrap();
        let paths: Vec<PathBuf> = ["pki/a.crt", "pki/etcd/b.key", "c.conf", "pki/ca.key"]
            .iter()
            .map(|p| dir.path().join(p))
            .collect();
        let files: Vec<FileWrite<'_>> = paths
            .iter()
            .map(|path| FileWrite {
                path,
                bytes: b"new",
                kind: FileKind::Secret,
            })
            .collect();
        let err = write_atomic_all(&files, Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, FsError::Exists { path } if path == existing));
        assert_eq!(fs::read(&existing).unwrap(), b"kept");
        for path in &paths[..3] {
            assert_eq!(fs::read(path).unwrap(), b"new", "{}", path.display());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&paths[1]).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
