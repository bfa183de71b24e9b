//! The restart plan of a phase: which control-plane components to restart, in which order,
//! with which flag changes, so that no component loses trust while the control plane rolls.

use std::path::Path;

use serde::Serialize;

use super::RotatedCa;
use super::state::signing_cert;

/// One flag to set on a component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlagChange {
    /// The flag, e.g. `--cluster-signing-cert-file`.
    pub flag: String,
    /// Its new value.
    pub value: String,
    /// Why.
    pub why: String,
}

/// One component to restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RestartStep {
    /// The component: `etcd`, `kube-apiserver`, `kube-controller-manager`, `kube-scheduler`,
    /// `kubelet`. Every instance is restarted one at a time, each healthy before the next.
    pub component: &'static str,
    /// The flags to change before the restart (none: the same flags, new file contents).
    pub flags: Vec<FlagChange>,
    /// What the restart makes it read.
    pub why: String,
}

/// The components to restart after a phase, in order, and what to do besides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RestartPlan {
    /// In order.
    pub steps: Vec<RestartStep>,
    /// What to check or wait for before the next phase.
    pub notes: Vec<String>,
}

/// The plan of `phase` (`start`, `promote`, `finish`, `rollback`) for the CAs `cas`.
pub(crate) fn plan(
    phase: &str,
    cas: &[RotatedCa],
    cert_dir: &Path,
    key_on_token: bool,
) -> RestartPlan {
    let has = |ca| cas.contains(&ca);
    let mut plan = RestartPlan::default();
    if cas.is_empty() {
        return plan;
    }
    let read = match phase {
        "start" => "the bundle of old and new",
        "promote" => "its certificates reissued under the new CA and the new signing key",
        "finish" => "trust in the new CA only",
        _ => "trust in the old CA only",
    };
    if has(RotatedCa::Etcd) {
        plan.steps.push(step(
            "etcd",
            Vec::new(),
            format!("--trusted-ca-file and --peer-trusted-ca-file (etcd/ca.crt): {read}"),
        ));
    }
    plan.steps.push(step(
        "kube-apiserver",
        Vec::new(),
        format!(
            "--client-ca-file, --requestheader-client-ca-file, --etcd-cafile, --service-account-key-file and their clients' certificates: {read}"
        ),
    ));
    if has(RotatedCa::Cluster) || has(RotatedCa::Sa) {
        let mut flags = Vec::new();
        if has(RotatedCa::Cluster) {
            let signing = signing_cert(cert_dir).display().to_string();
            let ca_crt = cert_dir.join("ca.crt").display().to_string();
            match phase {
                "start" | "promote" => flags.push(FlagChange {
                    flag: "--cluster-signing-cert-file".to_owned(),
                    value: signing,
                    why: "ca.crt now holds two certificates and kube-controller-manager's signer refuses a bundle (kubeadm#1350); this file holds only the certificate of the key in ca.key".to_owned(),
                }),
                _ => flags.push(FlagChange {
                    flag: "--cluster-signing-cert-file".to_owned(),
                    value: ca_crt,
                    why: "ca.crt holds one certificate again".to_owned(),
                }),
            }
            if key_on_token {
                flags.push(FlagChange {
                    flag: "--controllers".to_owned(),
                    value: "*,bootstrapsigner,tokencleaner,-csrsigning".to_owned(),
                    why: "the cluster CA's key is on a PKCS#11 token (ca.key.uri), which kube-controller-manager cannot sign with: its CSR signer is off, and `kubepki controller cluster` signs the kubernetes.io signers with the token key".to_owned(),
                });
            }
        }
        plan.steps.push(step(
            "kube-controller-manager",
            flags,
            format!(
                "--root-ca-file (published as kube-root-ca.crt in every namespace), its kubeconfig, --cluster-signing-*-file, --service-account-private-key-file: {read}"
            ),
        ));
    }
    if has(RotatedCa::Cluster) {
        plan.steps.push(step(
            "kube-scheduler",
            Vec::new(),
            format!("its kubeconfig: {read}"),
        ));
        plan.steps.push(step(
            "kubelet",
            Vec::new(),
            format!("--client-ca-file (ca.crt) and kubelet.conf on every node: {read}"),
        ));
    }
    plan.notes = notes(phase, cas);
    plan
}

fn step(component: &'static str, flags: Vec<FlagChange>, why: String) -> RestartStep {
    RestartStep {
        component,
        flags,
        why,
    }
}

fn notes(phase: &str, cas: &[RotatedCa]) -> Vec<String> {
    let has = |ca| cas.contains(&ca);
    let mut notes = Vec::new();
    match phase {
        "start" => {
            notes.push("restart every instance one at a time, each healthy before the next; copy the changed files to every control-plane node first".to_owned());
            if has(RotatedCa::Cluster) {
                notes.push("before promote, every client must trust both CAs: kube-root-ca.crt in every namespace (kube-controller-manager publishes ca.crt after its restart), the kube-public/cluster-info ConfigMap (kubepki sets it with --kubeconfig), ca.crt on every worker node, users' kubeconfig files".to_owned());
            }
        }
        "promote" => {
            notes.push("restart every instance one at a time; the old CA and the old service-account key are still trusted, so nothing is refused".to_owned());
            if has(RotatedCa::Cluster) {
                notes.push("the kubelets' own client certificates (/var/lib/kubelet/pki) are still signed by the old CA: before finish, each kubelet must have rotated to one signed by the new CA (kube-controller-manager signs with the new key after its restart)".to_owned());
            }
            if has(RotatedCa::Sa) {
                notes.push("service-account tokens signed with the old key stay valid until finish; finish waits for the token lifetime since promote (--token-lifetime), so that the kubelets have replaced every projected token".to_owned());
            }
        }
        "finish" => {
            notes.push("from now on, client certificates signed by the old CA and tokens signed with the old service-account key are refused".to_owned());
        }
        _ => {
            notes.push(
                "the new CA is trusted nowhere any more; nothing it signed was in use".to_owned(),
            );
        }
    }
    notes
}
