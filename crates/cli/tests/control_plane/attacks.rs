//! Attacks on `kubepki controller` as the signer of a real cluster, each played by the party
//! that could play it: a node with its own credentials, an admin who approves what `kubectl`
//! and openssl show, a profile file that names no CA. One control plane (kube-controller-manager
//! without csrsigning and csrapproving: kubepki alone approves and signs) serves them all.
//! Each defence is a check of its own, on its own requests, with its own controller; every
//! check runs, and the test fails listing the ones that did not hold.
//!
//! The attacks:
//! 1. another node's identity: a multi-valued RDN `{CN=system:node:worker-2 (UTF8String),
//!    CN=system:node:worker-1 (PrintableString)}` that Go reads as worker-1 when it is asked
//!    for, and as worker-2 once re-encoded and re-sorted into a certificate (the approver, the
//!    signer and `kubepki sign` must each refuse it);
//! 2. names nobody approved: a second `extensionRequest` value that Go and openssl never show;
//! 3. serving approval that trusts the node: a node adds the API server's names to its own
//!    `Node.status.addresses`, then asks for a serving certificate for them (without and with
//!    `--serving-ip-prefixes`);
//! 4. a custom signer on the cluster CA mints `O=system:masters` (refused at start without
//!    `cluster_ca: true`; refused per request with it);
//!
//! and the honest paths beside them: a node renewing its own client certificate, a node's
//! serving certificate for its own name and address, a custom signer's ordinary user.
//!
//! `cargo test -p kubepki-cli --test control_plane --locked -- --test-threads=1 attacks_on`

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use base64ct::{Base64, Encoding};
use kubepki::der::asn1::{BitString, Ia5String, OctetString, SetOfVec};
use kubepki::der::oid::ObjectIdentifier;
use kubepki::der::{Any, Decode, Encode, Tag};
use kubepki::x509_cert::attr::{Attribute, AttributeTypeAndValue};
use kubepki::x509_cert::ext::Extension;
use kubepki::x509_cert::ext::pkix::SubjectAltName;
use kubepki::x509_cert::ext::pkix::name::GeneralName;
use kubepki::x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use kubepki::x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};
use kubepki::{KeyAlgorithm, KeyFormat, KeyPair, Signer};

use crate::cluster::{node_kubeconfig, register_node, service_account_kubeconfig};
use crate::common::{kubepki, succeeded};
use crate::harness::{ControlPlane, Process, exclusive};
use crate::{strings, whoami_with};

/// The attacks share one control plane; each may wait out its bounded waits.
const SUITE_BUDGET: Duration = Duration::from_secs(900);

/// How long a controller gets to handle a request it has been shown (it reacts in well under
/// a second; the margin is for a loaded two-core machine).
const HANDLED: Duration = Duration::from_secs(30);

const KUBELET_CLIENT: &str = "kubernetes.io/kube-apiserver-client-kubelet";
const KUBELET_SERVING: &str = "kubernetes.io/kubelet-serving";
const CLIENT_USAGES: [&str; 2] = ["digital signature", "client auth"];
const SERVING_USAGES: [&str; 2] = ["digital signature", "server auth"];

/// The two worker nodes and their InternalIPs (TEST-NET-1: nothing routes there).
pub(crate) const WORKER_1: &str = "worker-1";
pub(crate) const WORKER_1_IP: &str = "192.0.2.21";
const WORKER_2: &str = "worker-2";
const WORKER_2_IP: &str = "192.0.2.22";

const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const EXTENSION_REQUEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// kubeadm's ClusterRoleBindings for node bootstrap and renewal
/// (cmd/kubeadm/app/phases/bootstraptoken/node): bootstrap tokens may ask for a node's first
/// client certificate, nodes for their own renewal.
const KUBEADM_NODE_BINDINGS: &str = "apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: 'kubeadm:kubelet-bootstrap'}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: 'system:node-bootstrapper'}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: 'system:bootstrappers:kubeadm:default-node-token'}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: 'kubeadm:node-autoapprove-bootstrap'}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient'}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: 'system:bootstrappers:kubeadm:default-node-token'}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: 'kubeadm:node-autoapprove-certificate-rotation'}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient'}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: 'system:nodes'}
";

/// A control plane where kubepki is the only approver and signer, with kubeadm's node
/// bindings, the ServiceAccount of `deploy/rbac.yaml` for the controller, and Nodes
/// worker-1 and worker-2 registered.
pub(crate) struct Plane {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) cp: ControlPlane,
    /// The controller's kubeconfig (the ServiceAccount's token).
    pub(crate) conf: PathBuf,
}

impl Plane {
    pub(crate) fn boot(budget: Duration) -> Option<Self> {
        let (dir, cp) = crate::boot(
            "ECDSA-P256",
            Some("*,-csrsigning,-csrapproving,bootstrapsigner,tokencleaner"),
            budget,
        )?;
        let bindings = dir.path().join("kubeadm-node-bindings.yaml");
        std::fs::write(&bindings, KUBEADM_NODE_BINDINGS).unwrap();
        succeeded(
            "kubectl apply kubeadm's node bindings",
            cp.kubectl(
                "super-admin.conf",
                &["apply", "-f", &bindings.display().to_string()],
            ),
        );
        let conf = service_account_kubeconfig(&cp, dir.path());
        Some(Plane { dir, cp, conf })
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// kubectl as the cluster's super-admin.
    pub(crate) fn admin(&self, args: &[&str]) -> Output {
        self.cp.kubectl("super-admin.conf", args)
    }

    /// kubectl with the kubeconfig at `conf`.
    pub(crate) fn kubectl_as(&self, conf: &Path, args: &[&str]) -> Output {
        self.cp
            .kubectl_with(&["--kubeconfig", &conf.display().to_string()])(args)
    }

    /// `kubepki controller` against the cluster with the cluster CA and `args`, without
    /// leader election; returns once its `/readyz` answers 200 and it has logged that it
    /// watches (its first list is in), and fails if it exits or is not ready within 30 s.
    pub(crate) fn controller(&self, name: &'static str, args: &[&str]) -> Controller {
        self.controller_run_by(name, Command::new(env!("CARGO_BIN_EXE_kubepki")), args)
    }

    /// As [`Plane::controller`], with `kubepki` started by `program` (the image's own binary,
    /// through chroot, in `image.rs`).
    pub(crate) fn controller_run_by(
        &self,
        name: &'static str,
        program: Command,
        args: &[&str],
    ) -> Controller {
        let port = crate::harness::free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut all: Vec<&str> = vec!["--metrics-addr", &addr];
        all.extend_from_slice(args);
        let mut controller = self.spawn_controller(name, program, &all);
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = controller.process.exit_status() {
                panic!(
                    "{name} exited ({status}) instead of starting:\n{}",
                    controller.log()
                );
            }
            if readyz(port) == Some(200)
                && controller
                    .log()
                    .contains("watching certificatesigningrequests")
            {
                return controller;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} not ready within 30 s (/readyz {:?}):\n{}",
                readyz(port),
                controller.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `kubepki controller` started by `command`, not waited for.
    fn spawn_controller(
        &self,
        name: &'static str,
        mut command: Command,
        args: &[&str],
    ) -> Controller {
        command
            .current_dir(self.dir())
            .env_remove("KUBECONFIG")
            .args([
                "controller",
                "cluster",
                "--kubeconfig",
                &self.conf.display().to_string(),
            ])
            .args(["--cluster-signing-cert-file", &self.cp.tree.pki("ca.crt")])
            .args(["--cluster-signing-key-file", &self.cp.tree.pki("ca.key")])
            .args(["--log-format", "text"])
            .args(args);
        let log = self.dir().join(format!("{name}.log"));
        Controller {
            process: Process::spawn(name, command, log),
        }
    }

    /// Removes every request, so that each attack's controller sees only its own.
    fn forget_requests(&self) {
        succeeded(
            "kubectl delete csr --all",
            self.admin(&["delete", "csr", "--all", "--wait=true"]),
        );
    }

    /// Creates a CertificateSigningRequest as the user of `conf`.
    pub(crate) fn create_csr(
        &self,
        conf: &Path,
        name: &str,
        csr_pem: &str,
        signer: &str,
        usages: &[&str],
    ) -> Output {
        let object = serde_json::json!({
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {
                "request": Base64::encode_string(csr_pem.as_bytes()),
                "signerName": signer,
                "usages": usages,
            },
        });
        let file = self.dir().join(format!("{name}.json"));
        std::fs::write(&file, object.to_string()).unwrap();
        self.kubectl_as(conf, &["create", "-f", &file.display().to_string()])
    }

    /// The request named `name`, as JSON.
    pub(crate) fn csr(&self, name: &str) -> serde_json::Value {
        let json = succeeded(
            "kubectl get csr",
            self.admin(&["get", "csr", name, "-o", "json"]),
        );
        serde_json::from_str(&json).unwrap()
    }

    pub(crate) fn approve(&self, name: &str) {
        succeeded(
            "kubectl certificate approve",
            self.admin(&["certificate", "approve", name]),
        );
    }

    /// Who kube-apiserver takes the holder of `cert_pem` and `key_pem` for.
    pub(crate) fn whoami_with(
        &self,
        name: &str,
        cert_pem: &[u8],
        key_pem: &str,
    ) -> (String, Vec<String>) {
        let (cert, key) = (
            self.dir().join(format!("{name}.whoami.crt")),
            self.dir().join(format!("{name}.whoami.key")),
        );
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        whoami_with(
            &self.cp,
            &["--client-certificate", &cert, "--client-key", &key],
        )
    }
}

/// One `kubepki controller`, stopped when dropped.
pub(crate) struct Controller {
    process: Process,
}

impl Controller {
    /// The process id (of `kubepki` itself: chroot execs it).
    pub(crate) fn id(&self) -> u32 {
        self.process.id()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.process.log()).unwrap_or_default()
    }

    /// The log lines about request `csr` (text logs carry `csr=NAME`).
    pub(crate) fn lines_about(&self, csr: &str) -> Vec<String> {
        let field = format!("csr={csr}");
        self.log()
            .lines()
            .filter(|l| l.split_whitespace().any(|w| w == field))
            .map(str::to_owned)
            .collect()
    }

    /// Waits until the controller has logged a decision on `csr` (left pending, approved,
    /// issued or failed); returns its lines about it.
    pub(crate) fn decided(&mut self, cp: &ControlPlane, csr: &str, words: &[&str]) -> Vec<String> {
        cp.budget.wait_for(
            &format!("the controller to log {words:?} for {csr}"),
            HANDLED,
            || {
                if let Some(status) = self.process.exit_status() {
                    panic!("the controller exited ({status}):\n{}", self.log());
                }
                let lines = self.lines_about(csr);
                if lines.iter().any(|l| words.iter().any(|w| l.contains(w))) {
                    Ok(lines)
                } else {
                    Err(format!("lines so far: {lines:?}"))
                }
            },
        )
    }
}

/// Every decision a controller logs on a request.
const ANY_DECISION: [&str; 4] = ["left pending", "approved", "issued", "failed"];

pub(crate) fn certificate(csr: &serde_json::Value) -> Option<Vec<u8>> {
    csr["status"]["certificate"]
        .as_str()
        .map(|b| Base64::decode_vec(b).expect("status.certificate is base64"))
}

fn condition<'a>(csr: &'a serde_json::Value, kind: &str) -> Option<&'a serde_json::Value> {
    csr["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// `openssl x509 -noout -subject -ext subjectAltName` of a PEM certificate, for messages.
fn openssl_x509(dir: &Path, name: &str, pem: &[u8]) -> String {
    let file = dir.join(format!("{name}.issued.crt"));
    std::fs::write(&file, pem).unwrap();
    succeeded(
        "openssl x509",
        Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-ext",
                "subjectAltName",
                "-in",
            ])
            .arg(&file)
            .output()
            .expect("run openssl"),
    )
}

/// A P-256 key and an openssl CSR for `subject` (openssl's `-subj`) with `extra` req
/// arguments; returns (CSR PEM, key PEM).
pub(crate) fn openssl_csr(
    dir: &Path,
    name: &str,
    subject: &str,
    extra: &[&str],
) -> (String, String) {
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-keyout"])
        .arg(&key)
        .args(["-subj", subject])
        .args(extra)
        .output()
        .expect("run openssl req");
    let csr = succeeded("openssl req", out);
    (csr, std::fs::read_to_string(&key).unwrap())
}

/// A string attribute value of an explicit type.
fn string_value(tag: Tag, value: &str) -> Any {
    Any::new(tag, value.as_bytes()).unwrap()
}

fn atv(oid: ObjectIdentifier, value: Any) -> AttributeTypeAndValue {
    AttributeTypeAndValue { oid, value }
}

/// An `extensionRequest` value: one subjectAltName extension of DNS and IP names.
fn san_extension_request(dns: &str, ip: [u8; 4]) -> Any {
    let names = SubjectAltName(vec![
        GeneralName::DnsName(Ia5String::new(dns).unwrap()),
        GeneralName::IpAddress(OctetString::new(ip.to_vec()).unwrap()),
    ]);
    let extension = Extension {
        extn_id: SUBJECT_ALT_NAME,
        critical: false,
        extn_value: OctetString::new(names.to_der().unwrap()).unwrap(),
    };
    Any::from_der(&ExtensionReq(vec![extension]).to_der().unwrap()).unwrap()
}

/// A PKCS#10 request for `rdns` with `attributes`, properly self-signed by a fresh P-256 key:
/// built from the ASN.1 types, not from a subject string, so that it can say what no honest
/// tool says. Returns (CSR PEM, key PEM).
fn handmade_csr(
    rdns: Vec<Vec<AttributeTypeAndValue>>,
    attributes: Vec<Attribute>,
) -> (String, String) {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut sequence = RdnSequence::default();
    for rdn in rdns {
        // DER orders a SET by encoding, as kube-apiserver's Go reads it.
        sequence.push(RelativeDistinguishedName::try_from(rdn).unwrap());
    }
    let subject = Name::from_der(&sequence.to_der().unwrap()).unwrap();
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: key.public_key().spki().clone(),
        attributes: SetOfVec::try_from(attributes).unwrap(),
    };
    let signature = key.sign(&info.to_der().unwrap()).unwrap();
    let request = CertReq {
        info,
        algorithm: key.signature_algorithm(),
        signature: BitString::from_bytes(&signature).unwrap(),
    };
    let pem = kubepki::keys::pem::pem_encode("CERTIFICATE REQUEST", &request.to_der().unwrap());
    (pem, key.to_pem(KeyFormat::Pkcs8).unwrap().to_string())
}

/// `openssl req -verify -noout -text` of a CSR: its signature checks, and what a person
/// looking at it is shown.
fn openssl_req_text(dir: &Path, name: &str, pem: &str) -> String {
    let file = dir.join(format!("{name}.csr"));
    std::fs::write(&file, pem).unwrap();
    let out = Command::new("openssl")
        .args([
            "req", "-verify", "-noout", "-text", "-nameopt", "oneline", "-in",
        ])
        .arg(&file)
        .output()
        .expect("run openssl req");
    succeeded("openssl req -verify", out)
}

/// Attack 1's request: worker-1's key, and a subject of `O=system:nodes` and one
/// multi-valued RDN `{CN=system:node:worker-2 (UTF8String), CN=system:node:worker-1
/// (PrintableString)}`, in that (DER) order. Go (kube-apiserver's NodeRestriction, the
/// SubjectAccessReview's input, `kubectl`'s users) reads the last CN: worker-1. A signer that
/// re-encodes every value as UTF8String re-sorts the SET, and Go then reads worker-2. Written
/// to `<file>.csr`; returns (CSR PEM, key PEM).
fn ambiguous_node_request(plane: &Plane, file: &str) -> (String, String) {
    let (csr, key) = handmade_csr(
        vec![
            vec![atv(O, string_value(Tag::Utf8String, "system:nodes"))],
            vec![
                atv(CN, string_value(Tag::Utf8String, "system:node:worker-2")),
                atv(
                    CN,
                    string_value(Tag::PrintableString, "system:node:worker-1"),
                ),
            ],
        ],
        vec![],
    );
    let shown = openssl_req_text(plane.dir(), file, &csr);
    assert!(
        shown.contains("CN = system:node:worker-2 + CN = system:node:worker-1"),
        "the request should hold one RDN with both CNs, worker-2 first in DER order:\n{shown}"
    );
    (csr, key)
}

/// Who kube-apiserver takes a request's certificate for, and what openssl shows of it, if
/// the request has one.
fn issued_as(plane: &Plane, name: &str, key: &str) -> Option<String> {
    certificate(&plane.csr(name)).map(|pem| {
        let who = plane.whoami_with(name, &pem, key);
        format!("{who:?}; {}", openssl_x509(plane.dir(), name, &pem).trim())
    })
}

/// Attack 1a: worker-1 creates the ambiguous request with its own credentials (the API
/// server takes it: Go reads worker-1) and `kubepki controller --approve kubelet-client` is
/// the approver. It must leave it Pending, and sign nothing.
fn ambiguous_subject_is_never_approved(plane: &Plane, worker_1: &Path) {
    plane.forget_requests();
    let mut controller = plane.controller("controller-attack-1a", &["--approve", "kubelet-client"]);
    // The defence the attack goes around: asked plainly, the API server refuses worker-1 a
    // request for worker-2's name (NodeRestriction reads the CN as Go does).
    let (plain, _) = openssl_csr(
        plane.dir(),
        "attack-1a-plain",
        "/O=system:nodes/CN=system:node:worker-2",
        &[],
    );
    let refused = plane.create_csr(
        worker_1,
        "attack-1a-plain",
        &plain,
        KUBELET_CLIENT,
        &CLIENT_USAGES,
    );
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("Forbidden"),
        "kube-apiserver should refuse worker-1 a plain request for worker-2: {said}"
    );
    let (csr, key) = ambiguous_node_request(plane, "attack-1a");
    let name = "attack-1a-other-node";
    succeeded(
        "worker-1 creates its request",
        plane.create_csr(worker_1, name, &csr, KUBELET_CLIENT, &CLIENT_USAGES),
    );
    let lines = controller.decided(&plane.cp, name, &ANY_DECISION);
    // An approval is followed by the certificate: give it the moment it takes.
    std::thread::sleep(Duration::from_secs(2));
    if let Some(who) = issued_as(plane, name, &key) {
        panic!(
            "kubepki controller approved and signed worker-1's ambiguous request; kube-apiserver \
             reads the certificate as {who}\ncontroller: {lines:?}"
        );
    }
    let object = plane.csr(name);
    assert!(
        condition(&object, "Approved").is_none(),
        "the approver must leave an ambiguous subject Pending: {}",
        object["status"]
    );
    assert!(
        lines.iter().any(|l| l.contains("left pending")),
        "the controller should say why it left it Pending: {lines:?}"
    );
}

/// Attack 1b: an admin who trusts `kubectl get csr` approves the ambiguous request by hand;
/// `kubepki controller` (signing only) must mark it Failed and issue nothing.
fn ambiguous_subject_fails_when_approved(plane: &Plane, worker_1: &Path) {
    plane.forget_requests();
    let mut controller = plane.controller("controller-attack-1b", &[]);
    let (csr, key) = ambiguous_node_request(plane, "attack-1b");
    let name = "attack-1b-other-node";
    succeeded(
        "worker-1 creates its request",
        plane.create_csr(worker_1, name, &csr, KUBELET_CLIENT, &CLIENT_USAGES),
    );
    plane.approve(name);
    let lines = controller.decided(&plane.cp, name, &["issued", "failed"]);
    if let Some(who) = issued_as(plane, name, &key) {
        panic!(
            "kubepki controller signed the admin-approved ambiguous request; kube-apiserver \
             reads the certificate as {who}\ncontroller: {lines:?}"
        );
    }
    let object = plane.csr(name);
    let failed = condition(&object, "Failed").unwrap_or_else(|| {
        panic!(
            "approved, the request must end Failed: {}",
            object["status"]
        )
    });
    assert_eq!(failed["reason"], "SignerValidationFailure", "{failed}");
}

/// Attack 1c: the offline path, `kubepki sign --profile kubelet-client --node-name
/// worker-1`, must refuse the ambiguous request and say what is wrong with its subject.
fn ambiguous_subject_is_refused_offline(plane: &Plane) {
    let (_, key) = ambiguous_node_request(plane, "attack-1c");
    let out = kubepki(
        plane.dir(),
        &[
            "sign",
            "--ca-cert",
            "pki/ca.crt",
            "--ca-key",
            "pki/ca.key",
            "--profile",
            "kubelet-client",
            "--node-name",
            WORKER_1,
            "--csr",
            "attack-1c.csr",
            "--out",
            "attack-1c.crt",
        ],
    );
    if out.status.success() {
        let pem = std::fs::read(plane.dir().join("attack-1c.crt")).unwrap();
        let who = plane.whoami_with("attack-1c", &pem, &key);
        panic!(
            "kubepki sign --profile kubelet-client --node-name worker-1 signed the ambiguous \
             request; kube-apiserver reads the certificate as {who:?}; {}",
            openssl_x509(plane.dir(), "attack-1c", &pem).trim()
        );
    }
    let said = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        [
            "subject",
            "rdn",
            "relative distinguished name",
            "common name"
        ]
        .iter()
        .any(|w| said.contains(w)),
        "kubepki sign should say what is wrong with the subject: {said}"
    );
    assert!(
        !plane.dir().join("attack-1c.crt").exists(),
        "a refused request leaves no certificate file"
    );
}

/// Attack 2: worker-1 asks for a serving certificate whose `extensionRequest` attribute holds
/// two values. Go (kube-apiserver, `kubectl`'s users) and openssl read only the first
/// (DNS worker-1.example, IP 192.0.2.21); the second asks for the API server's names
/// (DNS kubernetes.default.svc, IP 10.96.0.1). The admin approves what is shown.
fn names_nobody_approved(plane: &Plane, worker_1: &Path) {
    plane.forget_requests();
    let mut controller = plane.controller("controller-attack-2", &["--approve", "kubelet-client"]);
    let values = vec![
        san_extension_request("worker-1.example", [192, 0, 2, 21]),
        san_extension_request("kubernetes.default.svc", [10, 96, 0, 1]),
    ];
    let attribute = Attribute {
        oid: EXTENSION_REQUEST,
        values: SetOfVec::try_from(values).unwrap(),
    };
    let (csr, _key) = handmade_csr(
        vec![
            vec![atv(O, string_value(Tag::Utf8String, "system:nodes"))],
            vec![atv(
                CN,
                string_value(Tag::Utf8String, "system:node:worker-1"),
            )],
        ],
        vec![attribute],
    );
    let name = "attack-2-second-extension-request";
    succeeded(
        "worker-1 creates its request",
        plane.create_csr(worker_1, name, &csr, KUBELET_SERVING, &SERVING_USAGES),
    );
    // What the admin sees: the stored request, decoded and shown by openssl.
    let stored = succeeded(
        "kubectl get csr -o jsonpath",
        plane.admin(&["get", "csr", name, "-o", "jsonpath={.spec.request}"]),
    );
    let stored = String::from_utf8(Base64::decode_vec(stored.trim()).unwrap()).unwrap();
    let shown = openssl_req_text(plane.dir(), "attack-2", &stored);
    assert!(
        shown.contains("DNS:worker-1.example") && !shown.contains("kubernetes.default.svc"),
        "openssl should show the first extensionRequest value only:\n{shown}"
    );

    plane.approve(name);
    let lines = controller.decided(&plane.cp, name, &["issued", "failed"]);
    let object = plane.csr(name);
    if let Some(pem) = certificate(&object) {
        panic!(
            "kubepki controller signed names nobody was shown: {}\ncontroller: {lines:?}",
            openssl_x509(plane.dir(), name, &pem).trim()
        );
    }
    let failed = condition(&object, "Failed").unwrap_or_else(|| {
        panic!(
            "approved, the request must end Failed: {}",
            object["status"]
        )
    });
    assert_eq!(failed["reason"], "SignerValidationFailure", "{failed}");
}

/// Attack 3's first move: worker-1 writes the API server's names into its own
/// `Node.status.addresses`, as a kubelet writes its status. NodeRestriction lets it.
fn node_writes_apiserver_names(plane: &Plane, worker_1: &Path) {
    let addresses = serde_json::json!([
        {"type": "Hostname", "address": WORKER_1},
        {"type": "InternalIP", "address": WORKER_1_IP},
        {"type": "InternalIP", "address": "10.96.0.1"},
        {"type": "InternalDNS", "address": "kubernetes.default.svc"},
    ]);
    // As a kubelet does: read its Node, write its status (a node may not read nodes/status,
    // so no `kubectl patch`), and on a conflict (another writer changed the Node between the
    // read and the write: kube-controller-manager's node controllers do) read and write again.
    // A taint changed by the node lifecycle controller between the read and the write comes
    // back as NodeRestriction's "not allowed to modify taints" (the stale taints look like
    // the node's own change), so that is retried as a conflict too.
    let file = plane.dir().join("worker-1-status.json");
    let mut attempts = 0;
    loop {
        let node = succeeded(
            "worker-1 reads its Node",
            plane.kubectl_as(worker_1, &["get", "node", WORKER_1, "-o", "json"]),
        );
        let mut node: serde_json::Value = serde_json::from_str(&node).unwrap();
        node["status"]["addresses"] = addresses.clone();
        std::fs::write(&file, node.to_string()).unwrap();
        let replaced = plane.kubectl_as(
            worker_1,
            &[
                "replace",
                "--subresource=status",
                "-f",
                &file.display().to_string(),
            ],
        );
        attempts += 1;
        let stderr = String::from_utf8_lossy(&replaced.stderr);
        let conflict =
            stderr.contains("(Conflict)") || stderr.contains("not allowed to modify taints");
        if replaced.status.success() || !conflict || attempts == 8 {
            succeeded(
                "worker-1 writes the API server's names into its own Node.status.addresses",
                replaced,
            );
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let written = succeeded(
        "kubectl get node",
        plane.admin(&[
            "get",
            "node",
            WORKER_1,
            "-o",
            "jsonpath={.status.addresses}",
        ]),
    );
    assert!(
        written.contains("10.96.0.1") && written.contains("kubernetes.default.svc"),
        "NodeRestriction lets a node write its own addresses: {written}"
    );
}

/// Attack 3's request for the API server's names, as worker-1, must be left Pending by
/// `controller` and never signed.
fn apiserver_names_left_pending(
    plane: &Plane,
    worker_1: &Path,
    controller: &mut Controller,
    name: &str,
    sans: &str,
) {
    let (csr, _) = openssl_csr(
        plane.dir(),
        name,
        "/O=system:nodes/CN=system:node:worker-1",
        &["-addext", &format!("subjectAltName={sans}")],
    );
    succeeded(
        "worker-1 creates its request",
        plane.create_csr(worker_1, name, &csr, KUBELET_SERVING, &SERVING_USAGES),
    );
    let lines = controller.decided(&plane.cp, name, &ANY_DECISION);
    std::thread::sleep(Duration::from_secs(2));
    let object = plane.csr(name);
    if let Some(pem) = certificate(&object) {
        panic!(
            "kubepki controller approved and signed {sans} for worker-1 because worker-1 wrote \
             them into its Node: {}\ncontroller: {lines:?}",
            openssl_x509(plane.dir(), name, &pem).trim()
        );
    }
    assert!(
        condition(&object, "Approved").is_none(),
        "never approve {sans}: {}",
        object["status"]
    );
    assert!(
        lines.iter().any(|l| l.contains("left pending")),
        "the controller should say why it left {name} Pending: {lines:?}"
    );
}

/// Attack 3a: with `--approve kubelet-serving` and no `--serving-ip-prefixes`, the request
/// for DNS kubernetes.default.svc and IP 10.96.0.1 (now "addresses" of worker-1) is never
/// approved: the Node's addresses are what the node wrote, not a source of truth.
fn serving_names_the_node_wrote_no_prefixes(plane: &Plane, worker_1: &Path) {
    plane.forget_requests();
    node_writes_apiserver_names(plane, worker_1);
    let mut controller =
        plane.controller("controller-attack-3a", &["--approve", "kubelet-serving"]);
    apiserver_names_left_pending(
        plane,
        worker_1,
        &mut controller,
        "attack-3a-apiserver-names",
        "DNS:kubernetes.default.svc,IP:10.96.0.1",
    );
}

/// Attack 3b: with `--serving-ip-prefixes 192.0.2.0/24`, the same request, and one for the
/// DNS name alone, are never approved; beside them the honest request (worker-1 and
/// 192.0.2.21, a Node address inside the prefix) is approved and signed with exactly those
/// names.
fn serving_names_the_node_wrote_with_prefixes(plane: &Plane, worker_1: &Path) {
    plane.forget_requests();
    node_writes_apiserver_names(plane, worker_1);
    let mut controller = plane.controller(
        "controller-attack-3b",
        &[
            "--approve",
            "kubelet-serving",
            "--serving-ip-prefixes",
            "192.0.2.0/24",
        ],
    );
    apiserver_names_left_pending(
        plane,
        worker_1,
        &mut controller,
        "attack-3b-apiserver-names",
        "DNS:kubernetes.default.svc,IP:10.96.0.1",
    );
    apiserver_names_left_pending(
        plane,
        worker_1,
        &mut controller,
        "attack-3b-apiserver-dns",
        "DNS:kubernetes.default.svc",
    );

    let honest = "honest-serving-worker-1";
    let (csr, _) = openssl_csr(
        plane.dir(),
        honest,
        "/O=system:nodes/CN=system:node:worker-1",
        &[
            "-addext",
            &format!("subjectAltName=DNS:{WORKER_1},IP:{WORKER_1_IP}"),
        ],
    );
    succeeded(
        "worker-1 creates its honest request",
        plane.create_csr(worker_1, honest, &csr, KUBELET_SERVING, &SERVING_USAGES),
    );
    let pem = plane
        .cp
        .budget
        .wait_for("worker-1's honest serving certificate", HANDLED, || {
            certificate(&plane.csr(honest))
                .ok_or_else(|| format!("controller: {:?}", controller.lines_about(honest)))
        });
    let object = plane.csr(honest);
    let approved = condition(&object, "Approved").expect("approved");
    assert_eq!(approved["reason"], "AutoApproved", "{approved}");
    let shown = openssl_x509(plane.dir(), honest, &pem);
    let sans: Vec<&str> = shown
        .lines()
        .skip_while(|l| !l.contains("Subject Alternative Name"))
        .nth(1)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(
        sans,
        ["DNS:worker-1", "IP Address:192.0.2.21"],
        "exactly the names asked for:\n{shown}"
    );
    let crt = plane.dir().join(format!("{honest}.issued.crt"));
    succeeded(
        "openssl verify -purpose sslserver",
        Command::new("openssl")
            .args(["verify", "-purpose", "sslserver", "-CAfile"])
            .arg(plane.cp.tree.pki("ca.crt"))
            .arg(&crt)
            .output()
            .expect("run openssl verify"),
    );
}

/// A custom signer's profile file: client auth, no subject rules, and `signers` as given.
fn ops_profiles(signers: &str) -> String {
    format!(
        "profiles:
  ops:
    description: operators of example.com
    usages: [digital signature, key encipherment, client auth]
    expiry: 24h
{signers}"
    )
}

/// The `O=system:masters` request for `example.com/ops`, made and approved by the admin (as
/// by an approver that trusts the signer to enforce its profile); returns its key.
fn approved_masters_request(plane: &Plane, masters: &str) -> String {
    let admin_conf = plane.cp.tree.conf("super-admin.conf");
    let (csr, key) = openssl_csr(plane.dir(), masters, "/CN=mallory/O=system:masters", &[]);
    succeeded(
        "create the system:masters request",
        plane.create_csr(&admin_conf, masters, &csr, "example.com/ops", &OPS_USAGES),
    );
    plane.approve(masters);
    key
}

const OPS_USAGES: [&str; 3] = ["digital signature", "key encipherment", "client auth"];

/// Attack 4a: a profile file whose client-auth profile names no CA of its own makes a
/// custom signer `example.com/ops` that would sign with the cluster CA, where an approved
/// `O=system:masters` request is cluster-admin. The controller must refuse to start, naming
/// the signer, and sign nothing.
fn custom_signer_on_the_cluster_ca_is_refused(plane: &Plane) {
    plane.forget_requests();
    let masters = "attack-4a-system-masters";
    let key = approved_masters_request(plane, masters);
    std::fs::write(plane.dir().join("ops-implicit.yaml"), ops_profiles("")).unwrap();
    let mut refused = plane.spawn_controller(
        "controller-attack-4a",
        Command::new(env!("CARGO_BIN_EXE_kubepki")),
        &[
            "--profiles-file",
            "ops-implicit.yaml",
            "--signer-domain",
            "example.com",
        ],
    );
    let status = plane.cp.budget.wait_for(
        "the controller to refuse a custom signer on the cluster CA",
        Duration::from_secs(20),
        || {
            if let Some(pem) = certificate(&plane.csr(masters)) {
                let who = plane.whoami_with(masters, &pem, &key);
                panic!(
                    "kubepki controller started with example.com/ops on the cluster CA and \
                     issued a certificate that kube-apiserver reads as {who:?}\ncontroller:\n{}",
                    refused.log()
                );
            }
            refused
                .process
                .exit_status()
                .ok_or_else(|| format!("still running:\n{}", refused.log()))
        },
    );
    let log = refused.log();
    assert!(!status.success(), "exit {status}: {log}");
    assert!(
        log.contains("example.com/ops"),
        "the refusal should name the signer: {log}"
    );
    assert!(
        certificate(&plane.csr(masters)).is_none(),
        "no certificate for system:masters"
    );
}

/// Attack 4b: said on purpose (`signers: {ops: {cluster_ca: true}}`) the controller starts,
/// and still never signs `O=system:masters` (Failed); an ordinary operator is signed.
fn custom_signer_on_the_cluster_ca_refuses_masters(plane: &Plane) {
    plane.forget_requests();
    let admin_conf = plane.cp.tree.conf("super-admin.conf");
    let masters = "attack-4b-system-masters";
    let key = approved_masters_request(plane, masters);
    std::fs::write(
        plane.dir().join("ops-cluster-ca.yaml"),
        ops_profiles("signers:\n  ops: {cluster_ca: true}\n"),
    )
    .unwrap();
    let mut controller = plane.controller(
        "controller-attack-4b",
        &[
            "--profiles-file",
            "ops-cluster-ca.yaml",
            "--signer-domain",
            "example.com",
        ],
    );
    let lines = controller.decided(&plane.cp, masters, &["issued", "failed"]);
    let object = plane.csr(masters);
    if let Some(pem) = certificate(&object) {
        let who = plane.whoami_with(masters, &pem, &key);
        panic!(
            "example.com/ops (cluster_ca: true) signed O=system:masters; kube-apiserver reads \
             it as {who:?}\ncontroller: {lines:?}"
        );
    }
    let failed = condition(&object, "Failed").unwrap_or_else(|| {
        panic!(
            "approved, the request must end Failed: {}",
            object["status"]
        )
    });
    assert_eq!(failed["reason"], "SignerValidationFailure", "{failed}");

    // An ordinary operator of the same signer is signed, by the cluster CA.
    let alice = "honest-ops-alice";
    let (csr, key) = openssl_csr(plane.dir(), alice, "/CN=alice/O=ops", &[]);
    succeeded(
        "create alice's request",
        plane.create_csr(&admin_conf, alice, &csr, "example.com/ops", &OPS_USAGES),
    );
    plane.approve(alice);
    let pem = plane
        .cp
        .budget
        .wait_for("alice's certificate", HANDLED, || {
            certificate(&plane.csr(alice))
                .ok_or_else(|| format!("controller: {:?}", controller.lines_about(alice)))
        });
    assert_eq!(
        plane.whoami_with(alice, &pem, &key),
        ("alice".into(), strings(&["ops", "system:authenticated"]))
    );
}

/// Honest path: worker-1 renews its own client certificate; the controller approves it
/// (selfnodeclient, by SubjectAccessReview) and signs it, and kube-apiserver takes the new
/// certificate for worker-1.
fn node_renews_its_own_client_certificate(plane: &Plane, worker_1: &Path) {
    plane.forget_requests();
    let mut controller = plane.controller("controller-renewal", &["--approve", "kubelet-client"]);
    let name = "honest-renewal-worker-1";
    let (csr, key) = openssl_csr(
        plane.dir(),
        name,
        "/O=system:nodes/CN=system:node:worker-1",
        &[],
    );
    succeeded(
        "worker-1 creates its renewal",
        plane.create_csr(worker_1, name, &csr, KUBELET_CLIENT, &CLIENT_USAGES),
    );
    let lines = controller.decided(&plane.cp, name, &["issued", "failed", "left pending"]);
    let pem = certificate(&plane.csr(name))
        .unwrap_or_else(|| panic!("no certificate for the renewal; controller: {lines:?}"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("approved: Auto approving self kubelet client")),
        "{lines:?}"
    );
    assert_eq!(
        plane.whoami_with(name, &pem, &key),
        (
            "system:node:worker-1".into(),
            strings(&["system:nodes", "system:authenticated"])
        )
    );
}

#[test]
fn attacks_on_kubepki_as_the_signer_of_a_real_cluster() {
    let _machine = exclusive();
    let Some(plane) = Plane::boot(SUITE_BUDGET) else {
        return;
    };
    register_node(&plane.cp, plane.dir(), WORKER_1, WORKER_1_IP);
    register_node(&plane.cp, plane.dir(), WORKER_2, WORKER_2_IP);
    let worker_1 = node_kubeconfig(&plane.cp, plane.dir(), WORKER_1);

    type Check<'a> = (&'static str, Box<dyn Fn() + 'a>);
    let checks: Vec<Check> = vec![
        (
            "honest path: a node renews its own client certificate",
            Box::new(|| node_renews_its_own_client_certificate(&plane, &worker_1)),
        ),
        (
            "attack 1a: the approver leaves a multi-valued RDN of two CNs Pending",
            Box::new(|| ambiguous_subject_is_never_approved(&plane, &worker_1)),
        ),
        (
            "attack 1b: the signer fails an admin-approved multi-valued RDN of two CNs",
            Box::new(|| ambiguous_subject_fails_when_approved(&plane, &worker_1)),
        ),
        (
            "attack 1c: kubepki sign refuses a multi-valued RDN of two CNs",
            Box::new(|| ambiguous_subject_is_refused_offline(&plane)),
        ),
        (
            "attack 2: the signer fails a second extensionRequest value",
            Box::new(|| names_nobody_approved(&plane, &worker_1)),
        ),
        (
            "attack 3a: no serving approval of names a node wrote into its Node (no prefixes)",
            Box::new(|| serving_names_the_node_wrote_no_prefixes(&plane, &worker_1)),
        ),
        (
            "attack 3b: no serving approval of names a node wrote into its Node (prefixes); honest one signed",
            Box::new(|| serving_names_the_node_wrote_with_prefixes(&plane, &worker_1)),
        ),
        (
            "attack 4a: a custom signer on the cluster CA without cluster_ca: true refuses to start",
            Box::new(|| custom_signer_on_the_cluster_ca_is_refused(&plane)),
        ),
        (
            "attack 4b: a custom signer with cluster_ca: true fails system:masters; signs an operator",
            Box::new(|| custom_signer_on_the_cluster_ca_refuses_masters(&plane)),
        ),
    ];
    let mut failed = Vec::new();
    for (what, check) in &checks {
        eprintln!("==== {what}");
        let started = std::time::Instant::now();
        match catch_unwind(AssertUnwindSafe(check)) {
            Ok(()) => eprintln!(
                "==== {what}: held ({:.1}s)",
                started.elapsed().as_secs_f64()
            ),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                eprintln!(
                    "==== {what}: FAILED ({:.1}s)",
                    started.elapsed().as_secs_f64()
                );
                failed.push(format!("{what}:\n{message}"));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} checks failed:\n\n{}",
        failed.len(),
        checks.len(),
        failed.join("\n\n")
    );
}

/// The status code of `GET /readyz` on loopback `port`, or `None` when nothing answers.
fn readyz(port: u16) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}
