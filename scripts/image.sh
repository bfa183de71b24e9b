#!/usr/bin/env bash
# Builds the OCI image ghcr.io/kubepki/kubepki:<workspace version> from the Containerfile, on
# this machine and without pulling anything: a release build of the `kubepki` binary (debug
# info stripped), on a root staged from the Debian packages of scripts/image/packages.lock.
# Reproducible: the same checkout gives the same image digest (file times, history and the
# created label all come from SOURCE_DATE_EPOCH, default the last commit's time).
#
#   scripts/image.sh                      build and tag (prints the image id and digest)
#   scripts/image.sh --oci-archive FILE   also save it to FILE as an OCI archive
#
# Needs buildah (Debian: apt-get install buildah), and apt-get to fetch the pinned packages
# once (cached in ${XDG_CACHE_HOME:-~/.cache}/kubepki-image).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

die() { echo "image.sh: $*" >&2; exit 1; }
archive=""
while [ $# -gt 0 ]; do
  case "$1" in
    --oci-archive) [ $# -ge 2 ] || die "--oci-archive needs a FILE"; archive="$2"; shift 2 ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
if [ -n "$archive" ] && [ -e "$archive" ]; then
  die "$archive exists; remove it first (an archive is never replaced)"
fi
command -v buildah >/dev/null || die "buildah not found (apt-get install buildah)"

version="$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)"
[ -n "$version" ] || die "no version in Cargo.toml's [workspace.package]"
image="ghcr.io/kubepki/kubepki:$version"
revision="$(git rev-parse HEAD)"
[ -z "$(git status --porcelain --untracked-files=no)" ] || revision+="-dirty"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}"
created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

echo "image.sh: cargo build --release -p kubepki-cli"
cargo build --release --locked -p kubepki-cli

# The root: the pinned packages, fetched once and checked against their sha256.
debs="${XDG_CACHE_HOME:-$HOME/.cache}/kubepki-image/debs"
context="$root/target/image"
rootfs="$context/rootfs"
mkdir -p "$debs"
rm -rf "$context"
mkdir -p "$rootfs" "$context/ca-certificates"
while read -r name pinned sha; do
  case "$name" in '' | '#'*) continue ;; esac
  deb="$debs/${name}_${pinned//:/%3a}.deb"
  if [ ! -f "$deb" ]; then
    (cd "$debs" && apt-get download -qq "$name=$pinned" 2>/dev/null && mv "${name}_${pinned//:/%3a}_"*.deb "$deb") ||
      die "cannot download $name $pinned (gone from Debian? update scripts/image/packages.lock)"
  fi
  echo "$sha  $deb" | sha256sum --check --quiet - || die "$deb does not match its sha256 in scripts/image/packages.lock"
  if [ "$name" = ca-certificates ]; then
    dpkg-deb -x "$deb" "$context/ca-certificates"
  else
    dpkg-deb -x "$deb" "$rootfs"
  fi
done <scripts/image/packages.lock
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/lintian" "$rootfs/usr/share/man"
# What update-ca-certificates would write (its script needs a shell the image does not have).
mkdir -p "$rootfs/etc/ssl/certs"
find "$context/ca-certificates/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z |
  xargs -0 cat >"$rootfs/etc/ssl/certs/ca-certificates.crt"
grep -q 'BEGIN CERTIFICATE' "$rootfs/etc/ssl/certs/ca-certificates.crt" || die "no certificate in the CA bundle"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
mkdir -p "$rootfs/home/nonroot" "$rootfs/tmp" "$rootfs/usr/bin"
chmod 1777 "$rootfs/tmp"
strip --strip-debug -o "$rootfs/usr/bin/kubepki" target/release/kubepki
chmod 0755 "$rootfs/usr/bin/kubepki"

echo "image.sh: buildah build $image (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, revision $revision)"
buildah build --quiet --timestamp "$SOURCE_DATE_EPOCH" --format oci \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
  -f Containerfile -t "$image" "$context" >/dev/null
id="$(buildah images --no-trunc --format '{{.ID}}' "$image")"
digest="$(buildah images --digests --format '{{.Digest}}' "$image" | head -1)"
size="$(buildah images --format '{{.Size}}' "$image")"
echo "image.sh: $image id $id digest $digest size $size"

if [ -n "$archive" ]; then
  rm -f "$archive.partial"
  buildah push --quiet "$image" "oci-archive:$archive.partial:$image"
  mv "$archive.partial" "$archive"
  echo "image.sh: saved $image to $archive"
fi
