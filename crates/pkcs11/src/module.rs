//! PKCS#11 modules: loaded and initialized once per process, finalized with the last user.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};

use crate::Pkcs11Error;
use crate::error::call;

/// A loaded, initialized module. C_Initialize and C_Finalize are per process, not per
/// caller: every token opened through one module shares this, and the module is finalized
/// when the last of them is gone, so closing one token never pulls the module from under
/// another.
pub(crate) struct Module {
    ctx: Pkcs11,
    /// The canonical path it is registered under.
    key: PathBuf,
}

/// The modules loaded, by canonical path.
static MODULES: Mutex<Vec<(PathBuf, Weak<Module>)>> = Mutex::new(Vec::new());

impl Module {
    /// The module at `path`, loaded and initialized once per process.
    pub(crate) fn load(path: &Path) -> Result<Arc<Module>, Pkcs11Error> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
        modules.retain(|(_, module)| module.strong_count() > 0);
        if let Some(module) = modules
            .iter()
            .find(|(p, _)| *p == key)
            .and_then(|(_, module)| module.upgrade())
        {
            return Ok(module);
        }
        let ctx = Pkcs11::new(path).map_err(|e| Pkcs11Error::NoSuchModule {
            path: path.to_path_buf(),
            reason: match e {
                CkError::LibraryLoading(e) => e.to_string(),
                other => other.to_string(),
            },
        })?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            // Already initialized: by another user of the library in this process.
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(call("C_Initialize")(e)),
        }
        let module = Arc::new(Module {
            ctx,
            key: key.clone(),
        });
        modules.push((key, Arc::downgrade(&module)));
        Ok(module)
    }

    /// The module's functions.
    pub(crate) fn ctx(&self) -> &Pkcs11 {
        &self.ctx
    }

    /// The canonical path the module was loaded from.
    pub(crate) fn path(&self) -> &Path {
        &self.key
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        // Under the registry's lock, so that no other thread initializes the module again
        // while it is being finalized.
        let registry = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have loaded the module again between the last handle going
        // and this lock: then it stays initialized, for that one to finalize.
        let reloaded = registry
            .iter()
            .any(|(key, module)| *key == self.key && module.strong_count() > 0);
        if !reloaded {
            // Nothing to do about a failure while dropping; the library is unloaded next.
            let _ = self.ctx.clone().finalize();
        }
    }
}
