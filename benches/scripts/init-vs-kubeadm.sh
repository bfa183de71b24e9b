#!/usr/bin/env bash
# Whole-process time of `kubepki init` against `kubeadm init phase certs all` followed by
# `kubeadm init phase kubeconfig all`, for the same tree (node, address, cluster name,
# service CIDR, DNS domain, key algorithm), in one run: the two alternate round by round
# (kubepki first in odd rounds, kubeadm first in even ones), each into an empty folder.
#
#   bash benches/scripts/init-vs-kubeadm.sh [ROUNDS]     (default 15; needs scripts/peers.sh)
#
# Prints, per algorithm, the median and min/max of each in milliseconds and the ratio of the
# medians (kubeadm / kubepki).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${1:-15}"
kubeadm="$root/target/peers/bin/kubeadm"
[ -x "$kubeadm" ] || { echo "no kubeadm: run bash scripts/peers.sh first" >&2; exit 1; }
(cd "$root" && cargo build --release --locked -q -p kubepki-cli)
kubepki="${CARGO_TARGET_DIR:-$root/target}/release/kubepki"
version="$("$kubeadm" version -o short)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now_ms() { date +%s%3N; }

median() { sort -n | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%d %d %d\n", m, v[1], v[NR]}'; }

for algorithm in RSA-2048 ECDSA-P256; do
  : >"$work/kubepki.ms"; : >"$work/kubeadm.ms"
  run_kubepki() {
    rm -rf "$work/a"; mkdir -p "$work/a"
    local t0; t0=$(now_ms)
    "$kubepki" init --cert-dir "$work/a/pki" --kubeconfig-dir "$work/a" --node-name cp-1 \
      --advertise-address 192.0.2.10 --algorithm "$algorithm" >/dev/null
    echo $(($(now_ms) - t0)) >>"$work/kubepki.ms"
  }
  run_kubeadm() {
    rm -rf "$work/b"; mkdir -p "$work/b/pki"
    cat >"$work/kubeadm.yaml" <<YAML
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.10
nodeRegistration:
  name: cp-1
  criSocket: unix:///var/run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $version
certificatesDir: $work/b/pki
encryptionAlgorithm: $algorithm
YAML
    local t0; t0=$(now_ms)
    "$kubeadm" init phase certs all --config "$work/kubeadm.yaml" >/dev/null
    "$kubeadm" init phase kubeconfig all --config "$work/kubeadm.yaml" --kubeconfig-dir "$work/b" >/dev/null
    echo $(($(now_ms) - t0)) >>"$work/kubeadm.ms"
  }
  run_kubepki; run_kubeadm   # warm-up (page cache), not counted
  : >"$work/kubepki.ms"; : >"$work/kubeadm.ms"
  for i in $(seq 1 "$rounds"); do
    if [ $((i % 2)) -eq 1 ]; then run_kubepki; run_kubeadm; else run_kubeadm; run_kubepki; fi
  done
  read -r a_med a_min a_max < <(median <"$work/kubepki.ms")
  read -r b_med b_min b_max < <(median <"$work/kubeadm.ms")
  ratio=$(awk -v a="$a_med" -v b="$b_med" 'BEGIN {printf "%.1f", b / a}')
  printf '%-10s kubepki init: median %5d ms (min %d, max %d) | kubeadm certs+kubeconfig: median %5d ms (min %d, max %d) | kubeadm/kubepki %sx (%d rounds)\n' \
    "$algorithm" "$a_med" "$a_min" "$a_max" "$b_med" "$b_min" "$b_max" "$ratio" "$rounds"
done
