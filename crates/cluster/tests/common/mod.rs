//! Shared helpers of the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kubepki_cluster::{InitOptions, init};
use kubepki_keys::KeyAlgorithm;

/// 2026-01-01T00:00:00Z: the pinned clock of tests that need no real peer.
pub(crate) fn pinned() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

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

/// Whether `tool` runs; prints a loud SKIP (or panics under CI) when it does not.
pub(crate) fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} not found, and CI is set");
        }
        eprintln!("SKIP: {tool} not found");
    }
    found
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
