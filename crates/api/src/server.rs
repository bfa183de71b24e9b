//! What the API server does around the store: fill in the requester, validate, admit, and
//! update with the update rules (retrying on a conflict from a fresh read).

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::ApiError;
use crate::store::CsrStore;
use crate::time::format_time;
use crate::types::CertificateSigningRequest;
use crate::validation::{admit_subject_restriction, validate_create, validate_update};

/// The authenticated requester, as the API server writes it into `spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name.
    pub username: String,
    /// The UID, if any.
    pub uid: Option<String>,
    /// The groups.
    pub groups: Vec<String>,
    /// The extra attributes (scopes and the like) the authenticator attached.
    pub extra: BTreeMap<String, Vec<String>>,
}

/// A version 4 UUID for `metadata.uid`, as the API server gives every object.
fn random_uid() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|source| ApiError::Random {
        what: "the request's UID",
        source,
    })?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// Creates a request as `POST /apis/certificates.k8s.io/v1/certificatesigningrequests` does:
/// the requester's identity overwrites `spec.username`/`uid`/`groups`/`extra` (whatever the
/// manifest claimed), the status is cleared,
/// `uid` and `creationTimestamp` are set, then validation and the
/// `CertificateSubjectRestriction` admission run.
///
/// # Errors
/// [`ApiError::Invalid`], [`ApiError::Forbidden`], [`ApiError::AlreadyExists`], store errors,
/// [`ApiError::Random`] when the operating system's RNG fails to draw the UID.
pub fn create_request(
    store: &dyn CsrStore,
    mut csr: CertificateSigningRequest,
    user: &UserInfo,
    now: SystemTime,
) -> Result<CertificateSigningRequest, ApiError> {
    csr.spec.username = Some(user.username.clone());
    csr.spec.uid = user.uid.clone();
    csr.spec.groups = user.groups.clone();
    csr.spec.extra = user.extra.clone();
    if !csr.spec.groups.iter().any(|g| g == "system:authenticated") {
        csr.spec.groups.push("system:authenticated".to_owned());
    }
    csr.status = Default::default();
    csr.metadata.uid = Some(random_uid()?);
    csr.metadata.creation_timestamp = Some(format_time(now));
    csr.metadata.resource_version = None;
    validate_create(&csr)?;
    admit_subject_restriction(&csr)?;
    store.create(csr)
}

/// Reads `name`, lets `change` modify it (returning whether it changed anything and a value),
/// validates the update as the API server does and writes it, through [`CsrStore::modify`]:
/// a concurrent writer's change is never lost. Returns the object as stored and the value
/// `change` returned last.
///
/// # Errors
/// Whatever `change` returns, [`ApiError::Invalid`] for a forbidden update, store errors.
pub fn update_request<T>(
    store: &dyn CsrStore,
    name: &str,
    mut change: impl FnMut(&mut CertificateSigningRequest) -> Result<(bool, T), ApiError>,
) -> Result<(CertificateSigningRequest, T), ApiError> {
    let mut value = None;
    let stored = store.modify(name, &mut |csr| {
        let old = csr.clone();
        let (changed, v) = change(csr)?;
        value = Some(v);
        if changed {
            validate_update(&old, csr)?;
        }
        Ok(changed)
    })?;
    match value {
        Some(v) => Ok((stored, v)),
        None => Err(ApiError::NotFound {
            name: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_random_version_4_uuids() {
        let a = random_uid().expect("the RNG works here");
        let b = random_uid().expect("the RNG works here");
        assert_ne!(a, b);
        let parsed = uuid::Uuid::try_parse(&a).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4, "{a}");
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{a}");
        assert_eq!(a.len(), 36, "{a}");
    }

    #[test]
    fn a_failed_rng_is_named() {
        let err = ApiError::Random {
            what: "the request's UID",
            source: getrandom::Error::UNSUPPORTED,
        };
        assert!(
            err.to_string()
                .starts_with("cannot draw random bytes for the request's UID: "),
            "{err}"
        );
    }
}
