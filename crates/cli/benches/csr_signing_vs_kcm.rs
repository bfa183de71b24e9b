//! CSRs signed per second and latency (creation to certificate, approval to certificate) of
//! kube-controller-manager's csrsigning against two leader-elected `kubepki controller
//! cluster` replicas, on one real control plane in one run. Run by
//! `benches/scripts/csr-signing-vs-kcm.sh`; its figures are in BENCHMARKS.md.
//!
//! The control plane, the requests and the replicas are the control-plane tests' own
//! (`crates/cli/tests/control_plane/`), included here so that the benchmark is not a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The included test modules hold helpers that only the tests use.
#![allow(dead_code)]

#[path = "../tests/control_plane/cluster.rs"]
mod cluster;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/control_plane/signer/fixture.rs"]
mod fixture;
#[path = "../tests/control_plane/harness.rs"]
mod harness;
#[path = "../tests/control_plane/setup.rs"]
mod setup;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::service_account_kubeconfig;
use fixture::{Kind, Replica, Request, boot, certificate, lease_holder, openssl_csr, submit};
use harness::{ControlPlane, exclusive};

/// When each request was first seen, and when its certificate was.
type Arrivals = BTreeMap<String, Arrival>;

/// When one request was first seen, seen approved, and seen with its certificate.
#[derive(Clone, Copy)]
struct Arrival {
    created: Instant,
    approved: Option<Instant>,
    issued: Option<Instant>,
}

/// What one signer achieved on one load.
#[derive(Clone, Copy)]
struct Figures {
    /// Requests per second, first creation to last certificate.
    rate: f64,
    /// Creation to certificate, p50 and p99.
    created: (Duration, Duration),
    /// Approval to certificate (the signer's own share), p50 and p99.
    approved: (Duration, Duration),
}

/// p50 and p99 by nearest rank.
fn percentiles(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort();
    let pick = |percent: usize| latencies[(latencies.len() * percent).div_ceil(100).max(1) - 1];
    (pick(50), pick(99))
}

/// One watch of every CSR event, timestamped on arrival: when each request first appeared
/// and when its certificate did.
struct Watch {
    child: std::process::Child,
    seen: Arc<Mutex<Arrivals>>,
}

impl Watch {
    fn start(cp: &ControlPlane) -> Self {
        let mut child = cp
            .command("kubectl")
            .args([
                "--kubeconfig",
                &cp.tree.conf("super-admin.conf").display().to_string(),
            ])
            .args([
                "get",
                "csr",
                "--watch",
                "--output-watch-events",
                "-o",
                "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kubectl get --watch");
        let stdout = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let into = Arc::clone(&seen);
        std::thread::spawn(move || {
            let events = serde_json::Deserializer::from_reader(BufReader::new(stdout))
                .into_iter::<serde_json::Value>();
            for event in events.map_while(Result::ok) {
                let at = Instant::now();
                let object = &event["object"];
                let name = object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let mut seen = into.lock().unwrap();
                let entry = seen.entry(name).or_insert(Arrival {
                    created: at,
                    approved: None,
                    issued: None,
                });
                let approved = object["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Approved"));
                if entry.approved.is_none() && approved {
                    entry.approved = Some(at);
                }
                if entry.issued.is_none() && certificate(object).is_some() {
                    entry.issued = Some(at);
                }
            }
        });
        Watch { child, seen }
    }

    /// The figures over `names`, once all have certificates.
    fn figures(&self, names: &BTreeSet<String>) -> Option<Figures> {
        let seen = self.seen.lock().unwrap();
        let (mut from_creation, mut from_approval) = (Vec::new(), Vec::new());
        let (mut first, mut last) = (None::<Instant>, None::<Instant>);
        for name in names {
            let a = seen.get(name)?;
            let issued = a.issued?;
            from_creation.push(issued - a.created);
            // An approval and its certificate can arrive in one event.
            from_approval.push(issued - a.approved.unwrap_or(issued));
            first = Some(first.map_or(a.created, |f| f.min(a.created)));
            last = Some(last.map_or(issued, |l| l.max(issued)));
        }
        let span = last? - first?;
        Some(Figures {
            rate: names.len() as f64 / span.as_secs_f64(),
            created: percentiles(from_creation),
            approved: percentiles(from_approval),
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kubelet client requests (auto-approved by csrapproving, so that no approval by hand sits
/// in the latency) from `clients` concurrent clients; returns the figures once all are signed.
fn measure(cp: &ControlPlane, dir: &Path, prefix: &str, count: usize, clients: usize) -> Figures {
    let requests: Vec<Request> = (0..count)
        .map(|i| openssl_csr(dir, &format!("{prefix}-{i:03}"), Kind::KubeletClient))
        .collect();
    let names: BTreeSet<String> = requests.iter().map(|r| r.name.clone()).collect();
    let watch = Watch::start(cp);
    std::thread::sleep(Duration::from_secs(1));
    submit(cp, dir, &requests, clients);
    let mut figures = None;
    cp.budget
        .wait_for("every request signed", Duration::from_secs(300), || {
            figures = watch.figures(&names);
            figures
                .map(|_| ())
                .ok_or_else(|| "not all signed yet".to_owned())
        });
    figures.unwrap()
}

/// Where a signer's time goes, from its own metrics: the queue (watch event to the start of
/// the handling) and the work (signing and the status write), each as (sum of seconds,
/// count). kube-controller-manager's csrsigning reports client-go's workqueue metrics
/// under `name="certificate"`; kubepki reports the same two, summed here over its outcomes.
#[derive(Clone, Copy, Default)]
struct Breakdown {
    queue: (f64, f64),
    work: (f64, f64),
}

impl Breakdown {
    /// Sum and count of each `queue`/`work` histogram series named in `page` (a Prometheus
    /// text page), over every series whose labels contain `labels`.
    fn from_page(page: &str, queue: &str, work: &str, labels: &str) -> Self {
        let total = |name: &str, suffix: &str| -> f64 {
            let prefix = format!("{name}_{suffix}{{");
            page.lines()
                .filter(|line| line.starts_with(&prefix) && line.contains(labels))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        Breakdown {
            queue: (total(queue, "sum"), total(queue, "count")),
            work: (total(work, "sum"), total(work, "count")),
        }
    }

    /// kubepki's replicas, summed (the one standing by reports nothing): every handling,
    /// the handlings that issued a certificate, and their signing and status-write times (as
    /// a third pair: the signing in `queue`'s place, the write in `work`'s).
    fn kubepki(replicas: &(Replica, Replica)) -> (Self, Self, Self) {
        let page = |r: &Replica| String::from_utf8_lossy(&r.get("/metrics").stdout).into_owned();
        let both = format!("{}\n{}", page(&replicas.0), page(&replicas.1));
        let of = |labels: &str| {
            Self::from_page(
                &both,
                "kubepki_csr_queue_duration_seconds",
                "kubepki_csr_work_duration_seconds",
                labels,
            )
        };
        // The two unlabelled histograms, read as a (signing, write) pair.
        let mut unlabelled = both.clone();
        for name in [
            "kubepki_csr_signing_duration_seconds",
            "kubepki_csr_status_write_duration_seconds",
        ] {
            for suffix in ["sum", "count"] {
                unlabelled = unlabelled.replace(
                    &format!("{name}_{suffix} "),
                    &format!("{name}_{suffix}{{}} "),
                );
            }
        }
        let signing_and_write = Self::from_page(
            &unlabelled,
            "kubepki_csr_signing_duration_seconds",
            "kubepki_csr_status_write_duration_seconds",
            "",
        );
        (of("outcome="), of("outcome=\"issued\""), signing_and_write)
    }

    /// kube-controller-manager's csrsigning queue, read with the super-admin's certificate.
    fn kcm(cp: &ControlPlane, dir: &Path) -> Self {
        let (cert, key) = super_admin_pair(cp, dir);
        let out = std::process::Command::new("curl")
            .args(["-sS", "-k", "-m", "10", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg(format!(
                "https://127.0.0.1:{}/metrics",
                cp.ports.controller_manager
            ))
            .output()
            .expect("run curl");
        Self::from_page(
            &String::from_utf8_lossy(&out.stdout),
            "workqueue_queue_duration_seconds",
            "workqueue_work_duration_seconds",
            "name=\"certificate\"",
        )
    }

    /// Mean queue and work time per handling between `self` (before) and `after`, in ms,
    /// and the number of handlings.
    fn means(self, after: Self) -> (f64, f64, f64) {
        let mean = |a: (f64, f64), b: (f64, f64)| {
            let n = b.1 - a.1;
            if n > 0.0 {
                (b.0 - a.0) / n * 1e3
            } else {
                f64::NAN
            }
        };
        (
            mean(self.queue, after.queue),
            mean(self.work, after.work),
            after.work.1 - self.work.1,
        )
    }
}

/// The API server's own time for the `PUT .../certificatesigningrequests/NAME/status` it
/// served (`apiserver_request_duration_seconds`), as (sum of seconds, count): who wrote them
/// does not matter, since one signer runs at a time.
fn apiserver_status_writes(cp: &ControlPlane) -> (f64, f64) {
    let out = cp.kubectl("super-admin.conf", &["get", "--raw", "/metrics"]);
    let page = String::from_utf8_lossy(&out.stdout);
    let total = |suffix: &str| -> f64 {
        let prefix = format!("apiserver_request_duration_seconds_{suffix}{{");
        page.lines()
            .filter(|line| {
                line.starts_with(&prefix)
                    && line.contains("resource=\"certificatesigningrequests\"")
                    && line.contains("subresource=\"status\"")
                    && line.contains("verb=\"PUT\"")
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    (total("sum"), total("count"))
}

/// The API server's flow-control wait (API Priority and Fairness, before a request runs and
/// outside `apiserver_request_duration_seconds`), by flow schema and priority level, as
/// (sum of seconds, count) of `apiserver_flowcontrol_request_wait_duration_seconds`.
fn flow_control_waits(cp: &ControlPlane) -> BTreeMap<String, (f64, f64)> {
    let out = cp.kubectl("super-admin.conf", &["get", "--raw", "/metrics"]);
    let page = String::from_utf8_lossy(&out.stdout);
    let mut waits: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in page.lines() {
        let Some(rest) = line.strip_prefix("apiserver_flowcontrol_request_wait_duration_seconds_")
        else {
            continue;
        };
        let (field, rest) = rest.split_once('{').unwrap_or_default();
        let (labels, value) = rest.rsplit_once("} ").unwrap_or_default();
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        let key = format!("{} ({})", label("flow_schema"), label("priority_level"));
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let entry = waits.entry(key).or_default();
        match field {
            "sum" => entry.0 += value,
            "count" => entry.1 += value,
            _ => {}
        }
    }
    waits
}

/// The super-admin's client certificate and key, from `super-admin.conf`, as files for curl.
fn super_admin_pair(cp: &ControlPlane, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use base64ct::{Base64, Encoding};
    let conf = std::fs::read_to_string(cp.tree.conf("super-admin.conf")).unwrap();
    let field = |name: &str| {
        let line = conf
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("super-admin.conf has no {name}"));
        Base64::decode_vec(line.trim()).unwrap()
    };
    let cert = dir.join("super-admin.crt");
    let key = dir.join("super-admin.key");
    std::fs::write(&cert, field("client-certificate-data:")).unwrap();
    std::fs::write(&key, field("client-key-data:")).unwrap();
    (cert, key)
}

/// The benchmark of BENCHMARKS.md: kube-controller-manager's csrsigning, then two
/// `kubepki controller` replicas, on one control plane in one run, same CA (ECDSA P-256),
/// same load, same approver (csrapproving), kube-controller-manager's client rate limit
/// raised so that it measures signing and not its 20 QPS default.
///
/// `bash benches/scripts/csr-signing-vs-kcm.sh [N]` runs it (`cargo bench -p kubepki-cli
/// --bench csr_signing_vs_kcm` with `KUBEPKI_BENCH_CSRS=N`).
fn main() {
    // `cargo bench --workspace` reaches this too: a whole control plane boots only when the
    // script asks for it.
    if std::env::var_os("KUBEPKI_BENCH_CSRS").is_none() {
        eprintln!("not measured: run benches/scripts/csr-signing-vs-kcm.sh");
        return;
    }
    let _machine = exclusive();
    let count: usize = std::env::var("KUBEPKI_BENCH_CSRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let clients = 20;
    let Some((dir, mut cp)) = boot("*,bootstrapsigner,tokencleaner") else {
        return;
    };
    let dir = dir.path();
    // Both signers get the same client budget.
    cp.kcm_qps = (1000, 1000);
    let conf = service_account_kubeconfig(&cp, dir);
    // Rounds in ABBA order, so that a drift of the machine or of etcd's size over the run
    // weighs on both alike. csrapproving approves in every round; kubepki's own policies
    // stay off.
    let mut rounds: Vec<(&str, Figures)> = Vec::new();
    let mut replicas: Option<(Replica, Replica)> = None;
    let mut breakdowns = Vec::new();
    let mut issued = Vec::new();
    let mut server = Vec::new();
    let mut waits = Vec::new();
    for (round, who) in ["kcm", "kubepki", "kubepki", "kcm"].into_iter().enumerate() {
        let ours = who == "kubepki";
        if ours && replicas.is_none() {
            cp.controllers = "*,-csrsigning,bootstrapsigner,tokencleaner".to_owned();
            cp.stop_controller_manager();
            cp.start_controller_manager();
            let a = Replica::start(&cp, dir, "replica-a", &conf, false);
            let b = Replica::start(&cp, dir, "replica-b", &conf, false);
            cp.budget
                .wait_for("a replica to lead", Duration::from_secs(60), || {
                    let holder = lease_holder(&cp);
                    if holder.starts_with("replica-") {
                        Ok(())
                    } else {
                        Err(format!("lease held by {holder:?}"))
                    }
                });
            replicas = Some((a, b));
        }
        if !ours && (round == 0 || replicas.is_some()) {
            // SIGTERM: the replicas release the lease and stop; csrsigning signs again.
            replicas = None;
            cp.controllers = "*,bootstrapsigner,tokencleaner".to_owned();
            cp.stop_controller_manager();
            cp.start_controller_manager();
        }
        let scrape = || match &replicas {
            Some(pair) if ours => Breakdown::kubepki(pair),
            _ => (
                Breakdown::kcm(&cp, dir),
                Breakdown::default(),
                Breakdown::default(),
            ),
        };
        let before = scrape();
        let server_before = apiserver_status_writes(&cp);
        let waits_before = flow_control_waits(&cp);
        let figures = measure(&cp, dir, &format!("{who}-{round}"), count, clients);
        let after = scrape();
        let server_after = apiserver_status_writes(&cp);
        for (schema, (sum, n)) in flow_control_waits(&cp) {
            let (sum_before, n_before) = waits_before.get(&schema).copied().unwrap_or_default();
            if n > n_before {
                let mean = (sum - sum_before) / (n - n_before) * 1e3;
                waits.push((round + 1, schema, n - n_before, mean));
            }
        }
        server.push((
            (server_after.0 - server_before.0) / (server_after.1 - server_before.1) * 1e3,
            server_after.1 - server_before.1,
        ));
        breakdowns.push(before.0.means(after.0));
        if ours {
            let (queue, work, n) = before.1.means(after.1);
            let (signing, write, _) = before.2.means(after.2);
            issued.push((round + 1, queue, work, signing, write, n));
        }
        rounds.push((who, figures));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "\n| round | signer | CSRs | clients | CSRs/s | create→certificate p50 / p99 | approved→certificate p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (round, (who, f)) in rounds.iter().enumerate() {
        let who = if *who == "kcm" {
            "kube-controller-manager csrsigning"
        } else {
            "kubepki controller (2 replicas, leader-elected)"
        };
        println!(
            "| {} | {who} | {count} | {clients} | {:.1} | {:.0} / {:.0} ms | {:.1} / {:.0} ms |",
            round + 1,
            f.rate,
            ms(f.created.0),
            ms(f.created.1),
            ms(f.approved.0),
            ms(f.approved.1)
        );
    }
    println!(
        "\nWhere the signer's time goes, from its own metrics (client-go's workqueue queue and work durations for kube-controller-manager, kubepki's for kubepki), every handling of a request counted:"
    );
    println!(
        "\n| round | signer | handlings | mean queue (event → start) | mean work (sign + status write) | status PUTs served | API server's mean time per status PUT |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (round, (((who, _), (queue, work, n)), (put, puts))) in
        rounds.iter().zip(&breakdowns).zip(&server).enumerate()
    {
        println!(
            "| {} | {who} | {n:.0} | {queue:.2} ms | {work:.2} ms | {puts:.0} | {put:.2} ms |",
            round + 1
        );
    }
    println!("\nkubepki, the handlings that issued a certificate:");
    println!(
        "\n| round | handlings | mean queue | mean work | of which signing (off the async workers) | of which the status write |"
    );
    println!("|---|---|---|---|---|---|");
    for (round, queue, work, signing, write, n) in &issued {
        println!(
            "| {round} | {n:.0} | {queue:.2} ms | {work:.2} ms | {signing:.2} ms | {write:.2} ms |"
        );
    }
    println!("\nThe API server's flow-control wait (before a request runs), by flow schema:");
    println!("\n| round | flow schema (priority level) | requests | mean wait |");
    println!("|---|---|---|---|");
    for (round, schema, n, mean) in &waits {
        println!("| {round} | {schema} | {n:.0} | {mean:.3} ms |");
    }
    let rate = |who: &str| {
        rounds
            .iter()
            .filter(|(w, _)| *w == who)
            .map(|(_, f)| f.rate)
            .sum::<f64>()
    };
    let p50 = |who: &str| {
        rounds
            .iter()
            .filter(|(w, _)| *w == who)
            .map(|(_, f)| ms(f.approved.0))
            .sum::<f64>()
            / 2.0
    };
    println!(
        "\nratio (kubepki / kcm): {:.2}x CSRs/s over both rounds each; approved→certificate p50, mean of rounds: kcm {:.1} ms, kubepki {:.1} ms",
        rate("kubepki") / rate("kcm"),
        p50("kcm"),
        p50("kubepki")
    );
}
