//! The whole kubeadm tree in memory through the C ABI (`kubepki_cluster_generate` +
//! `kubepki_bundle_free`, parameters set once through the C setters) against the Rust call
//! (`kubepki::cluster::generate`), same parameters, same run: ECDSA-P256 (RSA key generation
//! would drown the difference in its own noise), one key-generating thread on both sides.
//! Goal: within 3% of the Rust call.

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]
// Calling the C ABI is the point of this bench; it lives under ffi/ for that reason.
#![allow(unsafe_code)]

#[path = "../../benches/benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::net::IpAddr;
use std::ptr;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use kubepki::KeyAlgorithm;
use kubepki::cluster::{InitOptions, generate};
use kubepki_benches::bench_now;
use kubepki_ffi::{
    kubepki_bundle, kubepki_bundle_free, kubepki_bundle_len, kubepki_cluster_generate,
    kubepki_cluster_params, kubepki_cluster_params_free, kubepki_cluster_params_new,
    kubepki_cluster_params_set_advertise_address, kubepki_cluster_params_set_algorithm,
    kubepki_cluster_params_set_node_name, kubepki_cluster_params_set_threads, kubepki_result,
};

const NODE: &str = "node-1";
const ADDRESS: &str = "10.0.0.5";
const ALGORITHM: &str = "ECDSA-P256";

/// Cluster parameters a C caller holds, set through the C setters.
struct Params(*mut kubepki_cluster_params);

impl Params {
    fn new() -> Self {
        let mut params = ptr::null_mut();
        // SAFETY: `params` is storage for one pointer; a NULL `err_out` is allowed.
        let made = unsafe { kubepki_cluster_params_new(&mut params, ptr::null_mut()) };
        assert_eq!(made, kubepki_result::Ok);
        let params = Params(params);
        type Setter = unsafe extern "C" fn(
            *mut kubepki_cluster_params,
            *const u8,
            usize,
            *mut *mut kubepki_ffi::kubepki_error,
        ) -> kubepki_result;
        let setters: [(Setter, &str); 3] = [
            (kubepki_cluster_params_set_node_name, NODE),
            (kubepki_cluster_params_set_advertise_address, ADDRESS),
            (kubepki_cluster_params_set_algorithm, ALGORITHM),
        ];
        for (setter, value) in setters {
            // SAFETY: the parameters are live and used by this thread only; `value` is a live
            // string of its length; a NULL `err_out` is allowed.
            let set = unsafe { setter(params.0, value.as_ptr(), value.len(), ptr::null_mut()) };
            assert_eq!(set, kubepki_result::Ok, "{value}");
        }
        // SAFETY: as above.
        let set = unsafe { kubepki_cluster_params_set_threads(params.0, 1, ptr::null_mut()) };
        assert_eq!(set, kubepki_result::Ok);
        params
    }

    /// One `kubepki_cluster_generate` and the free of its bundle.
    fn generate(&self, now_unix: i64) {
        let mut bundle: *mut kubepki_bundle = ptr::null_mut();
        // SAFETY: the parameters are live; `bundle` is storage for one pointer; a NULL
        // `err_out` is allowed.
        let result =
            unsafe { kubepki_cluster_generate(self.0, now_unix, &mut bundle, ptr::null_mut()) };
        assert_eq!(
            result,
            kubepki_result::Ok,
            "kubepki_cluster_generate failed"
        );
        // SAFETY: `bundle` was just made by the library.
        black_box(unsafe { kubepki_bundle_len(bundle) });
        // SAFETY: `bundle` was made by the library and is freed once.
        unsafe { kubepki_bundle_free(bundle) };
    }
}

impl Drop for Params {
    fn drop(&mut self) {
        // SAFETY: made by the library, freed once, here.
        unsafe { kubepki_cluster_params_free(self.0) };
    }
}

fn cluster_tree(c: &mut Criterion) {
    let now = bench_now();
    let now_unix = i64::try_from(
        now.duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits");
    let address: IpAddr = ADDRESS.parse().expect("an address");
    let mut options = InitOptions::new("", "", NODE, address);
    options.algorithm = KeyAlgorithm::EcdsaP256;
    options.threads = 1;
    let params = Params::new();

    let rust = || {
        let bundle = generate(&options, now).expect("generate");
        black_box(bundle.files.len());
    };
    let c_abi = || params.generate(now_unix);

    let group_name = "cluster-tree-P-256";
    let mut group = c.benchmark_group(group_name);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("c-abi", |b| b.iter(c_abi));
    group.bench_function("rust", |b| b.iter(rust));
    group.finish();
    if common::measuring() {
        common::print_ratio(group_name, "c-abi", "rust", "goal <= 1.03x");
        common::interleaved_ratio(group_name, ["c-abi", "rust"], 101, 5, c_abi, rust);
    }
}

criterion_group!(benches, cluster_tree);
criterion_main!(benches);
