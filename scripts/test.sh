#!/usr/bin/env bash
# Runs every test of kubepki: formatting, lints, unit/integration/doc tests (including the
# full x509-limbo corpus), and the interop tests against real peers (openssl, etcd, curl,
# kubectl, Go, helm, buildah). A peer missing from this machine makes its test print a loud
# SKIP, except when CI is set, where it fails. `bash .ci/run` installs the peers first.
#
#   bash scripts/test.sh                 everything
#   bash scripts/test.sh control-plane   only the real control plane (scripts/peers.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# The real Kubernetes peers (built once from the Go module proxy, then reused from a cache):
# where they cannot be built, the control-plane tests print a loud SKIP (or fail under CI).
[ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
if ! bash scripts/peers.sh; then
  if [ -n "${CI:-}" ]; then echo "scripts/peers.sh failed, and CI is set" >&2; exit 1; fi
  printf '\n\n    SKIP: the Kubernetes peers could not be built (see above)\n\n'
fi
# Their etcd, etcdctl and kubectl (the pinned releases) serve every test.
[ -d target/peers/bin ] && export PATH="$PWD/target/peers/bin:$PATH"

# The OCI image (a release build of the CLI, then buildah; both incremental), whose own
# kubepki the control-plane test the_image_signs_for_the_cluster runs against the cluster.
if command -v buildah >/dev/null; then
  step "the OCI image (scripts/image.sh)"
  bash scripts/image.sh
elif [ -n "${CI:-}" ]; then
  echo "buildah is required when CI is set (apt-get install buildah)" >&2
  exit 1
else
  printf '\n\n    SKIP: buildah not found; the image is not built and its test skips\n\n'
fi

if [ "${1:-}" = "control-plane" ]; then
  step "the real control plane: etcd, kube-apiserver, kube-controller-manager, kubeadm"
  cargo test -p kubepki-cli --test control_plane --locked -- --test-threads=1
  exit 0
fi

step "cargo fmt --check"
cargo fmt --all --check

step "import circles between the files of each crate (scripts/import-circles.py)"
if command -v python3 >/dev/null; then
  python3 scripts/import-circles.py
elif [ -n "${CI:-}" ]; then
  echo "python3 is required when CI is set (apt-get install python3)" >&2
  exit 1
else
  printf '\n\n    SKIP: python3 not found; the import-circle check is not run\n\n'
fi

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
