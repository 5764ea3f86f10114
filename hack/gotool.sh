#!/usr/bin/env bash
# Installs one Go program, pinned by version, into ./bin as NAME, building it
# from the Go module proxy. The binary is also kept in a cache outside the
# clone, keyed by name and version, so that a fresh clone (CI) copies it in
# a second instead of building it again.
#
# Usage: hack/gotool.sh BIN_DIR NAME PACKAGE VERSION
set -euo pipefail
bindir=${1:?bin dir}
name=${2:?name}
pkg=${3:?package}
version=${4:?version}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/cx-operator/$name-$version
mkdir -p "$bindir" "$cache"
if [ ! -x "$cache/$name" ]; then
  echo "building $name $version from the Go module proxy (once)" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  GOBIN=$tmp GOFLAGS=-mod=mod go install -trimpath "$pkg@$version"
  mv "$tmp"/* "$cache/$name"
fi
cp -f "$cache/$name" "$bindir/$name"
