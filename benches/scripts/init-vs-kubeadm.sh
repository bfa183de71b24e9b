#!/usr/bin/env bash
# Whole-process time of `kubepki init` against `kubeadm init phase certs all` followed by
# `kubeadm init phase kubeconfig all`, for the same tree (node, address, cluster name,
# service CIDR, DNS domain, key algorithm), in one hyperfine run per algorithm, each run into
# an empty folder (`--prepare` removes both trees first). Each command runs through the same
# `sh -c` wrapper, so that both pay one shell. A third command is kubepki with every sync
# turned into a no-op (eatmydata), when eatmydata is installed: kubeadm makes nothing
# durable, kubepki does, and that row tells the price of the durability from the rest.
#
#   bash benches/scripts/init-vs-kubeadm.sh [RUNS]     (default 60; needs scripts/peers.sh,
#                                                       apt-get install -y hyperfine eatmydata)
#
# kubepki is the binary README's install builds (the `dist` profile).
# Prints hyperfine's table and, per algorithm, the ratio of the medians (kubeadm / kubepki).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-60}"
kubeadm="$root/target/peers/bin/kubeadm"
[ -x "$kubeadm" ] || { echo "no kubeadm: run bash scripts/peers.sh first" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "no hyperfine: apt-get install -y hyperfine" >&2; exit 1; }
# The binary README's install makes (`--profile dist`: fat LTO, one codegen unit).
(cd "$root" && cargo build --profile dist --locked -q -p kubepki-cli)
kubepki="${CARGO_TARGET_DIR:-$root/target}/dist/kubepki"
version="$("$kubeadm" version -o short)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
eatmydata="$(ls /usr/lib/*/libeatmydata.so 2>/dev/null | head -1 || true)"

for algorithm in ECDSA-P256 RSA-2048; do
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
  init="$kubepki init --cert-dir $work/a/pki --kubeconfig-dir $work/a --node-name cp-1 --advertise-address 192.0.2.10 --algorithm $algorithm >/dev/null"
  certs="$kubeadm init phase certs all --config $work/kubeadm.yaml >/dev/null && $kubeadm init phase kubeconfig all --config $work/kubeadm.yaml --kubeconfig-dir $work/b >/dev/null"
  commands=(-n "kubepki init" "sh -c '$init'" -n "kubeadm certs + kubeconfig" "sh -c '$certs'")
  if [ -n "$eatmydata" ]; then
    commands+=(-n "kubepki init, syncs off (eatmydata)" "sh -c 'LD_PRELOAD=$eatmydata $init'")
  fi
  [ "$algorithm" = RSA-2048 ] && n=$(( runs / 4 > 5 ? runs / 4 : 5 )) || n=$runs
  echo "== $algorithm, $n runs each, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  hyperfine -N --warmup 3 --runs "$n" --prepare "rm -rf $work/a $work/b" \
    --export-json "$work/$algorithm.json" "${commands[@]}"
  python3 - "$work/$algorithm.json" "$algorithm" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
ms = lambda name: results[name]["median"] * 1e3
a, b = ms("kubepki init"), ms("kubeadm certs + kubeconfig")
print(f"{sys.argv[2]}: kubepki init median {a:.1f} ms, kubeadm {b:.1f} ms: kubeadm / kubepki {b / a:.1f}x")
name = "kubepki init, syncs off (eatmydata)"
if name in results:
    print(f"{sys.argv[2]}: kubepki init with syncs off {ms(name):.1f} ms: kubeadm / that {b / ms(name):.1f}x")
PY
done
