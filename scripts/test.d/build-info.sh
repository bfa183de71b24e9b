#!/usr/bin/env bash
# `kubepki version`'s build date is SOURCE_DATE_EPOCH when a build sets it (reproducible
# builds), and a SOURCE_DATE_EPOCH that is not a number fails the build, naming it. Rebuilds
# only the CLI crate (its build script reruns when SOURCE_DATE_EPOCH changes).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/debug/kubepki

SOURCE_DATE_EPOCH=1767225600 cargo build --locked --quiet -p kubepki-cli --bin kubepki
date=$("$bin" version -o json | sed -n 's/^ *"build_date": "\(.*\)",\{0,1\}$/\1/p')
if [ "$date" != "2026-01-01T00:00:00Z" ]; then
  echo "SOURCE_DATE_EPOCH=1767225600 built a kubepki whose build date is '$date'" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if SOURCE_DATE_EPOCH=yesterday cargo build --locked --quiet -p kubepki-cli --bin kubepki 2>"$log"; then
  echo "SOURCE_DATE_EPOCH=yesterday built" >&2
  exit 1
fi
if ! grep -q 'SOURCE_DATE_EPOCH="yesterday" is not a whole number of seconds' "$log"; then
  echo "the failed build does not name SOURCE_DATE_EPOCH:" >&2
  cat "$log" >&2
  exit 1
fi
echo "build date: SOURCE_DATE_EPOCH honoured, a bad one refused"
