#!/bin/sh
# Regenerates include/kubepki.h with cbindgen 0.29.x; `--check` fails when the committed
# header differs from what the sources generate.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
version=$(cbindgen --version)
case "$version" in
  "cbindgen 0.29."*) ;;
  *) echo "need cbindgen 0.29.x, found: $version" >&2; exit 1 ;;
esac
out="$root/include/kubepki.h"
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  cbindgen --quiet --config "$here/cbindgen.toml" --crate kubepki-ffi --output "$tmp" "$here"
  diff -u "$out" "$tmp"
else
  cbindgen --quiet --config "$here/cbindgen.toml" --crate kubepki-ffi --output "$out" "$here"
fi
