//! Result codes and error objects: the codes ([`kubepki_result`]), how each crate's errors
//! map to them (`failure`), the error object C receives (`object`), and the static
//! message of each code (`messages`).

// In this order, which is the order of their functions in include/kubepki.h.
mod failure;
mod object;

mod messages;

pub(crate) use failure::Failure;
pub use messages::kubepki_result_message;
pub use object::*;

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
