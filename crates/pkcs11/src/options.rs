//! How a token is opened when the URI leaves something out, and who may choose its module.

use core::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::{Pkcs11Error, Pkcs11Uri};

/// Where a `pkcs11:` URI came from, which decides whether its `module-path` is loaded: the
/// module is a shared library loaded into this process, so choosing it is running code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriOrigin {
    /// Given by whoever runs the program (a command-line argument, the caller of the C API):
    /// its `module-path` is loaded.
    #[default]
    Operator,
    /// Read from a file (a profiles file's `signers:`, a ConfigMap, a recorded `ca.key.uri`):
    /// whoever can write the file must not choose a library to load, so its `module-path` is
    /// loaded only when it is the default module or on the allow-list
    /// ([`OpenOptions::allow_module`]).
    File,
}

/// How to open a token when the URI leaves something out, and which modules a URI may
/// name. The library reads neither the environment nor any configuration: the caller
/// decides where these come from (the CLI takes `KUBEPKI_PKCS11_PIN`,
/// `KUBEPKI_PKCS11_MODULE`, `--pkcs11-module` and `--pkcs11-module-allow`).
#[derive(Clone, Default)]
pub struct OpenOptions {
    pin: Option<Zeroizing<String>>,
    module: Option<PathBuf>,
    origin: UriOrigin,
    allowed: Vec<PathBuf>,
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("pin", &self.pin.as_ref().map(|_| "***"))
            .field("module", &self.module)
            .field("origin", &self.origin)
            .field("allowed", &self.allowed)
            .finish()
    }
}

/// Whether two module paths name the same file: the same text, or the same file once both
/// are resolved (symbolic links, `..`).
fn same_module(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl OpenOptions {
    /// Nothing beyond the URI; the URI is the operator's ([`UriOrigin::Operator`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The PIN to use when the URI has neither `pin-value` nor `pin-source`.
    pub fn fallback_pin(mut self, pin: Option<&str>) -> Self {
        self.pin = pin.map(|p| Zeroizing::new(p.to_owned()));
        self
    }

    /// The module to load when the URI has no `module-path`. A URI read from a file may
    /// name it in `module-path` too.
    pub fn default_module(mut self, module: Option<&Path>) -> Self {
        self.module = module.map(Path::to_path_buf);
        self
    }

    /// Where the URI came from (default: [`UriOrigin::Operator`]).
    pub fn origin(mut self, origin: UriOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// A module that a URI read from a file may name in `module-path`; call once per module.
    pub fn allow_module(mut self, module: &Path) -> Self {
        self.allowed.push(module.to_path_buf());
        self
    }

    /// The PIN given by [`OpenOptions::fallback_pin`].
    pub(crate) fn fallback(&self) -> Option<&str> {
        self.pin.as_deref().map(String::as_str)
    }

    /// The module to load for `uri`: the one rule for who chooses it. A URI of the
    /// operator's loads its own `module-path`; a URI read from a file loads its
    /// `module-path` only when that is the default module or an allowed one; a URI without
    /// `module-path` loads the default module.
    ///
    /// # Errors
    /// [`Pkcs11Error::ModuleNotAllowed`] for a file's `module-path` that is neither;
    /// [`Pkcs11Error::NoModulePath`] when there is no module at all.
    pub fn module_for(&self, uri: &Pkcs11Uri) -> Result<PathBuf, Pkcs11Error> {
        let Some(named) = &uri.module_path else {
            return self
                .module
                .clone()
                .ok_or_else(|| Pkcs11Error::NoModulePath {
                    uri: uri.to_string(),
                });
        };
        if self.origin == UriOrigin::Operator {
            return Ok(named.clone());
        }
        let allowed = self
            .module
            .iter()
            .chain(&self.allowed)
            .any(|trusted| same_module(named, trusted));
        if allowed {
            Ok(named.clone())
        } else {
            Err(Pkcs11Error::ModuleNotAllowed {
                path: named.clone(),
                uri: uri.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

    fn with_module(module: &str) -> Pkcs11Uri {
        Pkcs11Uri::parse(&format!(
            "pkcs11:token=t?module-path={module}&pin-value=S3cr3tPIN"
        ))
        .unwrap()
    }

    #[test]
    fn the_operators_uri_chooses_its_module() {
        let uri = with_module("/opt/vendor/libp11.so");
        let module = OpenOptions::new()
            .default_module(Some(Path::new(MODULE)))
            .module_for(&uri)
            .unwrap();
        assert_eq!(module, Path::new("/opt/vendor/libp11.so"));
    }

    #[test]
    fn a_files_uri_cannot_choose_its_module() {
        let uri = with_module("/tmp/evil.so");
        for options in [
            OpenOptions::new().origin(UriOrigin::File),
            OpenOptions::new()
                .origin(UriOrigin::File)
                .default_module(Some(Path::new(MODULE)))
                .allow_module(Path::new("/opt/vendor/libp11.so")),
        ] {
            let err = options.module_for(&uri).unwrap_err();
            assert!(
                matches!(err, Pkcs11Error::ModuleNotAllowed { ref path, .. } if path == Path::new("/tmp/evil.so")),
                "{err}"
            );
            let said = err.to_string();
            assert!(said.contains("/tmp/evil.so"), "{said}");
            assert!(!said.contains("S3cr3t"), "{said}");
        }
    }

    #[test]
    fn a_files_uri_may_name_the_default_or_an_allowed_module() {
        let file = OpenOptions::new().origin(UriOrigin::File);
        let default = file.clone().default_module(Some(Path::new(MODULE)));
        assert_eq!(
            default.module_for(&with_module(MODULE)).unwrap(),
            Path::new(MODULE)
        );
        let allowed = file.clone().allow_module(Path::new("/opt/a.so"));
        assert_eq!(
            allowed.module_for(&with_module("/opt/a.so")).unwrap(),
            Path::new("/opt/a.so")
        );
        // Without module-path, the default module, whatever the origin.
        let bare = Pkcs11Uri::parse("pkcs11:token=t").unwrap();
        assert_eq!(default.module_for(&bare).unwrap(), Path::new(MODULE));
        let err = file.module_for(&bare).unwrap_err();
        assert!(matches!(err, Pkcs11Error::NoModulePath { .. }), "{err}");
    }

    #[test]
    fn an_allowed_module_is_matched_as_a_file_not_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("libreal.so");
        std::fs::write(&real, b"").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let dotted = sub.join("../libreal.so");
        let options = OpenOptions::new()
            .origin(UriOrigin::File)
            .allow_module(&real);
        let uri = with_module(&dotted.to_string_lossy());
        assert_eq!(options.module_for(&uri).unwrap(), dotted);
        let other = dir.path().join("libother.so");
        std::fs::write(&other, b"").unwrap();
        let err = options
            .module_for(&with_module(&other.to_string_lossy()))
            .unwrap_err();
        assert!(matches!(err, Pkcs11Error::ModuleNotAllowed { .. }), "{err}");
    }
}
