#!/usr/bin/env bash
# Whole-process scrape latency and memory of `kubepki certs exporter` on a kubeadm tree plus
# a watched folder of N certificate files (default 1000), in one run:
#   cached:  /metrics while nothing changed (the last read is rendered again);
#   re-read: /metrics right after a file of the folder was touched (inotify marks the read
#            stale: every file is read and parsed again before the answer).
# Rounds alternate the two (after warm-up). Latency is curl's time_total over loopback.
#
#   bash benches/scripts/exporter-scrape.sh [N] [ROUNDS]     (defaults 1000, 200)
#   KUBEPKI_BIN=target/debug/kubepki bash benches/scripts/exporter-scrape.sh   (no release build)
#
# Prints p50 and p95 in milliseconds for each, the ratio of the p50s, the exposition's size,
# and the exporter's resident memory (VmRSS now, VmHWM peak) from /proc.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
count="${1:-1000}"
rounds="${2:-200}"
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
if [ -n "${KUBEPKI_BIN:-}" ]; then
  kubepki="$(cd "$(dirname "$KUBEPKI_BIN")" && pwd)/$(basename "$KUBEPKI_BIN")"
else
  (cd "$root" && cargo build --release --locked -q -p kubepki-cli)
  kubepki="${CARGO_TARGET_DIR:-$root/target}/release/kubepki"
fi
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# The tree in its own folder: the timings written below must not land in the watched
# kubeconfig folder (each write would mark the last read stale, and every scrape re-read).
tree="$work/tree"
"$kubepki" init --cert-dir "$tree/pki" --kubeconfig-dir "$tree" --node-name cp-1 \
  --algorithm ECDSA-P256 >/dev/null
mkdir -p "$work/watched" "$work/issue"
for i in $(seq 1 "$count"); do
  "$kubepki" certs issue kube-proxy --node-name "node-$i" --cert-dir "$tree/pki" \
    --out-dir "$work/issue" --algorithm ECDSA-P256 >/dev/null
  mv "$work/issue/kube-proxy.crt" "$work/watched/node-$i.crt"
  rm "$work/issue/kube-proxy.key"
done

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$kubepki" certs exporter --cert-dir "$tree/pki" --kubeconfig-dir "$tree" \
  --watch-dir "$work/watched" --listen "127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port/metrics"
for _ in $(seq 1 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done
series="$(curl -sf "$url" | grep -c '^x509_cert_not_after{')"
bytes="$(curl -sf "$url" | wc -c)"

scrape() { curl -sf -o /dev/null -w '%{time_total}\n' "$url"; }
for _ in $(seq 1 20); do scrape >/dev/null; done
: >"$work/cached.s"; : >"$work/reread.s"
for i in $(seq 1 "$rounds"); do
  scrape >>"$work/cached.s"
  touch "$work/watched/node-$(( (i % count) + 1 )).crt"
  sleep 0.05   # inotify's event reaches the exporter
  scrape >>"$work/reread.s"
done

pct() { sort -n | awk -v p="$1" '{v[NR]=$1} END {i=int(NR*p/100+0.5); if (i<1) i=1; printf "%.2f", v[i]*1000}'; }
c50="$(pct 50 <"$work/cached.s")"; c95="$(pct 95 <"$work/cached.s")"
r50="$(pct 50 <"$work/reread.s")"; r95="$(pct 95 <"$work/reread.s")"
rss="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
hwm="$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")"
echo "certificates exported: $series ($count watched + the tree's), exposition $bytes bytes"
echo "cached:  p50 $c50 ms, p95 $c95 ms ($rounds scrapes)"
echo "re-read: p50 $r50 ms, p95 $r95 ms ($rounds scrapes)"
awk -v a="$r50" -v b="$c50" 'BEGIN {printf "re-read / cached (p50): %.1fx\n", a / b}'
echo "exporter memory: VmRSS $((rss / 1024)) MiB, VmHWM $((hwm / 1024)) MiB"
