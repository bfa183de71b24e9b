//! External signers: a CA key that stays where it is (a cloud KMS, an HSM, a YubiKey) and
//! signs through the caller's own callback, or a key on a PKCS#11 token found by URI.

use std::ffi::c_void;
use std::sync::Arc;

use kubepki::cluster::CaSigner;
use kubepki::keys::{
    KeyError, PublicKeyKind, VerifyingKey, ecdsa_sha256, ecdsa_sha384, rsa_pkcs1_sha256,
};
use kubepki::pkcs11::{OpenOptions, open_signer};
use kubepki::{Ca, KeyAlgorithm, PublicKey, Signer};
use sha2::{Digest, Sha256, Sha384};
use spki::AlgorithmIdentifierOwned;

use crate::ca::kubepki_ca;
use crate::error::{Failure, kubepki_error, kubepki_result};
use crate::util::{bytes_arg, call, free_handle, handle, out_arg, str_arg, write_out};

/// The largest signature a callback may return: an RSA-4096 signature is 512 bytes, a DER
/// ECDSA P-384 signature at most 104.
pub const KUBEPKI_MAX_SIGNATURE_LEN: usize = 512;

/// The sign callback of an external signer. It signs `message` (the DER of a certificate's
/// to-be-signed part) with the private key, for the signer's algorithm: ECDSA P-256 over
/// SHA-256, ECDSA P-384 over SHA-384, RSA PKCS#1 v1.5 over SHA-256. `digest` is that hash of
/// `message`, for clients that sign digests (most KMS and HSM APIs); use one or the other.
///
/// It writes the signature in X.509's encoding (a DER `Ecdsa-Sig-Value` for ECDSA, the raw
/// PKCS#1 signature for RSA) to `signature`, which has room for `signature_capacity`
/// (`KUBEPKI_MAX_SIGNATURE_LEN`) bytes, sets `*signature_len`, and returns 0. Any other
/// return value is a failure: the call that was signing fails with
/// `KUBEPKI_RESULT_KEY_SIGNING` and a message holding that value.
///
/// The library checks every signature against the public key before using it: a wrong one
/// fails with `KUBEPKI_RESULT_KEY_SIGNATURE` and no certificate is returned.
///
/// It may be called from several threads at once when a CA built on it issues from several
/// threads; `user_data` is passed through untouched.
pub type kubepki_sign_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        message: *const u8,
        message_len: usize,
        digest: *const u8,
        digest_len: usize,
        signature: *mut u8,
        signature_capacity: usize,
        signature_len: *mut usize,
    ) -> u32,
>;

/// A key that signs somewhere else: made by `kubepki_signer_new` (a callback) or
/// `kubepki_signer_from_pkcs11` (a PKCS#11 token). Free with `kubepki_signer_free`; a CA or
/// cluster parameters made from it keep their own reference, so it may be freed first.
pub struct kubepki_signer {
    inner: Arc<dyn Signer>,
}

impl kubepki_signer {
    /// The key, shared (cluster parameters keep their own reference).
    pub(crate) fn shared(&self) -> Arc<dyn Signer> {
        Arc::clone(&self.inner)
    }

    /// A boxed signer sharing this one's key, for a `Ca` or `init`.
    pub(crate) fn boxed(&self) -> Box<dyn Signer> {
        Box::new(CaSigner(self.shared()))
    }
}

#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
}

/// A signer whose private half is behind a C callback.
struct CallbackSigner {
    public: PublicKey,
    verifying: VerifyingKey,
    algorithm: AlgorithmIdentifierOwned,
    hash: Hash,
    callback: unsafe extern "C" fn(
        *mut c_void,
        *const u8,
        usize,
        *const u8,
        usize,
        *mut u8,
        usize,
        *mut usize,
    ) -> u32,
    user_data: *mut c_void,
}

// SAFETY: the callback and `user_data` are the caller's; `kubepki_signer_new` documents that
// the callback may be called from any thread, at the same time from several, and the caller
// promises that it is safe to do so. Nothing here touches `user_data`.
unsafe impl Send for CallbackSigner {}
// SAFETY: as for Send: shared use only calls the callback, which the caller made thread-safe.
unsafe impl Sync for CallbackSigner {}

impl Signer for CallbackSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.algorithm.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let digest = match self.hash {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
        };
        let mut signature = vec![0u8; KUBEPKI_MAX_SIGNATURE_LEN];
        let mut len = 0usize;
        // SAFETY: every pointer is valid for the call: `message` and `digest` for their
        // lengths, `signature` for its capacity, `len` for one usize; the callback and
        // `user_data` are what the caller gave `kubepki_signer_new` for this use.
        let rc = unsafe {
            (self.callback)(
                self.user_data,
                message.as_ptr(),
                message.len(),
                digest.as_ptr(),
                digest.len(),
                signature.as_mut_ptr(),
                signature.len(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(KeyError::Signing(format!(
                "the external signer's callback failed with {rc}"
            )));
        }
        if len == 0 || len > signature.len() {
            return Err(KeyError::Signing(format!(
                "the external signer's callback returned a signature of {len} bytes (1 to {} allowed)",
                signature.len()
            )));
        }
        signature.truncate(len);
        // A wrong key, hash or encoding on the callback's side must not produce a certificate
        // that no one can verify.
        self.verifying
            .verify(&self.algorithm, message, &signature)
            .map_err(|_| KeyError::BadSignature)?;
        Ok(signature)
    }
}

/// The signature algorithm and hash for a key algorithm name, checked against the key.
fn scheme(name: &str, public: &PublicKey) -> Result<(AlgorithmIdentifierOwned, Hash), Failure> {
    let algorithm: KeyAlgorithm = name.parse()?;
    let kind = public.kind();
    let matches = match (algorithm, kind) {
        (KeyAlgorithm::EcdsaP256, PublicKeyKind::EcdsaP256)
        | (KeyAlgorithm::EcdsaP384, PublicKeyKind::EcdsaP384) => true,
        (_, PublicKeyKind::Rsa { bits }) => algorithm.rsa_bits() == Some(bits),
        _ => false,
    };
    if !matches {
        return Err(Failure::new(
            kubepki_result::KeyUnsupportedAlgorithm,
            format!(
                "algorithm {name} does not match the public key, which is {}",
                kind.describe()
            ),
        ));
    }
    Ok(match algorithm {
        KeyAlgorithm::EcdsaP384 => (ecdsa_sha384(), Hash::Sha384),
        KeyAlgorithm::EcdsaP256 => (ecdsa_sha256(), Hash::Sha256),
        _ => (rsa_pkcs1_sha256(), Hash::Sha256),
    })
}

/// Makes a signer whose private key is behind `sign_callback` (see `kubepki_sign_callback`):
/// `algorithm` is the key's kubeadm name (`ECDSA-P256`, `ECDSA-P384`, `RSA-2048`,
/// `RSA-3072`, `RSA-4096`) and `public_key_der` its public key as a DER
/// SubjectPublicKeyInfo; the two must agree.
///
/// # Safety
/// `algorithm` and `public_key_der` point to their lengths in bytes; `sign_callback` is a
/// function that may be called with `user_data` from any thread, from several at once, for
/// as long as the signer or anything made from it (a CA, cluster parameters) lives; `out`
/// points to storage for one pointer; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_signer_new(
    algorithm: *const u8,
    algorithm_len: usize,
    public_key_der: *const u8,
    public_key_der_len: usize,
    sign_callback: kubepki_sign_callback,
    user_data: *mut c_void,
    out: *mut *mut kubepki_signer,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let name = unsafe { str_arg(algorithm, algorithm_len, "algorithm")? };
        // SAFETY: as the caller promised.
        let der = unsafe { bytes_arg(public_key_der, public_key_der_len, "public_key_der")? };
        let callback = sign_callback.ok_or_else(|| crate::util::null("sign_callback"))?;
        out_arg(out, "out")?;
        let public = PublicKey::from_der(der)?;
        let verifying = VerifyingKey::from_spki(public.spki())?;
        let (algorithm, hash) = scheme(name, &public)?;
        let signer = CallbackSigner {
            public,
            verifying,
            algorithm,
            hash,
            callback,
            user_data,
        };
        // SAFETY: `out` checked above.
        unsafe {
            write_out(
                out,
                kubepki_signer {
                    inner: Arc::new(signer),
                },
            );
        };
        Ok(())
    })
}

/// Opens the private key a PKCS#11 URI names (RFC 7512, e.g.
/// `pkcs11:token=kubepki;object=cluster-ca?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin`)
/// as a signer. The PIN comes from the URI's `pin-source` or `pin-value`, else from the
/// `KUBEPKI_PKCS11_PIN` environment variable; the module from `module-path`, else
/// `KUBEPKI_PKCS11_MODULE`.
///
/// # Safety
/// `uri` points to `uri_len` bytes; `out` and `err_out` as for `kubepki_signer_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_signer_from_pkcs11(
    uri: *const u8,
    uri_len: usize,
    out: *mut *mut kubepki_signer,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let uri = unsafe { str_arg(uri, uri_len, "uri")? };
        out_arg(out, "out")?;
        let signer = open_pkcs11(uri)?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, signer) };
        Ok(())
    })
}

/// Opens a PKCS#11 key with the PIN and module fallbacks of the environment (read here, in
/// the FFI layer, as the CLI reads them).
fn open_pkcs11(uri: &str) -> Result<kubepki_signer, Failure> {
    let pin = std::env::var("KUBEPKI_PKCS11_PIN").ok();
    let module = std::env::var_os("KUBEPKI_PKCS11_MODULE").map(std::path::PathBuf::from);
    let options = OpenOptions::new()
        .fallback_pin(pin.as_deref())
        .default_module(module.as_deref());
    let signer = open_signer(uri, &options)?;
    Ok(kubepki_signer {
        inner: Arc::new(signer),
    })
}

/// Frees a signer. NULL is accepted and ignored. CAs and cluster parameters made from it
/// keep working.
///
/// # Safety
/// `signer` is NULL or a handle from this library that was not freed before and is not used
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_signer_free(signer: *mut kubepki_signer) {
    // SAFETY: NULL or a signer from this library, freed once.
    unsafe { free_handle(signer) }
}

/// Makes a CA from its certificate (PEM or DER, optionally followed by its chain, nearest
/// first) and a signer holding its key. Checks that the certificate is a CA and that the
/// signer's public key is the certificate's.
///
/// # Safety
/// `cert` points to `cert_len` bytes; `signer` is a live signer; `out` points to storage for
/// one pointer; `err_out` is NULL or points to storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_from_cert_and_signer(
    cert: *const u8,
    cert_len: usize,
    signer: *const kubepki_signer,
    out: *mut *mut kubepki_ca,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let cert = unsafe { bytes_arg(cert, cert_len, "cert")? };
        // SAFETY: as the caller promised.
        let signer = unsafe { handle(signer, "signer")? };
        out_arg(out, "out")?;
        let ca = ca_from(cert, signer.boxed())?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, ca) };
        Ok(())
    })
}

/// Opens a CA whose key is on a PKCS#11 token: its certificate (PEM or DER, optionally
/// followed by its chain) and the URI of its private key, as for
/// `kubepki_signer_from_pkcs11`.
///
/// # Safety
/// `cert` and `uri` point to their lengths in bytes; `out` and `err_out` as for
/// `kubepki_ca_from_cert_and_signer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kubepki_ca_from_pkcs11(
    cert: *const u8,
    cert_len: usize,
    uri: *const u8,
    uri_len: usize,
    out: *mut *mut kubepki_ca,
    err_out: *mut *mut kubepki_error,
) -> kubepki_result {
    call(err_out, || {
        // SAFETY: as the caller promised.
        let cert = unsafe { bytes_arg(cert, cert_len, "cert")? };
        // SAFETY: as the caller promised.
        let uri = unsafe { str_arg(uri, uri_len, "uri")? };
        out_arg(out, "out")?;
        // The certificate is checked before the token is opened.
        let certs = kubepki::sign::certificates_from_bytes(cert)?;
        if certs.is_empty() {
            return Err(Failure::new(
                kubepki_result::CertMalformed,
                "cert holds no certificate",
            ));
        }
        let signer = open_pkcs11(uri)?;
        let ca = ca_from(cert, signer.boxed())?;
        // SAFETY: `out` checked above.
        unsafe { write_out(out, ca) };
        Ok(())
    })
}

/// A CA from certificate bytes (PEM or DER, then the chain) and a signer.
fn ca_from(cert: &[u8], signer: Box<dyn Signer>) -> Result<kubepki_ca, Failure> {
    Ok(kubepki_ca::new(Ca::from_bundle(cert, signer)?))
}
