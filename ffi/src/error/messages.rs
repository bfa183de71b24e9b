//! The static description of each result code.

use std::ffi::c_char;

use super::kubepki_result;

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
}
