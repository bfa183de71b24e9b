//! `kubepki certs exporter` scraped by a real Prometheus (built by `scripts/peers.sh`): one
//! `x509_cert_not_after` series for every certificate file and every kubeconfig-embedded
//! certificate of a `kubepki init` tree, with the labels the tree's certificates say; an
//! alert rule in enix's style fires for a certificate that ends in 7 days and clears once
//! `kubepki certs renew --if-expiring-within 720h` renewed it; `promtool check metrics`
//! accepts the exposition.
//!
//! Without prometheus, promtool or curl the test prints a loud SKIP; with `CI` set it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "control_plane/harness.rs"]
#[allow(dead_code, unreachable_pub)]
mod harness;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use common::{kubepki, succeeded};
use harness::{Budget, Process, free_port};
use kubepki::cluster::{Kubeconfig, certificate_files, decode_data, kubeconfig_files};
use kubepki::{CertificateInfo, certificates_from_bytes};
use serde_json::Value;

/// Where `scripts/peers.sh` puts prometheus and promtool: `$KUBEPKI_PEERS_BIN`, else the
/// workspace's `target/peers/bin`; `None` (after a loud SKIP, or a failure under CI) when
/// they or curl are missing.
fn prometheus_peers() -> Option<PathBuf> {
    let bin = std::env::var_os("KUBEPKI_PEERS_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers/bin"),
        PathBuf::from,
    );
    let built = ["prometheus", "promtool"]
        .iter()
        .all(|p| bin.join(p).is_file());
    let message = format!(
        "prometheus and promtool are not built in {}: run `bash scripts/peers.sh`",
        bin.display()
    );
    (kubepki_test_support::skip_unless(built, &message) && kubepki_test_support::have("curl"))
        .then_some(bin)
}

/// `curl -sf URL`: the body, or what went wrong.
fn get(url: &str) -> Result<String, String> {
    curl(url, &[])
}

/// `curl -sf [ARGS] URL`.
fn curl(url: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "5"])
        .args(args)
        .arg(url)
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("curl {url}: {}", out.status))
    }
}

/// A Prometheus API answer's `data`, when its status is `success` (`args`: curl's, such as
/// the query).
fn api(base: &str, path: &str, args: &[&str]) -> Result<Value, String> {
    let body = curl(&format!("{base}{path}"), args)?;
    let value: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if value["status"] == "success" {
        Ok(value["data"].clone())
    } else {
        Err(body)
    }
}

/// The instant query's series: labels and value.
fn query(base: &str, promql: &str) -> Result<Vec<(Value, f64)>, String> {
    let query = format!("query={promql}");
    let data = api(base, "/api/v1/query", &["-G", "--data-urlencode", &query])?;
    let series = data["result"].as_array().ok_or("no result")?;
    Ok(series
        .iter()
        .map(|s| {
            let value = s["value"][1]
                .as_str()
                .unwrap_or("nan")
                .parse()
                .unwrap_or(f64::NAN);
            (s["metric"].clone(), value)
        })
        .collect())
}

/// The firing alerts' labels.
fn firing(base: &str) -> Result<Vec<Value>, String> {
    let data = api(base, "/api/v1/alerts", &[])?;
    Ok(data["alerts"]
        .as_array()
        .ok_or("no alerts")?
        .iter()
        .filter(|a| a["state"] == "firing")
        .map(|a| a["labels"].clone())
        .collect())
}

fn unix(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// What one series should say: file, embedded entry, subject CN, issuer CN, NotAfter.
type Expected = (String, Option<(String, String)>, String, String, f64);

fn expected_of(der: &[u8], path: &Path, embedded: Option<(&str, &str)>) -> Expected {
    let info = CertificateInfo::from_der(der).unwrap();
    (
        path.display().to_string(),
        embedded.map(|(k, v)| (k.to_owned(), v.to_owned())),
        info.subject.common_name().unwrap_or_default().to_owned(),
        info.issuer.common_name().unwrap_or_default().to_owned(),
        unix(info.not_after).floor(),
    )
}

/// Every certificate the tree holds (files, then the kubeconfig files' embedded ones), and
/// the watched folder's, read with kubepki's own parser from the files themselves.
fn expected(pki: &Path, confs: &Path, watched: &Path) -> BTreeSet<String> {
    let mut all = Vec::new();
    for path in certificate_files(pki)
        .into_iter()
        .chain([watched.join("kube-proxy.crt")])
    {
        let ders = certificates_from_bytes(&std::fs::read(&path).unwrap()).unwrap();
        all.push(expected_of(&ders[0], &path, None));
    }
    for path in kubeconfig_files(confs) {
        let k = Kubeconfig::from_yaml(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (kind, name, data) in [
            (
                "cluster",
                &k.clusters[0].name,
                &k.clusters[0].cluster.certificate_authority_data,
            ),
            (
                "user",
                &k.users[0].name,
                &k.users[0].user.client_certificate_data,
            ),
        ] {
            let pem = decode_data(data).unwrap();
            let der = &certificates_from_bytes(&pem).unwrap()[0];
            all.push(expected_of(der, &path, Some((kind, name))));
        }
    }
    all.iter().map(|e| format!("{e:?}")).collect()
}

/// The same from Prometheus's `x509_cert_not_after` series.
fn scraped(series: &[(Value, f64)]) -> BTreeSet<String> {
    let label = |m: &Value, name: &str| m[name].as_str().map(str::to_owned);
    series
        .iter()
        .map(|(m, value)| {
            let embedded = label(m, "embedded_kind").zip(label(m, "embedded_key"));
            let e: Expected = (
                label(m, "filepath").unwrap_or_default(),
                embedded,
                label(m, "subject_CN").unwrap_or_default(),
                label(m, "issuer_CN").unwrap_or_default(),
                *value,
            );
            format!("{e:?}")
        })
        .collect()
}

/// A `kubepki init` tree in which `apiserver.crt` alone ends in 7 days: renewed right after
/// `init` with a validity of 168 hours.
fn init_with_apiserver_expiring_in_7_days(dir: &Path) {
    let dirs = ["--cert-dir", "pki", "--kubeconfig-dir", "."];
    let init = ["init", "--node-name", "cp-1", "--algorithm", "ECDSA-P256"];
    succeeded("init", kubepki(dir, &[&init[..], &dirs].concat()));
    let renew = ["certs", "renew", "apiserver", "--cert-validity", "168h"];
    succeeded(
        "certs renew apiserver --cert-validity 168h",
        kubepki(dir, &[&renew[..], &dirs].concat()),
    );
}

/// What a timer runs: renews what ends within 30 days; the names it renewed.
fn renew_if_expiring_within_720h(dir: &Path) -> Vec<String> {
    let renewed = Command::new(env!("CARGO_BIN_EXE_kubepki"))
        .current_dir(dir)
        .args([
            "certs",
            "renew",
            "--if-expiring-within",
            "720h",
            "--cert-dir",
            "pki",
            "--kubeconfig-dir",
            ".",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_str(&succeeded("certs renew --if-expiring-within 720h", renewed)).unwrap();
    report["renewed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|renewed| renewed["name"].as_str().unwrap().to_owned())
        .collect()
}

fn issue_kube_proxy(dir: &Path, out_dir: &Path, validity: &str) {
    let out_dir = out_dir.display().to_string();
    succeeded(
        "certs issue kube-proxy",
        kubepki(
            dir,
            &[
                "certs",
                "issue",
                "kube-proxy",
                "--node-name",
                "w1",
                "--cert-dir",
                "pki",
                "--out-dir",
                &out_dir,
                "--algorithm",
                "ECDSA-P256",
                "--validity",
                validity,
            ],
        ),
    );
}

/// enix's CertificateRenewal rule, evaluated every second, firing at once.
const RULES: &str = "groups:
  - name: x509-certificate-exporter
    rules:
      - alert: CertificateRenewal
        expr: (x509_cert_not_after - time()) < 28 * 86400
        for: 0s
        labels:
          severity: warning
        annotations:
          summary: Certificate should be renewed
";

fn prometheus_config(exporter_port: u16) -> String {
    format!(
        "global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: x509-certificate-exporter
    static_configs:
      - targets: ['127.0.0.1:{exporter_port}']
"
    )
}

#[test]
fn prometheus_scrapes_every_certificate_and_the_alert_fires_then_clears() {
    let Some(bin) = prometheus_peers() else {
        return;
    };
    let budget = Budget::of(Duration::from_secs(240));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init_with_apiserver_expiring_in_7_days(dir);
    let watched = dir.join("watched");
    std::fs::create_dir(&watched).unwrap();
    issue_kube_proxy(dir, &watched, "8760h");

    let exporter_port = free_port();
    let mut exporter = Command::new(env!("CARGO_BIN_EXE_kubepki"));
    exporter.current_dir(dir).args([
        "certs",
        "exporter",
        "--cert-dir",
        &dir.join("pki").display().to_string(),
        "--kubeconfig-dir",
        &dir.display().to_string(),
        "--watch-dir",
        &watched.display().to_string(),
        "--listen",
        &format!("127.0.0.1:{exporter_port}"),
    ]);
    let mut exporter = Process::spawn("kubepki certs exporter", exporter, dir.join("exporter.log"));
    let metrics_url = format!("http://127.0.0.1:{exporter_port}/metrics");
    let exposition = budget.wait_for("the exporter", Duration::from_secs(30), || {
        exporter.assert_running();
        get(&metrics_url)
    });

    // promtool's linter on the exposition as served.
    let mut promtool = Command::new(bin.join("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{exposition}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    std::fs::write(dir.join("rules.yml"), RULES).unwrap();
    std::fs::write(dir.join("prometheus.yml"), prometheus_config(exporter_port)).unwrap();
    let prometheus_port = free_port();
    let mut prometheus = Command::new(bin.join("prometheus"));
    prometheus.current_dir(dir).args([
        "--config.file=prometheus.yml".to_owned(),
        format!("--storage.tsdb.path={}", dir.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
    ]);
    let mut prometheus = Process::spawn("prometheus", prometheus, dir.join("prometheus.log"));
    let base = format!("http://127.0.0.1:{prometheus_port}");

    // Every certificate of the tree, its kubeconfig files and the watched folder: 3 CAs,
    // 7 leaves, 5 files x (CA + client), 1 watched.
    let want = expected(&dir.join("pki"), dir, &watched);
    assert_eq!(want.len(), 21, "{want:#?}");
    let got = budget.wait_for(
        "every series in Prometheus",
        Duration::from_secs(60),
        || {
            prometheus.assert_running();
            exporter.assert_running();
            let got = scraped(&query(&base, "x509_cert_not_after")?);
            if got == want {
                Ok(got)
            } else {
                Err(format!("scraped {got:#?}"))
            }
        },
    );
    assert_eq!(got.len(), 21);

    // The 7-day certificate, and only it, fires.
    let alerts = budget.wait_for("the alert to fire", Duration::from_secs(60), || {
        let alerts = firing(&base)?;
        if alerts.is_empty() {
            Err("none firing".to_owned())
        } else {
            Ok(alerts)
        }
    });
    assert!(
        alerts.iter().all(|a| a["alertname"] == "CertificateRenewal"
            && a["filename"] == "apiserver.crt"
            && a["subject_CN"] == "kube-apiserver"),
        "{alerts:#?}"
    );

    // Exactly the one certificate was due; a second run renews nothing.
    assert_eq!(renew_if_expiring_within_720h(dir), ["apiserver"]);
    assert_eq!(renew_if_expiring_within_720h(dir), Vec::<String>::new());
    budget.wait_for("the alert to clear", Duration::from_secs(60), || {
        prometheus.assert_running();
        exporter.assert_running();
        let alerts = firing(&base)?;
        if alerts.is_empty() {
            Ok(())
        } else {
            Err(format!("still firing: {alerts:#?}"))
        }
    });
    let renewed = query(&base, "x509_cert_not_after{filename=\"apiserver.crt\"}").unwrap();
    assert_eq!(renewed.len(), 1, "{renewed:#?}");
    assert!(renewed[0].1 > unix(SystemTime::now()) + 300.0 * 86_400.0);
}
