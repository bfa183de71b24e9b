//! Result codes and error objects.

use std::ffi::{CString, c_char};

use kubepki::cluster::ClusterError;
use kubepki::profile::ProfileError;
use kubepki::{ApiError, CsrError, FsError, KeyError, Pkcs11Error, SignError};
use kubepki_verify::VerifyError;

/// The result of every fallible call. The numbers are fixed and grouped by area (1xx keys,
/// 2xx requests, 3xx profiles, 4xx CA and certificates, 5xx verification, 6xx the cluster
/// tree, 7xx PKCS#11, 8xx certificates.k8s.io objects and signers, 9xx files and locks); a
/// number is never reused. Codes received from C are read as `uint32_t`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kubepki_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// A text argument was not UTF-8.
    InvalidUtf8 = 2,
    /// An argument was out of range (an unknown format number, a time out of range).
    InvalidParameter = 3,
    /// A builder was used after it was consumed.
    AlreadyUsed = 4,
    /// The library panicked; this is a bug. The handles passed in remain valid.
    Panic = 5,
    /// A text that must hold no NUL byte held one.
    InteriorNul = 6,
    /// The value asked for is absent (e.g. a request without a common name).
    NotFound = 7,
    /// An error of a kind this build does not classify yet: a bug, please report it.
    Unclassified = 8,

    /// An algorithm name that is not one of kubeadm's.
    KeyUnknownAlgorithm = 100,
    /// An RSA key below 2048 bits.
    KeyWeak = 101,
    /// An RSA key above the supported maximum.
    KeyOversized = 102,
    /// An unsupported key algorithm or curve.
    KeyUnsupportedAlgorithm = 103,
    /// A PEM block that is not a private key.
    KeyWrongPemLabel = 104,
    /// PEM that does not decode.
    KeyPem = 105,
    /// Key bytes that decode as no supported format.
    KeyMalformed = 106,
    /// An encrypted key and no passphrase.
    KeyPassphraseRequired = 107,
    /// A wrong passphrase or unsupported encryption.
    KeyDecrypt = 108,
    /// Encrypting with an empty passphrase.
    KeyEmptyPassphrase = 109,
    /// A key format that does not exist for the algorithm.
    KeyEncode = 110,
    /// Signing or key generation failed.
    KeySigning = 111,
    /// A signature that does not verify, or an unsupported or weak signature algorithm.
    KeySignature = 112,
    /// Any other key problem.
    KeyOther = 199,

    /// A subject that does not parse.
    CsrInvalidSubject = 200,
    /// An unknown subject attribute name.
    CsrUnknownAttribute = 201,
    /// A subject alternative name that is not valid for its kind.
    CsrInvalidSan = 202,
    /// A PEM block that is not a certificate request.
    CsrWrongPemLabel = 203,
    /// Bytes that are not a PKCS#10 request.
    CsrMalformed = 204,
    /// A request version other than 1.
    CsrUnsupportedVersion = 205,
    /// The request's signature does not verify: no proof of possession.
    CsrProofOfPossession = 206,
    /// The request's public key is refused.
    CsrPublicKey = 207,
    /// Any other request problem.
    CsrOther = 299,

    /// An unknown profile name.
    ProfileUnknown = 300,
    /// An unknown usage word.
    ProfileUnknownUsage = 301,
    /// A bad profile file (YAML or a field in it).
    ProfileInvalidFile = 302,
    /// A SAN the profile does not allow, or a required SAN missing.
    ProfileSanRefused = 303,
    /// A common name the profile does not allow.
    ProfileCommonNameMismatch = 304,
    /// Organizations (groups) the profile does not allow, or required ones missing.
    ProfileOrganizationRefused = 305,
    /// A validity longer than the profile's maximum, or invalid.
    ProfileValidityRefused = 306,
    /// A cluster parameter missing or invalid (node name, CIDR, address).
    ProfileParameter = 307,
    /// Any other profile problem.
    ProfileOther = 399,

    /// The CA's certificate expired at the issuing time.
    CaExpired = 400,
    /// The CA's certificate is not yet valid at the issuing time.
    CaNotYetValid = 401,
    /// The certificate given as a CA is not one.
    CaNotACa = 402,
    /// The CA key does not match the CA certificate.
    CaKeyMismatch = 403,
    /// The CA's path length forbids another CA below it.
    CaPathLenExceeded = 404,
    /// A leaf profile used for a CA, or a CA profile for a leaf.
    CaWrongProfileKind = 405,
    /// No validity left between the start and the CA's end.
    CaEmptyValidity = 406,
    /// A time that cannot be written in a certificate.
    CaTimeOutOfRange = 407,
    /// Bytes that are not a certificate.
    CertMalformed = 408,
    /// A PEM block that is not a certificate.
    CertWrongPemLabel = 409,
    /// Encoding a certificate failed.
    CertEncode = 410,
    /// Any other CA problem.
    CaOther = 499,

    /// A certificate that does not parse, or is not canonical DER, or has bad extensions.
    VerifyMalformed = 500,
    /// A certificate not yet valid at the verification time.
    VerifyNotYetValid = 501,
    /// A certificate expired at the verification time.
    VerifyExpired = 502,
    /// No path to a trust anchor.
    VerifyUnknownIssuer = 503,
    /// A signature in the path does not verify.
    VerifyBadSignature = 504,
    /// The leaf does not carry the expected name.
    VerifyNameMismatch = 505,
    /// The leaf does not allow the required extended key usage.
    VerifyUsageNotAllowed = 506,
    /// An issuer that may not act as a CA (not a CA, no keyCertSign, path length).
    VerifyInvalidCa = 507,
    /// No trust anchors were given.
    VerifyNoTrustAnchors = 508,
    /// A name constraint is violated.
    VerifyNameConstraint = 509,
    /// Any other verification failure.
    VerifyOther = 599,

    /// An existing file of the tree does not fit (wrong CA, key, names, expired).
    ClusterMisfit = 600,
    /// A certificate without its key, or the reverse.
    ClusterIncompletePair = 601,
    /// Reading or writing the tree failed (permissions, disk, lock).
    ClusterIo = 602,
    /// A SAN, an endpoint or another cluster parameter that is not valid.
    ClusterInvalidParameter = 603,
    /// A certificate name that is not part of the tree.
    ClusterUnknownCertificate = 604,
    /// The CA's key is absent (external CA mode): it cannot sign.
    ClusterNoCaKey = 605,
    /// Renewal stopped part-way: the message says which files were renewed.
    ClusterRenewIncomplete = 606,
    /// A kubeconfig file that does not read.
    ClusterKubeconfig = 607,
    /// A CA cannot be renewed.
    ClusterCaNotRenewed = 608,
    /// A CA rotation phase asked for out of order (phases cannot be skipped): the message
    /// names the phase the CA is in and what to run instead.
    ClusterRotationOrder = 609,
    /// A rotation's `finish` before the service-account token lifetime has passed since
    /// `promote` (pass `force` to cut the old tokens off).
    ClusterTokensStillValid = 610,
    /// A rotation's state file or set-aside CA that does not read or does not fit the tree.
    ClusterRotationFile = 611,
    /// The new CA given to a rotation's `start` is not usable.
    ClusterBadNewCa = 612,
    /// Any other cluster problem.
    ClusterOther = 699,

    /// A PKCS#11 URI that does not parse (RFC 7512).
    Pkcs11BadUri = 700,
    /// No module path, or the module does not load.
    Pkcs11Module = 701,
    /// No token matches the URI.
    Pkcs11Token = 702,
    /// No (or more than one, or the wrong kind of) object matches the URI.
    Pkcs11Object = 703,
    /// PIN missing, wrong, locked, or its source unreadable.
    Pkcs11Pin = 704,
    /// The token lacks the mechanism, or the key is of an unsupported kind.
    Pkcs11Mechanism = 705,
    /// Any other PKCS#11 failure.
    Pkcs11Other = 799,

    /// A CertificateSigningRequest that fails validation (the API server's `422 Invalid`).
    ApiInvalid = 800,
    /// An admission rule refused the object (the API server's `403 Forbidden`).
    ApiForbidden = 801,
    /// No object by that name.
    ApiNotFound = 802,
    /// An object by that name exists already.
    ApiAlreadyExists = 803,
    /// An update based on an older resourceVersion than the stored one.
    ApiConflict = 804,
    /// Approving a denied request, or denying an approved one.
    ApiAlreadyDecided = 805,
    /// The signer's policy refuses the request (subject, SANs, usages, system:masters).
    ApiSignerRefused = 806,
    /// The signer's CA has expired.
    ApiSignerExpired = 807,
    /// Text that is not a CertificateSigningRequest, or too large or too deeply nested.
    ApiDecode = 808,
    /// The object store cannot hold or read an object (name too long, corrupt file, I/O).
    ApiStore = 809,
    /// A signer name with no profile.
    ApiUnknownSigner = 810,
    /// Any other certificates.k8s.io problem.
    ApiOther = 899,

    /// The target file exists and overwriting was not allowed.
    FsExists = 900,
    /// Another process holds the lock on the folder.
    FsLocked = 901,
    /// The journal of an interrupted change cannot be used.
    FsJournal = 902,
    /// Reading, writing or syncing a file failed (the message names the path and OS error).
    FsIo = 903,
    /// Any other file problem.
    FsOther = 999,
}

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

pub(crate) fn pkcs11_code(e: &Pkcs11Error) -> kubepki_result {
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

/// The full message of a failed call, with its code. Free with `kubepki_error_free`.
pub struct kubepki_error {
    code: kubepki_result,
    message: CString,
    renewed: Vec<CString>,
}

/// Text for C: a NUL that a message carries (a caller's input quoted in it) is written `\0`,
/// so the C string holds the whole message instead of stopping there.
fn c_text(text: String) -> CString {
    let text = if text.contains('\0') {
        text.replace('\0', "\\0")
    } else {
        text
    };
    CString::new(text).unwrap_or_default()
}

impl kubepki_error {
    pub(crate) fn from_failure(failure: Failure) -> Self {
        kubepki_error {
            code: failure.code,
            message: c_text(failure.message),
            renewed: failure.renewed.into_iter().map(c_text).collect(),
        }
    }
}

/// The code of an error; `KUBEPKI_RESULT_NULL_PARAMETER` for NULL.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_code(err: *const kubepki_error) -> u32 {
    // SAFETY: the caller passes NULL or a live error from this library.
    match unsafe { err.as_ref() } {
        Some(err) => err.code as u32,
        None => kubepki_result::NullParameter as u32,
    }
}

/// The message of an error, NUL-terminated, owned by the error (valid until
/// `kubepki_error_free`). NULL for NULL.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_message(err: *const kubepki_error) -> *const c_char {
    // SAFETY: the caller passes NULL or a live error from this library.
    match unsafe { err.as_ref() } {
        Some(err) => err.message.as_ptr(),
        None => std::ptr::null(),
    }
}

/// For `KUBEPKI_RESULT_CLUSTER_RENEW_INCOMPLETE`: how many certificates were renewed (and
/// stay renewed) before the one that failed; 0 for any other error and for NULL.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_renewed_len(err: *const kubepki_error) -> usize {
    // SAFETY: the caller passes NULL or a live error from this library.
    unsafe { err.as_ref() }.map_or(0, |e| e.renewed.len())
}

/// The name (kubeadm's, e.g. `apiserver`, `admin.conf`) of renewed certificate `index`, in
/// the order they were renewed, owned by the error; NULL for NULL or an index out of range.
///
/// # Safety
/// `err` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_renewed_get(
    err: *const kubepki_error,
    index: usize,
) -> *const c_char {
    // SAFETY: the caller passes NULL or a live error from this library.
    unsafe { err.as_ref() }
        .and_then(|e| e.renewed.get(index))
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Frees an error. NULL is accepted and ignored.
///
/// # Safety
/// `err` is NULL or a handle from this library that was not freed before and is not
/// used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_error_free(err: *mut kubepki_error) {
    if !err.is_null() {
        // SAFETY: a non-NULL `err` was returned by this library through `err_out` and is freed
        // once, as documented.
        drop(unsafe { Box::from_raw(err) });
    }
}

macro_rules! messages {
    ($code:expr, $($variant:ident => $text:literal,)*) => {
        match $code {
            $(c if c == kubepki_result::$variant as u32 => concat!($text, "\0"),)*
            _ => "unknown result code\0",
        }
    };
}

/// A static, NUL-terminated description of a result code (not the full message: use
/// `err_out` for that). Unknown codes get "unknown result code". Never NULL, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn kubepki_result_message(code: u32) -> *const c_char {
    let text: &'static str = messages!(code,
        Ok => "ok",
        NullParameter => "a required pointer argument was NULL",
        InvalidUtf8 => "a text argument is not UTF-8",
        InvalidParameter => "an argument is out of range",
        AlreadyUsed => "the builder was already used",
        Panic => "internal error (panic): please report it",
        InteriorNul => "a text contains a NUL byte",
        NotFound => "the value is absent",
        Unclassified => "unclassified error: please report it",
        KeyUnknownAlgorithm => "unknown key algorithm",
        KeyWeak => "RSA key below 2048 bits",
        KeyOversized => "RSA key above the maximum size",
        KeyUnsupportedAlgorithm => "unsupported key algorithm or curve",
        KeyWrongPemLabel => "PEM block is not a private key",
        KeyPem => "malformed PEM",
        KeyMalformed => "malformed key",
        KeyPassphraseRequired => "the key is encrypted: a passphrase is needed",
        KeyDecrypt => "cannot decrypt the key",
        KeyEmptyPassphrase => "empty passphrase",
        KeyEncode => "cannot encode the key in this format",
        KeySigning => "signing or key generation failed",
        KeySignature => "signature does not verify or its algorithm is refused",
        KeyOther => "key error",
        CsrInvalidSubject => "invalid subject",
        CsrUnknownAttribute => "unknown subject attribute",
        CsrInvalidSan => "invalid subject alternative name",
        CsrWrongPemLabel => "PEM block is not a certificate request",
        CsrMalformed => "malformed certificate request",
        CsrUnsupportedVersion => "unsupported certificate request version",
        CsrProofOfPossession => "proof of possession failed",
        CsrPublicKey => "request public key refused",
        CsrOther => "certificate request error",
        ProfileUnknown => "unknown profile",
        ProfileUnknownUsage => "unknown usage",
        ProfileInvalidFile => "invalid profile file",
        ProfileSanRefused => "subject alternative names refused by the profile",
        ProfileCommonNameMismatch => "common name refused by the profile",
        ProfileOrganizationRefused => "organizations refused by the profile",
        ProfileValidityRefused => "validity refused by the profile",
        ProfileParameter => "missing or invalid cluster parameter",
        ProfileOther => "profile error",
        CaExpired => "CA certificate expired",
        CaNotYetValid => "CA certificate not yet valid",
        CaNotACa => "certificate is not a CA",
        CaKeyMismatch => "CA key does not match the CA certificate",
        CaPathLenExceeded => "CA path length exceeded",
        CaWrongProfileKind => "wrong kind of profile (CA or leaf)",
        CaEmptyValidity => "no validity left",
        CaTimeOutOfRange => "time cannot be encoded in a certificate",
        CertMalformed => "malformed certificate",
        CertWrongPemLabel => "PEM block is not a certificate",
        CertEncode => "cannot encode the certificate",
        CaOther => "CA error",
        VerifyMalformed => "malformed certificate in the chain",
        VerifyNotYetValid => "certificate not yet valid",
        VerifyExpired => "certificate expired",
        VerifyUnknownIssuer => "no path to a trust anchor",
        VerifyBadSignature => "bad signature in the chain",
        VerifyNameMismatch => "certificate does not match the expected name",
        VerifyUsageNotAllowed => "certificate does not allow the required usage",
        VerifyInvalidCa => "issuer may not act as a CA",
        VerifyNoTrustAnchors => "no trust anchors",
        VerifyNameConstraint => "name constraint violated",
        VerifyOther => "verification failed",
        ClusterMisfit => "an existing file of the tree does not fit",
        ClusterIncompletePair => "a certificate without its key, or the reverse",
        ClusterIo => "reading or writing the tree failed",
        ClusterInvalidParameter => "invalid cluster parameter",
        ClusterUnknownCertificate => "not a certificate of the tree",
        ClusterNoCaKey => "the CA key is absent",
        ClusterRenewIncomplete => "renewal stopped part-way",
        ClusterKubeconfig => "kubeconfig file does not read",
        ClusterCaNotRenewed => "a CA cannot be renewed",
        ClusterRotationOrder => "CA rotation phase out of order",
        ClusterTokensStillValid => "service-account tokens signed with the old key may still be in use",
        ClusterRotationFile => "a CA rotation file does not read or does not fit the tree",
        ClusterBadNewCa => "the new CA given for the rotation is not usable",
        ClusterOther => "cluster error",
        Pkcs11BadUri => "invalid PKCS#11 URI",
        Pkcs11Module => "PKCS#11 module missing or not loadable",
        Pkcs11Token => "no such PKCS#11 token",
        Pkcs11Object => "no such PKCS#11 private key",
        Pkcs11Pin => "PKCS#11 PIN missing, wrong or locked",
        Pkcs11Mechanism => "PKCS#11 mechanism or key kind not supported",
        Pkcs11Other => "PKCS#11 error",
        ApiInvalid => "invalid certificate signing request object",
        ApiForbidden => "object refused by admission",
        ApiNotFound => "no such certificate signing request",
        ApiAlreadyExists => "certificate signing request already exists",
        ApiConflict => "update conflict: the object changed",
        ApiAlreadyDecided => "request already approved or denied",
        ApiSignerRefused => "request refused by the signer's policy",
        ApiSignerExpired => "signer CA expired",
        ApiDecode => "not a readable certificate signing request",
        ApiStore => "object store cannot hold or read the object",
        ApiUnknownSigner => "unknown signer",
        ApiOther => "certificates.k8s.io error",
        FsExists => "file exists and overwriting is not allowed",
        FsLocked => "folder locked by another process",
        FsJournal => "journal of an interrupted change cannot be used",
        FsIo => "file I/O failed",
        FsOther => "file error",
    );
    text.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn a_nul_in_a_message_is_written_not_cut() {
        // The fuzzer's case: a message that began with the caller's NUL bytes was empty.
        let text = c_text("\0\0 is not a server".to_owned());
        assert_eq!(text.to_str().unwrap(), "\\0\\0 is not a server");
        assert_eq!(c_text("plain".to_owned()).to_str().unwrap(), "plain");
    }

    fn message(code: u32) -> &'static str {
        // SAFETY: kubepki_result_message returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(kubepki_result_message(code)) };
        text.to_str().unwrap()
    }

    /// Every `KUBEPKI_RESULT_*` of the committed header, with its number: the codes C sees.
    fn header_codes() -> Vec<(String, u32)> {
        let header = concat!(env!("CARGO_MANIFEST_DIR"), "/../include/kubepki.h");
        let text = std::fs::read_to_string(header).unwrap();
        text.lines()
            .filter_map(|line| {
                let (name, value) = line
                    .trim()
                    .strip_prefix("KUBEPKI_RESULT_")?
                    .split_once(" = ")?;
                let value = value.trim_end_matches(',').parse().ok()?;
                Some((name.to_owned(), value))
            })
            .collect()
    }

    #[test]
    fn every_code_has_a_message() {
        let codes = header_codes();
        assert!(
            codes.len() > 90,
            "too few codes read from the header: {codes:?}"
        );
        let mut seen = std::collections::BTreeSet::new();
        for (name, code) in &codes {
            assert!(seen.insert(*code), "{name}: number {code} used twice");
            assert_ne!(message(*code), "unknown result code", "{name} = {code}");
        }
        for code in 0..=u32::from(u16::MAX) {
            if !seen.contains(&code) {
                assert_eq!(message(code), "unknown result code", "code {code}");
            }
        }
        assert_eq!(message(u32::MAX), "unknown result code");
    }

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
