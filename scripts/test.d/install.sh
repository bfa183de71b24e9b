#!/usr/bin/env bash
# README's "Install" lines, run as written, into a temporary folder instead of the system's
# (--root, PREFIX), and with debug builds (--debug for cargo install, no --release for
# ffi/stage.sh) so that CI reuses what `cargo test` built instead of a release build:
# the binary, its bash completion (loaded into bash), its man pages, the C library, and the Go
# module required from another module that sees only the module's own files (as the module
# cache holds it: no ../../include, no target/), linked against the staged library.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
[ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ### Binary
cargo install --locked --path crates/cli --root "$tmp" --debug --quiet
kubepki="$tmp/bin/kubepki"
"$kubepki" version

# ### Shell completions and man pages
"$kubepki" completion bash > "$tmp/kubepki.bash"
bash --norc --noprofile -c 'source "$1" && complete -p kubepki' bash "$tmp/kubepki.bash"
"$kubepki" man "$tmp/man1"
ls "$tmp/man1/kubepki.1" "$tmp/man1/kubepki-certs-renew.1" >/dev/null

# ### C library
ffi/stage.sh "$tmp/kubepki"
ls "$tmp/kubepki/include/kubepki.h" "$tmp/kubepki/lib/libkubepki.a" "$tmp/kubepki/lib/pkgconfig/kubepki.pc" >/dev/null

# ### Go module
if ! command -v go >/dev/null; then
  if [ -n "${CI:-}" ]; then echo "go is required when CI is set" >&2; exit 1; fi
  printf '\n    SKIP: go not found; the Go module was not built from outside the repository\n\n'
  exit 0
fi
# The module as `go get` fetches it (its folder only), and a program of another module that
# requires it; `go get` itself needs the module published, so a replace points at the copy.
cp -r "$root/ffi/go" "$tmp/module"
mkdir "$tmp/app"
cat > "$tmp/app/main.go" <<'GO'
package main

import (
	"fmt"
	"os"

	kubepki "github.com/kubepki/kubepki/ffi/go"
)

func main() {
	key, err := kubepki.GenerateKey("ECDSA-P256")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer key.Close()
	fmt.Printf("kubepki %s: %s key\n", kubepki.Version(), key.Algorithm())
}
GO
(
  cd "$tmp/app"
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod
  go mod init kubepki-install-check >/dev/null 2>&1
  go mod edit -require=github.com/kubepki/kubepki/ffi/go@v0.0.0 \
    -replace=github.com/kubepki/kubepki/ffi/go="$tmp/module"
  CGO_CFLAGS="-I$tmp/kubepki/include" CGO_LDFLAGS="$tmp/kubepki/lib/libkubepki.a" \
    go build -tags kubepki_external ./...
  CGO_CFLAGS="-I$tmp/kubepki/include" CGO_LDFLAGS="$tmp/kubepki/lib/libkubepki.a" \
    go build -tags kubepki_external -o app .
  ./app
)
echo "install: binary, completion, man pages, C library and Go module as README says"
