//! Chain verification (root, intermediate, leaf) against the signature checks it cannot avoid.

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kubepki_benches::{Algorithm, Chain, bench_now};
use kubepki_verify::{Cert, VerifyOptions, verify};

fn verify_chain(c: &mut Criterion) {
    for algorithm in Algorithm::ALL {
        let chain = Chain::new(algorithm).expect("chain");
        // The trust store is loaded once; the presented chain is parsed per connection.
        let anchors = [Cert::from_der(&chain.root).expect("root")];
        let options = VerifyOptions::new(bench_now());
        let ours = || {
            let leaf = Cert::from_der(&chain.leaf).expect("leaf");
            let intermediates = [Cert::from_der(&chain.intermediate).expect("intermediate")];
            black_box(verify(&anchors, &intermediates, &leaf, &options).expect("verify"));
        };
        let group_name = format!("verify-{}", algorithm.name());
        let mut group = c.benchmark_group(&group_name);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.bench_function("kubepki", |b| b.iter(ours));
        group.bench_function("primitives", |b| {
            b.iter(|| chain.primitives().expect("primitives"))
        });
        group.bench_function("primitives-root-key-kept", |b| {
            b.iter(|| chain.primitives_root_key_kept().expect("primitives"))
        });
        group.finish();
        if common::measuring() {
            common::print_ratio(&group_name, "kubepki", "primitives", "goal <= 1.15x");
            common::print_ratio(
                &group_name,
                "kubepki",
                "primitives-root-key-kept",
                "like for like: both keep the anchor's decoded key",
            );
            common::interleaved_ratio(
                &group_name,
                ["kubepki", "primitives"],
                101,
                10,
                ours,
                || chain.primitives().expect("primitives"),
            );
            common::interleaved_ratio(
                &group_name,
                ["kubepki", "primitives-root-key-kept"],
                101,
                10,
                ours,
                || chain.primitives_root_key_kept().expect("primitives"),
            );
        }
    }
}

criterion_group!(benches, verify_chain);
criterion_main!(benches);
