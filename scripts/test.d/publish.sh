#!/usr/bin/env bash
# Every crate meant for crates.io packages and builds from its package alone, uploading
# nothing: `cargo publish --workspace --dry-run` packages them together (a dependency on an
# unpublished workspace crate resolves to the package being made beside it) and verifies each
# by building it from its .crate. Then no package may carry test-only files (tests/, the
# x509-limbo corpus) or weigh more than 1 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The dry run unpacks each package it made into a local registry folder named after this
# clone's target/package (registry/src/-<hash>/kubepki-*-<version>) and reuses a folder
# already there: a run from the same path before would verify against its stale sources.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/kubepki-* \
       "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/kubepki
cargo publish --workspace --dry-run --allow-dirty --locked 2>&1 | tee "$log"

# The crates the dry run would have uploaded ("Uploading NAME vVERSION (PATH)"): publish =
# false ones are not among them. The dry run keeps no .crate file: package them again,
# without the build.
packages=$(sed -n 's/^ *Uploading \([^ ]*\) v\([^ ]*\) .*/\1 \2/p' "$log")
if [ -z "$packages" ]; then echo "the dry run would upload nothing" >&2; exit 1; fi
# shellcheck disable=SC2046
cargo package --no-verify --allow-dirty --locked --quiet $(printf -- '-p %s ' $(echo "$packages" | cut -d' ' -f1))

status=0
while read -r name version; do
  file="target/package/$name-$version.crate"
  size=$(stat -c %s "$file")
  if [ "$size" -gt 1048576 ]; then
    echo "$file is $size bytes (over 1 MiB)" >&2
    status=1
  fi
  if tar -tzf "$file" | grep -E '^[^/]+/(tests/|.*\.xz$)'; then
    echo "$file carries the test-only files above" >&2
    status=1
  fi
  echo "$name $version: $size bytes"
done <<< "$packages"
exit $status
