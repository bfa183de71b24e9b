//! The C ABI's contract, checked by calling every entry point that takes bytes as a C caller
//! would: with the given bytes, a real and a NULL `err_out`, a zero length and NULL pointers;
//! every output is read through the C accessors and freed with its `_free` function. A broken
//! promise of the ABI panics.
//!
//! One driver, two users: the `ffi_bytes` fuzz target (`fuzz/fuzz_targets/ffi_bytes.rs`)
//! includes this folder with `#[path]` and feeds it the fuzzer's bytes; the integration test
//! `ffi/tests/abi_contract.rs` feeds it the fuzz seeds under plain `cargo test`. It lives
//! under `ffi/` (the one place allowed `unsafe`), outside the library that ships.
//!
//! `kubepki_key_generate` is called only with `ECDSA-P256`, an empty or a NULL name: a fuzzed
//! name could ask for RSA-4096, whose generation takes seconds. `kubepki_key_to_encrypted_pem` is called only
//! with an empty or NULL passphrase: a real one runs scrypt on every input. For the same
//! reason the cluster tree is generated with ECDSA-P256 keys whatever algorithm the input
//! set, and a user kubeconfig's fuzzed algorithm is used only when it does not name RSA.
//! `kubepki_renew` gets folders under `/dev/null/`, which nothing can create or write.

use std::ffi::{CStr, c_char};
use std::ptr;

mod cluster;
mod signer;

use kubepki_ffi::{
    kubepki_bytes, kubepki_bytes_data, kubepki_bytes_free, kubepki_bytes_len, kubepki_ca,
    kubepki_ca_cert_pem, kubepki_ca_free, kubepki_ca_from_pem, kubepki_cert,
    kubepki_cert_chain_pem, kubepki_cert_free, kubepki_cert_is_ca, kubepki_cert_issuer,
    kubepki_cert_not_after, kubepki_cert_not_before, kubepki_cert_parse, kubepki_cert_pem,
    kubepki_cert_sans, kubepki_cert_subject, kubepki_cert_usages, kubepki_csr,
    kubepki_csr_builder_add_san, kubepki_csr_builder_build, kubepki_csr_builder_free,
    kubepki_csr_builder_new, kubepki_csr_common_name, kubepki_csr_free, kubepki_csr_groups,
    kubepki_csr_parse, kubepki_csr_sans, kubepki_csr_subject, kubepki_csr_to_pem, kubepki_error,
    kubepki_error_code, kubepki_error_free, kubepki_error_message, kubepki_key,
    kubepki_key_algorithm, kubepki_key_format, kubepki_key_free, kubepki_key_generate,
    kubepki_key_parse, kubepki_key_public_pem, kubepki_key_to_encrypted_pem, kubepki_key_to_pem,
    kubepki_kubernetes_identity, kubepki_profile_builtin, kubepki_profile_ca, kubepki_profile_free,
    kubepki_profile_from_yaml, kubepki_purpose, kubepki_result, kubepki_result_message,
    kubepki_strings, kubepki_strings_free, kubepki_strings_get, kubepki_strings_len,
    kubepki_verify,
};

/// The verification time (2027-01-15), never 0 ("now"): a run must not depend on the day.
const NOW: i64 = 1_800_000_000;
/// The passphrase the encrypted seeds of the `key_parse` target were written with.
const PASSPHRASE: &[u8] = b"fuzz-passphrase";
/// A profile file for the calls whose fuzzed argument is the profile name.
const PROFILES: &[u8] = b"profiles:\n  client:\n    usages: [client auth]\n    expiry: 1h\n";
/// The most SAN lines a fuzzed request gets.
const MAX_SANS: usize = 8;

/// Calls every C entry point that takes bytes with `data`, as a C caller would, and frees
/// everything the calls return.
///
/// The calls taking two inputs (a CA certificate and its key; trust anchors and a chain) get
/// the first PEM block of `data` and the rest, then `data` twice. The installer calls read
/// `data` as lines: cluster parameters one setter a line, a user kubeconfig's cluster name,
/// server, user and groups, folders and certificate names for expiration and renewal; an
/// external signer gets `data` as a public key and the public half of the key in `rest`.
///
/// # Panics
/// When a call breaks the ABI's promises: a panic caught at the boundary, an output written on
/// failure or missing on success, an error object missing (or with another code) on failure or
/// present on success, a result that changes with `err_out`, a returned PEM that does not
/// parse back.
pub(crate) fn call_byte_entry_points(data: &[u8]) {
    let (first, rest) = split_first_pem_block(data);
    keys(data);
    requests(data);
    certificates(data);
    profiles(data);
    subjects(data);
    cas(first, rest, data);
    verify(first, rest, data);
    identity(first, rest, data);
    cluster::cluster(first, data);
    cluster::user_kubeconfigs(data);
    cluster::trees(data);
    signer::signers(first, rest, data);
    null_arguments();
}

/// Whether a call gets a real `kubepki_error **` or NULL.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ErrOut {
    Wanted,
    Null,
}

/// A handle returned by the library, freed by its `_free` function when dropped.
struct Owned<T> {
    ptr: *mut T,
    free: unsafe extern "C" fn(*mut T),
}

impl<T> Owned<T> {
    fn get(&self) -> *const T {
        self.ptr
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` is a live handle of type `T` written by this library through an output
        // pointer, `free` is the function for that type, and the value is dropped only once.
        unsafe { (self.free)(self.ptr) }
    }
}

/// Runs a call that takes an optional `err_out` and checks the promises about it: no panic
/// at the boundary; success writes no error; failure writes an error with the same code and
/// a non-empty UTF-8 message when `err_out` is not NULL.
fn checked(
    err_out: ErrOut,
    call: impl FnOnce(*mut *mut kubepki_error) -> kubepki_result,
) -> kubepki_result {
    let mut err: *mut kubepki_error = ptr::null_mut();
    let err_ptr = match err_out {
        ErrOut::Wanted => &raw mut err,
        ErrOut::Null => ptr::null_mut(),
    };
    let code = call(err_ptr);
    let err = (!err.is_null()).then_some(Owned {
        ptr: err,
        free: kubepki_error_free,
    });
    let message = err.as_ref().map(|e| {
        // SAFETY: `e` is a live error; its message is NUL-terminated and lives as long as it.
        let text = unsafe { CStr::from_ptr(kubepki_error_message(e.get())) };
        text.to_str().expect("an error message is UTF-8").to_owned()
    });
    assert_ne!(
        code,
        kubepki_result::Panic,
        "the library panicked: {message:?}"
    );
    assert!(!static_text(kubepki_result_message(code as u32)).is_empty());
    match (&err, code) {
        (None, kubepki_result::Ok) => {}
        (Some(_), kubepki_result::Ok) => panic!("an error object on success: {message:?}"),
        (None, code) => assert!(
            err_out == ErrOut::Null,
            "failure {code:?} without an error object"
        ),
        (Some(e), code) => {
            // SAFETY: `e` is a live error.
            let err_code = unsafe { kubepki_error_code(e.get()) };
            assert_eq!(err_code, code as u32, "{message:?}");
            assert!(message.is_some_and(|m| !m.is_empty()), "an empty message");
        }
    }
    code
}

/// Runs a call that writes a handle through `out` on success and checks that it does so
/// exactly on success (see [`checked`] for the error).
fn with_out<T>(
    err_out: ErrOut,
    free: unsafe extern "C" fn(*mut T),
    call: impl FnOnce(*mut *mut T, *mut *mut kubepki_error) -> kubepki_result,
) -> (kubepki_result, Option<Owned<T>>) {
    let mut out: *mut T = ptr::null_mut();
    let code = checked(err_out, |err| call(&raw mut out, err));
    let owned = (!out.is_null()).then_some(Owned { ptr: out, free });
    assert_eq!(
        code == kubepki_result::Ok,
        owned.is_some(),
        "{code:?}: an output must be written on success and only then"
    );
    (code, owned)
}

/// Runs a call both with a real and a NULL `err_out` and checks it returns the same result.
fn both_ways<T>(
    free: unsafe extern "C" fn(*mut T),
    call: impl Fn(*mut *mut T, *mut *mut kubepki_error) -> kubepki_result,
) -> (kubepki_result, Option<Owned<T>>) {
    let (code, owned) = with_out(ErrOut::Wanted, free, &call);
    let (again, _) = with_out(ErrOut::Null, free, &call);
    assert_eq!(code, again, "the result depends on err_out");
    (code, owned)
}

/// A static NUL-terminated string from the library.
fn static_text(text: *const c_char) -> &'static str {
    assert!(!text.is_null());
    // SAFETY: not NULL, and the library returns static NUL-terminated strings here.
    unsafe { CStr::from_ptr(text) }
        .to_str()
        .expect("a static text is UTF-8")
}

/// Calls a getter returning `kubepki_bytes` and copies them out; `None` on failure.
fn bytes_of<T>(
    handle: &Owned<T>,
    getter: unsafe extern "C" fn(
        *const T,
        *mut *mut kubepki_bytes,
        *mut *mut kubepki_error,
    ) -> kubepki_result,
) -> Option<Vec<u8>> {
    let (_, bytes) = with_out(ErrOut::Wanted, kubepki_bytes_free, |out, err| {
        // SAFETY: `handle` is live; `out` and `err` point to local storage for one pointer.
        unsafe { getter(handle.get(), out, err) }
    });
    bytes.map(|bytes| {
        // SAFETY: `bytes` is live.
        let (data, len) = unsafe {
            (
                kubepki_bytes_data(bytes.get()),
                kubepki_bytes_len(bytes.get()),
            )
        };
        assert!(!data.is_null());
        // SAFETY: a live kubepki_bytes holds `len` bytes and a NUL at `data`.
        let with_nul = unsafe { std::slice::from_raw_parts(data, len + 1) };
        assert_eq!(with_nul[len], 0, "returned bytes end with NUL");
        with_nul[..len].to_vec()
    })
}

/// Calls a getter returning `kubepki_strings` and reads every item; `None` when a value holds
/// a NUL byte (a parsed subject or SAN may: a C string cannot carry it, so the call refuses
/// with `KUBEPKI_RESULT_INTERIOR_NUL`), the only failure allowed.
fn strings_of<T>(
    handle: &Owned<T>,
    getter: unsafe extern "C" fn(
        *const T,
        *mut *mut kubepki_strings,
        *mut *mut kubepki_error,
    ) -> kubepki_result,
) -> Option<Vec<String>> {
    let (code, list) = with_out(ErrOut::Wanted, kubepki_strings_free, |out, err| {
        // SAFETY: `handle` is live; `out` and `err` point to local storage for one pointer.
        unsafe { getter(handle.get(), out, err) }
    });
    assert!(
        matches!(code, kubepki_result::Ok | kubepki_result::InteriorNul),
        "a list getter failed with {code:?}"
    );
    list.map(|list| {
        // SAFETY: `list` is live.
        let len = unsafe { kubepki_strings_len(list.get()) };
        // SAFETY: `list` is live; an index out of range gives NULL.
        assert!(unsafe { kubepki_strings_get(list.get(), len) }.is_null());
        (0..len)
            .map(|i| {
                // SAFETY: `list` is live and `i` in range.
                let item = unsafe { kubepki_strings_get(list.get(), i) };
                assert!(!item.is_null());
                // SAFETY: an item is NUL-terminated and lives as long as the list.
                let text = unsafe { CStr::from_ptr(item) };
                text.to_string_lossy().into_owned()
            })
            .collect()
    })
}

/// `(pointer, length)` of an optional byte string, NULL for `None`.
fn opt(bytes: Option<&[u8]>) -> (*const u8, usize) {
    bytes.map_or((ptr::null(), 0), |b| (b.as_ptr(), b.len()))
}

/// The first PEM block (through its END line) and the rest; `(data, data)` without one.
fn split_first_pem_block(data: &[u8]) -> (&[u8], &[u8]) {
    const END: &[u8] = b"-----END ";
    let Some(end) = data.windows(END.len()).position(|w| w == END) else {
        return (data, data);
    };
    let after = end + END.len();
    let Some(close) = data[after..].windows(5).position(|w| w == b"-----") else {
        return (data, data);
    };
    data.split_at(after + close + 5)
}

/// Parses a private key (PEM of every kind, or DER), then writes it in every format.
fn keys(data: &[u8]) {
    for (passphrase, err_out) in [(None, ErrOut::Wanted), (Some(PASSPHRASE), ErrOut::Null)] {
        let (pass, pass_len) = opt(passphrase);
        let (_, key) = with_out(err_out, kubepki_key_free, |out, err| {
            // SAFETY: `data` is a live slice of `data.len()` bytes, `pass` is NULL or points
            // to `pass_len` bytes; `out` and `err` are NULL or point to local storage.
            unsafe { kubepki_key_parse(data.as_ptr(), data.len(), pass, pass_len, out, err) }
        });
        if let Some(key) = key {
            use_key(&key);
        }
    }
    with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: a zero length with a live pointer; `out` and `err` point to local storage.
        unsafe { kubepki_key_parse(data.as_ptr(), 0, ptr::null(), 0, out, err) }
    });
}

fn use_key(key: &Owned<kubepki_key>) {
    let _ = static_text(
        // SAFETY: `key` is live.
        unsafe { kubepki_key_algorithm(key.get()) },
    );
    let public = bytes_of(key, kubepki_key_public_pem).expect("every key has a public PEM");
    let pkcs8 = key_pem(key, kubepki_key_format::Pkcs8 as u32).expect("every key has PKCS#8");
    let _ = key_pem(key, kubepki_key_format::Traditional as u32);
    let (code, _) = with_out(ErrOut::Wanted, kubepki_bytes_free, |out, err| {
        // SAFETY: `key` is live; `out` and `err` point to local storage.
        unsafe { kubepki_key_to_pem(key.get(), 7, out, err) }
    });
    assert_eq!(code, kubepki_result::InvalidParameter);
    for (passphrase, expected) in [
        (Some(&b""[..]), kubepki_result::KeyEmptyPassphrase),
        // NULL with length 0 is empty input, as everywhere in the ABI.
        (None, kubepki_result::KeyEmptyPassphrase),
    ] {
        let (pass, pass_len) = opt(passphrase);
        let (code, _) = with_out(ErrOut::Wanted, kubepki_bytes_free, |out, err| {
            // SAFETY: `key` is live, `pass` NULL or `pass_len` bytes; `out`, `err` local.
            unsafe { kubepki_key_to_encrypted_pem(key.get(), pass, pass_len, out, err) }
        });
        assert_eq!(code, expected);
    }
    // What we wrote must load again as the same key.
    let (_, again) = with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: `pkcs8` is a live vector; `out` and `err` point to local storage.
        unsafe { kubepki_key_parse(pkcs8.as_ptr(), pkcs8.len(), ptr::null(), 0, out, err) }
    });
    let again = again.expect("a written key parses");
    assert_eq!(bytes_of(&again, kubepki_key_public_pem), Some(public));
}

fn key_pem(key: &Owned<kubepki_key>, format: u32) -> Option<Vec<u8>> {
    let (_, bytes) = with_out(ErrOut::Wanted, kubepki_bytes_free, |out, err| {
        // SAFETY: `key` is live; `out` and `err` point to local storage.
        unsafe { kubepki_key_to_pem(key.get(), format, out, err) }
    });
    bytes.map(|b| {
        // SAFETY: `b` is live and holds `len` bytes.
        unsafe {
            std::slice::from_raw_parts(kubepki_bytes_data(b.get()), kubepki_bytes_len(b.get()))
        }
        .to_vec()
    })
}

/// Parses a certificate request (PEM or DER, proof of possession checked) and reads it.
fn requests(data: &[u8]) {
    let (_, csr) = both_ways(kubepki_csr_free, |out, err| {
        // SAFETY: `data` is a live slice; `out` and `err` are NULL or point to local storage.
        unsafe { kubepki_csr_parse(data.as_ptr(), data.len(), out, err) }
    });
    with_out(ErrOut::Wanted, kubepki_csr_free, |out, err| {
        // SAFETY: a zero length with a live pointer; `out` and `err` point to local storage.
        unsafe { kubepki_csr_parse(data.as_ptr(), 0, out, err) }
    });
    if let Some(csr) = csr {
        use_csr(&csr);
    }
}

fn use_csr(csr: &Owned<kubepki_csr>) {
    let subject = bytes_of(csr, kubepki_csr_subject).expect("a request has a subject");
    let _ = bytes_of(csr, kubepki_csr_common_name);
    let _ = strings_of(csr, kubepki_csr_groups);
    let sans = strings_of(csr, kubepki_csr_sans);
    let pem = bytes_of(csr, kubepki_csr_to_pem).expect("a request has PEM");
    let (_, again) = with_out(ErrOut::Wanted, kubepki_csr_free, |out, err| {
        // SAFETY: `pem` is a live vector; `out` and `err` point to local storage.
        unsafe { kubepki_csr_parse(pem.as_ptr(), pem.len(), out, err) }
    });
    let again = again.expect("a request's own PEM parses");
    assert_eq!(bytes_of(&again, kubepki_csr_subject), Some(subject));
    assert_eq!(strings_of(&again, kubepki_csr_sans), sans);
}

/// Parses a certificate (the first PEM block, or DER) and reads it.
fn certificates(data: &[u8]) {
    let (_, cert) = both_ways(kubepki_cert_free, |out, err| {
        // SAFETY: `data` is a live slice; `out` and `err` are NULL or point to local storage.
        unsafe { kubepki_cert_parse(data.as_ptr(), data.len(), out, err) }
    });
    with_out(ErrOut::Wanted, kubepki_cert_free, |out, err| {
        // SAFETY: a zero length with a live pointer; `out` and `err` point to local storage.
        unsafe { kubepki_cert_parse(data.as_ptr(), 0, out, err) }
    });
    if let Some(cert) = cert {
        use_cert(&cert);
    }
}

fn use_cert(cert: &Owned<kubepki_cert>) {
    let subject = bytes_of(cert, kubepki_cert_subject).expect("a certificate has a subject");
    let _ = bytes_of(cert, kubepki_cert_issuer).expect("a certificate has an issuer");
    let _ = bytes_of(cert, kubepki_cert_chain_pem).expect("a certificate has a chain");
    let _ = strings_of(cert, kubepki_cert_sans);
    let _ = strings_of(cert, kubepki_cert_usages);
    // SAFETY: `cert` is live.
    let _ = unsafe {
        (
            kubepki_cert_not_before(cert.get()),
            kubepki_cert_not_after(cert.get()),
            kubepki_cert_is_ca(cert.get()),
        )
    };
    let pem = bytes_of(cert, kubepki_cert_pem).expect("a certificate has PEM");
    let (_, again) = with_out(ErrOut::Wanted, kubepki_cert_free, |out, err| {
        // SAFETY: `pem` is a live vector; `out` and `err` point to local storage.
        unsafe { kubepki_cert_parse(pem.as_ptr(), pem.len(), out, err) }
    });
    let again = again.expect("a certificate's own PEM parses");
    assert_eq!(bytes_of(&again, kubepki_cert_subject), Some(subject));
}

/// A profile file, then the profile name, node name, address and CA name.
fn profiles(data: &[u8]) {
    for (yaml, name, err_out) in [
        (data, &b"client"[..], ErrOut::Wanted),
        (data, &b"node"[..], ErrOut::Null),
        (&data[..0], &b"client"[..], ErrOut::Wanted),
        (PROFILES, data, ErrOut::Wanted),
        (PROFILES, &data[..0], ErrOut::Wanted),
    ] {
        with_out(err_out, kubepki_profile_free, |out, err| {
            // SAFETY: `yaml` and `name` are live slices; `out` and `err` are NULL or local.
            unsafe {
                kubepki_profile_from_yaml(
                    yaml.as_ptr(),
                    yaml.len(),
                    name.as_ptr(),
                    name.len(),
                    out,
                    err,
                )
            }
        });
    }
    for (name, node, address) in [
        (data, None, None),
        (&b"kubelet-serving"[..], Some(data), None),
        (&b"apiserver"[..], Some(&b"node-1"[..]), Some(data)),
        (&data[..0], Some(&data[..0]), Some(&data[..0])),
    ] {
        let (node, node_len) = opt(node);
        let (address, address_len) = opt(address);
        with_out(ErrOut::Wanted, kubepki_profile_free, |out, err| {
            // SAFETY: `name` is a live slice, `node` and `address` NULL or their lengths;
            // `out` and `err` point to local storage.
            unsafe {
                kubepki_profile_builtin(
                    name.as_ptr(),
                    name.len(),
                    node,
                    node_len,
                    address,
                    address_len,
                    out,
                    err,
                )
            }
        });
    }
    for cn in [data, &data[..0]] {
        with_out(ErrOut::Wanted, kubepki_profile_free, |out, err| {
            // SAFETY: `cn` is a live slice; `out` and `err` point to local storage.
            unsafe { kubepki_profile_ca(cn.as_ptr(), cn.len(), out, err) }
        });
    }
}

/// A request built from text: the first line is the subject, each further line a SAN (at
/// most [`MAX_SANS`]); a request that builds must parse back.
fn subjects(data: &[u8]) {
    with_out(ErrOut::Wanted, kubepki_csr_builder_free, |out, err| {
        // SAFETY: a zero length with a live pointer; `out` and `err` point to local storage.
        unsafe { kubepki_csr_builder_new(data.as_ptr(), 0, out, err) }
    });
    let mut lines = data.split(|b| *b == b'\n');
    let subject = lines.next().unwrap_or_default();
    let (_, builder) = both_ways(kubepki_csr_builder_free, |out, err| {
        // SAFETY: `subject` is a live slice; `out` and `err` are NULL or point to local storage.
        unsafe { kubepki_csr_builder_new(subject.as_ptr(), subject.len(), out, err) }
    });
    let Some(builder) = builder else {
        return;
    };
    for san in lines.take(MAX_SANS).chain([&data[..0]]) {
        checked(ErrOut::Wanted, |err| {
            // SAFETY: `builder` is live and used by this thread only; `san` is a live slice;
            // `err` points to local storage.
            unsafe { kubepki_csr_builder_add_san(builder.ptr, san.as_ptr(), san.len(), err) }
        });
    }
    let name = b"ECDSA-P256";
    let (_, key) = with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: `name` is a live array; `out` and `err` point to local storage.
        unsafe { kubepki_key_generate(name.as_ptr(), name.len(), out, err) }
    });
    let key = key.expect("a P-256 key generates");
    let build = || {
        with_out(ErrOut::Wanted, kubepki_csr_free, |out, err| {
            // SAFETY: `builder` is live and used by this thread only, `key` is live; `out`
            // and `err` point to local storage.
            unsafe { kubepki_csr_builder_build(builder.ptr, key.get(), out, err) }
        })
    };
    let (_, csr) = build();
    if let Some(csr) = csr {
        use_csr(&csr);
    }
    assert_eq!(build().0, kubepki_result::AlreadyUsed);
    let san = b"DNS:example.com";
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: `builder` is live and used by this thread only; `san` is a live array.
        unsafe { kubepki_csr_builder_add_san(builder.ptr, san.as_ptr(), san.len(), err) }
    });
    assert_eq!(code, kubepki_result::AlreadyUsed);
}

/// A CA certificate and its key: the first PEM block and the rest, then `data` for both with
/// the seeds' passphrase.
fn cas(first: &[u8], rest: &[u8], data: &[u8]) {
    let calls = [
        (first, rest, None, ErrOut::Wanted),
        (data, data, Some(PASSPHRASE), ErrOut::Wanted),
        (&data[..0], rest, None, ErrOut::Wanted),
        (first, &data[..0], None, ErrOut::Null),
    ];
    for (cert, key, passphrase, err_out) in calls {
        let (pass, pass_len) = opt(passphrase);
        let (_, ca) = with_out(err_out, kubepki_ca_free, |out, err| {
            // SAFETY: `cert` and `key` are live slices, `pass` NULL or `pass_len` bytes;
            // `out` and `err` are NULL or point to local storage.
            unsafe {
                kubepki_ca_from_pem(
                    cert.as_ptr(),
                    cert.len(),
                    key.as_ptr(),
                    key.len(),
                    pass,
                    pass_len,
                    out,
                    err,
                )
            }
        });
        if let Some(ca) = ca {
            use_ca(&ca);
        }
    }
}

fn use_ca(ca: &Owned<kubepki_ca>) {
    let pem = bytes_of(ca, kubepki_ca_cert_pem).expect("a CA has a certificate");
    let (_, cert) = with_out(ErrOut::Wanted, kubepki_cert_free, |out, err| {
        // SAFETY: `pem` is a live vector; `out` and `err` point to local storage.
        unsafe { kubepki_cert_parse(pem.as_ptr(), pem.len(), out, err) }
    });
    // SAFETY: `cert` is live.
    let is_ca = unsafe { kubepki_cert_is_ca(cert.expect("a CA's PEM parses").get()) };
    assert!(is_ca, "a loaded CA's certificate says CA:TRUE");
}

/// Chain verification: trust anchors, intermediates, the chain and the expected name.
fn verify(first: &[u8], rest: &[u8], data: &[u8]) {
    let calls = [
        (first, None, rest, kubepki_purpose::Any as u32, None),
        (
            first,
            Some(rest),
            rest,
            kubepki_purpose::ServerAuth as u32,
            Some(data),
        ),
        (data, None, data, kubepki_purpose::ClientAuth as u32, None),
        (first, None, rest, 7, None),
        (&data[..0], None, rest, kubepki_purpose::Any as u32, None),
        (
            first,
            Some(&data[..0]),
            &data[..0],
            kubepki_purpose::Any as u32,
            Some(&data[..0]),
        ),
    ];
    for (i, (anchors, untrusted, chain, purpose, name)) in calls.into_iter().enumerate() {
        let (untrusted, untrusted_len) = opt(untrusted);
        let (name, name_len) = opt(name);
        let call = |err| {
            // SAFETY: `anchors` and `chain` are live slices, `untrusted` and `name` NULL or
            // their lengths; `err` is NULL or points to local storage.
            unsafe {
                kubepki_verify(
                    anchors.as_ptr(),
                    anchors.len(),
                    untrusted,
                    untrusted_len,
                    chain.as_ptr(),
                    chain.len(),
                    purpose,
                    name,
                    name_len,
                    NOW,
                    err,
                )
            }
        };
        let code = checked(ErrOut::Wanted, call);
        if i == 0 {
            assert_eq!(
                code,
                checked(ErrOut::Null, call),
                "the result depends on err_out"
            );
        }
        if purpose == 7 {
            assert_ne!(code, kubepki_result::Ok, "purpose 7 is refused");
        }
    }
}

/// The Kubernetes identity of a client certificate: both outputs on success, neither on
/// failure, the same result with and without `err_out`.
fn identity(first: &[u8], rest: &[u8], data: &[u8]) {
    let calls = [
        (first, None, rest),
        (first, Some(rest), data),
        (data, None, data),
    ];
    for (anchors, untrusted, chain) in calls {
        let (untrusted, untrusted_len) = opt(untrusted);
        let run = |err_out| {
            let mut user: *mut kubepki_bytes = ptr::null_mut();
            let mut groups: *mut kubepki_strings = ptr::null_mut();
            let code = checked(err_out, |err| {
                // SAFETY: `anchors` and `chain` are live slices, `untrusted` NULL or its
                // length; the out pointers and `err` are NULL or point to local storage.
                unsafe {
                    kubepki_kubernetes_identity(
                        anchors.as_ptr(),
                        anchors.len(),
                        untrusted,
                        untrusted_len,
                        chain.as_ptr(),
                        chain.len(),
                        NOW,
                        &raw mut user,
                        &raw mut groups,
                        err,
                    )
                }
            });
            let ok = code == kubepki_result::Ok;
            assert_eq!(ok, !user.is_null(), "{code:?}: user written iff success");
            assert_eq!(
                ok,
                !groups.is_null(),
                "{code:?}: groups written iff success"
            );
            // SAFETY: each is NULL or was just made by the library, and is freed once.
            unsafe {
                kubepki_bytes_free(user);
                kubepki_strings_free(groups);
            }
            code
        };
        assert_eq!(
            run(ErrOut::Wanted),
            run(ErrOut::Null),
            "the result depends on err_out"
        );
    }
}

/// NULL inputs and outputs are refused before any work.
pub(crate) fn null_arguments() {
    let null = kubepki_result::NullParameter;
    let text = b"x";
    let (code, _) = with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: NULL data is allowed; `out` and `err` point to local storage.
        unsafe { kubepki_key_parse(ptr::null(), 5, ptr::null(), 0, out, err) }
    });
    assert_eq!(code, null);
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: a NULL `out` is allowed (refused); `text` is live; `err` is local.
        unsafe { kubepki_key_parse(text.as_ptr(), 1, ptr::null(), 0, ptr::null_mut(), err) }
    });
    assert_eq!(code, null);
    let (code, _) = with_out(ErrOut::Null, kubepki_key_free, |out, err| {
        // SAFETY: NULL name is allowed; `out` is local, `err` NULL.
        unsafe { kubepki_key_generate(ptr::null(), 5, out, err) }
    });
    assert_eq!(code, null);
    let (code, _) = with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: NULL with length 0 is empty input; `out` and `err` are local.
        unsafe { kubepki_key_generate(ptr::null(), 0, out, err) }
    });
    assert_eq!(
        code,
        kubepki_result::KeyUnknownAlgorithm,
        "NULL, 0 is empty input"
    );
    let (code, _) = with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: an empty name with a live pointer; `out` and `err` are local.
        unsafe { kubepki_key_generate(text.as_ptr(), 0, out, err) }
    });
    assert_eq!(code, kubepki_result::KeyUnknownAlgorithm);
    let (code, _) = with_out(ErrOut::Wanted, kubepki_csr_free, |out, err| {
        // SAFETY: NULL data is allowed; `out` and `err` point to local storage.
        unsafe { kubepki_csr_parse(ptr::null(), 5, out, err) }
    });
    assert_eq!(code, null);
    let (code, _) = with_out(ErrOut::Wanted, kubepki_cert_free, |out, err| {
        // SAFETY: NULL data is allowed; `out` and `err` point to local storage.
        unsafe { kubepki_cert_parse(ptr::null(), 5, out, err) }
    });
    assert_eq!(code, null);
    let (code, _) = with_out(ErrOut::Wanted, kubepki_profile_free, |out, err| {
        // SAFETY: NULL yaml is allowed, `text` is live; `out` and `err` are local.
        unsafe { kubepki_profile_from_yaml(ptr::null(), 5, text.as_ptr(), 1, out, err) }
    });
    assert_eq!(code, null);
    let (code, _) = with_out(ErrOut::Wanted, kubepki_profile_free, |out, err| {
        // SAFETY: NULL name is allowed; `out` and `err` are local.
        unsafe { kubepki_profile_ca(ptr::null(), 5, out, err) }
    });
    assert_eq!(code, null);
    let (code, _) = with_out(ErrOut::Wanted, kubepki_csr_builder_free, |out, err| {
        // SAFETY: NULL subject is allowed; `out` and `err` are local.
        unsafe { kubepki_csr_builder_new(ptr::null(), 5, out, err) }
    });
    assert_eq!(code, null);
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: a NULL builder is allowed (refused); `text` is live; `err` is local.
        unsafe { kubepki_csr_builder_add_san(ptr::null_mut(), text.as_ptr(), 1, err) }
    });
    assert_eq!(code, null);
    let (code, _) = with_out(ErrOut::Null, kubepki_ca_free, |out, err| {
        // SAFETY: NULL cert and key are allowed; `out` is local, `err` NULL.
        unsafe { kubepki_ca_from_pem(ptr::null(), 5, ptr::null(), 5, ptr::null(), 0, out, err) }
    });
    assert_eq!(code, null);
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: NULL anchors are allowed, `text` is live; `err` is local.
        unsafe {
            kubepki_verify(
                ptr::null(),
                5,
                ptr::null(),
                0,
                text.as_ptr(),
                1,
                0,
                ptr::null(),
                0,
                NOW,
                err,
            )
        }
    });
    assert_eq!(code, null);
    // SAFETY: every `_free` accepts NULL.
    unsafe {
        kubepki_bytes_free(ptr::null_mut());
        kubepki_strings_free(ptr::null_mut());
        kubepki_error_free(ptr::null_mut());
        kubepki_key_free(ptr::null_mut());
        kubepki_csr_free(ptr::null_mut());
        kubepki_csr_builder_free(ptr::null_mut());
        kubepki_cert_free(ptr::null_mut());
        kubepki_profile_free(ptr::null_mut());
        kubepki_ca_free(ptr::null_mut());
    }
}
