//! The Helm chart `deploy/helm/kubepki-controller` and the manifests of `deploy/`: `helm lint`
//! passes, `helm template` renders with its defaults the objects of `deploy/deployment.yaml`
//! and `deploy/rbac.yaml` (same names, rules, flags, image, security context), bad values are
//! refused by name, and the real kube-apiserver's schemas and admission accept the rendered
//! chart and every `deploy/*.yaml` (`kubectl apply --dry-run=server`).
//!
//! The ServiceMonitor (rendered only with `serviceMonitor.enabled`) needs the Prometheus
//! Operator's CRD, which the test API server does not have: the dry run renders it disabled,
//! and the server's answer to the enabled rendering is checked to name that kind alone.
//!
//! Helm is built by `scripts/peers.sh` (group `helm`); without it the tests print a loud SKIP
//! (and fail under CI).
//!
//! `cargo test -p kubepki-cli --test control_plane --locked -- --test-threads=1 helm_chart`

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::common::{failed, succeeded};
use crate::harness::{exclusive, peers};

/// The chart, from the workspace root.
const CHART: &str = "deploy/helm/kubepki-controller";

/// The release whose objects are named as `deploy/`'s are, in their namespace.
const RELEASE: &str = "kubepki-controller";
const NAMESPACE: &str = "kube-system";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Helm from the peers' folder, or `None` after a loud SKIP.
fn helm_binary() -> Option<PathBuf> {
    let helm = peers()?.join("helm");
    let found = helm.is_file();
    kubepki_test_support::skip_unless(
        found,
        &format!("{} not found: run `bash scripts/peers.sh`", helm.display()),
    )
    .then_some(helm)
}

fn helm(helm: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(helm)
        .current_dir(workspace())
        .env("HOME", home.path())
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .env_remove("KUBECONFIG")
        .args(args)
        .output()
        .expect("run helm")
}

/// `helm template RELEASE CHART --namespace NAMESPACE ARGS`.
fn template(helm_bin: &Path, release: &str, namespace: &str, args: &[&str]) -> Output {
    let mut all = vec!["template", release, CHART, "--namespace", namespace];
    all.extend_from_slice(args);
    helm(helm_bin, &all)
}

/// The objects of a multi-document YAML text (empty documents left out).
fn objects(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .expect("YAML documents")
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// The object of `kind` named `name` among `objects`.
fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} among the rendered objects"))
}

fn deploy_objects(file: &str) -> Vec<Value> {
    objects(&std::fs::read_to_string(workspace().join("deploy").join(file)).unwrap())
}

#[test]
fn helm_chart_lints_and_renders_the_deploy_manifests() {
    let Some(helm_bin) = helm_binary() else {
        return;
    };
    let lint = succeeded("helm lint", helm(&helm_bin, &["lint", "--strict", CHART]));
    assert!(lint.contains("0 chart(s) failed"), "{lint}");

    let chart: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(workspace().join(CHART).join("Chart.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));

    let rendered = objects(&succeeded(
        "helm template",
        template(&helm_bin, RELEASE, NAMESPACE, &[]),
    ));
    let kinds: Vec<&str> = rendered
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    for kind in ["Deployment", "Service", "PodDisruptionBudget"] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    for kind in ["ServiceMonitor", "Secret", "ConfigMap"] {
        assert!(
            !kinds.contains(&kind),
            "{kind} rendered by default: {kinds:?}"
        );
    }

    // deploy/rbac.yaml, object by object: same names, namespaces, rules, bindings.
    for want in deploy_objects("rbac.yaml") {
        let (kind, name) = (
            want["kind"].as_str().unwrap(),
            want["metadata"]["name"].as_str().unwrap(),
        );
        let got = find(&rendered, kind, name);
        for field in ["rules", "roleRef", "subjects"] {
            assert_eq!(got[field], want[field], "{kind} {name}: {field}");
        }
        assert_eq!(
            got["metadata"]["namespace"], want["metadata"]["namespace"],
            "{kind} {name}"
        );
    }

    // deploy/deployment.yaml: the fields an operator relies on.
    let want = &deploy_objects("deployment.yaml")[0];
    let got = find(&rendered, "Deployment", "kubepki-controller");
    assert_eq!(
        got["metadata"]["namespace"], want["metadata"]["namespace"],
        "namespace"
    );
    assert_eq!(
        got["spec"]["replicas"], want["spec"]["replicas"],
        "replicas"
    );
    let (got_pod, want_pod) = (
        &got["spec"]["template"]["spec"],
        &want["spec"]["template"]["spec"],
    );
    for field in [
        "serviceAccountName",
        "priorityClassName",
        "securityContext",
        "volumes",
    ] {
        assert_eq!(got_pod[field], want_pod[field], "pod {field}");
    }
    let (got_c, want_c) = (&got_pod["containers"][0], &want_pod["containers"][0]);
    for field in [
        "name",
        "image",
        "args",
        "ports",
        "livenessProbe",
        "readinessProbe",
        "resources",
        "securityContext",
        "volumeMounts",
    ] {
        assert_eq!(got_c[field], want_c[field], "container {field}");
    }
    assert_eq!(
        got_c["image"],
        concat!("ghcr.io/kubepki/kubepki:", env!("CARGO_PKG_VERSION"))
    );

    // Another release in another namespace: its own Lease, named in the flags and the Role.
    let other = objects(&succeeded(
        "helm template (another release)",
        template(&helm_bin, "prod", "pki", &[]),
    ));
    let args = &find(&other, "Deployment", "prod-kubepki-controller")["spec"]["template"]["spec"]["containers"]
        [0]["args"];
    for flag in [
        "--leader-elect-resource-namespace=pki",
        "--leader-elect-resource-name=prod-kubepki-controller",
    ] {
        assert!(args.as_array().unwrap().contains(&flag.into()), "{args}");
    }
    let role = find(
        &other,
        "Role",
        "kubepki:prod-kubepki-controller:leader-election",
    );
    assert_eq!(role["metadata"]["namespace"], "pki");
    assert_eq!(
        role["rules"][1]["resourceNames"],
        serde_json::json!(["prod-kubepki-controller"])
    );

    // The ServiceMonitor scrapes the metrics Service's port.
    let monitored = objects(&succeeded(
        "helm template (ServiceMonitor)",
        template(
            &helm_bin,
            RELEASE,
            NAMESPACE,
            &["--set", "serviceMonitor.enabled=true"],
        ),
    ));
    let monitor = find(&monitored, "ServiceMonitor", "kubepki-controller");
    let service = find(&monitored, "Service", "kubepki-controller-metrics");
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );

    // Bad values are refused, naming the value at fault.
    for (set, says) in [
        (
            "signingCA.create=true",
            "signingCA.create needs signingCA.cert",
        ),
        (
            "profiles.create=true",
            "profiles.create needs profiles.content",
        ),
        (
            "serviceMonitor.enabled=true,metrics.service.enabled=false",
            "serviceMonitor.enabled needs metrics.service.enabled",
        ),
    ] {
        let refused = failed(
            &format!("helm template --set {set}"),
            template(&helm_bin, RELEASE, NAMESPACE, &["--set", set]),
        );
        assert!(refused.contains(says), "--set {set}: {refused}");
    }
}

/// `kubectl apply --dry-run=server -f file` as the super-admin; returns how many objects the
/// server accepted.
fn server_dry_run(cp: &crate::harness::ControlPlane, file: &Path) -> usize {
    let out = succeeded(
        &format!("kubectl apply --dry-run=server -f {}", file.display()),
        cp.kubectl(
            "super-admin.conf",
            &[
                "apply",
                "--dry-run=server",
                "-f",
                &file.display().to_string(),
            ],
        ),
    );
    out.lines()
        .filter(|l| l.ends_with("(server dry run)"))
        .count()
}

#[test]
fn helm_chart_and_deploy_manifests_pass_the_api_servers_dry_run() {
    let _machine = exclusive();
    let Some(helm_bin) = helm_binary() else {
        return;
    };
    let Some((dir, cp)) = crate::boot("ECDSA-P256", None, Duration::from_secs(300)) else {
        return;
    };
    let dir = dir.path();

    // Every manifest of deploy/ (not its subfolders: the chart, systemd units).
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(workspace().join("deploy"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    manifests.sort();
    let names: Vec<String> = manifests
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["deployment.yaml", "rbac.yaml"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    for manifest in &manifests {
        let count = objects(&std::fs::read_to_string(manifest).unwrap()).len();
        assert_eq!(
            server_dry_run(&cp, manifest),
            count,
            "{}",
            manifest.display()
        );
    }

    // The chart with its defaults, and with the CA Secret and the profiles it can create,
    // as another release in another namespace.
    succeeded(
        "kubectl create namespace pki",
        cp.kubectl("super-admin.conf", &["create", "namespace", "pki"]),
    );
    let profiles = dir.join("profiles.yaml");
    std::fs::write(&profiles, "profiles: {}\n").unwrap();
    let (ca, key, profiles) = (
        format!("signingCA.cert={}", cp.tree.pki("ca.crt")),
        format!("signingCA.key={}", cp.tree.pki("ca.key")),
        format!("profiles.content={}", profiles.display()),
    );
    let renders = [
        (RELEASE, NAMESPACE, vec![]),
        (
            "prod",
            "pki",
            vec![
                "--set",
                "signingCA.create=true,profiles.create=true",
                "--set-file",
                &ca,
                "--set-file",
                &key,
                "--set-file",
                &profiles,
            ],
        ),
    ];
    for (release, namespace, args) in renders {
        let yaml = succeeded(
            "helm template",
            template(&helm_bin, release, namespace, &args),
        );
        let file = dir.join(format!("{release}.yaml"));
        std::fs::write(&file, &yaml).unwrap();
        assert_eq!(
            server_dry_run(&cp, &file),
            objects(&yaml).len(),
            "{release}"
        );
    }

    // The ServiceMonitor is the one object this API server has no schema for.
    let yaml = succeeded(
        "helm template (ServiceMonitor)",
        template(
            &helm_bin,
            RELEASE,
            NAMESPACE,
            &["--set", "serviceMonitor.enabled=true"],
        ),
    );
    let file = dir.join("servicemonitor.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let refused = failed(
        "kubectl apply --dry-run=server (ServiceMonitor)",
        cp.kubectl(
            "super-admin.conf",
            &[
                "apply",
                "--dry-run=server",
                "-f",
                &file.display().to_string(),
            ],
        ),
    );
    assert!(
        refused.contains(r#"no matches for kind "ServiceMonitor""#),
        "{refused}"
    );

    // README's install lines as written: the CA Secret and the profiles ConfigMap made with
    // kubectl, then `helm install`. The API server then holds the release's Deployment (the
    // test cluster has no node to run its pods), and `helm uninstall` removes it.
    let admin = [
        "--kubeconfig",
        &cp.tree.conf("super-admin.conf").display().to_string(),
    ]
    .map(str::to_owned);
    let (cert, key) = (cp.tree.pki("ca.crt"), cp.tree.pki("ca.key"));
    succeeded(
        "kubectl create secret tls",
        cp.kubectl(
            "super-admin.conf",
            &[
                "-n",
                NAMESPACE,
                "create",
                "secret",
                "tls",
                "kubepki-signing-ca",
                &format!("--cert={cert}"),
                &format!("--key={key}"),
            ],
        ),
    );
    let profiles = dir.join("profiles.yaml");
    succeeded(
        "kubectl create configmap",
        cp.kubectl(
            "super-admin.conf",
            &[
                "-n",
                NAMESPACE,
                "create",
                "configmap",
                "kubepki-profiles",
                &format!("--from-file={}", profiles.display()),
            ],
        ),
    );
    let install = [
        "install",
        RELEASE,
        CHART,
        "--namespace",
        NAMESPACE,
        "--set",
        "servingIPPrefixes={10.1.0.0/16}",
        &admin[0],
        &admin[1],
    ];
    let installed = succeeded("helm install", helm(&helm_bin, &install));
    assert!(installed.contains("STATUS: deployed"), "{installed}");
    let deployment: Value = serde_json::from_str(&succeeded(
        "kubectl get deployment",
        cp.kubectl(
            "super-admin.conf",
            &["-n", NAMESPACE, "get", "deployment", RELEASE, "-o", "json"],
        ),
    ))
    .unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        format!("ghcr.io/kubepki/kubepki:{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        container["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|arg| arg.as_str().unwrap_or_default().contains("10.1.0.0/16")),
        "{container:#}"
    );
    succeeded(
        "helm uninstall",
        helm(
            &helm_bin,
            &[
                "uninstall",
                RELEASE,
                "--namespace",
                NAMESPACE,
                &admin[0],
                &admin[1],
            ],
        ),
    );
    let gone = failed(
        "kubectl get deployment (after uninstall)",
        cp.kubectl(
            "super-admin.conf",
            &["-n", NAMESPACE, "get", "deployment", RELEASE],
        ),
    );
    assert!(gone.contains("NotFound"), "{gone}");
}
