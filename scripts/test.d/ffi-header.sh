#!/usr/bin/env bash
# include/kubepki.h must be exactly what the pinned cbindgen generates now.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cbindgen >/dev/null; then
  if [ -n "${CI:-}" ]; then echo "cbindgen is required when CI is set" >&2; exit 1; fi
  echo "SKIP: cbindgen not found; header check not run (cargo install cbindgen --version '~0.29' --locked)"
  exit 0
fi
bash ffi/gen-header.sh
git diff --exit-code include/
