//! The real control plane as a test peer: the programs `scripts/peers.sh` builds, started on
//! loopback ports with kubeadm's static-pod flags, stopped (and their logs shown on failure)
//! when the test lets go of them.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The programs the tests need from `target/peers/bin`.
const PROGRAMS: [&str; 6] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kubeadm",
    "kubectl",
    "etcd",
    "etcdctl",
];

/// One control plane at a time: two kube-apiservers on two cores only slow each other down.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes the machine for one control-plane test (a failed test does not block the next).
pub(crate) fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where the peers are: `$KUBEPKI_PEERS_BIN`, else the workspace's `target/peers/bin`.
/// `None` (after a loud SKIP) when they are missing; under `CI` a missing peer fails.
pub(crate) fn peers() -> Option<PathBuf> {
    let bin = std::env::var_os("KUBEPKI_PEERS_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers/bin"),
        PathBuf::from,
    );
    let missing: Vec<&str> = PROGRAMS
        .iter()
        .copied()
        .filter(|p| !bin.join(p).is_file())
        .collect();
    if missing.is_empty() {
        return Some(bin);
    }
    let message = format!(
        "the real control plane is not built ({} missing in {}): run `bash scripts/peers.sh`",
        missing.join(", "),
        bin.display()
    );
    kubepki_test_support::skip_unless(false, &message);
    None
}

/// A deadline for one test's waits, so a hung peer fails the test instead of hanging CI.
#[derive(Clone, Copy)]
pub(crate) struct Budget {
    end: Instant,
}

impl Budget {
    pub(crate) fn of(limit: Duration) -> Self {
        Self {
            end: Instant::now() + limit,
        }
    }

    /// Polls `probe` every 250 ms until it gives a value, failing (with the probe's last
    /// complaint) after `limit` or at the end of the budget, whichever comes first.
    pub(crate) fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        mut probe: impl FnMut() -> Result<T, String>,
    ) -> T {
        let end = self.end.min(Instant::now() + limit);
        loop {
            match probe() {
                Ok(value) => return value,
                Err(last) => assert!(
                    Instant::now() < end,
                    "timed out waiting for {what}; last: {last}"
                ),
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// A probe's verdict on a command: its output when it succeeded and `good` accepts it,
/// else what it said.
pub(crate) fn passed(out: &Output, good: impl Fn(&str) -> bool) -> Result<String, String> {
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && good(&stdout) {
        Ok(stdout)
    } else {
        Err(format!(
            "{}: {}{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A started program: stopped (TERM, then KILL) and reaped when dropped.
pub(crate) struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    pub(crate) fn spawn(name: &'static str, mut command: Command, log: PathBuf) -> Self {
        let out = File::create(&log).expect("create a log file");
        let err = out.try_clone().expect("clone the log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Self { name, child, log }
    }

    /// Stops it as a kubelet stops a static pod: SIGTERM, then SIGKILL after 10 s.
    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILL, as a crashed node or an OOM kill: no chance to clean up.
    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// The log file (standard output and error).
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// Whether it still runs.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How it exited, or `None` while it runs.
    pub(crate) fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Fails when the program has exited (it should be serving).
    pub(crate) fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, tail(&self.log, 30));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- last lines of {} ({}) ----\n{}",
                self.name,
                self.log.display(),
                tail(&self.log, 25)
            );
        }
        self.stop();
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The folders of one tree, as kubeadm lays them out: `pki/` and the kubeconfig files.
#[derive(Clone)]
pub(crate) struct Tree {
    pub(crate) pki: PathBuf,
    pub(crate) confs: PathBuf,
}

impl Tree {
    pub(crate) fn pki(&self, file: &str) -> String {
        self.pki.join(file).display().to_string()
    }
    pub(crate) fn conf(&self, file: &str) -> PathBuf {
        self.confs.join(file)
    }
}

/// The ports a control plane listens on, picked once so that the tree's kubeconfig files
/// (written before anything starts) name the API server's.
#[derive(Clone, Copy)]
pub(crate) struct Ports {
    pub(crate) apiserver: u16,
    pub(crate) etcd_client: u16,
    etcd_peer: u16,
    etcd_metrics: u16,
    pub(crate) controller_manager: u16,
}

impl Ports {
    pub(crate) fn pick() -> Self {
        Self {
            apiserver: free_port(),
            etcd_client: free_port(),
            etcd_peer: free_port(),
            etcd_metrics: free_port(),
            controller_manager: free_port(),
        }
    }
}

/// One etcd member: its name and loopback ports.
#[derive(Clone)]
pub(crate) struct EtcdMember {
    pub(crate) name: String,
    pub(crate) client: u16,
    pub(crate) peer: u16,
    pub(crate) metrics: u16,
}

impl EtcdMember {
    /// A member named `name` on free ports.
    pub(crate) fn pick(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            client: free_port(),
            peer: free_port(),
            metrics: free_port(),
        }
    }

    /// Its client URL.
    pub(crate) fn client_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.client)
    }

    /// Its `name=peer URL` entry of `--initial-cluster`.
    pub(crate) fn initial_cluster_entry(&self) -> String {
        format!("{}=https://127.0.0.1:{}", self.name, self.peer)
    }
}

/// etcd, kube-apiserver and kube-controller-manager on one tree, with kubeadm's flags.
pub(crate) struct ControlPlane {
    pub(crate) bin: PathBuf,
    pub(crate) tree: Tree,
    pub(crate) ports: Ports,
    pub(crate) work: PathBuf,
    pub(crate) budget: Budget,
    node: String,
    /// kube-controller-manager's `--controllers`.
    pub(crate) controllers: String,
    /// kube-controller-manager's `--kube-api-qps` and `--kube-api-burst` (its defaults: 20, 30).
    pub(crate) kcm_qps: (u32, u32),
    /// kube-controller-manager's `--cluster-signing-cert-file` (default: the tree's
    /// `ca.crt`); a CA rotation's plan names another while ca.crt is a bundle.
    pub(crate) signing_cert: Option<String>,
    etcd: Option<Process>,
    apiserver: Option<Process>,
    controller_manager: Option<Process>,
}

impl ControlPlane {
    /// A control plane over `tree` (not started). `work` holds etcd's data and the logs.
    pub(crate) fn new(
        bin: &Path,
        tree: Tree,
        ports: Ports,
        work: &Path,
        node: &str,
        budget: Budget,
    ) -> Self {
        Self {
            bin: bin.to_path_buf(),
            tree,
            ports,
            work: work.to_path_buf(),
            budget,
            node: node.to_owned(),
            controllers: "*,bootstrapsigner,tokencleaner".to_owned(),
            kcm_qps: (20, 30),
            signing_cert: None,
            etcd: None,
            apiserver: None,
            controller_manager: None,
        }
    }

    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.env("HOME", &self.work).env_remove("KUBECONFIG");
        command
    }

    pub(crate) fn log(&self, name: &str) -> PathBuf {
        self.work.join(format!("{name}.log"))
    }

    /// Starts all three and waits until the API server's `/readyz` passes and the
    /// controller manager serves `/healthz`.
    pub(crate) fn start(&mut self) {
        self.start_etcd();
        self.start_apiserver();
        self.start_controller_manager();
    }

    /// kubeadm's etcd static pod (cmd/kubeadm/app/phases/etcd/local.go), on loopback; waits
    /// until it is healthy.
    pub(crate) fn start_etcd(&mut self) {
        self.spawn_etcd();
        let endpoint = format!("https://127.0.0.1:{}", self.ports.etcd_client);
        let budget = self.budget;
        budget.wait_for("etcd to be healthy", Duration::from_secs(60), || {
            self.etcd.as_mut().map(Process::assert_running);
            let out = self.etcdctl(
                &endpoint,
                "etcd/healthcheck-client.crt",
                "etcd/healthcheck-client.key",
                &["endpoint", "health"],
            );
            passed(&out, |_| true)
        });
    }

    /// Spawns etcd and kube-apiserver without waiting for either to be healthy (a tree whose
    /// certificates expired on purpose): what they do is the test's to observe.
    pub(crate) fn spawn_unready(&mut self) {
        self.spawn_etcd();
        self.spawn_apiserver();
    }

    /// The tail of kube-apiserver's log once it has exited; `None` while it runs (or was
    /// never started).
    pub(crate) fn apiserver_exited(&mut self) -> Option<String> {
        let apiserver = self.apiserver.as_mut()?;
        apiserver.exit_status()?;
        Some(tail(apiserver.log(), 30))
    }

    fn spawn_etcd(&mut self) {
        let p = self.ports;
        let member = EtcdMember {
            name: self.node.clone(),
            client: p.etcd_client,
            peer: p.etcd_peer,
            metrics: p.etcd_metrics,
        };
        let etcd = self.etcd_command(&member, &member.initial_cluster_entry(), "etcd");
        self.etcd = Some(Process::spawn("etcd", etcd, self.log("etcd")));
    }

    /// kubeadm's etcd static pod for `member` of the cluster `initial_cluster`
    /// (`name=peer URL,...`), its data in `<work>/<data>`.
    pub(crate) fn etcd_command(
        &self,
        member: &EtcdMember,
        initial_cluster: &str,
        data: &str,
    ) -> Command {
        let t = &self.tree;
        let client = member.client_url();
        let peer = format!("https://127.0.0.1:{}", member.peer);
        let mut etcd = self.command("etcd");
        etcd.arg(format!("--name={}", member.name))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster={initial_cluster}"))
            .arg(format!("--data-dir={}", self.work.join(data).display()))
            .arg(format!("--cert-file={}", t.pki("etcd/server.crt")))
            .arg(format!("--key-file={}", t.pki("etcd/server.key")))
            .arg(format!("--trusted-ca-file={}", t.pki("etcd/ca.crt")))
            .arg("--client-cert-auth=true")
            .arg(format!("--peer-cert-file={}", t.pki("etcd/peer.crt")))
            .arg(format!("--peer-key-file={}", t.pki("etcd/peer.key")))
            .arg(format!("--peer-trusted-ca-file={}", t.pki("etcd/ca.crt")))
            .arg("--peer-client-cert-auth=true")
            .arg("--snapshot-count=10000")
            .arg(format!(
                "--listen-metrics-urls=http://127.0.0.1:{}",
                member.metrics
            ))
            .arg("--feature-gates=InitialCorruptCheck=true")
            .arg("--watch-progress-notify-interval=5s");
        etcd
    }

    /// Runs etcdctl against the tree's etcd with a client certificate of the tree.
    pub(crate) fn etcdctl(&self, endpoint: &str, cert: &str, key: &str, args: &[&str]) -> Output {
        self.command("etcdctl")
            .arg(format!("--endpoints={endpoint}"))
            .arg(format!("--cacert={}", self.tree.pki("etcd/ca.crt")))
            .arg(format!("--cert={}", self.tree.pki(cert)))
            .arg(format!("--key={}", self.tree.pki(key)))
            .args(["--dial-timeout=2s", "--command-timeout=3s"])
            .args(args)
            .output()
            .expect("run etcdctl")
    }

    /// kubeadm's kube-apiserver static pod (phases/controlplane/manifests.go), on loopback;
    /// waits until `/readyz` passes through `super-admin.conf` (TLS verified both ways).
    pub(crate) fn start_apiserver(&mut self) {
        self.spawn_apiserver();
        let budget = self.budget;
        budget.wait_for("kube-apiserver /readyz", Duration::from_secs(120), || {
            self.apiserver.as_mut().map(Process::assert_running);
            let out = self.kubectl("super-admin.conf", &["get", "--raw=/readyz"]);
            passed(&out, |o| o == "ok")
        });
    }

    /// Restarts the API server and waits for `/readyz` as an anonymous client that does not
    /// check the serving certificate (for a tree whose serving certificate is bad on purpose;
    /// kubectl has no anonymous mode, so curl asks).
    pub(crate) fn restart_apiserver_unverified(&mut self) {
        self.apiserver = None;
        self.spawn_apiserver();
        let url = format!("{}/readyz", self.server());
        let budget = self.budget;
        budget.wait_for(
            "kube-apiserver /readyz (unverified)",
            Duration::from_secs(120),
            || {
                self.apiserver.as_mut().map(Process::assert_running);
                let out = Command::new("curl")
                    .args(["-sS", "--insecure", "--max-time", "5", &url])
                    .output()
                    .expect("run curl");
                passed(&out, |o| o == "ok")
            },
        );
    }

    fn spawn_apiserver(&mut self) {
        let etcd = format!("https://127.0.0.1:{}", self.ports.etcd_client);
        let apiserver = self.apiserver_command(self.ports.apiserver, &etcd);
        self.apiserver = Some(Process::spawn(
            "kube-apiserver",
            apiserver,
            self.log("kube-apiserver"),
        ));
    }

    /// kubeadm's kube-apiserver static pod, serving on `port`, storing in `etcd_servers`
    /// (comma-separated URLs).
    pub(crate) fn apiserver_command(&self, port: u16, etcd_servers: &str) -> Command {
        let t = &self.tree;
        let mut apiserver = self.command("kube-apiserver");
        apiserver
            .arg("--advertise-address=127.0.0.1")
            .arg("--bind-address=127.0.0.1")
            // The one flag kubeadm does not pass: the endpoint reconciler refuses a loopback
            // advertise address, and tests may only use loopback. It keeps the `kubernetes`
            // Service's endpoints, which nothing here uses.
            .arg("--endpoint-reconciler-type=none")
            .arg(format!("--secure-port={port}"))
            .arg("--allow-privileged=true")
            .arg("--authorization-mode=Node,RBAC")
            .arg(format!("--client-ca-file={}", t.pki("ca.crt")))
            .arg("--enable-admission-plugins=NodeRestriction")
            .arg("--enable-bootstrap-token-auth=true")
            .arg(format!("--etcd-cafile={}", t.pki("etcd/ca.crt")))
            .arg(format!(
                "--etcd-certfile={}",
                t.pki("apiserver-etcd-client.crt")
            ))
            .arg(format!(
                "--etcd-keyfile={}",
                t.pki("apiserver-etcd-client.key")
            ))
            .arg(format!("--etcd-servers={etcd_servers}"))
            .arg(format!(
                "--kubelet-client-certificate={}",
                t.pki("apiserver-kubelet-client.crt")
            ))
            .arg(format!(
                "--kubelet-client-key={}",
                t.pki("apiserver-kubelet-client.key")
            ))
            .arg("--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname")
            .arg(format!(
                "--proxy-client-cert-file={}",
                t.pki("front-proxy-client.crt")
            ))
            .arg(format!(
                "--proxy-client-key-file={}",
                t.pki("front-proxy-client.key")
            ))
            .arg("--requestheader-allowed-names=front-proxy-client")
            .arg(format!(
                "--requestheader-client-ca-file={}",
                t.pki("front-proxy-ca.crt")
            ))
            .arg("--requestheader-extra-headers-prefix=X-Remote-Extra-")
            .arg("--requestheader-group-headers=X-Remote-Group")
            .arg("--requestheader-username-headers=X-Remote-User")
            .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            .arg(format!("--service-account-key-file={}", t.pki("sa.pub")))
            .arg(format!(
                "--service-account-signing-key-file={}",
                t.pki("sa.key")
            ))
            .arg("--service-cluster-ip-range=10.96.0.0/12")
            .arg(format!("--tls-cert-file={}", t.pki("apiserver.crt")))
            .arg(format!("--tls-private-key-file={}", t.pki("apiserver.key")));
        apiserver
    }

    /// kubeadm's kube-controller-manager static pod, signing with the cluster CA.
    pub(crate) fn start_controller_manager(&mut self) {
        let t = &self.tree;
        let conf = t.conf("controller-manager.conf").display().to_string();
        let mut kcm = self.command("kube-controller-manager");
        kcm.arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={}", self.ports.controller_manager))
            .arg("--leader-elect=true")
            .arg(format!("--kubeconfig={conf}"))
            .arg(format!("--authentication-kubeconfig={conf}"))
            .arg(format!("--authorization-kubeconfig={conf}"))
            .arg(format!("--client-ca-file={}", t.pki("ca.crt")))
            .arg(format!(
                "--requestheader-client-ca-file={}",
                t.pki("front-proxy-ca.crt")
            ))
            .arg(format!("--root-ca-file={}", t.pki("ca.crt")))
            .arg(format!(
                "--service-account-private-key-file={}",
                t.pki("sa.key")
            ))
            .arg(format!(
                "--cluster-signing-cert-file={}",
                self.signing_cert.clone().unwrap_or_else(|| t.pki("ca.crt"))
            ))
            .arg(format!("--cluster-signing-key-file={}", t.pki("ca.key")))
            .arg("--use-service-account-credentials=true")
            .arg(format!("--controllers={}", self.controllers))
            .arg(format!("--kube-api-qps={}", self.kcm_qps.0))
            .arg(format!("--kube-api-burst={}", self.kcm_qps.1))
            .arg("--cluster-name=kubernetes");
        self.controller_manager = Some(Process::spawn(
            "kube-controller-manager",
            kcm,
            self.log("kube-controller-manager"),
        ));
        // Healthy and leading: the lease names it (a restarted one waits for its old lease).
        let budget = self.budget;
        budget.wait_for(
            "kube-controller-manager to lead",
            Duration::from_secs(90),
            || {
                self.controller_manager
                    .as_mut()
                    .map(Process::assert_running);
                let out = self.kubectl(
                    "super-admin.conf",
                    &[
                        "-n",
                        "kube-system",
                        "get",
                        "lease",
                        "kube-controller-manager",
                        "-o",
                        "jsonpath={.spec.holderIdentity}",
                    ],
                );
                let holder = String::from_utf8_lossy(&out.stdout).into_owned();
                let log = std::fs::read_to_string(self.log("kube-controller-manager"))
                    .unwrap_or_default();
                if out.status.success()
                    && !holder.is_empty()
                    && log.contains("Successfully acquired lease")
                {
                    Ok(())
                } else {
                    Err(format!(
                        "lease held by {holder:?}, not yet acquired by the new one"
                    ))
                }
            },
        );
    }

    /// Stops kube-controller-manager alone (to start it again with other controllers).
    pub(crate) fn stop_controller_manager(&mut self) {
        self.controller_manager = None;
    }

    /// Stops all three (the controller manager first, etcd last).
    pub(crate) fn stop(&mut self) {
        self.controller_manager = None;
        self.apiserver = None;
        self.etcd = None;
    }

    /// Stops all three and checks that nothing listens on their ports any more.
    pub(crate) fn stop_and_check(&mut self) {
        self.stop();
        let p = self.ports;
        for port in [
            p.apiserver,
            p.etcd_client,
            p.etcd_peer,
            p.controller_manager,
        ] {
            assert!(!listening(port), "port {port} still listens after the stop");
        }
    }

    /// Stops and starts all three, so that they read the tree's files again.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.start();
    }

    /// `kubectl --kubeconfig <tree>/<conf> ARGS`.
    pub(crate) fn kubectl(&self, conf: &str, args: &[&str]) -> Output {
        self.kubectl_with(&["--kubeconfig", &self.tree.conf(conf).display().to_string()])(args)
    }

    /// A kubectl with fixed leading arguments (a kubeconfig, or a server and credentials).
    pub(crate) fn kubectl_with<'a>(
        &'a self,
        lead: &'a [&'a str],
    ) -> impl Fn(&[&str]) -> Output + 'a {
        move |args| {
            self.command("kubectl")
                .args(lead)
                .arg("--request-timeout=20s")
                .args(args)
                .output()
                .expect("run kubectl")
        }
    }

    /// The API server's URL.
    pub(crate) fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.ports.apiserver)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connects to a TCP port, to tell whether something still listens.
fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}
