//! Issuing with a CA key on a PKCS#11 token (SoftHSM2) against the same key read from a
//! file, in one run; and batch issuing with the token key on one thread against all cores,
//! which only scales if the token's sessions are pooled.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, and setting the environment of a running
//! process is unsound, so this bench makes a token in a temporary folder, imports one CA key
//! of each algorithm into it (`softhsm2-util --import`), and runs its measurements in a child
//! process of itself started with that token's `SOFTHSM2_CONF`. Without SoftHSM2 it prints a
//! loud SKIP and measures nothing.
//!
//! `cargo bench -p kubepki-benches --bench hsm`

// criterion's macros define undocumented public functions.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use kubepki_benches::{Algorithm, bench_now, server_request};
use kubepki_csr::{Csr, Subject};
use kubepki_keys::{KeyFormat, KeyPair};
use kubepki_pkcs11::{OpenOptions, open_signer};
use kubepki_profile::{ClusterParams, Profile, builtin, ca_profile};
use kubepki_sign::{Ca, IssueOptions, issue_batch};

/// Debian's SoftHSM2 module.
const MODULE: &str = kubepki_test_support::SOFTHSM2_MODULE;
/// The token's user PIN.
const PIN: &str = kubepki_test_support::SOFTHSM2_PIN;
/// Set in the child process to the folder holding the CA key files.
const KEYS: &str = "KUBEPKI_BENCH_HSM_KEYS";
/// Set in the child process that measures the token alone (raw `cryptoki`, no kubepki).
const RAW: &str = "KUBEPKI_BENCH_HSM_RAW";
/// Requests per batch.
const REQUESTS: usize = 64;
/// The algorithms measured: the one kubeadm defaults to and the one kubepki recommends.
const ALGORITHMS: [Algorithm; 2] = [Algorithm::P256, Algorithm::Rsa2048];

fn main() -> ExitCode {
    match (std::env::var_os(KEYS), std::env::var_os(RAW)) {
        (Some(_), Some(_)) => token_floor(),
        (Some(keys), None) => measure(Path::new(&keys)),
        (None, _) => run_children_on_a_new_token(),
    }
}

/// The key file of `algorithm` in `keys`, and its label on the token.
fn key_file(keys: &Path, algorithm: Algorithm) -> (PathBuf, String) {
    let label = format!("bench-ca-{}", algorithm.name());
    (keys.join(format!("{label}.pem")), label)
}

/// Makes a token and the CA keys, imports the keys, and runs the measurements in a child,
/// then the token's own floor (when measuring) in another.
fn run_children_on_a_new_token() -> ExitCode {
    let util = Command::new("softhsm2-util").arg("--version").output();
    if util.is_err() || !Path::new(MODULE).exists() {
        eprintln!(
            "SKIP hsm bench: SoftHSM2 (softhsm2-util, {MODULE}) not found; apt-get install softhsm2"
        );
        return ExitCode::SUCCESS;
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let conf = kubepki_test_support::softhsm2_token(dir.path());
    let softhsm = |args: &[&str]| {
        kubepki_test_support::output_ok(
            Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &conf)
                .args(args),
        );
    };
    for (n, algorithm) in ALGORITHMS.into_iter().enumerate() {
        let key = KeyPair::generate(algorithm.key_algorithm()).expect("CA key");
        let (path, label) = key_file(dir.path(), algorithm);
        std::fs::write(
            &path,
            key.to_pem(KeyFormat::Pkcs8).expect("PKCS#8").as_bytes(),
        )
        .expect("key file");
        let id = format!("{:02x}", n + 1);
        let path = path.display().to_string();
        softhsm(&[
            "--import", &path, "--token", "kubepki", "--label", &label, "--id", &id, "--pin", PIN,
        ]);
    }
    let child = |raw: bool| {
        let mut command = Command::new(std::env::current_exe().expect("own path"));
        command
            .env("SOFTHSM2_CONF", &conf)
            .env(KEYS, dir.path())
            .args(std::env::args_os().skip(1));
        if raw {
            command.env(RAW, "1");
        }
        command.status().expect("child bench runs").success()
    };
    if child(false) && (!common::measuring() || child(true)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The token alone, without kubepki: `C_Sign` with the imported keys through `cryptoki`,
/// each thread on a session of its own, on one thread against all cores. What batch
/// issuing with the token key can scale to at best.
fn token_floor() -> ExitCode {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let ctx = Pkcs11::new(MODULE).expect("module loads");
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    let slot = ctx.get_slots_with_token().expect("slots")[0];
    let login = ctx.open_ro_session(slot).expect("session");
    login
        .login(UserType::User, Some(&AuthPin::from(PIN)))
        .expect("login");
    let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    // A TBSCertificate's worth of bytes (what issuing signs), and its SHA-256 for ECDSA.
    let message = vec![0x5a_u8; 400];
    let digest = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&message).to_vec()
    };
    for algorithm in ALGORITHMS {
        let (_, label) = key_file(Path::new(""), algorithm);
        let key = login
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.into_bytes()),
            ])
            .expect("C_FindObjects")[0];
        // Mechanisms hold raw pointers (not Sync): each thread makes its own.
        let rsa = algorithm == Algorithm::Rsa2048;
        let data = if rsa {
            message.as_slice()
        } else {
            digest.as_slice()
        };
        let signs = |threads: usize| {
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        let mechanism = if rsa {
                            Mechanism::Sha256RsaPkcs
                        } else {
                            Mechanism::Ecdsa
                        };
                        let session = ctx.open_ro_session(slot).expect("session");
                        for _ in 0..REQUESTS / threads {
                            black_box(session.sign(&mechanism, key, data).expect("C_Sign"));
                        }
                    });
                }
            });
        };
        common::interleaved_ratio(
            &format!(
                "hsm-floor-{} raw C_Sign x{REQUESTS}, 1 thread over {cores} threads",
                algorithm.name()
            ),
            ["1-thread", "all-cores"],
            21,
            1,
            || signs(1),
            || signs(cores.get()),
        );
    }
    ExitCode::SUCCESS
}

/// One algorithm's CA twice over, the same certificate and key: signing with the key file,
/// and signing on the token.
struct Cas {
    algorithm: Algorithm,
    file: Ca,
    token: Ca,
    profile: Profile,
    options: IssueOptions,
    csr_pem: String,
    requests: Vec<String>,
}

impl Cas {
    fn new(keys: &Path, algorithm: Algorithm) -> Cas {
        let (path, label) = key_file(keys, algorithm);
        let pem = std::fs::read(&path).expect("key file");
        let options = IssueOptions::at(bench_now());
        let file = Ca::self_signed(
            Box::new(KeyPair::from_bytes(&pem, None).expect("key file loads")),
            &Subject::from_parts::<&str>("kubernetes", &[]),
            &ca_profile("ca", "kubernetes"),
            &options,
        )
        .expect("self-signed CA");
        let uri = format!("pkcs11:token=kubepki;object={label};type=private?module-path={MODULE}");
        let signer =
            open_signer(&uri, &OpenOptions::new().fallback_pin(Some(PIN))).expect("token key");
        let token = Ca::from_der(file.certificate_der(), Box::new(signer), Vec::new())
            .expect("the token's key is the file's key");
        let requests = (0..REQUESTS)
            .map(|i| {
                server_request(algorithm.key_algorithm(), &format!("n{i}.example"))
                    .expect("request")
                    .to_pem()
            })
            .collect();
        Cas {
            algorithm,
            csr_pem: server_request(algorithm.key_algorithm(), "bench.example")
                .expect("request")
                .to_pem(),
            profile: builtin("server", &ClusterParams::default()).expect("server profile"),
            file,
            token,
            options,
            requests,
        }
    }

    /// Our whole issuing path with `ca`: PEM request in, PEM certificate out.
    fn issue(&self, ca: &Ca) -> String {
        let csr = Csr::from_pem(&self.csr_pem).expect("request parses");
        ca.issue(&csr, &self.profile, &self.options)
            .expect("issued")
            .pem()
    }

    fn batch(&self, ca: &Ca, threads: NonZeroUsize) {
        let results = issue_batch(ca, &self.requests, &self.profile, &self.options, threads);
        assert!(results.iter().all(Result::is_ok), "{:?}", results.first());
        black_box(results);
    }
}

fn measure(keys: &Path) -> ExitCode {
    let mut c = Criterion::default().configure_from_args();
    let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let all = format!("{cores}-threads");
    for algorithm in ALGORITHMS {
        let cas = Cas::new(keys, algorithm);
        // The token's certificate verifies under the file's CA and the other way round: it
        // is one key.
        assert!(!cas.issue(&cas.token).is_empty());

        let group_name = format!("hsm-issue-{}", cas.algorithm.name());
        let mut group = c.benchmark_group(&group_name);
        group.sample_size(20);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        group.bench_function("file-key", |b| b.iter(|| black_box(cas.issue(&cas.file))));
        group.bench_function("token-key", |b| b.iter(|| black_box(cas.issue(&cas.token))));
        group.finish();

        let batch_name = format!("hsm-batch-{}", cas.algorithm.name());
        let mut group = c.benchmark_group(&batch_name);
        group.throughput(Throughput::Elements(REQUESTS as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(5));
        let token_all = format!("token-key-{all}");
        let file_all = format!("file-key-{all}");
        for (ca, one, many) in [
            (&cas.token, "token-key-1-thread", token_all.as_str()),
            (&cas.file, "file-key-1-thread", file_all.as_str()),
        ] {
            group.bench_function(one, |b| b.iter(|| cas.batch(ca, NonZeroUsize::MIN)));
            group.bench_function(many, |b| b.iter(|| cas.batch(ca, cores)));
        }
        group.finish();

        if common::measuring() {
            report(
                &cas,
                cores,
                &group_name,
                &batch_name,
                [&token_all, &file_all],
            );
        }
    }
    c.final_summary();
    ExitCode::SUCCESS
}

/// The ratios of one algorithm, from criterion's estimates and from interleaved rounds.
/// `all` names the all-cores batch benchmarks, token key first, then file key.
fn report(cas: &Cas, cores: NonZeroUsize, group_name: &str, batch_name: &str, all: [&str; 2]) {
    common::print_ratio(
        group_name,
        "token-key",
        "file-key",
        "the token's cost over the same key in a file",
    );
    common::interleaved_ratio(
        &format!("{group_name} token over file"),
        ["token-key", "file-key"],
        21,
        20,
        || {
            black_box(cas.issue(&cas.token));
        },
        || {
            black_box(cas.issue(&cas.file));
        },
    );
    for ((ca, one), many) in [
        (&cas.token, "token-key-1-thread"),
        (&cas.file, "file-key-1-thread"),
    ]
    .into_iter()
    .zip(all)
    {
        common::print_ratio(
            batch_name,
            one,
            many,
            "speed-up of all cores over one; goal >= 1.8x on 2 cores",
        );
        common::interleaved_ratio(
            &format!("{batch_name} {one} over {many}"),
            [one, many],
            11,
            1,
            || cas.batch(ca, NonZeroUsize::MIN),
            || cas.batch(ca, cores),
        );
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("LOAD {batch_name}: /proc/loadavg {}", load.trim());
    }
}
