#!/bin/sh
# Builds the C ABI and installs it under PREFIX as a distribution package would:
#   PREFIX/include/kubepki.h
#   PREFIX/lib/libkubepki.a                     (unless --shared-only)
#   PREFIX/lib/libkubepki.so.X.Y.Z, .so.X, .so  (SONAME libkubepki.so.X; unless --static-only)
#   PREFIX/lib/pkgconfig/kubepki.pc
# kubepki.pc says `-lkubepki` for shared linking and lists in Libs.private the system
# libraries that the static library needs (rustc's `--print native-static-libs`), which
# `pkg-config --static --libs kubepki` adds. The linker takes the shared library when both
# are in PREFIX/lib; a static-only PREFIX (a -dev package without the .so) links statically.
# usage: ffi/stage.sh [--release] [--static-only|--shared-only] PREFIX
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
profile=debug
release=
static=yes
shared=yes
while [ $# -gt 1 ]; do
  case "$1" in
    --release) profile=release; release=--release ;;
    --static-only) shared=no ;;
    --shared-only) static=no ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
prefix=${1:?usage: stage.sh [--release] [--static-only|--shared-only] PREFIX}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
libs=$(cd "$root" && cargo rustc -p kubepki-ffi --lib $release -- --print native-static-libs 2>&1 \
  | sed -n 's/^note: native-static-libs: //p' | tail -n 1)
if [ -z "$libs" ]; then echo "cargo printed no native-static-libs" >&2; exit 1; fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
major=${version%%.*}
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
cp "$root/include/kubepki.h" "$prefix/include/"
if [ "$static" = yes ]; then
  cp "$target/$profile/libkubepki_ffi.a" "$prefix/lib/libkubepki.a"
fi
if [ "$shared" = yes ]; then
  cp "$target/$profile/libkubepki_ffi.so" "$prefix/lib/libkubepki.so.$version"
  ln -sf "libkubepki.so.$version" "$prefix/lib/libkubepki.so.$major"
  ln -sf "libkubepki.so.$major" "$prefix/lib/libkubepki.so"
fi
cat > "$prefix/lib/pkgconfig/kubepki.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: kubepki
Description: Kubernetes PKI toolkit (C ABI)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lkubepki
Libs.private: $libs
PC
