//! `kubepki ca rotate` of `all` on a highly available control plane that keeps serving:
//! three etcd members, two kube-apiservers behind a load balancer (kubeadm's
//! `--control-plane-endpoint`) and kube-controller-manager. A load of authenticated
//! requests runs from before `start` to after `finish` (`load/`, Go's crypto/x509 and
//! net/http, a new TLS connection and the credential files read again for every request):
//! - `admin.conf` as it was before the rotation, and the tree's `admin.conf` as each phase
//!   rewrites it;
//! - a ServiceAccount token issued before the rotation, trusting the CA as it was then;
//! - front-proxy requests (`X-Remote-User`), with the tree's front-proxy client and with the
//!   one from before the rotation;
//! - etcd's `/health` with the tree's healthcheck client and with the one from before.
//!
//! The load's client does what the clients of an HA control plane do, and counts it: it
//! sends each request to a server that its `/readyz` check last saw ready (kubeadm's load
//! balancer health-checks the API servers), tries the next server when one refuses the
//! connection or answers 503 (etcd electing a leader while a member restarts), and tries the
//! round again after 250 ms, at most four rounds. A certificate or token refused, or any
//! other answer, is a failure at once.
//!
//! Each phase is first killed with SIGKILL at a random moment 20 times while the load runs,
//! then run to its end; every instance is then restarted one at a time, in the plan's order,
//! with the plan's flags, and kube-controller-manager signs a CSR with the phase's CA. At the
//! end every failed request is listed: only those of the old-CA client certificates and the
//! old-key token after finish began are allowed (the plan says they must fail), and those
//! must have failed by the end, at kube-apiserver and at etcd.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::balancer::Balancer;
use crate::common::{kubepki, succeeded};
use crate::harness::{
    Budget, ControlPlane, EtcdMember, Ports, Process, exclusive, free_port, passed, peers,
};
use crate::kubeadm::{kubeadm_config, run, same_expiration_report};
use crate::rotate::{issued_by, rotate, signed_by_kcm};
use crate::{NODE, kubepki_init};

/// Requests per second of each load stream (the issue asks for at least 5).
const RATE: f64 = 6.0;
/// The least rate each stream must have kept.
const MIN_RATE: f64 = 5.0;
/// SIGKILLs of each phase at a random moment before the run that completes it.
const KILLS_PER_PHASE: usize = 20;
/// The streams whose failures after finish began are planned: old-CA client certificates
/// and the old-key token.
const PLANNED_AFTER_FINISH: [&str; 4] = [
    "admin-before",
    "token-before",
    "front-proxy-before",
    "etcd-health-before",
];

/// Three etcd members, two API servers behind a balancer, kube-controller-manager.
struct Ha {
    cp: ControlPlane,
    members: Vec<EtcdMember>,
    etcd: Vec<Option<Process>>,
    apiserver_ports: Vec<u16>,
    apiservers: Vec<Option<Process>>,
    /// Starts of each program, to name its log files apart.
    starts: usize,
    _balancer: Balancer,
}

impl Ha {
    fn start(cp: ControlPlane, balancer: Balancer, apiserver_ports: Vec<u16>) -> Self {
        let members: Vec<EtcdMember> = (0..3)
            .map(|i| EtcdMember::pick(&format!("etcd-{i}")))
            .collect();
        let mut ha = Ha {
            cp,
            etcd: members.iter().map(|_| None).collect(),
            apiservers: apiserver_ports.iter().map(|_| None).collect(),
            members,
            apiserver_ports,
            starts: 0,
            _balancer: balancer,
        };
        // The members find each other before any is healthy.
        for i in 0..ha.members.len() {
            ha.spawn_etcd(i);
        }
        for i in 0..ha.members.len() {
            ha.wait_etcd(i);
        }
        for i in 0..ha.apiserver_ports.len() {
            ha.restart_apiserver(i);
        }
        ha.cp.start_controller_manager();
        ha
    }

    fn log(&mut self, name: &str) -> PathBuf {
        self.starts += 1;
        self.cp.log(&format!("{name}-{}", self.starts))
    }

    fn spawn_etcd(&mut self, i: usize) {
        let cluster: Vec<String> = self
            .members
            .iter()
            .map(EtcdMember::initial_cluster_entry)
            .collect();
        let command =
            self.cp
                .etcd_command(&self.members[i], &cluster.join(","), &format!("etcd-{i}"));
        let log = self.log(&format!("etcd-{i}"));
        self.etcd[i] = Some(Process::spawn("etcd", command, log));
    }

    fn wait_etcd(&mut self, i: usize) {
        let url = self.members[i].client_url();
        let budget = self.cp.budget;
        budget.wait_for(
            &format!("etcd member {i} to be healthy"),
            Duration::from_secs(60),
            || {
                self.etcd[i].as_mut().map(Process::assert_running);
                let out = self.cp.etcdctl(
                    &url,
                    "etcd/healthcheck-client.crt",
                    "etcd/healthcheck-client.key",
                    &["endpoint", "health"],
                );
                passed(&out, |_| true)
            },
        );
    }

    /// Stops member `i` (SIGTERM, as the kubelet stops a static pod) and starts it again.
    fn restart_etcd(&mut self, i: usize) {
        self.etcd[i] = None;
        self.spawn_etcd(i);
        self.wait_etcd(i);
    }

    /// Stops API server `i` (if it runs) and starts it; waits for its own `/readyz`.
    fn restart_apiserver(&mut self, i: usize) {
        self.apiservers[i] = None;
        let etcd: Vec<String> = self.members.iter().map(EtcdMember::client_url).collect();
        let command = self
            .cp
            .apiserver_command(self.apiserver_ports[i], &etcd.join(","));
        let log = self.log(&format!("kube-apiserver-{i}"));
        self.apiservers[i] = Some(Process::spawn("kube-apiserver", command, log));
        let server = format!("https://127.0.0.1:{}", self.apiserver_ports[i]);
        let conf = self.cp.tree.conf("super-admin.conf").display().to_string();
        let budget = self.cp.budget;
        budget.wait_for(
            &format!("kube-apiserver {i} /readyz"),
            Duration::from_secs(120),
            || {
                self.apiservers[i].as_mut().map(Process::assert_running);
                let out = self
                    .cp
                    .kubectl_with(&["--kubeconfig", &conf, "--server", &server])(
                    &["get", "--raw=/readyz"],
                );
                passed(&out, |o| o == "ok")
            },
        );
    }

    /// Restarts every instance of the plan's components one at a time, in its order, with
    /// its flags; returns what it did, for the record.
    fn roll(&mut self, report: &serde_json::Value) -> Vec<String> {
        let mut done = Vec::new();
        for step in report["plan"]["steps"].as_array().unwrap() {
            let component = step["component"].as_str().unwrap();
            for flag in step["flags"].as_array().unwrap() {
                match (component, flag["flag"].as_str().unwrap()) {
                    ("kube-controller-manager", "--cluster-signing-cert-file") => {
                        self.cp.signing_cert = Some(flag["value"].as_str().unwrap().to_owned());
                    }
                    other => panic!("the plan changes a flag this test does not apply: {other:?}"),
                }
            }
            let started = Instant::now();
            match component {
                "etcd" => (0..self.members.len()).for_each(|i| self.restart_etcd(i)),
                "kube-apiserver" => {
                    (0..self.apiserver_ports.len()).for_each(|i| self.restart_apiserver(i));
                }
                "kube-controller-manager" => {
                    self.cp.stop_controller_manager();
                    self.cp.start_controller_manager();
                }
                // Not run by this test: the plan's steps for them are printed only.
                "kube-scheduler" | "kubelet" => {
                    done.push(format!("{component}: not run here"));
                    continue;
                }
                other => panic!("the plan names a component this test does not run: {other}"),
            }
            done.push(format!(
                "{component}: restarted in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
        }
        done
    }
}

impl Drop for Ha {
    fn drop(&mut self) {
        self.cp.stop_controller_manager();
        self.apiservers.iter_mut().for_each(|a| *a = None);
        self.etcd.iter_mut().for_each(|e| *e = None);
    }
}

/// The load generator (`load/`), built once with Go's caches under the test target folder.
struct Load {
    child: Child,
}

/// What one stream saw, as the load generator reports it.
#[derive(serde::Deserialize, Debug)]
struct StreamResult {
    name: String,
    ok: u64,
    failed: u64,
    failovers: u64,
    first_ms: u64,
    last_ms: u64,
    failures: Vec<FailedRequest>,
}

#[derive(serde::Deserialize, Debug)]
struct FailedRequest {
    at_ms: u64,
    url: String,
    error: String,
}

impl Load {
    fn start(spec: &Path) -> Option<Load> {
        let go = kubepki_test_support::go_tool("the rotation's load generator is Go")?;
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let binary = tmp.join("rotation-load");
        let status = Command::new(go)
            .args(["build", "-o"])
            .arg(&binary)
            .arg(".")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/control_plane/load"))
            .env("GOCACHE", tmp.join("go-cache"))
            .env("GOPATH", tmp.join("go-path"))
            .env("GOPROXY", "off")
            .status()
            .expect("go runs");
        assert!(
            status.success(),
            "go build of tests/control_plane/load failed"
        );
        let child = Command::new(&binary)
            .arg(spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the load generator starts");
        Some(Load { child })
    }

    /// Stops the load (its standard input closes) and reads its report.
    fn stop(mut self) -> Vec<StreamResult> {
        drop(self.child.stdin.take());
        let out = self
            .child
            .wait_with_output()
            .expect("the load generator ends");
        assert!(out.status.success(), "the load generator failed");
        serde_json::from_slice(&out.stdout).expect("the load generator's report is JSON")
    }
}

/// A small, seeded random source (xorshift), so that a failing run can be told apart.
struct Random(u64);

impl Random {
    fn below(&mut self, limit: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let nanos = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX).max(1);
        Duration::from_nanos(self.0 % nanos)
    }
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// What the kills of one phase found.
struct Kills {
    /// Runs that had ended before their SIGKILL (a rerun of a done phase).
    ended_first: usize,
}

/// Runs `kubepki ca rotate PHASE` KILLS_PER_PHASE times, each killed with SIGKILL after a
/// random delay of up to twice a dry run's time.
fn killed_runs(dir: &Path, args: &[&str], random: &mut Random) -> Kills {
    let dry = [args, &["--dry-run"]].concat();
    let started = Instant::now();
    succeeded("kubepki ca rotate --dry-run", kubepki(dir, &dry));
    let window = started.elapsed() * 2;
    let mut ended_first = 0;
    for _ in 0..KILLS_PER_PHASE {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubepki"))
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run kubepki");
        std::thread::sleep(random.below(window));
        if child.try_wait().ok().flatten().is_some() {
            ended_first += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    Kills { ended_first }
}

/// The kubepki arguments of a phase.
fn phase_args(phase: &str) -> Vec<&str> {
    let mut args = vec![
        "ca",
        "rotate",
        phase,
        "--cert-dir",
        "pki",
        "--kubeconfig-dir",
        ".",
    ];
    if phase == "finish" {
        args.extend(["--token-lifetime", "0s"]);
    }
    args
}

/// The load's streams, as the generator reads them.
fn load_spec(
    ha: &Ha,
    before: &Path,
    token: &Path,
    urls: &[String],
    etcd_urls: &[String],
) -> serde_json::Value {
    let pki = |f: &str| ha.cp.tree.pki(f);
    let before = |f: &str| before.join(f).display().to_string();
    let review = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
    let reviews: Vec<String> = urls
        .iter()
        .map(|u| format!("{u}/apis/authentication.k8s.io/v1/selfsubjectreviews"))
        .collect();
    let health: Vec<String> = etcd_urls.iter().map(|u| format!("{u}/health")).collect();
    // Who the API server says the client is: any authenticated user may ask (RBAC's
    // system:basic-user), so only authentication is tested.
    let admin = |name: &str, kubeconfig: String| {
        serde_json::json!({
            "name": name, "urls": reviews, "method": "POST", "body": review,
            "headers": {"Content-Type": "application/json"}, "ready": "/readyz",
            "kubeconfig": kubeconfig, "expect": r#""username":"kubernetes-admin""#,
            "rate": RATE,
        })
    };
    let front_proxy = |name: &str, ca: String, cert: String, key: String| {
        serde_json::json!({
            "name": name, "urls": reviews, "method": "POST", "body": review,
            "headers": {"Content-Type": "application/json", "X-Remote-User": "alice",
                        "X-Remote-Group": "dev"},
            "ready": "/readyz", "ca": ca, "cert": cert, "key": key, "expect": r#""username":"alice""#, "rate": RATE,
        })
    };
    let etcd_health = |name: &str, ca: String, cert: String, key: String| {
        serde_json::json!({
            "name": name, "urls": health, "ca": ca, "cert": cert, "key": key,
            "expect": r#""health":"true""#, "rate": RATE,
        })
    };
    serde_json::json!({"streams": [
        admin("admin-before", before("admin.conf")),
        admin("admin-live", ha.cp.tree.conf("admin.conf").display().to_string()),
        {"name": "token-before", "urls": reviews, "method": "POST", "body": review,
         "headers": {"Content-Type": "application/json"}, "ready": "/readyz",
         "ca": before("ca.crt"), "token": token.display().to_string(),
         "expect": r#""username":"system:serviceaccount:default:rotation-load""#, "rate": RATE},
        front_proxy("front-proxy-live", pki("ca.crt"), pki("front-proxy-client.crt"),
                    pki("front-proxy-client.key")),
        front_proxy("front-proxy-before", before("ca.crt"), before("front-proxy-client.crt"),
                    before("front-proxy-client.key")),
        etcd_health("etcd-health-live", pki("etcd/ca.crt"), pki("etcd/healthcheck-client.crt"),
                    pki("etcd/healthcheck-client.key")),
        etcd_health("etcd-health-before", before("etcd-ca.crt"),
                    before("healthcheck-client.crt"), before("healthcheck-client.key")),
    ]})
}

/// Copies what a client held before the rotation into `before/`.
fn keep_before(ha: &Ha, before: &Path) {
    std::fs::create_dir(before).unwrap();
    let pki = &ha.cp.tree.pki;
    for (from, to) in [
        (pki.join("ca.crt"), "ca.crt"),
        (pki.join("etcd/ca.crt"), "etcd-ca.crt"),
        (pki.join("front-proxy-client.crt"), "front-proxy-client.crt"),
        (pki.join("front-proxy-client.key"), "front-proxy-client.key"),
        (
            pki.join("etcd/healthcheck-client.crt"),
            "healthcheck-client.crt",
        ),
        (
            pki.join("etcd/healthcheck-client.key"),
            "healthcheck-client.key",
        ),
        (ha.cp.tree.conf("admin.conf"), "admin.conf"),
    ] {
        std::fs::copy(from, before.join(to)).unwrap();
    }
}

#[test]
fn a_rotation_of_all_under_load_fails_no_request_the_plan_keeps() {
    let _machine = exclusive();
    let Some(bin) = peers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The tree names the balancer as the API server (kubeadm's control-plane endpoint).
    let ports = Ports::pick();
    let tree = kubepki_init(dir.path(), "ECDSA-P256", ports, "127.0.0.1");
    let work = dir.path().join("run");
    std::fs::create_dir(&work).unwrap();
    let apiserver_ports = vec![free_port(), free_port()];
    let balancer = Balancer::start(ports.apiserver, &apiserver_ports);
    let cp = ControlPlane::new(
        &bin,
        tree,
        ports,
        &work,
        NODE,
        Budget::of(Duration::from_secs(1200)),
    );
    let mut ha = Ha::start(cp, balancer, apiserver_ports);

    // What clients hold before the rotation.
    let before = work.join("before");
    keep_before(&ha, &before);
    succeeded(
        "kubectl create serviceaccount",
        ha.cp.kubectl(
            "super-admin.conf",
            &["create", "serviceaccount", "rotation-load"],
        ),
    );
    let token = succeeded(
        "kubectl create token",
        ha.cp.kubectl(
            "super-admin.conf",
            &["create", "token", "rotation-load", "--duration=2h"],
        ),
    );
    let token_file = before.join("token");
    std::fs::write(&token_file, token.trim()).unwrap();

    let urls: Vec<String> = ha
        .apiserver_ports
        .iter()
        .map(|p| format!("https://127.0.0.1:{p}"))
        .collect();
    let etcd_urls: Vec<String> = ha.members.iter().map(EtcdMember::client_url).collect();
    let spec = work.join("load.json");
    std::fs::write(
        &spec,
        load_spec(&ha, &before, &token_file, &urls, &etcd_urls).to_string(),
    )
    .unwrap();
    // Each API server authenticates and authorizes the token before the load begins.
    let token_conf = work.join("token.conf");
    crate::cluster::token_kubeconfig(&ha.cp, &token_conf, "rotation-load", token.trim());
    let token_conf = token_conf.display().to_string();
    for url in &urls {
        let budget = ha.cp.budget;
        budget.wait_for(
            "the API servers to authorize a token",
            Duration::from_secs(60),
            || {
                let out = ha
                    .cp
                    .kubectl_with(&["--kubeconfig", &token_conf, "--server", url])(
                    &["auth", "whoami"],
                );
                passed(&out, |_| true)
            },
        );
    }
    let Some(load) = Load::start(&spec) else {
        return;
    };
    std::thread::sleep(Duration::from_secs(5));

    let seed = now_ms() | 1;
    eprintln!("rotation under load: kill delays seeded with {seed}");
    let mut random = Random(seed);
    let rotation = ha.cp.tree.pki.join("rotation/ca");
    let mut finish_began = 0;
    let mut record = Vec::new();
    for (phase, reached) in [
        ("start", "started"),
        ("promote", "promoted"),
        ("finish", "finished"),
    ] {
        if phase == "finish" {
            finish_began = now_ms();
        }
        let kills = killed_runs(dir.path(), &phase_args(phase), &mut random);
        let started = Instant::now();
        let extra: &[&str] = match phase {
            "finish" => &["--token-lifetime", "0s"],
            _ => &[],
        };
        let report = rotate(dir.path(), phase, extra);
        let run_time = started.elapsed();
        for ca in report["cas"].as_array().unwrap() {
            assert_eq!(ca["to"], reached, "{report:#}");
        }
        let repairs = report["warnings"].as_array().unwrap().len();
        let rolled = ha.roll(&report);
        // kube-controller-manager signs with the phase's CA.
        let csr = signed_by_kcm(&ha.cp, &work, &format!("csr-{phase}"));
        match phase {
            "start" => issued_by(
                &csr,
                &rotation.join("signing.crt"),
                &rotation.join("new.crt"),
            ),
            _ => issued_by(
                &csr,
                &rotation.join("signing.crt"),
                &rotation.join("old.crt"),
            ),
        }
        record.push(format!(
            "{phase}: {KILLS_PER_PHASE} SIGKILLs ({} after the run had ended), then the run in {:.0} ms with {repairs} repair(s); {}",
            kills.ended_first,
            run_time.as_secs_f64() * 1000.0,
            rolled.join(", ")
        ));
    }
    // The old CAs' clients are refused everywhere now; let the load see it for a while.
    std::thread::sleep(Duration::from_secs(5));
    let results = load.stop();

    let mut unplanned = Vec::new();
    for stream in &results {
        let seconds = (stream.last_ms - stream.first_ms) as f64 / 1000.0;
        let rate = (stream.ok + stream.failed) as f64 / seconds;
        let planned = PLANNED_AFTER_FINISH.contains(&stream.name.as_str());
        let after_finish = stream
            .failures
            .iter()
            .filter(|f| planned && f.at_ms >= finish_began)
            .count();
        record.push(format!(
            "{}: {} ok, {} failed ({after_finish} planned), {} failovers to the other server, {rate:.1} requests/s over {seconds:.0} s",
            stream.name, stream.ok, stream.failed, stream.failovers
        ));
        assert!(rate >= MIN_RATE, "{} ran at {rate:.1}/s", stream.name);
        for failure in &stream.failures {
            if !(planned && failure.at_ms >= finish_began) {
                unplanned.push(format!(
                    "{} at +{} ms to {}: {}",
                    stream.name,
                    failure.at_ms.saturating_sub(finish_began),
                    failure.url,
                    failure.error
                ));
            }
        }
        if planned {
            // Refused after finish: by kube-apiserver, and by etcd for the old etcd client.
            let last = stream.failures.last().map_or(0, |f| f.at_ms);
            assert!(
                after_finish > 0 && last + 2000 >= stream.last_ms,
                "{}: the old CA's client (or the old key's token) was not refused at the end",
                stream.name
            );
        }
    }
    eprintln!("rotation under load:\n  {}", record.join("\n  "));
    assert!(
        unplanned.is_empty(),
        "{} request(s) failed that the plan keeps working:\n{}",
        unplanned.len(),
        unplanned.join("\n")
    );

    // The finished tree is an ordinary kubeadm tree: kubepki and the real kubeadm read it
    // alike, and it renews.
    let version = succeeded(
        "kubeadm version",
        run(&bin, "kubeadm", &["version", "-o", "short"]),
    );
    let config = work.join("kubeadm.yaml");
    kubeadm_config(
        &config,
        &ha.cp.tree.pki,
        ports.apiserver,
        version.trim(),
        "ECDSA-P256",
    );
    same_expiration_report(&bin, &config, &ha.cp.tree);
    succeeded(
        "kubepki certs renew all",
        kubepki(
            dir.path(),
            &[
                "certs",
                "renew",
                "all",
                "--cert-dir",
                "pki",
                "--kubeconfig-dir",
                ".",
            ],
        ),
    );
    let _ = std::io::stderr().flush();
}
