//! Batch issuing: `issue_batch` on one thread against all cores.

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubepki_benches::{Algorithm, Fixture, server_request};
use kubepki_sign::issue_batch;

const REQUESTS: usize = 64;

fn batch(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    for algorithm in [Algorithm::P256, Algorithm::Rsa2048] {
        let fixture = Fixture::new(algorithm).expect("fixture");
        let requests: Vec<String> = (0..REQUESTS)
            .map(|i| {
                server_request(algorithm.key_algorithm(), &format!("n{i}.example"))
                    .expect("request")
                    .to_pem()
            })
            .collect();
        let group_name = format!("batch-{}", algorithm.name());
        let mut group = c.benchmark_group(&group_name);
        group.throughput(Throughput::Elements(REQUESTS as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(5));
        let all = format!("{cores}-threads");
        for (id, threads) in [("1-thread", NonZeroUsize::MIN), (all.as_str(), cores)] {
            group.bench_function(id, |b| {
                b.iter(|| {
                    let results = issue_batch(
                        &fixture.ca,
                        &requests,
                        &fixture.profile,
                        &fixture.options,
                        threads,
                    );
                    assert!(results.iter().all(Result::is_ok));
                    black_box(results)
                })
            });
        }
        group.finish();
        if common::measuring() {
            let run = |threads| {
                let results = issue_batch(
                    &fixture.ca,
                    &requests,
                    &fixture.profile,
                    &fixture.options,
                    threads,
                );
                assert!(results.iter().all(Result::is_ok));
                black_box(results);
            };
            // Interleaved rounds: the ratio of one thread over all cores, each round timed
            // back to back, so other load on a shared machine weighs on both alike.
            common::interleaved_ratio(
                &format!("{group_name} 1-thread over {all}"),
                ["1-thread", &all],
                21,
                1,
                || run(NonZeroUsize::MIN),
                || run(cores),
            );
            if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
                println!("LOAD {group_name}: /proc/loadavg {}", load.trim());
            }
            common::print_ratio(
                &group_name,
                "1-thread",
                &all,
                "speed-up of all cores over one; goal >= 1.8x on 2 cores",
            );
        }
    }
}

criterion_group!(benches, batch);
criterion_main!(benches);
