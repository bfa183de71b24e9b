//! Item 5: kubeadm side by side. kubeadm writes its tree for the same cluster; the two are
//! compared certificate by certificate and kubeconfig by kubeconfig (read by openssl and
//! kubectl, not by kubepki), then each tool reads and renews the other's tree, and
//! kube-apiserver boots on kubeadm's tree renewed by kubepki.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{kubepki, succeeded};
use crate::harness::{Budget, ControlPlane, Ports, Tree, exclusive, peers};
use crate::{NODE, TEST_BUDGET, kubepki_init, whoami};

/// The certificates of a kubeadm tree with local etcd.
const CERTIFICATES: [&str; 10] = [
    "ca.crt",
    "apiserver.crt",
    "apiserver-kubelet-client.crt",
    "front-proxy-ca.crt",
    "front-proxy-client.crt",
    "etcd/ca.crt",
    "etcd/server.crt",
    "etcd/peer.crt",
    "etcd/healthcheck-client.crt",
    "apiserver-etcd-client.crt",
];

/// The kubeconfig files kubeadm 1.29+ writes.
const KUBECONFIGS: [&str; 5] = [
    "admin.conf",
    "super-admin.conf",
    "controller-manager.conf",
    "scheduler.conf",
    "kubelet.conf",
];

/// Differences between kubepki's tree and kubeadm's that are right, each with its reason:
/// (file, field, reason). The test fails on a difference not listed here, and on a listed
/// one that no longer occurs, so this table stays true.
const ACCEPTED: &[(&str, &str, &str)] = &[(
    "pki/.kubepki.lock",
    "mode",
    "kubepki's lock on the tree, so that two kubepki processes cannot mix it (kubeadm takes \
     none); it stays, so that every waiting process locks the same file",
)];

/// The node address of both trees. kubeadm refuses a loopback advertise address (it looks
/// for another address on `lo`), so both use one of RFC 5737's documentation range: it is
/// written into certificates and kubeconfig files, and nothing ever connects to it (every
/// client here goes through the control-plane endpoint, 127.0.0.1, and the processes bind
/// loopback only).
const ADVERTISE: &str = "192.0.2.10";

/// Validity lengths may differ by the time between the two runs and rounding: both tools
/// backdate NotBefore by five minutes, so a larger gap is a real difference.
const VALIDITY_SLACK_SECS: i64 = 120;

/// kubeadm's configuration for the same cluster kubepki's test trees describe.
pub(crate) fn kubeadm_config(path: &Path, pki: &Path, port: u16, version: &str, algorithm: &str) {
    let text = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ADVERTISE}
  bindPort: {port}
nodeRegistration:
  name: {NODE}
  criSocket: unix:///var/run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {version}
clusterName: kubernetes
controlPlaneEndpoint: 127.0.0.1:{port}
certificatesDir: {pki}
encryptionAlgorithm: {algorithm}
networking:
  serviceSubnet: 10.96.0.0/12
  dnsDomain: cluster.local
",
        pki = pki.display()
    );
    std::fs::write(path, text).unwrap();
}

pub(crate) fn run(bin: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(bin.join(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

/// What openssl says of a certificate, as named fields.
fn shape(pem: &Path) -> BTreeMap<&'static str, String> {
    let openssl = |args: &[&str]| {
        succeeded(
            "openssl x509",
            Command::new("openssl")
                .args(["x509", "-noout", "-in"])
                .arg(pem)
                .args(args)
                .output()
                .expect("run openssl"),
        )
    };
    let mut fields = BTreeMap::new();
    fields.insert(
        "subject",
        openssl(&["-subject", "-nameopt", "RFC2253"])
            .trim()
            .to_owned(),
    );
    for (field, ext) in [
        ("key usage", "keyUsage"),
        ("extended key usage", "extendedKeyUsage"),
        ("basic constraints", "basicConstraints"),
    ] {
        let text = openssl(&["-ext", ext]);
        fields.insert(field, text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    let sans = openssl(&["-ext", "subjectAltName"]);
    let mut names: Vec<String> = sans
        .lines()
        .skip(1)
        .flat_map(|l| l.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    names.sort();
    fields.insert("SANs", names.join(", "));
    let text = openssl(&["-text"]);
    let key = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("Public Key Algorithm:")
                || l.starts_with("Public-Key:")
                || l.starts_with("NIST CURVE:")
        })
        .collect::<Vec<_>>()
        .join(" ");
    fields.insert("key", key);
    let dates = openssl(&["-startdate", "-enddate", "-dateopt", "iso_8601"]);
    let mut stamps = dates
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(_, v)| epoch(v));
    let (start, end) = (stamps.next().unwrap(), stamps.next().unwrap());
    fields.insert("validity seconds", (end - start).to_string());
    fields
}

/// Seconds since 1970 of openssl's `2026-12-02 18:00:00Z`, read by the tree's one time
/// module.
fn epoch(iso: &str) -> i64 {
    let t = kubepki::parse_rfc3339(iso.trim())
        .unwrap_or_else(|e| panic!("not an ISO 8601 time: {iso}: {e}"));
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("a 64-bit time")
}

/// What kubectl says of a kubeconfig: cluster, context, user, server, and the client
/// certificate's subject (read by openssl).
fn kubeconfig_shape(bin: &Path, conf: &Path, scratch: &Path) -> BTreeMap<&'static str, String> {
    let view = |path: &str| {
        succeeded(
            "kubectl config view",
            Command::new(bin.join("kubectl"))
                .env("HOME", scratch)
                .args(["config", "view", "--raw", "--kubeconfig"])
                .arg(conf)
                .arg(format!("-o=jsonpath={path}"))
                .output()
                .expect("run kubectl"),
        )
    };
    let mut fields = BTreeMap::new();
    // The file's own top-level keys, as written (kubectl would normalise them).
    let raw = std::fs::read_to_string(conf).unwrap();
    let mut keys: Vec<&str> = raw
        .lines()
        .filter(|l| !l.starts_with([' ', '-', '#']) && !l.is_empty())
        .filter_map(|l| l.split(':').next())
        .collect();
    keys.sort_unstable();
    fields.insert("top-level keys", keys.join(" "));
    fields.insert("current context", view("{.current-context}"));
    fields.insert("contexts", view("{.contexts[*].name}"));
    fields.insert("clusters", view("{.clusters[*].name}"));
    fields.insert("users", view("{.users[*].name}"));
    fields.insert("server", view("{.clusters[*].cluster.server}"));
    let cert = view("{.users[0].user.client-certificate-data}");
    let pem = scratch.join("client.crt");
    std::fs::write(&pem, kubepki::cluster::decode_data(&cert).unwrap()).unwrap();
    fields.insert("client subject", shape(&pem)["subject"].clone());
    fields
}

/// A difference between the trees: (file, field, kubepki's value, kubeadm's value).
type Difference = (String, &'static str, String, String);

fn differences(ours: &Tree, theirs: &Tree, bin: &Path, scratch: &Path) -> Vec<Difference> {
    let mut found = Vec::new();
    let mut compare =
        |file: &str, a: BTreeMap<&'static str, String>, b: BTreeMap<&'static str, String>| {
            for (field, value) in &a {
                let other = &b[field];
                let same = if *field == "validity seconds" {
                    (value.parse::<i64>().unwrap() - other.parse::<i64>().unwrap()).abs()
                        <= VALIDITY_SLACK_SECS
                } else {
                    value == other
                };
                if !same {
                    found.push((file.to_owned(), *field, value.clone(), other.clone()));
                }
            }
        };
    for cert in CERTIFICATES {
        compare(
            cert,
            shape(&ours.pki.join(cert)),
            shape(&theirs.pki.join(cert)),
        );
    }
    for conf in KUBECONFIGS {
        compare(
            conf,
            kubeconfig_shape(bin, &ours.conf(conf), scratch),
            kubeconfig_shape(bin, &theirs.conf(conf), scratch),
        );
    }
    // The service-account key pair: same algorithm and size.
    let sa = |tree: &Tree| {
        let out = Command::new("openssl")
            .args(["pkey", "-pubin", "-noout", "-text", "-in"])
            .arg(tree.pki.join("sa.pub"))
            .output()
            .expect("run openssl");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let (a, b) = (sa(ours), sa(theirs));
    if a != b {
        found.push(("sa.pub".into(), "key", a, b));
    }
    // Every file and folder: present in both, with the same permissions.
    let (a, b) = (modes(&ours.confs), modes(&theirs.confs));
    for path in a
        .keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (x, y) = (a.get(path), b.get(path));
        if x != y {
            let show = |m: Option<&u32>| m.map_or("absent".to_owned(), |m| format!("{m:o}"));
            found.push((path.clone(), "mode", show(x), show(y)));
        }
    }
    found
}

/// The permission bits of every file and folder under `dir`, by relative path (the tree's
/// own folder and the test's scratch files left out).
fn modes(dir: &Path) -> BTreeMap<String, u32> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            found.insert(rel, meta.permissions().mode() & 0o7777);
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    found
}

/// Every file of a folder, with its bytes (to prove a tool wrote none).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// `kubeadm certs check-expiration` reads kubeconfig files from /etc/kubernetes only: run it
/// in a private mount namespace where /etc/kubernetes is `confs` (root and util-linux's
/// `unshare` are needed; nothing outside the namespace changes).
fn kubeadm_check_expiration(bin: &Path, config: &Path, confs: &Path, output: &str) -> Output {
    let script = format!(
        "set -e; mount -t tmpfs kubepki-test /etc; mkdir /etc/kubernetes; \
         mount --bind '{}' /etc/kubernetes; exec '{}' certs check-expiration --config '{}' -o {output}",
        confs.display(),
        bin.join("kubeadm").display(),
        config.display()
    );
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("run unshare")
}

/// `kubeadm certs check-expiration` and `kubepki certs check-expiration` say the same of
/// `tree`: the same table, and the same JSON (kubeadm's `output.kubeadm.k8s.io/v1alpha3`
/// field names, types and omissions) but for residual times a few seconds apart.
pub(crate) fn same_expiration_report(bin: &Path, config: &Path, tree: &Tree) {
    let ours = |output: &str| {
        succeeded(
            "kubepki certs check-expiration",
            kubepki(
                &tree.confs,
                &[
                    "certs",
                    "check-expiration",
                    "--cert-dir",
                    "pki",
                    "--kubeconfig-dir",
                    ".",
                    "-o",
                    output,
                ],
            ),
        )
    };
    let theirs = |output: &str| {
        succeeded(
            "kubeadm certs check-expiration",
            kubeadm_check_expiration(bin, config, &tree.confs, output),
        )
    };
    assert_eq!(ours("text"), theirs("text"), "the tables differ");
    // JSON and YAML: the same document (YAML read into JSON's data model), but for residual
    // times a few seconds apart.
    for output in ["json", "yaml"] {
        let parse = |text: String| -> serde_json::Value {
            if output == "json" {
                serde_json::from_str(&text).expect("JSON")
            } else {
                serde_saphyr::from_str(&text).expect("YAML")
            }
        };
        let (mut a, mut b) = (parse(ours(output)), parse(theirs(output)));
        for list in ["certificates", "certificateAuthorities"] {
            let (xs, ys) = (
                a[list].as_array_mut().unwrap(),
                b[list].as_array_mut().unwrap(),
            );
            assert_eq!(xs.len(), ys.len(), "{list}");
            for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
                let (rx, ry) = (
                    x["residualTime"].as_i64().unwrap(),
                    y["residualTime"].as_i64().unwrap(),
                );
                assert!(
                    (rx - ry).abs() <= 60,
                    "residualTime {rx} against kubeadm's {ry}"
                );
                x["residualTime"] = 0.into();
                y["residualTime"] = 0.into();
            }
        }
        assert_eq!(a, b, "the {output} reports differ");
    }
}

#[test]
fn kubeadm_and_kubepki_trees_agree_and_read_each_other() {
    let _machine = exclusive();
    let Some(bin) = peers() else {
        return;
    };
    let version = succeeded(
        "kubeadm version",
        run(&bin, "kubeadm", &["version", "-o", "short"]),
    );
    let version = version.trim();
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::pick();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();

    // kubeadm's tree and ours, for the same cluster, RSA-2048 (kubeadm's default).
    let ours_dir = dir.path().join("kubepki");
    std::fs::create_dir(&ours_dir).unwrap();
    let ours = kubepki_init(&ours_dir, "RSA-2048", ports, ADVERTISE);
    let theirs = Tree {
        pki: dir.path().join("kubeadm/pki"),
        confs: dir.path().join("kubeadm"),
    };
    std::fs::create_dir_all(&theirs.confs).unwrap(); // kubeadm makes pki/ itself
    let config = dir.path().join("kubeadm.yaml");
    kubeadm_config(&config, &theirs.pki, ports.apiserver, version, "RSA-2048");
    let config_arg = config.display().to_string();
    let confs_arg = theirs.confs.display().to_string();
    succeeded(
        "kubeadm init phase certs all",
        run(
            &bin,
            "kubeadm",
            &["init", "phase", "certs", "all", "--config", &config_arg],
        ),
    );
    succeeded(
        "kubeadm init phase kubeconfig all",
        run(
            &bin,
            "kubeadm",
            &[
                "init",
                "phase",
                "kubeconfig",
                "all",
                "--config",
                &config_arg,
                "--kubeconfig-dir",
                &confs_arg,
            ],
        ),
    );

    // Certificate by certificate, kubeconfig by kubeconfig.
    let found = differences(&ours, &theirs, &bin, &scratch);
    let unexplained: Vec<String> = found
        .iter()
        .filter(|(file, field, _, _)| !ACCEPTED.iter().any(|(f, d, _)| f == file && d == field))
        .map(|(file, field, a, b)| format!("{file} {field}:\n    kubepki: {a}\n    kubeadm: {b}"))
        .collect();
    assert!(
        unexplained.is_empty(),
        "kubepki's tree differs from kubeadm's:\n{}",
        unexplained.join("\n")
    );
    for (file, field, reason) in ACCEPTED {
        assert!(
            found.iter().any(|(f, d, _, _)| f == file && d == field),
            "ACCEPTED lists {file} {field} ({reason}), but the trees no longer differ there"
        );
    }

    // Every kubeconfig kubepki writes is what clientcmd writes for the same content:
    // `kubectl config view --raw` gives back the same document, key for key.
    for conf in KUBECONFIGS {
        let path = ours.conf(conf);
        let viewed = succeeded(
            "kubectl config view --raw",
            Command::new(bin.join("kubectl"))
                .env("HOME", &scratch)
                .args(["config", "view", "--raw", "-o", "yaml", "--kubeconfig"])
                .arg(&path)
                .output()
                .unwrap(),
        );
        let ours_yaml: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let viewed: serde_json::Value = serde_saphyr::from_str(&viewed).unwrap();
        assert_eq!(
            ours_yaml, viewed,
            "{conf} does not round-trip through clientcmd"
        );
    }

    // kubeadm over kubepki's tree: every file is used as it is, none is written.
    let ours_config = dir.path().join("kubeadm-over-kubepki.yaml");
    kubeadm_config(
        &ours_config,
        &ours.pki,
        ports.apiserver,
        version,
        "RSA-2048",
    );
    let ours_config_arg = ours_config.display().to_string();
    let ours_confs_arg = ours.confs.display().to_string();
    let before = snapshot(&ours_dir);
    let certs = succeeded(
        "kubeadm init phase certs all over kubepki's tree",
        run(
            &bin,
            "kubeadm",
            &[
                "init",
                "phase",
                "certs",
                "all",
                "--config",
                &ours_config_arg,
            ],
        ),
    );
    let confs = succeeded(
        "kubeadm init phase kubeconfig all over kubepki's tree",
        run(
            &bin,
            "kubeadm",
            &[
                "init",
                "phase",
                "kubeconfig",
                "all",
                "--config",
                &ours_config_arg,
                "--kubeconfig-dir",
                &ours_confs_arg,
            ],
        ),
    );
    assert!(
        before == snapshot(&ours_dir),
        "kubeadm changed kubepki's tree:\n{certs}{confs}"
    );
    for cert in [
        "ca",
        "apiserver",
        "front-proxy-ca",
        "etcd/ca",
        "etcd/server",
        "sa",
    ] {
        assert!(
            certs.contains(&format!("Using existing {cert}"))
                || certs.contains(&format!("Using the existing \"{cert}\"")),
            "kubeadm did not use kubepki's {cert}:\n{certs}"
        );
    }
    for conf in KUBECONFIGS {
        assert!(
            confs.contains(&format!(
                "Using existing kubeconfig file: \"{}\"",
                ours.conf(conf).display()
            )),
            "kubeadm did not use kubepki's {conf}:\n{confs}"
        );
    }

    // kubeadm's check-expiration over kubepki's tree.
    let expiration = kubeadm_check_expiration(&bin, &ours_config, &ours.confs, "text");
    let unshared = !String::from_utf8_lossy(&expiration.stderr).contains("unshare failed");
    if unshared || std::env::var_os("CI").is_some() {
        let table = succeeded(
            "kubeadm certs check-expiration over kubepki's tree",
            expiration,
        );
        assert!(!table.contains("MISSING"), "{table}");
        for name in [
            "admin.conf",
            "super-admin.conf",
            "apiserver ",
            "etcd-server",
            "front-proxy-client",
        ] {
            assert!(
                table.contains(name),
                "kubeadm does not list {name}:\n{table}"
            );
        }
        // The same report from both tools, as text and as JSON, over the whole tree and
        // over a copy with a certificate and a kubeconfig file missing.
        same_expiration_report(&bin, &ours_config, &ours);
        let holes = Tree {
            pki: dir.path().join("holes/pki"),
            confs: dir.path().join("holes"),
        };
        succeeded(
            "cp -a",
            Command::new("cp")
                .arg("-a")
                .arg(&ours_dir)
                .arg(&holes.confs)
                .output()
                .unwrap(),
        );
        for gone in [
            "pki/front-proxy-client.crt",
            "pki/front-proxy-client.key",
            "super-admin.conf",
        ] {
            std::fs::remove_file(holes.confs.join(gone)).unwrap();
        }
        let holes_config = dir.path().join("kubeadm-over-holes.yaml");
        kubeadm_config(
            &holes_config,
            &holes.pki,
            ports.apiserver,
            version,
            "RSA-2048",
        );
        same_expiration_report(&bin, &holes_config, &holes);
    } else {
        eprintln!(
            "\n\n    SKIP: kubeadm certs check-expiration needs a mount namespace (root)\n\n"
        );
    }

    // kubepki over kubeadm's tree: check-expiration, then renew everything.
    let kubepki_in = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--cert-dir", "pki", "--kubeconfig-dir", "."]);
        kubepki(&theirs.confs, &all)
    };
    let table = succeeded(
        "kubepki certs check-expiration over kubeadm's tree",
        kubepki_in(&["certs", "check-expiration"]),
    );
    assert!(!table.contains("MISSING"), "{table}");
    let before = snapshot(&theirs.confs);
    succeeded(
        "kubepki certs renew all over kubeadm's tree",
        kubepki_in(&["certs", "renew", "all"]),
    );
    let after = snapshot(&theirs.confs);
    for cert in ["apiserver.crt", "etcd/server.crt", "front-proxy-client.crt"] {
        let path = theirs.pki.join(cert);
        assert!(before[&path] != after[&path], "{cert} was not renewed");
    }
    for ca in [
        "ca.crt",
        "ca.key",
        "etcd/ca.crt",
        "front-proxy-ca.key",
        "sa.key",
    ] {
        let path = theirs.pki.join(ca);
        assert!(before[&path] == after[&path], "{ca} changed in a renewal");
    }
    // Renewed, kubeadm's tree still has kubeadm's shape.
    let renewed = differences(&ours, &theirs, &bin, &scratch);
    // Neither keeps the replaced files (no NAME.bak): nothing is filtered out.
    let drift: Vec<_> = renewed.iter().filter(|d| !found.contains(d)).collect();
    assert!(
        drift.is_empty(),
        "renewal changed kubeadm's certificates: {drift:?}"
    );

    // kube-apiserver (with etcd) boots on kubeadm's tree as kubepki renewed it, and the
    // kubeconfig files that go through the control-plane endpoint (admin, super-admin)
    // authenticate. The local ones (controller-manager, scheduler, kubelet) name the
    // documentation address, so nothing here uses them.
    let work = dir.path().join("run");
    std::fs::create_dir(&work).unwrap();
    let mut cp = ControlPlane::new(&bin, theirs, ports, &work, NODE, Budget::of(TEST_BUDGET));
    cp.start_etcd();
    cp.start_apiserver();
    assert_eq!(
        whoami(&|args: &[&str]| cp.kubectl("super-admin.conf", args)).0,
        "kubernetes-super-admin"
    );
    assert_eq!(
        whoami(&|args: &[&str]| cp.kubectl("admin.conf", args)).0,
        "kubernetes-admin"
    );
    cp.stop_and_check();
}
