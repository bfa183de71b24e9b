//! `init` of the whole cluster tree (kubeadm's certificates, keys and kubeconfig files) into
//! an empty folder, against the work it cannot avoid done raw: generate the same number of
//! keys with RustCrypto on the same threads, make the same number of signatures, and write
//! and fsync files of the same sizes on as many threads.

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use kubepki_benches::{Algorithm, Fixture, bench_now, raw_generate};
use kubepki_cluster::{InitOptions, init};
use tempfile::TempDir;

/// Where the trees go: the target folder, on the same disk as a real install (not a tmpfs),
/// so that fsync costs what it costs.
fn scratch() -> TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("scratch folder")
}

fn init_tree(algorithm: Algorithm) -> TempDir {
    let dir = scratch();
    let mut options = InitOptions::new(
        dir.path().join("pki"),
        dir.path(),
        "bench-node",
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    );
    options.algorithm = algorithm.key_algorithm();
    black_box(init(&options, bench_now()).expect("init"));
    dir
}

/// What one `init` produced: how many keys and signatures, and every file's path and size.
struct TreeShape {
    keys: usize,
    signatures: usize,
    files: Vec<(PathBuf, usize)>,
}

impl TreeShape {
    /// Counts a tree: one key per `.key` file and per kubeconfig, one signature per `.crt`
    /// file and per kubeconfig (each embeds a client certificate and its key).
    fn of(root: &Path) -> TreeShape {
        let mut shape = TreeShape {
            keys: 0,
            signatures: 0,
            files: Vec::new(),
        };
        let mut folders = vec![root.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("read tree") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                let name = path.to_string_lossy().into_owned();
                let kubeconfig = name.ends_with(".conf");
                shape.keys += usize::from(name.ends_with(".key") || kubeconfig);
                shape.signatures += usize::from(name.ends_with(".crt") || kubeconfig);
                let size = std::fs::metadata(&path).expect("size").len();
                let relative = path.strip_prefix(root).expect("inside").to_path_buf();
                shape
                    .files
                    .push((relative, usize::try_from(size).expect("small file")));
            }
        }
        shape
    }
}

/// The floor: raw key generation spread over the cores as `init` spreads it, raw signatures
/// over a TBSCertificate of a leaf's size, and the files written and fsynced on up to 8
/// threads as `init` writes them.
fn floor(algorithm: Algorithm, shape: &TreeShape, signer: &Fixture) -> TempDir {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(shape.keys) {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < shape.keys {
                    black_box(raw_generate(algorithm.key_algorithm()).expect("raw key"));
                }
            });
        }
    });
    for _ in 0..shape.signatures {
        black_box(signer.sign_tbs().expect("raw signature"));
    }
    let dir = scratch();
    let contents = vec![b'x'; shape.files.iter().map(|(_, size)| *size).max().unwrap_or(0)];
    for (path, _) in &shape.files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(dir.path().join(parent)).expect("folder");
        }
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..shape.files.len().clamp(1, 8) {
            scope.spawn(|| {
                while let Some((path, size)) = shape.files.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let mut file = std::fs::File::create(dir.path().join(path)).expect("create");
                    file.write_all(&contents[..*size]).expect("write");
                    file.sync_all().expect("fsync");
                }
            });
        }
    });
    dir
}

fn init_bench(c: &mut Criterion) {
    for algorithm in [Algorithm::P256, Algorithm::Rsa2048] {
        let shape = TreeShape::of(init_tree(algorithm).path());
        let signer = Fixture::new(algorithm).expect("fixture");
        let group_name = format!("init-{}", algorithm.name());
        let mut group = c.benchmark_group(&group_name);
        let rounds = if algorithm == Algorithm::Rsa2048 {
            // A second per tree: few samples, each one tree.
            group.sampling_mode(SamplingMode::Flat);
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(20));
            15
        } else {
            group.sample_size(30);
            group.measurement_time(Duration::from_secs(5));
            51
        };
        group.bench_function("kubepki", |b| {
            b.iter_batched(|| (), |()| init_tree(algorithm), BatchSize::PerIteration)
        });
        group.bench_function("primitives", |b| {
            b.iter_batched(
                || (),
                |()| floor(algorithm, &shape, &signer),
                BatchSize::PerIteration,
            )
        });
        group.finish();
        if common::measuring() {
            println!(
                "SHAPE {group_name}: {} keys, {} signatures, {} files",
                shape.keys,
                shape.signatures,
                shape.files.len()
            );
            common::print_ratio(&group_name, "kubepki", "primitives", "no goal: reported");
            common::interleaved_ratio(
                &group_name,
                ["kubepki", "primitives"],
                rounds,
                1,
                || drop(init_tree(algorithm)),
                || drop(floor(algorithm, &shape, &signer)),
            );
        }
    }
}

criterion_group!(benches, init_bench);
criterion_main!(benches);
