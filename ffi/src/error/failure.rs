//! How each crate's errors map to a [`kubepki_result`]: the code of a [`Failure`].

use kubepki::cluster::ClusterError;
use kubepki::profile::ProfileError;
use kubepki::{ApiError, CsrError, FsError, KeyError, Pkcs11Error, SignError};
use kubepki_verify::VerifyError;

use super::kubepki_result;

/// A failure as it crosses the boundary: the code and the full message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: kubepki_result,
    pub(crate) message: String,
    /// For [`kubepki_result::ClusterRenewIncomplete`]: the names renewed before the failure.
    pub(crate) renewed: Vec<String>,
}

impl Failure {
    pub(crate) fn new(code: kubepki_result, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            renewed: Vec::new(),
        }
    }
}

fn key_code(e: &KeyError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        KeyError::UnknownAlgorithm { .. } => R::KeyUnknownAlgorithm,
        KeyError::WeakKey { .. } => R::KeyWeak,
        KeyError::OversizedKey { .. } => R::KeyOversized,
        KeyError::UnsupportedKeyAlgorithm { .. } => R::KeyUnsupportedAlgorithm,
        KeyError::WrongPemLabel { .. } => R::KeyWrongPemLabel,
        KeyError::Pem(_) => R::KeyPem,
        KeyError::Malformed { .. } => R::KeyMalformed,
        KeyError::PassphraseRequired => R::KeyPassphraseRequired,
        KeyError::Decrypt(_) => R::KeyDecrypt,
        KeyError::EmptyPassphrase => R::KeyEmptyPassphrase,
        KeyError::Encode { .. } => R::KeyEncode,
        KeyError::Signing(_) | KeyError::Generation(_) => R::KeySigning,
        KeyError::BadSignature
        | KeyError::UnsupportedSignatureAlgorithm { .. }
        | KeyError::WeakSignatureAlgorithm { .. }
        | KeyError::AlgorithmMismatch { .. }
        | KeyError::BadAlgorithmParameters { .. } => R::KeySignature,
        _ => R::KeyOther,
    }
}

fn csr_code(e: &CsrError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        CsrError::InvalidSubject { .. } => R::CsrInvalidSubject,
        CsrError::UnknownAttribute { .. } => R::CsrUnknownAttribute,
        CsrError::InvalidSan { .. } => R::CsrInvalidSan,
        CsrError::WrongPemLabel { .. } => R::CsrWrongPemLabel,
        CsrError::Malformed(_) | CsrError::Pem(_) => R::CsrMalformed,
        CsrError::UnsupportedVersion(_) => R::CsrUnsupportedVersion,
        CsrError::ProofOfPossession(_) => R::CsrProofOfPossession,
        CsrError::PublicKey(_) => R::CsrPublicKey,
        CsrError::Signing(e) => key_code(e),
        _ => R::CsrOther,
    }
}

fn profile_code(e: &ProfileError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        ProfileError::UnknownProfile { .. } => R::ProfileUnknown,
        ProfileError::UnknownUsage { .. } => R::ProfileUnknownUsage,
        ProfileError::InvalidField { .. } | ProfileError::Yaml(_) => R::ProfileInvalidFile,
        ProfileError::SanNotAllowed { .. } | ProfileError::SanRequired { .. } => {
            R::ProfileSanRefused
        }
        ProfileError::CommonNameMismatch { .. } => R::ProfileCommonNameMismatch,
        ProfileError::OrganizationNotAllowed { .. }
        | ProfileError::OrganizationRequired { .. }
        | ProfileError::OrganizationsMismatch { .. } => R::ProfileOrganizationRefused,
        ProfileError::ValidityTooLong { .. }
        | ProfileError::InvalidValidity { .. }
        | ProfileError::InvalidDuration { .. } => R::ProfileValidityRefused,
        ProfileError::MissingParameter { .. }
        | ProfileError::InvalidParameter { .. }
        | ProfileError::InvalidCidr { .. } => R::ProfileParameter,
        _ => R::ProfileOther,
    }
}

fn sign_code(e: &SignError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        SignError::CaExpired { .. } => R::CaExpired,
        SignError::CaNotYetValid { .. } => R::CaNotYetValid,
        SignError::NotACa { .. } => R::CaNotACa,
        SignError::KeyMismatch { .. } => R::CaKeyMismatch,
        SignError::PathLenExceeded { .. } => R::CaPathLenExceeded,
        SignError::WrongProfileKind { .. } => R::CaWrongProfileKind,
        SignError::EmptyValidity { .. } => R::CaEmptyValidity,
        SignError::TimeOutOfRange(_) => R::CaTimeOutOfRange,
        SignError::MalformedCertificate(_) => R::CertMalformed,
        SignError::WrongPemLabel { .. } => R::CertWrongPemLabel,
        SignError::Encode(_) => R::CertEncode,
        SignError::Profile(e) => profile_code(e),
        SignError::Csr(e) => csr_code(e),
        SignError::Key(e) => key_code(e),
        _ => R::CaOther,
    }
}

fn verify_code(e: &VerifyError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        VerifyError::Pem { .. }
        | VerifyError::PemBlock { .. }
        | VerifyError::PemLabel { .. }
        | VerifyError::Malformed { .. }
        | VerifyError::NotDer
        | VerifyError::BadVersion { .. }
        | VerifyError::SignatureAlgorithmMismatch { .. }
        | VerifyError::BadSerial { .. }
        | VerifyError::DuplicateExtension { .. }
        | VerifyError::UnknownCriticalExtension { .. }
        | VerifyError::MalformedExtension { .. }
        | VerifyError::InvalidExtension { .. }
        | VerifyError::InvertedValidity { .. }
        | VerifyError::MalformedName { .. }
        | VerifyError::MissingAuthorityKeyId { .. }
        | VerifyError::BadPublicKey { .. } => R::VerifyMalformed,
        VerifyError::NotYetValid { .. } => R::VerifyNotYetValid,
        VerifyError::Expired { .. } => R::VerifyExpired,
        VerifyError::UnknownIssuer { .. } => R::VerifyUnknownIssuer,
        VerifyError::BadSignature { .. } => R::VerifyBadSignature,
        VerifyError::NameMismatch { .. } | VerifyError::BadExpectedName { .. } => {
            R::VerifyNameMismatch
        }
        VerifyError::ExtendedKeyUsageNotAllowed { .. } | VerifyError::MissingKeyUsage { .. } => {
            R::VerifyUsageNotAllowed
        }
        VerifyError::NotCa { .. }
        | VerifyError::InvalidCa { .. }
        | VerifyError::MissingKeyCertSign { .. }
        | VerifyError::PathLenExceeded { .. }
        | VerifyError::CaAsLeaf { .. } => R::VerifyInvalidCa,
        VerifyError::NoTrustAnchors => R::VerifyNoTrustAnchors,
        VerifyError::NameConstraintViolation { .. } => R::VerifyNameConstraint,
        _ => R::VerifyOther,
    }
}

impl From<KeyError> for Failure {
    fn from(e: KeyError) -> Self {
        Failure::new(key_code(&e), e.to_string())
    }
}

impl From<CsrError> for Failure {
    fn from(e: CsrError) -> Self {
        Failure::new(csr_code(&e), e.to_string())
    }
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Self {
        Failure::new(profile_code(&e), e.to_string())
    }
}

impl From<SignError> for Failure {
    fn from(e: SignError) -> Self {
        Failure::new(sign_code(&e), e.to_string())
    }
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        Failure::new(verify_code(&e), e.to_string())
    }
}

fn cluster_code(e: &ClusterError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        ClusterError::Misfit { .. } => R::ClusterMisfit,
        ClusterError::IncompletePair { .. } => R::ClusterIncompletePair,
        ClusterError::Read { .. } | ClusterError::CreateDir { .. } => R::ClusterIo,
        ClusterError::Fs(source) => fs_code(source),
        ClusterError::Key { source, .. } => key_code(source),
        ClusterError::KeyGeneration(source) => key_code(source),
        ClusterError::Sign { source, .. } => sign_code(source),
        ClusterError::Profile(source) => profile_code(source),
        ClusterError::Kubeconfig { .. } => R::ClusterKubeconfig,
        ClusterError::InvalidSan { .. }
        | ClusterError::InvalidExtraSan { .. }
        | ClusterError::InvalidEndpoint { .. } => R::ClusterInvalidParameter,
        ClusterError::UnknownCertificate { .. } => R::ClusterUnknownCertificate,
        ClusterError::CaNotRenewed { .. } => R::ClusterCaNotRenewed,
        ClusterError::NoCaKey { .. } => R::ClusterNoCaKey,
        ClusterError::RenewIncomplete { .. } => R::ClusterRenewIncomplete,
        ClusterError::RotationOrder { .. } => R::ClusterRotationOrder,
        ClusterError::TokensStillValid { .. } => R::ClusterTokensStillValid,
        ClusterError::RotationFile { .. } => R::ClusterRotationFile,
        ClusterError::BadNewCa { .. } => R::ClusterBadNewCa,
        ClusterError::ExternalCaInMemory => R::InvalidParameter,
        ClusterError::PinInKeyUri | ClusterError::InvalidKeyUri { .. } => {
            R::ClusterInvalidParameter
        }
        _ => R::ClusterOther,
    }
}

impl From<ClusterError> for Failure {
    fn from(e: ClusterError) -> Self {
        let renewed = match &e {
            ClusterError::RenewIncomplete { renewed, .. } => renewed.clone(),
            _ => Vec::new(),
        };
        Failure {
            renewed,
            ..Failure::new(cluster_code(&e), e.to_string())
        }
    }
}

fn api_code(e: &ApiError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        ApiError::Invalid { .. } | ApiError::Timestamp(_) => R::ApiInvalid,
        ApiError::Forbidden { .. } => R::ApiForbidden,
        ApiError::NotFound { .. } => R::ApiNotFound,
        ApiError::AlreadyExists { .. } => R::ApiAlreadyExists,
        ApiError::Conflict { .. } => R::ApiConflict,
        ApiError::AlreadyDecided { .. } => R::ApiAlreadyDecided,
        ApiError::OrganizationNotSystemNodes
        | ApiError::CommonNameNotSystemNode
        | ApiError::DnsOrIpSanRequired
        | ApiError::SanNotAllowed { .. }
        | ApiError::UsagesMismatch { .. }
        | ApiError::InvalidClientUsage { .. }
        | ApiError::MissingClientAuth
        | ApiError::UsageNotAllowed { .. }
        | ApiError::SystemMastersRefused { .. }
        | ApiError::CustomSignerOnClusterCa { .. } => R::ApiSignerRefused,
        ApiError::SignerExpired { .. } => R::ApiSignerExpired,
        ApiError::Decode { .. } | ApiError::TooLarge { .. } | ApiError::TooDeep { .. } => {
            R::ApiDecode
        }
        ApiError::NameTooLongForStore { .. } | ApiError::Corrupt { .. } | ApiError::Io { .. } => {
            R::ApiStore
        }
        ApiError::UnknownSigner { .. } => R::ApiUnknownSigner,
        ApiError::Fs(e) => fs_code(e),
        ApiError::Sign(e) => sign_code(e),
        ApiError::Profile(e) => profile_code(e),
        ApiError::Csr(e) => csr_code(e),
        _ => R::ApiOther,
    }
}

fn fs_code(e: &FsError) -> kubepki_result {
    use kubepki_result as R;
    match e {
        FsError::Exists { .. } => R::FsExists,
        FsError::Locked { .. } => R::FsLocked,
        FsError::Journal { .. } => R::FsJournal,
        FsError::Io { .. } => R::FsIo,
        _ => R::FsOther,
    }
}

fn pkcs11_code(e: &Pkcs11Error) -> kubepki_result {
    use kubepki_result as R;
    match e {
        Pkcs11Error::BadUri { .. } => R::Pkcs11BadUri,
        Pkcs11Error::NoModulePath { .. } | Pkcs11Error::NoSuchModule { .. } => R::Pkcs11Module,
        Pkcs11Error::NoSuchToken { .. } => R::Pkcs11Token,
        Pkcs11Error::NoSuchObject { .. }
        | Pkcs11Error::AmbiguousObject { .. }
        | Pkcs11Error::NotAPrivateKey { .. }
        | Pkcs11Error::WrongUriType { .. } => R::Pkcs11Object,
        Pkcs11Error::PinRequired { .. }
        | Pkcs11Error::WrongPin { .. }
        | Pkcs11Error::PinLocked { .. }
        | Pkcs11Error::PinSource { .. } => R::Pkcs11Pin,
        Pkcs11Error::MechanismNotSupported { .. } | Pkcs11Error::UnsupportedKey { .. } => {
            R::Pkcs11Mechanism
        }
        _ => R::Pkcs11Other,
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::new(api_code(&e), e.to_string())
    }
}

impl From<FsError> for Failure {
    fn from(e: FsError) -> Self {
        Failure::new(fs_code(&e), e.to_string())
    }
}

impl From<Pkcs11Error> for Failure {
    fn from(e: Pkcs11Error) -> Self {
        Failure::new(pkcs11_code(&e), e.to_string())
    }
}

impl From<kubepki::Error> for Failure {
    fn from(e: kubepki::Error) -> Self {
        match e {
            kubepki::Error::Key(e) => e.into(),
            kubepki::Error::Csr(e) => e.into(),
            kubepki::Error::Profile(e) => e.into(),
            kubepki::Error::Sign(e) => e.into(),
            kubepki::Error::Verify(e) => e.into(),
            kubepki::Error::Cluster(e) => e.into(),
            kubepki::Error::Api(e) => e.into(),
            kubepki::Error::Fs(e) => e.into(),
            kubepki::Error::Pkcs11(e) => e.into(),
            // `kubepki::Error` is non-exhaustive: a kind added later is a bug to classify here.
            e => Failure::new(kubepki_result::Unclassified, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::object::{
        kubepki_error, kubepki_error_code, kubepki_error_renewed_get, kubepki_error_renewed_len,
    };
    use std::ffi::CStr;

    #[test]
    fn facade_errors_keep_their_area() {
        use std::path::PathBuf;
        use std::time::Duration;
        let code = |e: kubepki::Error| Failure::from(e).code;
        assert_eq!(
            code(VerifyError::NoTrustAnchors.into()),
            kubepki_result::VerifyNoTrustAnchors
        );
        let locked = FsError::Locked {
            path: PathBuf::from("/etc/kubernetes/pki/.lock"),
            holder: "pid 1".to_owned(),
            waited: Duration::from_secs(1),
        };
        assert_eq!(code(locked.into()), kubepki_result::FsLocked);
        let missing = ApiError::NotFound {
            name: "csr-1".to_owned(),
        };
        assert_eq!(code(missing.into()), kubepki_result::ApiNotFound);
        let unknown = ClusterError::UnknownCertificate {
            name: "nope".to_owned(),
            known: "apiserver".to_owned(),
        };
        assert_eq!(
            code(unknown.into()),
            kubepki_result::ClusterUnknownCertificate
        );
    }

    #[test]
    fn renew_incomplete_lists_the_renewed_names() {
        let e = ClusterError::RenewIncomplete {
            at: "ca".to_owned(),
            renewed: vec!["apiserver".to_owned(), "admin.conf".to_owned()],
            source: Box::new(ClusterError::CaNotRenewed {
                name: "ca".to_owned(),
            }),
        };
        let err = kubepki_error::from_failure(kubepki::Error::from(e).into());
        // SAFETY: `err` is a live error; the returned strings belong to it.
        unsafe {
            assert_eq!(
                kubepki_error_code(&err),
                kubepki_result::ClusterRenewIncomplete as u32
            );
            assert_eq!(kubepki_error_renewed_len(&err), 2);
            let name = |i| {
                CStr::from_ptr(kubepki_error_renewed_get(&err, i))
                    .to_str()
                    .unwrap()
            };
            assert_eq!((name(0), name(1)), ("apiserver", "admin.conf"));
            assert!(kubepki_error_renewed_get(&err, 2).is_null());
            assert_eq!(kubepki_error_renewed_len(std::ptr::null()), 0);
        }
    }
}
