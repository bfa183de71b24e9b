#!/usr/bin/env bash
# deploy/systemd's units must pass `systemd-analyze verify`. verify insists that ExecStart's
# binary exists, and /usr/local/bin/kubepki is where an install puts it, not where a test
# machine has it: a copy of each unit whose ExecStart names the binary just built is verified
# instead, and that rewrite is the only difference (checked below).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v systemd-analyze >/dev/null; then
  if [ -n "${CI:-}" ]; then echo "systemd-analyze (apt package systemd) is required when CI is set" >&2; exit 1; fi
  printf '\n\n    SKIP: systemd-analyze not found (apt-get install systemd); the units were not verified\n\n'
  exit 0
fi
cargo build -p kubepki-cli --locked --quiet
bin="$PWD/target/debug/kubepki"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in deploy/systemd/kubepki-renew.service deploy/systemd/kubepki-renew.timer; do
  sed "s|^ExecStart=/usr/local/bin/kubepki |ExecStart=$bin |" "$unit" >"$work/$(basename "$unit")"
  # Only the binary's path differs.
  changed=$(diff "$unit" "$work/$(basename "$unit")" | grep -c '^>' || true)
  case "$unit" in
    *.service) [ "$changed" = 1 ] || { echo "$unit: ExecStart is not /usr/local/bin/kubepki" >&2; exit 1; } ;;
    *) [ "$changed" = 0 ] || { echo "$unit changed by the rewrite" >&2; exit 1; } ;;
  esac
done
# The command line of ExecStart parses as kubepki's own (clap rejects an unknown flag).
args=$(sed -n 's|^ExecStart=/usr/local/bin/kubepki ||p' deploy/systemd/kubepki-renew.service)
# shellcheck disable=SC2086
"$bin" $args --help >/dev/null
out=$(cd "$work" && systemd-analyze verify --man=no kubepki-renew.service kubepki-renew.timer 2>&1) || {
  echo "$out" >&2
  exit 1
}
# verify prints warnings without failing: a unit of ours must not cause any.
if echo "$out" | grep -i 'kubepki-renew'; then
  echo "systemd-analyze verify warned about the units (above)" >&2
  exit 1
fi
echo "systemd-analyze verify: kubepki-renew.service and kubepki-renew.timer pass"

# The CronJob runs the image of this version, with the same command as the service.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
grep -q "image: ghcr.io/kubepki/kubepki:$version\$" deploy/renew-cronjob.yaml || {
  echo "deploy/renew-cronjob.yaml does not run ghcr.io/kubepki/kubepki:$version" >&2
  exit 1
}
grep -q -- '- --if-expiring-within=720h' deploy/renew-cronjob.yaml || {
  echo "deploy/renew-cronjob.yaml does not renew --if-expiring-within=720h" >&2
  exit 1
}
echo "deploy/renew-cronjob.yaml: image ghcr.io/kubepki/kubepki:$version, --if-expiring-within=720h"
