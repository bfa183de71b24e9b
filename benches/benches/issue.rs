//! Issuing from a PEM request to a PEM certificate, and reading a request, against the raw
//! RustCrypto primitives they cannot avoid.

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kubepki_benches::{Algorithm, Fixture};

fn fixtures() -> Vec<Fixture> {
    Algorithm::ALL
        .into_iter()
        .map(|alg| Fixture::new(alg).expect("benchmark fixture"))
        .collect()
}

fn issue(c: &mut Criterion) {
    for fixture in fixtures() {
        let group_name = format!("issue-{}", fixture.algorithm.name());
        let mut group = c.benchmark_group(&group_name);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        group.bench_function("kubepki", |b| {
            b.iter(|| black_box(fixture.issue_from_pem().expect("issue")))
        });
        group.bench_function("primitives", |b| {
            b.iter(|| black_box(fixture.primitives().expect("primitives")))
        });
        group.finish();
        if common::measuring() {
            println!("TBS signed by the primitives: {} bytes", fixture.tbs_len());
            common::print_ratio(&group_name, "kubepki", "primitives", "goal <= 1.10x");
            let batch = if fixture.algorithm == Algorithm::Rsa2048 {
                4
            } else {
                10
            };
            common::interleaved_ratio(
                &group_name,
                ["kubepki", "primitives"],
                101,
                batch,
                || {
                    black_box(fixture.issue_from_pem().expect("issue"));
                },
                || {
                    black_box(fixture.primitives().expect("primitives"));
                },
            );
        }
    }
}

fn parse(c: &mut Criterion) {
    for fixture in fixtures() {
        let group_name = format!("csr-parse-{}", fixture.algorithm.name());
        let mut group = c.benchmark_group(&group_name);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.bench_function("kubepki", |b| {
            b.iter(|| black_box(fixture.parse_request().expect("parse")))
        });
        group.bench_function("primitives", |b| {
            b.iter(|| fixture.verify_request().expect("verify"))
        });
        group.finish();
        if common::measuring() {
            common::print_ratio(&group_name, "kubepki", "primitives", "overhead of parsing");
            common::interleaved_ratio(
                &group_name,
                ["kubepki", "primitives"],
                101,
                10,
                || {
                    black_box(fixture.parse_request().expect("parse"));
                },
                || fixture.verify_request().expect("verify"),
            );
        }
    }
}

criterion_group!(benches, issue, parse);
criterion_main!(benches);
