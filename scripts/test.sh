#!/usr/bin/env bash
# Runs every test of kubepki: formatting, lints, unit/integration/doc tests (including the
# full x509-limbo corpus), and the interop tests against real peers (openssl, etcd, curl,
# kubectl, Go). A peer missing from this machine makes its test print a loud SKIP, except
# when CI is set, where it fails. `bash .ci/run` installs the peers first.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (workspace, all targets, warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "rustdoc (warnings denied)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --locked --quiet

step "cargo test (workspace, including the ignored full-corpus tests)"
cargo test --workspace --locked -- --include-ignored

# Extra suites contributed by the ffi, fuzz and Go parts run here when present.
for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$extra"
  bash "$extra"
done

printf '\nall tests passed\n'
