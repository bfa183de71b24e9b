#!/usr/bin/env bash
# Whole-process time of each phase of `kubepki ca rotate --ca all` on a whole `kubepki init`
# tree (3 CAs, the service-account key, 10 leaves, 5 kubeconfig files), for ECDSA-P256 and
# RSA-2048, with hyperfine: every run starts from a copy of the tree as the previous phase
# left it (--prepare), so each phase is timed on the same input every time. finish runs with
# the clock 2 hours on (KUBEPKI_NOW), past the service-account token lifetime.
#
#   bash benches/scripts/ca-rotate-phases.sh [RUNS]     (default 10)
#   KUBEPKI_BIN=/path/to/kubepki bash benches/scripts/ca-rotate-phases.sh   (no build)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-10}"
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
if [ -n "${KUBEPKI_BIN:-}" ]; then
  kubepki="$KUBEPKI_BIN"
else
  (cd "$root" && cargo build --release --locked -q -p kubepki-cli)
  kubepki="${CARGO_TARGET_DIR:-$root/target}/release/kubepki"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
later="$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)"

for algorithm in ECDSA-P256 RSA-2048; do
  base="$work/$algorithm"
  mkdir -p "$base"
  "$kubepki" init --cert-dir "$base/idle/pki" --kubeconfig-dir "$base/idle" --node-name cp-1 \
    --algorithm "$algorithm" >/dev/null
  previous=idle
  for phase in start promote finish; do
    cp -a "$base/$previous" "$base/$phase"
    clock=()
    [ "$phase" = finish ] && clock=(env "KUBEPKI_NOW=$later")
    "${clock[@]}" "$kubepki" ca rotate "$phase" --cert-dir "$base/$phase/pki" \
      --kubeconfig-dir "$base/$phase" >/dev/null
    hyperfine --runs "$runs" --warmup 1 --style basic --export-json "$work/$algorithm-$phase.json" \
      --prepare "rm -rf '$work/t' && cp -a '$base/$previous' '$work/t'" \
      "${clock[*]} $kubepki ca rotate $phase --cert-dir $work/t/pki --kubeconfig-dir $work/t" >/dev/null
    python3 - "$work/$algorithm-$phase.json" "$algorithm" "$phase" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"][0]
t = [x * 1000 for x in r["times"]]
print(f"{sys.argv[2]:<11} {sys.argv[3]:<8} median {statistics.median(t):7.1f} ms  min {min(t):7.1f}  max {max(t):7.1f}  user {r['user']*1000:6.1f} ms  system {r['system']*1000:5.1f} ms")
PY
    previous=$phase
  done
done
