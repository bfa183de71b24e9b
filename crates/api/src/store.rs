//! Where requests live: the [`CsrStore`] trait and [`FileStore`], one JSON file per object
//! under a directory, guarded by an exclusive lock, with optimistic `resourceVersion`.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::ApiError;
use crate::types::CertificateSigningRequest;

/// A place to keep CertificateSigningRequests, with the API server's semantics: create
/// refuses an existing name, update refuses a stale `resourceVersion`.
pub trait CsrStore {
    /// The object named `name`.
    ///
    /// # Errors
    /// [`ApiError::NotFound`]; I/O and decoding errors.
    fn get(&self, name: &str) -> Result<CertificateSigningRequest, ApiError>;

    /// Every object, sorted by name.
    ///
    /// # Errors
    /// I/O and decoding errors.
    fn list(&self) -> Result<Vec<CertificateSigningRequest>, ApiError>;

    /// Stores a new object, assigning its `resourceVersion`; returns it as stored.
    ///
    /// # Errors
    /// [`ApiError::AlreadyExists`]; I/O errors.
    fn create(&self, csr: CertificateSigningRequest)
    -> Result<CertificateSigningRequest, ApiError>;

    /// Replaces an object whose `resourceVersion` is the stored one; returns it as stored with
    /// a new `resourceVersion`.
    ///
    /// # Errors
    /// [`ApiError::Conflict`] for a stale `resourceVersion`, [`ApiError::NotFound`]; I/O errors.
    fn update(&self, csr: CertificateSigningRequest)
    -> Result<CertificateSigningRequest, ApiError>;

    /// Removes an object.
    ///
    /// # Errors
    /// [`ApiError::NotFound`]; I/O errors.
    fn delete(&self, name: &str) -> Result<(), ApiError>;

    /// Reads `name`, lets `change` edit it (returning whether it changed anything) and writes
    /// it back if it did. The default reads and updates, retrying from a fresh read on a
    /// conflict; [`FileStore`] holds its lock across the whole call, so `change` runs once on
    /// the current object (a certificate is signed once, never signed and then discarded).
    ///
    /// # Errors
    /// Whatever `change` returns; store errors.
    fn modify(
        &self,
        name: &str,
        change: &mut dyn FnMut(&mut CertificateSigningRequest) -> Result<bool, ApiError>,
    ) -> Result<CertificateSigningRequest, ApiError> {
        loop {
            let old = self.get(name)?;
            let mut new = old.clone();
            if !change(&mut new)? {
                return Ok(old);
            }
            new.metadata.resource_version = old.metadata.resource_version.clone();
            match self.update(new) {
                Err(ApiError::Conflict { .. }) => {}
                other => return other,
            }
        }
    }
}

/// The embedded store: `<dir>/<name>.json` per object (the JSON Kubernetes writes), a
/// `.resource-version` counter, and `.lock`, held exclusively (`flock`) around every
/// read-modify-write so several processes can share the directory. Every write is a temp file,
/// fsync and rename, so a crash never leaves a half-written object.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ApiError + '_ {
    move |source| ApiError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Holds the store's lock until dropped.
struct Guard(File);

impl Drop for Guard {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlock explicitly for clarity.
        let _ = self.0.unlock();
    }
}

impl FileStore {
    /// A store in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> Result<Guard, ApiError> {
        kubepki_fs::create_dir_all(&self.dir, FileKind::Secret)?;
        let path = self.dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        Ok(Guard(file))
    }

    fn path(&self, name: &str) -> Result<PathBuf, ApiError> {
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains(['/', '%', '\\'])
            || name.starts_with('.')
        {
            return Err(ApiError::NotFound {
                name: name.to_owned(),
            });
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    fn read(&self, name: &str) -> Result<CertificateSigningRequest, ApiError> {
        let path = self.path(name)?;
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(ApiError::NotFound {
                    name: name.to_owned(),
                });
            }
            Err(e) => return Err(io(&path)(e)),
        };
        CertificateSigningRequest::from_yaml(&text)
    }

    fn write(&self, csr: &CertificateSigningRequest, overwrite: Overwrite) -> Result<(), ApiError> {
        let path = self.path(&csr.metadata.name)?;
        write_atomic(&path, csr.to_json().as_bytes(), FileKind::Secret, overwrite)?;
        Ok(())
    }

    fn next_version(&self) -> Result<String, ApiError> {
        let path = self.dir.join(".resource-version");
        let current = match fs::read_to_string(&path) {
            Ok(t) => t.trim().parse::<u64>().unwrap_or(0),
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&path)(e)),
        };
        let next = (current + 1).to_string();
        write_atomic(&path, next.as_bytes(), FileKind::Secret, Overwrite::Replace)?;
        Ok(next)
    }
}

impl CsrStore for FileStore {
    fn get(&self, name: &str) -> Result<CertificateSigningRequest, ApiError> {
        let _guard = self.lock()?;
        self.read(name)
    }

    fn list(&self) -> Result<Vec<CertificateSigningRequest>, ApiError> {
        let _guard = self.lock()?;
        let mut names = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".json")
                && !name.starts_with('.')
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            match self.read(&name) {
                Ok(csr) => out.push(csr),
                Err(ApiError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn create(
        &self,
        mut csr: CertificateSigningRequest,
    ) -> Result<CertificateSigningRequest, ApiError> {
        let _guard = self.lock()?;
        let name = csr.metadata.name.clone();
        if self.path(&name)?.exists() {
            return Err(ApiError::AlreadyExists { name });
        }
        csr.metadata.resource_version = Some(self.next_version()?);
        match self.write(&csr, Overwrite::Refuse) {
            Err(ApiError::Fs(kubepki_fs::FsError::Exists { .. })) => {
                Err(ApiError::AlreadyExists { name })
            }
            other => other.map(|()| csr),
        }
    }

    fn update(
        &self,
        mut csr: CertificateSigningRequest,
    ) -> Result<CertificateSigningRequest, ApiError> {
        let _guard = self.lock()?;
        let stored = self.read(&csr.metadata.name)?;
        let given = csr.metadata.resource_version.clone().unwrap_or_default();
        let current = stored.metadata.resource_version.unwrap_or_default();
        if given != current {
            return Err(ApiError::Conflict {
                name: csr.metadata.name.clone(),
                given,
                stored: current,
            });
        }
        csr.metadata.resource_version = Some(self.next_version()?);
        self.write(&csr, Overwrite::Replace)?;
        Ok(csr)
    }

    fn modify(
        &self,
        name: &str,
        change: &mut dyn FnMut(&mut CertificateSigningRequest) -> Result<bool, ApiError>,
    ) -> Result<CertificateSigningRequest, ApiError> {
        let _guard = self.lock()?;
        let mut csr = self.read(name)?;
        if !change(&mut csr)? {
            return Ok(csr);
        }
        csr.metadata.name = name.to_owned();
        csr.metadata.resource_version = Some(self.next_version()?);
        self.write(&csr, Overwrite::Replace)?;
        Ok(csr)
    }

    fn delete(&self, name: &str) -> Result<(), ApiError> {
        let _guard = self.lock()?;
        let path = self.path(name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(ApiError::NotFound {
                name: name.to_owned(),
            }),
            Err(e) => Err(io(&path)(e)),
        }
    }
}
