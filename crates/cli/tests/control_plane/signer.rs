//! `kubepki controller cluster` as the signer and approver of the real cluster, by scenario:
//! two leader-elected replicas under load through a kill -9 of the leader
//! (`leader_kill`), with the ServiceAccount and RBAC of `deploy/rbac.yaml`; kubelet-serving
//! approval against Node addresses (`serving_approval`); what they share (`fixture`). The
//! benchmark against kube-controller-manager's csrsigning is `crates/cli/benches/
//! csr_signing_vs_kcm.rs`, run by `benches/scripts/csr-signing-vs-kcm.sh`.

mod fixture;
mod leader_kill;
mod serving_approval;
