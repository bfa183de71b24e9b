//! Where requests live: the [`CsrStore`] trait and [`FileStore`], one JSON file per object
//! under a directory, guarded by an exclusive lock, with optimistic `resourceVersion`.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::ApiError;
use crate::types::{CertificateSigningRequest, MAX_OBJECT_BYTES};

/// What [`CsrStore::scan`] found: the objects that could be read, and why each of the others
/// could not (each error names its file).
#[derive(Debug, Default)]
pub struct Scan {
    /// The readable objects, sorted by name.
    pub objects: Vec<CertificateSigningRequest>,
    /// One error per object that could not be read, usually [`ApiError::Corrupt`].
    pub unreadable: Vec<ApiError>,
}

/// A place to keep CertificateSigningRequests, with the API server's semantics: create
/// refuses an existing name, update refuses a stale `resourceVersion`.
pub trait CsrStore {
    /// The object named `name`.
    ///
    /// # Errors
    /// [`ApiError::NotFound`]; I/O and decoding errors.
    fn get(&self, name: &str) -> Result<CertificateSigningRequest, ApiError>;

    /// Every readable object, sorted by name; an object that cannot be read is left out (see
    /// [`CsrStore::scan`] to learn which).
    ///
    /// # Errors
    /// I/O errors on the store itself.
    fn list(&self) -> Result<Vec<CertificateSigningRequest>, ApiError> {
        Ok(self.scan()?.objects)
    }

    /// Every readable object, sorted by name, and an error naming each one that is not: one
    /// corrupt object never hides the others.
    ///
    /// # Errors
    /// I/O errors on the store itself.
    fn scan(&self) -> Result<Scan, ApiError>;

    /// Stores a new object, assigning its `resourceVersion`; returns it as stored.
    ///
    /// # Errors
    /// [`ApiError::AlreadyExists`]; [`ApiError::NameTooLongForStore`] for a name the store
    /// cannot hold; I/O errors.
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

/// The longest name [`FileStore`] holds: `NAME.json` must fit a file name (255 bytes).
const MAX_NAME_BYTES: usize = 255 - ".json".len();

/// The embedded store: `<dir>/<name>.json` per object (the JSON Kubernetes writes), a
/// `.resource-version` counter, and `.lock`, held exclusively (`flock`) around every
/// read-modify-write so several processes can share the directory. Every write is a temp file,
/// fsync and rename, so a crash never leaves a half-written object; the temp files a killed
/// process leaves (`.NAME.json.tmp.PID.N`) are removed by the next [`CsrStore::scan`] or
/// [`CsrStore::list`], which hold the lock, so no write can be in flight.
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
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(ApiError::NotFound {
                    name: name.to_owned(),
                });
            }
            Err(e) => return Err(io(&path)(e)),
        };
        // One byte past the limit is enough to refuse it; never read a huge file whole.
        let mut bytes = Vec::new();
        file.take(MAX_OBJECT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io(&path))?;
        let corrupt = |reason: String| ApiError::Corrupt {
            path: path.clone(),
            reason,
        };
        if bytes.len() > MAX_OBJECT_BYTES {
            return Err(corrupt(format!(
                "larger than the limit of {MAX_OBJECT_BYTES} bytes"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|_| corrupt("not UTF-8 text".to_owned()))?;
        let csr =
            CertificateSigningRequest::from_yaml(&text).map_err(|e| corrupt(e.to_string()))?;
        if csr.metadata.name != name {
            return Err(corrupt(format!(
                "metadata.name is {:?}, not the file's name",
                csr.metadata.name
            )));
        }
        Ok(csr)
    }

    /// Removes the temp files of writes that never finished (the writer was killed). Called
    /// with the lock held: every write of this store happens under it, so none is in flight.
    fn remove_stale_temp_files(&self, file_names: &[String]) {
        for file in file_names {
            if is_temp_file(file) {
                // Best effort: a file that cannot be removed now is tried again next time.
                let _ = fs::remove_file(self.dir.join(file));
            }
        }
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

    fn scan(&self) -> Result<Scan, ApiError> {
        let _guard = self.lock()?;
        let mut files = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Scan::default()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
        self.remove_stale_temp_files(&files);
        let mut names: Vec<&str> = files
            .iter()
            .filter_map(|f| f.strip_suffix(".json"))
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort_unstable();
        let mut scan = Scan::default();
        for name in names {
            match self.read(name) {
                Ok(csr) => scan.objects.push(csr),
                Err(ApiError::NotFound { name }) => {
                    // Gone since the directory was read, or a name the store never writes.
                    if self.path(&name).is_err() {
                        scan.unreadable.push(ApiError::Corrupt {
                            path: self.dir.join(format!("{name}.json")),
                            reason: "not a valid object name".to_owned(),
                        });
                    }
                }
                Err(e) => scan.unreadable.push(e),
            }
        }
        Ok(scan)
    }

    fn create(
        &self,
        mut csr: CertificateSigningRequest,
    ) -> Result<CertificateSigningRequest, ApiError> {
        let name = csr.metadata.name.clone();
        if name.len() > MAX_NAME_BYTES {
            return Err(ApiError::NameTooLongForStore {
                len: name.len(),
                max: MAX_NAME_BYTES,
            });
        }
        let _guard = self.lock()?;
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

/// A temp file of [`write_atomic`] in the store: `.NAME.json.tmp.PID.N` (the name cut short
/// for a long one) or `.resource-version.tmp.PID.N`. Object files never start with a dot.
fn is_temp_file(file: &str) -> bool {
    file.starts_with('.') && file.contains(".tmp.")
}
