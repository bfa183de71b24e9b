#!/usr/bin/env bash
# CSRs signed per second, and p50/p99 latency from creation to certificate, of
# kube-controller-manager's csrsigning controller against two leader-elected
# `kubepki controller` replicas, on one real control plane in one run: same CA (ECDSA P-256),
# same load (N kubelet client requests from 20 concurrent kubectl clients), same approver
# (kube-controller-manager's csrapproving), kube-controller-manager's client rate limit
# raised from its 20 QPS default so that both are measured on signing, not on throttling.
# Times are taken by one `kubectl get csr --watch` as events arrive. The code is
# crates/cli/benches/csr_signing_vs_kcm.rs, on the control-plane tests' harness.
#
#   bash benches/scripts/csr-signing-vs-kcm.sh [N]     (default 400; needs scripts/peers.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bash scripts/peers.sh >/dev/null
export KUBEPKI_BENCH_CSRS="${1:-400}"
# The benchmark is crates/cli/benches/csr_signing_vs_kcm.rs (release profile), not a test.
cargo bench --locked -p kubepki-cli --bench csr_signing_vs_kcm
