#!/bin/sh
# Writes kubepki.pc for linking libkubepki.a from this checkout, with the system libraries
# Rust's standard library needs taken from `--print native-static-libs`.
# usage: ffi/gen-pc.sh [--release] OUT.pc
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
profile=debug
release=
if [ "${1:-}" = "--release" ]; then profile=release; release=--release; shift; fi
out=${1:?usage: gen-pc.sh [--release] OUT.pc}
target=${CARGO_TARGET_DIR:-$root/target}
libs=$(cd "$root" && cargo rustc -p kubepki-ffi --lib $release -- --print native-static-libs 2>&1 \
  | sed -n 's/^note: native-static-libs: //p' | tail -n 1)
if [ -z "$libs" ]; then echo "cargo printed no native-static-libs" >&2; exit 1; fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
cat > "$out" <<PC
prefix=$root
libdir=$target/$profile
includedir=\${prefix}/include

Name: kubepki
Description: Kubernetes PKI toolkit (C ABI)
Version: $version
Cflags: -I\${includedir}
Libs: \${libdir}/libkubepki.a $libs
PC
