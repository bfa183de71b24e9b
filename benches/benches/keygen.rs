//! Key generation per algorithm: `KeyPair::generate` against RustCrypto's generators.

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use kubepki_benches::raw_generate;
use kubepki_keys::{KeyAlgorithm, KeyPair};

/// RSA generation time is a random search for primes: time single keys to show the spread.
fn per_key_spread(algorithm: KeyAlgorithm) {
    const KEYS: usize = 40;
    let mut times: Vec<f64> = (0..KEYS)
        .map(|_| {
            let start = Instant::now();
            black_box(KeyPair::generate(algorithm).expect("generate"));
            start.elapsed().as_secs_f64() * 1e9
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "PER-KEY {algorithm} over {KEYS} keys: min {}, p10 {}, median {}, p90 {}, max {}",
        common::human(times[0]),
        common::human(times[KEYS / 10]),
        common::human(times[KEYS / 2]),
        common::human(times[KEYS * 9 / 10]),
        common::human(times[KEYS - 1]),
    );
}

fn keygen(c: &mut Criterion) {
    for algorithm in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Rsa2048,
    ] {
        let group_name = format!("keygen-{algorithm}");
        let mut group = c.benchmark_group(&group_name);
        if algorithm.rsa_bits().is_some() {
            // RSA generation is a random search for primes: few, slow, widely spread samples.
            group.sampling_mode(SamplingMode::Flat);
            group.sample_size(20);
            group.warm_up_time(Duration::from_secs(1));
            group.measurement_time(Duration::from_secs(15));
        } else {
            group.warm_up_time(Duration::from_secs(1));
            group.measurement_time(Duration::from_secs(3));
        }
        group.bench_function("kubepki", |b| {
            b.iter(|| black_box(KeyPair::generate(algorithm).expect("generate")))
        });
        group.bench_function("primitives", |b| {
            b.iter(|| black_box(raw_generate(algorithm).expect("raw key")))
        });
        group.finish();
        if common::measuring() {
            common::print_ratio(
                &group_name,
                "kubepki",
                "primitives",
                "public key encoding on top",
            );
            if algorithm.rsa_bits().is_some() {
                per_key_spread(algorithm);
            }
            for id in ["kubepki", "primitives"] {
                if let Some((min, max)) = common::spread(&group_name, id) {
                    println!(
                        "SPREAD {group_name}/{id}: fastest sample {} per key, slowest {}",
                        common::human(min),
                        common::human(max)
                    );
                }
            }
        }
    }
}

criterion_group!(benches, keygen);
criterion_main!(benches);
