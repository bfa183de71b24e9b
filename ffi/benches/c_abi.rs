//! One issue call through the C ABI (`kubepki_ca_issue` + `kubepki_cert_free`) against the
//! same work done by the Rust API: issue, then the certificate's PEM, chain PEM and parsed
//! info, which is what a `kubepki_cert` holds. CA, request and profile are handles made once,
//! as an installer or a signing service keeps them. Goal: within 3% of the Rust call.

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]
// Calling the C ABI is the point of this bench; it lives under ffi/ for that reason.
#![allow(unsafe_code)]

#[path = "../../benches/benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::ptr;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use kubepki::profile::{ClusterParams, builtin, ca_profile};
use kubepki::{Ca, Csr, IssueOptions, KeyAlgorithm, KeyFormat, KeyPair, Subject};
use kubepki_benches::{bench_now, server_request};
use kubepki_ffi::{
    kubepki_ca, kubepki_ca_free, kubepki_ca_from_pem, kubepki_ca_issue, kubepki_cert,
    kubepki_cert_free, kubepki_csr, kubepki_csr_free, kubepki_csr_parse, kubepki_profile,
    kubepki_profile_builtin, kubepki_profile_free, kubepki_result,
};

/// The handles a C caller holds, made through the C ABI from the same PEM as the Rust side.
struct Handles {
    ca: *mut kubepki_ca,
    csr: *mut kubepki_csr,
    profile: *mut kubepki_profile,
}

impl Handles {
    fn new(ca_cert_pem: &str, ca_key_pem: &str, csr_pem: &str) -> Self {
        let mut handles = Handles {
            ca: ptr::null_mut(),
            csr: ptr::null_mut(),
            profile: ptr::null_mut(),
        };
        let name = "server";
        // SAFETY: every pointer/length pair comes from a live Rust string; the out pointers
        // point to fields of `handles`; a NULL `err_out` is allowed.
        let results = unsafe {
            [
                kubepki_ca_from_pem(
                    ca_cert_pem.as_ptr(),
                    ca_cert_pem.len(),
                    ca_key_pem.as_ptr(),
                    ca_key_pem.len(),
                    ptr::null(),
                    0,
                    &mut handles.ca,
                    ptr::null_mut(),
                ),
                kubepki_csr_parse(
                    csr_pem.as_ptr(),
                    csr_pem.len(),
                    &mut handles.csr,
                    ptr::null_mut(),
                ),
                kubepki_profile_builtin(
                    name.as_ptr(),
                    name.len(),
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    &mut handles.profile,
                    ptr::null_mut(),
                ),
            ]
        };
        assert!(
            results.iter().all(|r| *r == kubepki_result::Ok),
            "C ABI setup failed: {results:?}"
        );
        handles
    }

    /// One `kubepki_ca_issue` call and the free of its certificate.
    fn issue(&self, now_unix: i64) {
        let mut cert: *mut kubepki_cert = ptr::null_mut();
        // SAFETY: the handles are live (made in `new`, freed in `drop`); `cert` is storage
        // for one pointer; a NULL `err_out` is allowed.
        let result = unsafe {
            kubepki_ca_issue(
                self.ca,
                self.csr,
                self.profile,
                0,
                now_unix,
                &mut cert,
                ptr::null_mut(),
            )
        };
        assert_eq!(result, kubepki_result::Ok, "kubepki_ca_issue failed");
        black_box(cert);
        // SAFETY: `cert` was just made by the library and is freed once.
        unsafe { kubepki_cert_free(cert) };
    }
}

impl Drop for Handles {
    fn drop(&mut self) {
        // SAFETY: each handle was made by the library and is freed once, here.
        unsafe {
            kubepki_ca_free(self.ca);
            kubepki_csr_free(self.csr);
            kubepki_profile_free(self.profile);
        }
    }
}

fn c_abi_issue(c: &mut Criterion) {
    let now = bench_now();
    let now_unix = i64::try_from(
        now.duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits");
    let options = IssueOptions::at(now);

    let ca_key = KeyPair::generate(KeyAlgorithm::EcdsaP256).expect("CA key");
    let ca_key_pem = ca_key.to_pem(KeyFormat::Pkcs8).expect("CA key PEM");
    let ca = Ca::self_signed(
        Box::new(ca_key),
        &Subject::from_parts::<&str>("kubernetes", &[]),
        &ca_profile("ca", "kubernetes"),
        &options,
    )
    .expect("CA");
    let profile = builtin("server", &ClusterParams::default()).expect("server profile");
    let csr_pem = server_request(KeyAlgorithm::EcdsaP256, "bench.example")
        .expect("request")
        .to_pem();
    let csr = Csr::from_pem(&csr_pem).expect("parsed request");
    let handles = Handles::new(&ca.certificate_pem(), ca_key_pem.as_str(), &csr_pem);

    let rust = || {
        let issued = ca.issue(&csr, &profile, &options).expect("issue");
        black_box((
            issued.pem(),
            issued.chain_pem(),
            issued.info().expect("info"),
        ));
    };
    let c_abi = || handles.issue(now_unix);

    let group_name = "c-abi-issue-P-256";
    let mut group = c.benchmark_group(group_name);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("c-abi", |b| b.iter(c_abi));
    group.bench_function("rust", |b| b.iter(rust));
    group.finish();
    if common::measuring() {
        common::print_ratio(group_name, "c-abi", "rust", "goal <= 1.03x");
        common::interleaved_ratio(group_name, ["c-abi", "rust"], 101, 20, c_abi, rust);
    }
}

criterion_group!(benches, c_abi_issue);
criterion_main!(benches);
