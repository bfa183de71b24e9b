//! Shared helpers of the integration tests.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use kubepki_cluster::{InitOptions, init};
use kubepki_keys::KeyAlgorithm;

/// Whether `tool` runs; prints a loud SKIP (or panics under CI) when it does not.
pub(crate) use kubepki_test_support::have;
/// 2026-01-01T00:00:00Z: the pinned clock of tests that need no real peer.
pub(crate) use kubepki_test_support::pinned_2026 as pinned;

pub(crate) struct Tree {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) options: InitOptions,
}

impl Tree {
    pub(crate) fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.pki().join(rel)
    }
    pub(crate) fn conf(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }
}

pub(crate) fn options(dir: &Path) -> InitOptions {
    let mut options = InitOptions::new(dir.join("pki"), dir, "cp-1", "127.0.0.1".parse().unwrap());
    options.algorithm = KeyAlgorithm::EcdsaP256;
    options.apiserver_cert_extra_sans = vec!["api.example.test".into(), "10.0.0.7".into()];
    options
}

/// A tree made at `now` with ECDSA-P256 keys.
pub(crate) fn tree_at(now: SystemTime) -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path());
    init(&options, now).unwrap();
    Tree { dir, options }
}

/// A node's kubelet.conf as kubeadm leaves it after kubelet-finalize: pointing at
/// `var/lib/kubelet/pki/kubelet-client-current.pem` (under the tree's folder), a symlink to
/// a dated file holding the certificate and key that kubelet.conf embedded.
pub(crate) struct KubeletFinalized {
    /// The symlink.
    pub(crate) current: PathBuf,
    /// The dated file it points at.
    pub(crate) old_file: PathBuf,
    /// That file's bytes.
    pub(crate) pair: Vec<u8>,
    /// kubelet.conf's text now.
    pub(crate) kubelet_conf: String,
}

/// Makes `tree`'s kubelet.conf as kubelet-finalize leaves it (see [`KubeletFinalized`]).
pub(crate) fn kubelet_finalized(tree: &Tree) -> KubeletFinalized {
    let kubelet_pki = tree.dir.path().join("var/lib/kubelet/pki");
    std::fs::create_dir_all(&kubelet_pki).unwrap();
    let conf = std::fs::read_to_string(tree.conf("kubelet.conf")).unwrap();
    let config = kubepki_cluster::Kubeconfig::from_yaml(&conf).unwrap();
    let (_, user) = config.current().unwrap();
    let decode = |b64: &str| kubepki_cluster::decode_data(b64).unwrap();
    let mut pair = decode(&user.client_certificate_data);
    pair.extend(decode(&user.client_key_data));
    let old_file = kubelet_pki.join("kubelet-client-2026-01-01-00-00-00.pem");
    std::fs::write(&old_file, &pair).unwrap();
    let current = kubelet_pki.join("kubelet-client-current.pem");
    std::os::unix::fs::symlink("kubelet-client-2026-01-01-00-00-00.pem", &current).unwrap();
    let kubelet_conf = conf
        .replace(
            &format!("client-certificate-data: {}", user.client_certificate_data),
            &format!("client-certificate: {}", current.display()),
        )
        .replace(
            &format!("client-key-data: {}", user.client_key_data),
            &format!("client-key: {}", current.display()),
        );
    std::fs::write(tree.conf("kubelet.conf"), &kubelet_conf).unwrap();
    KubeletFinalized {
        current,
        old_file,
        pair,
        kubelet_conf,
    }
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills and reaps a child process when dropped.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (at most `limit`) until something listens on the port.
pub(crate) fn wait_port(port: u16, limit: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Extracts the client certificate and key of a kubeconfig to PEM files in `out`.
pub(crate) fn extract_kubeconfig(conf: &Path, out: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let text = std::fs::read_to_string(conf).unwrap();
    let config = kubepki_cluster::Kubeconfig::from_yaml(&text).unwrap();
    let (cluster, user) = config.current().unwrap();
    let write = |name: &str, data: &str| {
        let path = out.join(name);
        std::fs::write(&path, kubepki_cluster::decode_data(data).unwrap()).unwrap();
        path
    };
    (
        write("client.crt", &user.client_certificate_data),
        write("client.key", &user.client_key_data),
        write("kc-ca.crt", &cluster.certificate_authority_data),
    )
}

fn etcdctl(endpoint: &str, ca: &Path, cert: &Path, key: &Path, args: &[&str]) -> Output {
    Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .arg(format!("--cacert={}", ca.display()))
        .arg(format!("--cert={}", cert.display()))
        .arg(format!("--key={}", key.display()))
        .args(["--dial-timeout=3s", "--command-timeout=5s"])
        .args(args)
        .output()
        .unwrap()
}

/// Starts etcd with the tree's certificates; returns the guard and the client URL.
pub(crate) fn start_etcd(pki: &Path, data: &Path) -> (KillOnDrop, String) {
    let (client, peer, metrics) = (free_port(), free_port(), free_port());
    let client_url = format!("https://127.0.0.1:{client}");
    let peer_url = format!("https://127.0.0.1:{peer}");
    let p = |f: &str| pki.join(f).display().to_string();
    let log = std::fs::File::create(data.with_extension("log")).unwrap();
    let child = Command::new("etcd")
        .args(["--name", "cp-1"])
        .arg(format!("--data-dir={}", data.display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=cp-1={peer_url}"))
        .arg(format!("--listen-metrics-urls=http://127.0.0.1:{metrics}"))
        .arg(format!("--cert-file={}", p("etcd/server.crt")))
        .arg(format!("--key-file={}", p("etcd/server.key")))
        .arg("--client-cert-auth")
        .arg(format!("--trusted-ca-file={}", p("etcd/ca.crt")))
        .arg(format!("--peer-cert-file={}", p("etcd/peer.crt")))
        .arg(format!("--peer-key-file={}", p("etcd/peer.key")))
        .arg("--peer-client-cert-auth")
        .arg(format!("--peer-trusted-ca-file={}", p("etcd/ca.crt")))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    (KillOnDrop(child), client_url)
}

/// Checks the running etcd with the tree's clients: put/get, health, and a foreign client.
pub(crate) fn exercise_etcd(pki: &Path, endpoint: &str, foreign_pki: &Path) {
    let ca = pki.join("etcd/ca.crt");
    let health = |pki: &Path| {
        etcdctl(
            endpoint,
            &ca,
            &pki.join("etcd/healthcheck-client.crt"),
            &pki.join("etcd/healthcheck-client.key"),
            &["endpoint", "health"],
        )
    };
    let start = Instant::now();
    let mut out = health(pki);
    while !out.status.success() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
        out = health(pki);
    }
    assert!(
        out.status.success(),
        "healthcheck-client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (cert, key) = (
        pki.join("apiserver-etcd-client.crt"),
        pki.join("apiserver-etcd-client.key"),
    );
    let put = etcdctl(
        endpoint,
        &ca,
        &cert,
        &key,
        &["put", "/registry/kubepki", "works"],
    );
    assert!(
        put.status.success(),
        "put: {}",
        String::from_utf8_lossy(&put.stderr)
    );
    let get = etcdctl(endpoint, &ca, &cert, &key, &["get", "/registry/kubepki"]);
    assert!(
        get.status.success(),
        "get: {}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&get.stdout),
        "/registry/kubepki\nworks\n"
    );
    let foreign = etcdctl(
        endpoint,
        &ca,
        &foreign_pki.join("apiserver-etcd-client.crt"),
        &foreign_pki.join("apiserver-etcd-client.key"),
        &["get", "/registry/kubepki"],
    );
    assert!(
        !foreign.status.success(),
        "a client of another CA was let in"
    );
}
