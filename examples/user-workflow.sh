#!/usr/bin/env bash
# The classic manual workflow, with kubepki instead of openssl recipes: a cluster CA, a new
# user's key and CSR, signing under the client profile, inspecting and verifying the result.
# Everything is written under ./kubepki-demo (or the folder given as $1). Run again, it keeps
# the CA and jane's key and request, and issues jane a fresh certificate for that same key; a
# key without its request (an interrupted run) is replaced together with a new request.
set -euo pipefail
out=${1:-kubepki-demo}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KUBEPKI:-}" ]; then
  cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p kubepki-cli
  KUBEPKI="${CARGO_TARGET_DIR:-$root/target}/release/kubepki"
fi
kubepki=$KUBEPKI
mkdir -p "$out"
cd "$out"
run() { echo "+ kubepki $*"; $kubepki "$@"; }

[ -f ca.key ] || run ca init --cert ca.crt --key ca.key --subject /CN=KUBERNETES-CA
if [ -f jane.key ] && [ -f jane.csr ]; then
  echo "keeping jane.key and jane.csr from an earlier run"
else
  run key generate --algorithm ECDSA-P256 --out jane.key --force
  run csr create --key jane.key --subject "/CN=jane/O=developers" --out jane.csr --force
fi
run inspect jane.csr
run sign --ca-cert ca.crt --ca-key ca.key --csr jane.csr --profile client --validity 8760h --out jane.crt --force
run inspect jane.crt
run verify --ca ca.crt --cert jane.crt --usage client-auth --kubernetes
echo "done: files in $(pwd)"
