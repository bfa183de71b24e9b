//! The policy of `init` for a cluster CA whose key is on a PKCS#11 token: which URI names the
//! key, that no `ca.key` file competes with it, and whether the key is used or made. The
//! caller opens the token; these rules say what it may do there, the same for the CLI, the C
//! ABI and Go.

use std::path::{Path, PathBuf};

use crate::ClusterError;
use crate::ca_source::recorded_key_uri;
use crate::tree::CaName;

/// Where the token key's URI comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKeyOrigin {
    /// Given by the operator (`init --ca-key-uri`).
    Given,
    /// Recorded in `ca.key.uri` by an earlier `init` of the tree.
    Recorded,
}

/// The token key `init` takes for the cluster CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCaKey {
    /// The key's `pkcs11:` URI.
    pub uri: String,
    /// Who gave it.
    pub origin: TokenKeyOrigin,
}

/// What `init` does with the token's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKeyAction {
    /// The key exists on the token: the CA signs with it.
    UseExisting,
    /// The key does not exist and neither does `ca.crt`: make it on the token.
    Generate,
}

impl TokenKeyAction {
    /// The action in `init`'s report words (`using the existing`, `generated`).
    #[must_use]
    pub fn said(self) -> &'static str {
        match self {
            TokenKeyAction::UseExisting => "using the existing",
            TokenKeyAction::Generate => "generated",
        }
    }
}

/// The token key `init` uses for the cluster CA of the tree in `cert_dir`: the URI `given`
/// (`--ca-key-uri`), else the one an earlier `init` recorded in `ca.key.uri`; `None` when
/// the CA key is a file, as usual.
///
/// # Errors
/// [`ClusterError::CaKeyFileBesideToken`] when `ca.key` exists beside a token key;
/// [`ClusterError::Read`] or [`ClusterError::InvalidKeyUri`] for an unreadable record.
pub fn init_token_ca_key(
    cert_dir: &Path,
    given: Option<&str>,
) -> Result<Option<TokenCaKey>, ClusterError> {
    let key = match given {
        Some(uri) => TokenCaKey {
            uri: uri.to_owned(),
            origin: TokenKeyOrigin::Given,
        },
        None => match recorded_key_uri(cert_dir)? {
            Some(uri) => TokenCaKey {
                uri,
                origin: TokenKeyOrigin::Recorded,
            },
            None => return Ok(None),
        },
    };
    let key_file = crate::tree::key(cert_dir, CaName::Ca.base());
    if key_file.exists() {
        return Err(ClusterError::CaKeyFileBesideToken { path: key_file });
    }
    Ok(Some(key))
}

/// Whether `init` uses the token's key or makes it: a key `found` on the token is used; a
/// missing one is made only when the tree has no `ca.crt` yet, since an existing CA's key
/// cannot be made anew. `token` (its label) and `object` (the URI's description of the key)
/// name them in the error.
///
/// # Errors
/// [`ClusterError::TokenCaKeyMissing`] when `ca.crt` exists and the token has no key.
pub fn init_token_key_action(
    cert_dir: &Path,
    found: bool,
    token: &str,
    object: &str,
) -> Result<TokenKeyAction, ClusterError> {
    if found {
        return Ok(TokenKeyAction::UseExisting);
    }
    let certificate: PathBuf = crate::tree::crt(cert_dir, CaName::Ca.base());
    if certificate.exists() {
        return Err(ClusterError::TokenCaKeyMissing {
            certificate,
            token: token.to_owned(),
            object: object.to_owned(),
        });
    }
    Ok(TokenKeyAction::Generate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::key_uri_file;

    #[test]
    fn the_given_uri_wins_then_the_record_and_a_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path();
        assert_eq!(init_token_ca_key(pki, None).unwrap(), None);
        let given = init_token_ca_key(pki, Some("pkcs11:token=t;object=ca")).unwrap();
        assert_eq!(
            given,
            Some(TokenCaKey {
                uri: "pkcs11:token=t;object=ca".into(),
                origin: TokenKeyOrigin::Given,
            })
        );
        std::fs::write(key_uri_file(pki, CaName::Ca), "pkcs11:token=r;object=ca\n").unwrap();
        let recorded = init_token_ca_key(pki, None).unwrap().unwrap();
        assert_eq!(recorded.uri, "pkcs11:token=r;object=ca");
        assert_eq!(recorded.origin, TokenKeyOrigin::Recorded);
        let given = init_token_ca_key(pki, Some("pkcs11:token=t;object=ca")).unwrap();
        assert_eq!(given.unwrap().origin, TokenKeyOrigin::Given);

        std::fs::write(pki.join("ca.key"), "").unwrap();
        let err = init_token_ca_key(pki, Some("pkcs11:token=t;object=ca")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} exists: with --ca-key-uri the cluster CA's key is on the token, not in a file",
                pki.join("ca.key").display()
            )
        );
        // A key file wins over a stale record: no token key.
        assert_eq!(init_token_ca_key(pki, None).unwrap(), None);
    }

    #[test]
    fn a_missing_key_is_made_only_without_a_ca_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path();
        let action = |found| init_token_key_action(pki, found, "kubepki", "object=ca");
        assert_eq!(action(true).unwrap(), TokenKeyAction::UseExisting);
        assert_eq!(action(false).unwrap(), TokenKeyAction::Generate);
        std::fs::write(pki.join("ca.crt"), "").unwrap();
        assert_eq!(action(true).unwrap(), TokenKeyAction::UseExisting);
        let err = action(false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} exists but token kubepki has no key object=ca: its key cannot be made anew",
                pki.join("ca.crt").display()
            )
        );
        assert_eq!(TokenKeyAction::UseExisting.said(), "using the existing");
        assert_eq!(TokenKeyAction::Generate.said(), "generated");
    }
}
