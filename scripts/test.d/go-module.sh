#!/usr/bin/env bash
# The Go module (ffi/go, github.com/kubepki/kubepki/ffi/go) as a user's `go get` sees it:
# go.mod and go.sum exactly what `go mod tidy` writes, and `go vet` clean on every package
# (the binding and its installer example).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null; then
  if [ -n "${CI:-}" ]; then echo "go is required when CI is set" >&2; exit 1; fi
  printf '\n    SKIP: go not found; the Go module checks (go mod tidy, go vet) not run\n\n'
  exit 0
fi
cd ffi/go
# Prints the change and fails when go.mod or go.sum is not tidy (Go 1.23 and later).
go mod tidy -diff
go vet ./...
echo "ffi/go: go mod tidy leaves no diff, go vet is clean"
