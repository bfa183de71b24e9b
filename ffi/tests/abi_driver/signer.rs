//! External signers: `kubepki_signer_new` with a fuzzed public key (and one taken from a
//! fuzzed private key), CAs made from a fuzzed certificate and such a signer, and callbacks
//! that fail, lie or sign.

use std::ffi::c_void;
use std::ptr;

use kubepki::{KeyPair, Signer};

use super::cluster::{UserArgs, kubeconfig_user};
use super::{ErrOut, Owned, checked, key_pem, static_text, with_out};
use kubepki_ffi::{
    KUBEPKI_MAX_SIGNATURE_LEN, kubepki_ca_free, kubepki_ca_from_cert_and_signer,
    kubepki_key_algorithm, kubepki_key_format, kubepki_key_free, kubepki_key_parse, kubepki_result,
    kubepki_sign_callback, kubepki_signer, kubepki_signer_free, kubepki_signer_new,
};

/// What the test callback does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Returns 7: the signing call fails with `KUBEPKI_RESULT_KEY_SIGNING`.
    Fail,
    /// Writes 64 bytes that are no signature: `KUBEPKI_RESULT_KEY_SIGNATURE`.
    Lie,
    /// Claims more bytes than it has room for: `KUBEPKI_RESULT_KEY_SIGNING`.
    Overflow,
    /// Signs with the real key: success.
    Sign,
}

/// The callback's `user_data`.
struct Callback<'a> {
    mode: Mode,
    key: &'a KeyPair,
}

/// The test callback (see [`Mode`]).
///
/// # Safety
/// As `kubepki_sign_callback`, with `user_data` a live [`Callback`].
unsafe extern "C" fn sign(
    user_data: *mut c_void,
    message: *const u8,
    message_len: usize,
    _digest: *const u8,
    _digest_len: usize,
    signature: *mut u8,
    signature_capacity: usize,
    signature_len: *mut usize,
) -> u32 {
    // SAFETY: the signer was made with a pointer to a `Callback` that outlives it.
    let callback = unsafe { &*user_data.cast::<Callback<'_>>() };
    assert_eq!(signature_capacity, KUBEPKI_MAX_SIGNATURE_LEN);
    let bytes = match callback.mode {
        Mode::Fail => return 7,
        Mode::Lie => vec![0x30; 64],
        Mode::Overflow => {
            // SAFETY: the library passes a writable usize.
            unsafe { *signature_len = signature_capacity + 1 };
            return 0;
        }
        Mode::Sign => {
            // SAFETY: the library passes `message_len` bytes at `message`.
            let message = unsafe { std::slice::from_raw_parts(message, message_len) };
            callback.key.sign(message).expect("the key signs")
        }
    };
    assert!(bytes.len() <= signature_capacity);
    // SAFETY: `signature` has room for `signature_capacity` bytes, more than `bytes`;
    // `signature_len` is writable.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), signature, bytes.len());
        *signature_len = bytes.len();
    }
    0
}

/// Calls `kubepki_signer_new`.
fn new_signer(
    algorithm: &[u8],
    der: &[u8],
    callback: kubepki_sign_callback,
    user_data: *mut c_void,
    err_out: ErrOut,
) -> (kubepki_result, Option<Owned<kubepki_signer>>) {
    with_out(err_out, kubepki_signer_free, |out, err| {
        // SAFETY: `algorithm` and `der` are live slices; `user_data` is what `callback`
        // expects and outlives the signer (the callers keep it on their stack until the
        // signer and every CA made from it are freed); `out` and `err` are NULL or local.
        unsafe {
            kubepki_signer_new(
                algorithm.as_ptr(),
                algorithm.len(),
                der.as_ptr(),
                der.len(),
                callback,
                user_data,
                out,
                err,
            )
        }
    })
}

/// Signers from fuzzed bytes, and from the public half of a key parsed from `rest` whose
/// callback signs with that key; CAs from `first` (or all of `data`) and those signers.
pub(super) fn signers(first: &[u8], rest: &[u8], data: &[u8]) {
    let line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let dummy = Callback {
        mode: Mode::Fail,
        key: &KeyPair::generate(kubepki::KeyAlgorithm::EcdsaP256).expect("a P-256 key"),
    };
    let user_data = (&raw const dummy).cast_mut().cast::<c_void>();
    for (algorithm, der, err_out) in [
        (line, data, ErrOut::Wanted),
        (&b"ECDSA-P256"[..], data, ErrOut::Null),
        (&b"RSA-2048"[..], rest, ErrOut::Wanted),
        (&b"ECDSA-P256"[..], &data[..0], ErrOut::Wanted),
    ] {
        let (_, signer) = new_signer(algorithm, der, Some(sign), user_data, err_out);
        if let Some(signer) = signer {
            cas(&signer, first, data, Mode::Fail);
        }
    }
    let (code, _) = new_signer(b"ECDSA-P256", data, None, user_data, ErrOut::Wanted);
    assert_eq!(code, kubepki_result::NullParameter, "a NULL callback");
    let name = b"ECDSA-P256";
    let (code, _) = with_out(ErrOut::Wanted, kubepki_signer_free, |out, err| {
        // SAFETY: NULL public key with a length is refused; `out` and `err` are local.
        unsafe {
            kubepki_signer_new(
                name.as_ptr(),
                name.len(),
                ptr::null(),
                4,
                Some(sign),
                user_data,
                out,
                err,
            )
        }
    });
    assert_eq!(code, kubepki_result::NullParameter, "a NULL public key");

    let (_, key) = with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: `rest` is a live slice; `out` and `err` point to local storage.
        unsafe { kubepki_key_parse(rest.as_ptr(), rest.len(), ptr::null(), 0, out, err) }
    });
    let Some(key) = key else {
        return;
    };
    // The same key on the Rust side, for the callback to sign with: from the PKCS#8 PEM the
    // library writes for it (the handle is opaque here, as to C).
    let pkcs8 = key_pem(&key, kubepki_key_format::Pkcs8 as u32).expect("every key has PKCS#8");
    let pair = &KeyPair::from_pem(std::str::from_utf8(&pkcs8).expect("PEM is text"), None)
        .expect("the library's PKCS#8 loads");
    // SAFETY: `key` is live.
    let algorithm = static_text(unsafe { kubepki_key_algorithm(key.get()) });
    let der = pair.public_key().to_der();
    let wrong = if algorithm == "ECDSA-P384" {
        "ECDSA-P256"
    } else {
        "ECDSA-P384"
    };
    let (code, _) = new_signer(wrong.as_bytes(), der, Some(sign), user_data, ErrOut::Wanted);
    assert_eq!(
        code,
        kubepki_result::KeyUnsupportedAlgorithm,
        "{wrong} for a {algorithm} key"
    );
    for mode in [Mode::Fail, Mode::Lie, Mode::Overflow, Mode::Sign] {
        let callback = Callback { mode, key: pair };
        let user_data = (&raw const callback).cast_mut().cast::<c_void>();
        let (code, signer) = new_signer(
            algorithm.as_bytes(),
            der,
            Some(sign),
            user_data,
            ErrOut::Wanted,
        );
        assert_eq!(
            code,
            kubepki_result::Ok,
            "a signer for the key's own public key"
        );
        cas(&signer.expect("a signer"), first, data, mode);
    }
}

/// CAs from a certificate and `signer`; a CA made issues a user certificate, with the result
/// the callback's `mode` calls for.
fn cas(signer: &Owned<kubepki_signer>, first: &[u8], data: &[u8], mode: Mode) {
    for (cert, err_out) in [
        (first, ErrOut::Wanted),
        (data, ErrOut::Null),
        (&data[..0], ErrOut::Wanted),
    ] {
        let (_, ca) = with_out(err_out, kubepki_ca_free, |out, err| {
            // SAFETY: `cert` is a live slice, `signer` live; `out` and `err` NULL or local.
            unsafe {
                kubepki_ca_from_cert_and_signer(cert.as_ptr(), cert.len(), signer.get(), out, err)
            }
        });
        let Some(ca) = ca else {
            continue;
        };
        let args = UserArgs {
            cluster_name: b"kubernetes",
            server: b"https://10.0.0.1:6443",
            user: b"jane",
            groups: vec![b"developers"],
            algorithm: None,
        };
        let code = kubeconfig_user(ca.get(), &args, ErrOut::Wanted);
        let expected = match mode {
            Mode::Fail | Mode::Overflow => kubepki_result::KeySigning,
            Mode::Lie => kubepki_result::KeySignature,
            Mode::Sign => kubepki_result::Ok,
        };
        // A certificate that is expired at NOW or not a CA fails before signing.
        if !matches!(
            code,
            kubepki_result::CaExpired
                | kubepki_result::CaNotYetValid
                | kubepki_result::CaTimeOutOfRange
        ) {
            assert_eq!(code, expected, "{mode:?}");
        }
    }
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: a NULL signer is refused; `first` is live; `out` is NULL (also refused).
        unsafe {
            kubepki_ca_from_cert_and_signer(
                first.as_ptr(),
                first.len(),
                ptr::null(),
                ptr::null_mut(),
                err,
            )
        }
    });
    assert_eq!(code, kubepki_result::NullParameter);
}
