//! What the signer scenarios share: the requests (by kind, made by openssl, created by
//! concurrent kubectl clients), reading them back, a `kubepki controller cluster` replica,
//! and a control plane with example.com/app's CA. The `csr_signing_vs_kcm` benchmark
//! (`crates/cli/benches/`) includes this file too.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use base64ct::{Base64, Encoding};

use crate::common::{kubepki, succeeded};
use crate::harness::{ControlPlane, Process, free_port};
use crate::setup::TEST_BUDGET;

/// The custom signers' domain, and the profile file that makes `example.com/app`.
pub(crate) const DOMAIN: &str = "example.com";
pub(crate) const PROFILES: &str = "default: app
profiles:
  app:
    description: applications of example.com
    usages: [digital signature, key encipherment, client auth]
    expiry: 720h
    subject:
      common_name_prefix: \"app:\"
      forbidden_organizations: [system:masters]
    sans: {allowed: [DNS]}
signers:
  app: {cert_file: app-ca.crt, key_file: app-ca.key}
";

/// The node whose serving certificates are approved, and its addresses.
pub(crate) const SERVING_NODE: &str = "n1";
pub(crate) const SERVING_NODE_IP: &str = "192.0.2.21";

/// Which signer a request is for, and how it should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// kubernetes.io/kube-apiserver-client, approved by the admin.
    ApiserverClient,
    /// kubernetes.io/kube-apiserver-client-kubelet, approved by csrapproving's rule.
    KubeletClient,
    /// kubernetes.io/kubelet-serving, approved by the admin.
    KubeletServing,
    /// example.com/app with expirationSeconds 3600, approved by the admin.
    Custom,
    /// example.com/app with a CN the profile refuses: Failed, SignerValidationFailure.
    Refused,
}

impl Kind {
    pub(crate) fn signer(self) -> String {
        match self {
            Kind::ApiserverClient => "kubernetes.io/kube-apiserver-client".into(),
            Kind::KubeletClient => "kubernetes.io/kube-apiserver-client-kubelet".into(),
            Kind::KubeletServing => "kubernetes.io/kubelet-serving".into(),
            Kind::Custom | Kind::Refused => format!("{DOMAIN}/app"),
        }
    }

    pub(crate) fn usages(self) -> &'static [&'static str] {
        match self {
            Kind::KubeletServing => &["digital signature", "server auth"],
            Kind::KubeletClient => &["digital signature", "client auth"],
            _ => &["digital signature", "key encipherment", "client auth"],
        }
    }

    /// openssl's `-subj` and extra `req` arguments.
    pub(crate) fn subject(self, id: &str) -> (String, Vec<String>) {
        match self {
            Kind::ApiserverClient => (format!("/CN=user-{id}/O=team-a"), vec![]),
            Kind::KubeletClient => (format!("/O=system:nodes/CN=system:node:w-{id}"), vec![]),
            Kind::KubeletServing => (
                format!("/O=system:nodes/CN=system:node:{SERVING_NODE}"),
                vec![
                    "-addext".into(),
                    format!("subjectAltName=DNS:{SERVING_NODE},IP:{SERVING_NODE_IP}"),
                ],
            ),
            Kind::Custom => (
                format!("/CN=app:{id}"),
                vec![
                    "-addext".into(),
                    format!("subjectAltName=DNS:{id}.apps.example.com"),
                ],
            ),
            Kind::Refused => (format!("/CN=not-an-app-{id}"), vec![]),
        }
    }

    /// Whether the admin approves it by hand (the kubelet client ones are auto-approved).
    pub(crate) fn approved_by_admin(self) -> bool {
        self != Kind::KubeletClient
    }
}

/// One request: its name, kind, and CSR in PEM.
pub(crate) struct Request {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) csr: Vec<u8>,
}

/// A P-256 key and CSR made by openssl (the key is thrown away: only issuance is checked).
pub(crate) fn openssl_csr(dir: &Path, name: &str, kind: Kind) -> Request {
    let (subject, extra) = kind.subject(name);
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-keyout", "/dev/null", "-subj", &subject])
        .args(&extra)
        .output()
        .expect("run openssl req");
    let csr = succeeded("openssl req", out).into_bytes();
    Request {
        name: name.to_owned(),
        kind,
        csr,
    }
}

/// The requests of one client, as one `kubectl create -f` List.
pub(crate) fn manifest(requests: &[&Request]) -> String {
    let items: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| {
            let mut spec = serde_json::json!({
                "request": Base64::encode_string(&r.csr),
                "signerName": r.kind.signer(),
                "usages": r.kind.usages(),
            });
            if matches!(r.kind, Kind::Custom | Kind::Refused) {
                spec["expirationSeconds"] = 3600.into();
            }
            serde_json::json!({
                "apiVersion": "certificates.k8s.io/v1",
                "kind": "CertificateSigningRequest",
                "metadata": {"name": r.name},
                "spec": spec,
            })
        })
        .collect();
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

/// `clients` threads, each creating its share of `requests` with one kubectl and approving
/// what the admin approves with another.
pub(crate) fn submit(cp: &ControlPlane, dir: &Path, requests: &[Request], clients: usize) {
    std::thread::scope(|scope| {
        for (client, share) in requests
            .chunks(requests.len().div_ceil(clients))
            .enumerate()
        {
            scope.spawn(move || {
                let file = dir.join(format!("client-{}-{client}.json", share[0].name));
                let list: Vec<&Request> = share.iter().collect();
                std::fs::write(&file, manifest(&list)).unwrap();
                succeeded(
                    "kubectl create -f",
                    cp.kubectl(
                        "super-admin.conf",
                        &["create", "-f", &file.display().to_string()],
                    ),
                );
                let mut args = vec!["certificate", "approve"];
                args.extend(
                    share
                        .iter()
                        .filter(|r| r.kind.approved_by_admin())
                        .map(|r| r.name.as_str()),
                );
                if args.len() == 2 {
                    return;
                }
                succeeded(
                    "kubectl certificate approve",
                    cp.kubectl("super-admin.conf", &args),
                );
            });
        }
    });
}

/// Every CertificateSigningRequest as JSON, by name.
pub(crate) fn csrs(cp: &ControlPlane) -> BTreeMap<String, serde_json::Value> {
    let json = succeeded(
        "kubectl get csr",
        cp.kubectl("super-admin.conf", &["get", "csr", "-o", "json"]),
    );
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["metadata"]["name"].as_str().unwrap().to_owned(),
                c.clone(),
            )
        })
        .collect()
}

pub(crate) fn certificate(csr: &serde_json::Value) -> Option<Vec<u8>> {
    csr["status"]["certificate"]
        .as_str()
        .map(|b| Base64::decode_vec(b).unwrap())
}

pub(crate) fn failed_reason(csr: &serde_json::Value) -> Option<String> {
    csr["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Failed")
        .map(|c| c["reason"].as_str().unwrap_or_default().to_owned())
}

/// One `kubepki controller` replica against the cluster.
pub(crate) struct Replica {
    pub(crate) name: &'static str,
    pub(crate) process: Process,
    pub(crate) metrics: u16,
}

impl Replica {
    /// A replica named `name`; `approve` turns its approval policies on.
    pub(crate) fn start(
        cp: &ControlPlane,
        dir: &Path,
        name: &'static str,
        conf: &Path,
        approve: bool,
    ) -> Self {
        let metrics = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_kubepki"));
        command
            .current_dir(dir)
            .env_remove("KUBECONFIG")
            .args([
                "controller",
                "cluster",
                "--kubeconfig",
                &conf.display().to_string(),
            ])
            .args(["--cluster-signing-cert-file", &cp.tree.pki("ca.crt")])
            .args(["--cluster-signing-key-file", &cp.tree.pki("ca.key")])
            .args([
                "--profiles-file",
                "profiles.yaml",
                "--signer-domain",
                DOMAIN,
            ])
            .args(if approve {
                &[
                    "--approve",
                    "kubelet-client,kubelet-serving",
                    "--serving-ip-prefixes",
                    "192.0.2.0/24",
                ][..]
            } else {
                &[]
            })
            .args(["--leader-elect", "--leader-elect-identity", name])
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics}")]);
        let process = Process::spawn(name, command, dir.join(format!("{name}.log")));
        Replica {
            name,
            process,
            metrics,
        }
    }

    pub(crate) fn get(&self, path: &str) -> Output {
        Command::new("curl")
            .args(["-s", "-m", "5", "-w", "\n%{http_code}"])
            .arg(format!("http://127.0.0.1:{}{path}", self.metrics))
            .output()
            .expect("run curl")
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.process.log()).unwrap_or_default()
    }
}

pub(crate) fn lease_holder(cp: &ControlPlane) -> String {
    let out = cp.kubectl(
        "super-admin.conf",
        &[
            "-n",
            "kube-system",
            "get",
            "lease",
            "kubepki-controller",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// How many "issued" log lines name `csr` (text logs: `csr=NAME ... issued`).
pub(crate) fn issued_lines(log: &str, csr: &str) -> usize {
    let field = format!("csr={csr} ");
    log.lines()
        .filter(|l| l.contains(&field) && l.contains("issued"))
        .count()
}

/// A control plane on an ECDSA-P256 `kubepki init` tree, with kube-controller-manager's
/// `--controllers`.
pub(crate) fn boot(controllers: &str) -> Option<(tempfile::TempDir, ControlPlane)> {
    let (dir, cp) = crate::setup::boot("ECDSA-P256", Some(controllers), TEST_BUDGET)?;
    std::fs::write(dir.path().join("profiles.yaml"), PROFILES).unwrap();
    // example.com/app has a CA of its own, named in the profile file.
    succeeded(
        "kubepki ca init (example.com/app's CA)",
        kubepki(
            dir.path(),
            &[
                "ca",
                "init",
                "--cert",
                "app-ca.crt",
                "--key",
                "app-ca.key",
                "--subject",
                "/CN=example.com app CA",
            ],
        ),
    );
    Some((dir, cp))
}
