//! Messages that name the file or value at fault, and warnings that a careless setup earns.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::path::Path;
use std::process::Output;

mod common;
use common::{fails, kubepki, ok, usage_error};

/// A CA (ca.crt, ca.key) and a client CSR (jane.csr) in `dir`.
fn ca_and_csr(dir: &Path) {
    ok(kubepki(
        dir,
        &[
            "ca",
            "init",
            "--cert",
            "ca.crt",
            "--key",
            "ca.key",
            "-a",
            "ECDSA-P256",
        ],
    ));
    ok(kubepki(
        dir,
        &[
            "csr",
            "create",
            "--generate-key",
            "ECDSA-P256",
            "-k",
            "jane.key",
            "--cn",
            "jane",
            "-o",
            "jane.csr",
        ],
    ));
}

fn sign(dir: &Path) -> Output {
    kubepki(
        dir,
        &[
            "sign",
            "--ca-cert",
            "ca.crt",
            "--ca-key",
            "ca.key",
            "--csr",
            "jane.csr",
            "-o",
            "jane.crt",
            "--force",
        ],
    )
}

#[cfg(unix)]
#[test]
fn a_ca_key_readable_by_others_earns_a_warning_naming_file_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ca_and_csr(dir);
    let out = sign(dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(!stderr.contains("readable by group or others"), "{stderr}");
    std::fs::set_permissions(dir.join("ca.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = sign(dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(
        stderr.contains("warning: CA key ca.key has mode 0644: it is readable by group or others"),
        "{stderr}"
    );
}

#[test]
fn a_truncated_ca_key_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ca_and_csr(dir);
    let key = std::fs::read_to_string(dir.join("ca.key")).unwrap();
    std::fs::write(dir.join("ca.key"), &key[..key.len() / 2]).unwrap();
    let err = fails(sign(dir));
    assert!(err.contains("loading CA key ca.key: "), "{err}");
    assert!(!err.contains("ca.crt"), "{err}");
}

#[test]
fn a_garbage_ca_in_verify_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ca_and_csr(dir);
    ok(sign(dir));
    std::fs::write(dir.join("garbage.pem"), "hello, not a certificate\n").unwrap();
    let err = fails(kubepki(
        dir,
        &["verify", "--ca", "garbage.pem", "--cert", "jane.crt"],
    ));
    assert!(
        err.contains("garbage.pem: not a CA certificate file"),
        "{err}"
    );
    assert!(!err.contains("no trust anchors"), "{err}");
}

#[cfg(unix)]
#[test]
fn init_warns_about_a_tree_ca_key_readable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let init = || {
        kubepki(
            dir,
            &[
                "init",
                "--node-name",
                "cp1",
                "--advertise-address",
                "10.0.0.1",
                "--algorithm",
                "ECDSA-P256",
            ],
        )
    };
    ok(init());
    let key = dir.join("kubernetes/pki/ca.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = init();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(
        stderr.contains("ca.key has mode 0640: it is readable by group or others"),
        "{stderr}"
    );
}

#[test]
fn an_intermediate_outliving_its_parent_gets_the_clamp_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(kubepki(
        dir,
        &[
            "ca",
            "init",
            "--cert",
            "root.crt",
            "--key",
            "root.key",
            "-a",
            "ECDSA-P256",
            "--validity",
            "8760h",
        ],
    ));
    let out = kubepki(
        dir,
        &[
            "ca",
            "init",
            "--cert",
            "int.crt",
            "--key",
            "int.key",
            "-a",
            "ECDSA-P256",
            "-s",
            "/CN=intermediate",
            "--validity",
            "87600h",
            "--parent-cert",
            "root.crt",
            "--parent-key",
            "root.key",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(
        stderr.contains("warning: validity clamped to the CA's NotAfter"),
        "{stderr}"
    );
}

#[test]
fn a_validity_past_9999_is_a_real_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(kubepki(
        tmp.path(),
        &[
            "ca",
            "init",
            "--cert",
            "ca.crt",
            "--key",
            "ca.key",
            "-a",
            "ECDSA-P256",
            "--validity",
            "87600000h",
        ],
    ));
    assert!(!err.contains("SystemTime"), "{err}");
    assert!(err.contains("9999-12-31T23:59:59Z"), "{err}");
}

#[test]
fn profiles_json_is_json_all_the_way_down() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(kubepki(tmp.path(), &["profiles", "-o", "json"]));
    assert!(!out.contains("SubjectPolicy"), "{out}");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let admin = value
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "admin")
        .unwrap();
    assert!(admin["subject"].is_object(), "{admin}");
    assert_eq!(
        admin["subject"]["organizations"][0],
        "kubeadm:cluster-admins"
    );
    assert_eq!(admin["sans"]["max_sans"], 256);
}

#[test]
fn controller_help_does_not_wrap_one_word_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    for mode in ["embedded", "cluster"] {
        let help = ok(kubepki(tmp.path(), &["controller", mode, "--help"]));
        let lone_words = help
            .lines()
            .filter(|l| {
                let indent = l.len() - l.trim_start().len();
                indent > 40 && l.split_whitespace().count() == 1
            })
            .count();
        assert_eq!(lone_words, 0, "{help}");
        assert!(
            help.contains("--cluster-signing-kubelet-serving-cert-file <FILE>"),
            "{help}"
        );
    }
}

/// Each mode's `--help` shows its own flags only; `controller --help` names the modes.
#[test]
fn each_controller_mode_shows_only_its_own_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let embedded = ok(kubepki(tmp.path(), &["controller", "embedded", "--help"]));
    let cluster = ok(kubepki(tmp.path(), &["controller", "cluster", "--help"]));
    for flag in [
        "--store",
        "--once",
        "--interval",
        "--no-cleaner",
        "--no-auto-approve",
    ] {
        assert!(embedded.contains(flag), "{flag} missing from:\n{embedded}");
        assert!(!cluster.contains(flag), "{flag} shown in:\n{cluster}");
    }
    for flag in [
        "--kubeconfig",
        "--in-cluster",
        "--leader-elect",
        "--approve",
        "--metrics-addr",
    ] {
        assert!(cluster.contains(flag), "{flag} missing from:\n{cluster}");
        assert!(!embedded.contains(flag), "{flag} shown in:\n{embedded}");
    }
    let modes = ok(kubepki(tmp.path(), &["controller", "--help"]));
    assert!(
        modes.contains("embedded") && modes.contains("cluster"),
        "{modes}"
    );
}

/// A flag of the other mode is refused by name, before anything runs; an invocation from
/// before the modes (no mode word) still runs, in the mode its flags choose.
#[test]
fn a_flag_of_the_other_controller_mode_is_refused_and_old_invocations_still_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ca_and_csr(dir);
    let signing = [
        "--cluster-signing-cert-file",
        "ca.crt",
        "--cluster-signing-key-file",
        "ca.key",
    ];
    let with = |head: &[&'static str], tail: &[&'static str]| -> Vec<&'static str> {
        [head, &signing[..], tail].concat()
    };
    assert_eq!(
        usage_error(kubepki(
            dir,
            &with(&["controller", "embedded"], &["--once", "--leader-elect"])
        )),
        "error: --leader-elect is a flag of `kubepki controller cluster`, not of `kubepki controller embedded` (the embedded store's controller; give --kubeconfig FILE or --in-cluster for a cluster); see `kubepki controller embedded --help`\n"
    );
    assert_eq!(
        usage_error(kubepki(
            dir,
            &with(
                &["controller", "cluster", "--kubeconfig", "k.conf"],
                &["--store", "s"]
            )
        )),
        "error: --store is a flag of `kubepki controller embedded`, not of `kubepki controller cluster` (a real cluster's controller); see `kubepki controller cluster --help`\n"
    );
    // Without a mode word: --kubeconfig chooses the cluster, and --once is refused there.
    let stderr = usage_error(kubepki(
        dir,
        &with(&["controller", "--kubeconfig", "k.conf"], &["--once"]),
    ));
    assert!(
        stderr.starts_with("error: --once is a flag of `kubepki controller embedded`"),
        "{stderr}"
    );
    // The cluster mode needs its cluster.
    let stderr = usage_error(kubepki(dir, &with(&["controller", "cluster"], &[])));
    assert!(stderr.contains("--kubeconfig <FILE>"), "{stderr}");
    // And the embedded store's old invocation runs as it did.
    ok(kubepki(dir, &with(&["controller"], &["--once"])));
}

/// `kubeconfig user` takes its cluster name and server from admin.conf: a broken admin.conf
/// is named, where it used to be taken for absent (and the default server used).
#[test]
fn a_broken_admin_conf_is_named_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(kubepki(
        dir,
        &[
            "init",
            "--cert-dir",
            "pki",
            "--kubeconfig-dir",
            ".",
            "--algorithm",
            "ECDSA-P256",
        ],
    ));
    std::fs::write(dir.join("admin.conf"), "clusters: [1, 2").unwrap();
    let stderr = fails(kubepki(
        dir,
        &[
            "kubeconfig",
            "user",
            "--client-name",
            "jane",
            "--cert-dir",
            "pki",
            "--kubeconfig-dir",
            ".",
        ],
    ));
    assert!(
        stderr.contains("admin.conf: not a kubeconfig file"),
        "{stderr}"
    );
}

/// A bad kubelet-serving constraint stops `kubepki controller cluster --kubeconfig` before
/// it connects, naming the flag and the value.
#[test]
fn bad_serving_constraints_are_named_before_connecting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ca_and_csr(dir);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "controller",
            "cluster",
            "--kubeconfig",
            "no-such.conf",
            "--cluster-signing-cert-file",
            "ca.crt",
            "--cluster-signing-key-file",
            "ca.key",
            "--approve",
            "kubelet-serving",
        ];
        args.extend_from_slice(extra);
        fails(kubepki(dir, &args))
    };
    assert_eq!(
        run(&["--serving-ip-prefixes", "192.0.2.0/24,10.0.0.0/33"]),
        "error: --serving-ip-prefixes \"10.0.0.0/33\": invalid IP address syntax\n"
    );
    assert_eq!(
        run(&["--serving-dns-suffix", "nodes example"]),
        "error: --serving-dns-suffix \"nodes example\": not a DNS name (letters, digits, '-' and '.')\n"
    );
    assert_eq!(
        run(&["--service-cluster-ip-range", "10.96.0.0"]),
        "error: --service-cluster-ip-range \"10.96.0.0\": invalid IP address syntax\n"
    );
    assert_eq!(
        run(&["--serving-dns-regex", "("]),
        "error: --serving-dns-regex \"(\": unclosed group\n"
    );
}

#[test]
fn a_refused_subject_leaves_no_new_key_behind() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(kubepki(
        dir.path(),
        &[
            "csr",
            "create",
            "--generate-key",
            "ECDSA-P256",
            "-k",
            "a.key",
            "--subject",
            "/CN=system:node:worker-2+CN=system:node:worker-1",
            "-o",
            "a.csr",
        ],
    ));
    assert!(err.contains("multi-valued RDN"), "{err}");
    assert!(
        !dir.path().join("a.key").exists(),
        "a key without its request"
    );
    assert!(!dir.path().join("a.csr").exists());
}

/// Issue 24: every Kubernetes node name gets its certificates, up to 253 characters (the
/// kubelet's CN `system:node:<name>` is then 265, past RFC 5280's 64, as Go writes it):
/// through `init` and `sign --node-name`. One character more is refused, named, and `init`
/// writes nothing.
#[test]
fn the_longest_node_name_gets_its_certificates_and_one_more_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let label = "a".repeat(63);
    let node = format!("{label}.{label}.{label}.{}", "b".repeat(61));
    let init = |node: &str| {
        kubepki(
            dir,
            &[
                "init",
                "--node-name",
                node,
                "--advertise-address",
                "10.0.0.1",
                "--algorithm",
                "ECDSA-P256",
            ],
        )
    };
    let too_long = format!("{node}c");
    let err = fails(init(&too_long));
    assert!(
        err.contains("254 characters long, more than the limit of 253"),
        "{err}"
    );
    assert!(!dir.join("kubernetes").exists(), "init wrote a tree");
    ok(init(&node));
    for file in ["kubelet.conf", "pki/etcd/server.crt", "pki/apiserver.crt"] {
        assert!(dir.join("kubernetes").join(file).exists(), "{file}");
    }
    let cn = format!("system:node:{node}");
    ok(kubepki(
        dir,
        &[
            "csr",
            "create",
            "--generate-key",
            "ECDSA-P256",
            "-k",
            "kubelet.key",
            "--cn",
            &cn,
            "-O",
            "system:nodes",
            "-o",
            "kubelet.csr",
        ],
    ));
    let sign = |node: &str| {
        kubepki(
            dir,
            &[
                "sign",
                "--ca-cert",
                "kubernetes/pki/ca.crt",
                "--ca-key",
                "kubernetes/pki/ca.key",
                "--csr",
                "kubelet.csr",
                "--profile",
                "kubelet-client",
                "--node-name",
                node,
                "-o",
                "kubelet.crt",
            ],
        )
    };
    let err = fails(sign(&too_long));
    assert!(
        err.contains("254 characters long, more than the limit of 253"),
        "{err}"
    );
    ok(sign(&node));
    let shown = ok(kubepki(dir, &["inspect", "kubelet.crt"]));
    assert!(shown.contains(&cn), "{shown}");
}

#[test]
fn a_service_cidr_of_two_networks_of_one_family_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let init = |cidr: &str| {
        kubepki(
            dir,
            &[
                "init",
                "--node-name",
                "cp1",
                "--service-cidr",
                cidr,
                "--algorithm",
                "ECDSA-P256",
            ],
        )
    };
    for (cidr, why) in [
        (
            "10.96.0.0/12,10.97.0.0/16",
            "a dual-stack value needs one IPv4 and one IPv6 network",
        ),
        ("10.96.0.0/12,garbage", "no prefix length"),
        ("10.96.0.0/12,fd00::/200", "not an IPv4 or IPv6 network"),
    ] {
        let error = fails(init(cidr));
        assert!(
            error.contains(&format!("{cidr:?}")) && error.contains(why),
            "{error}"
        );
        assert!(
            !dir.join("kubernetes").exists(),
            "{cidr}: a tree was written"
        );
    }
    ok(init("10.96.0.0/12,fd00:10:96::/112"));
}
