#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and kube-controller-manager of one Kubernetes
# version from the Go module proxy, and etcd of one etcd version, into a folder
# that envtest can use as KUBEBUILDER_ASSETS (kube-controller-manager runs the
# garbage collector for tests that need owner references honoured, see
# test/utils/gc.go). setup-envtest downloads release binaries from the
# internet, which these machines cannot reach; the module proxy they can.
#
# Usage: hack/build-k8s.sh DEST_DIR K8S_VERSION ETCD_VERSION
#
# Built binaries are kept in a cache outside the clone, keyed by version,
# so that a fresh clone links them in seconds instead of rebuilding. Only the
# binaries missing from the cache are built, so an older cache gains a newly
# added binary without rebuilding the others.
set -euo pipefail

dest=${1:?destination folder}
k8s=${2:?kubernetes version, e.g. v1.37.2}
etcd=${3:?etcd version, e.g. v3.6.16}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/cx-operator
k8s_cache=$cache/k8s-$k8s
etcd_cache=$cache/etcd-$etcd
mkdir -p "$dest" "$k8s_cache" "$etcd_cache"

staging_minor=${k8s#v1.}   # 37.2 -> staging modules are v0.37.2
k8s_bins=(kube-apiserver kubectl kube-controller-manager)

# build_k8s BIN... builds the named k8s.io/kubernetes/cmd/BIN into the cache.
build_k8s() {
  local src=$k8s_cache/src
  rm -rf "$src" && mkdir -p "$src"
  cd "$src"
  cat > go.mod <<MOD
module cxops.local/k8s-tools

go 1.26.0

require k8s.io/kubernetes $k8s
MOD
  # k8s.io/kubernetes replaces its staging modules with ./staging/...;
  # outside its own repository they must point at the published v0 modules.
  local modfile
  go mod download -json "k8s.io/kubernetes@$k8s" > dl.json
  modfile=$(sed -n 's/.*"GoMod": "\(.*\)",*/\1/p' dl.json)
  grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/' "$modfile" \
    | awk -v v="v0.$staging_minor" '{print "replace " $1 " => " $1 " " v}' >> go.mod
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$k8s"
  ld="$ld -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${staging_minor%%.*}"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$k8s"
  local bin
  for bin in "$@"; do
    # Build to a temporary name so that an interrupted build never leaves a
    # truncated binary that the next run would take as cached.
    go build -tags tools -trimpath -ldflags "$ld" -o "$k8s_cache/$bin.tmp" "k8s.io/kubernetes/cmd/$bin"
    mv -f "$k8s_cache/$bin.tmp" "$k8s_cache/$bin"
  done
}

build_etcd() {
  local src=$etcd_cache/src
  rm -rf "$src" && mkdir -p "$src"
  cd "$src"
  cat > go.mod <<MOD
module cxops.local/etcd-tool

go 1.26.0
MOD
  cat > main.go <<'GO'
// Command etcd runs the etcd server from the published Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@$etcd" >/dev/null 2>&1
  go mod tidy >/dev/null 2>&1
  go build -trimpath -ldflags "-s -w" -o "$etcd_cache/etcd" .
}

missing=()
for bin in "${k8s_bins[@]}"; do
  [ -x "$k8s_cache/$bin" ] || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "building ${missing[*]} $k8s from the Go module proxy (minutes, once)" >&2
  (build_k8s "${missing[@]}")
fi
if [ ! -x "$etcd_cache/etcd" ]; then
  echo "building etcd $etcd from the Go module proxy (once)" >&2
  (build_etcd)
fi
# kube-apiserver last: the Makefile takes it as the sign that the folder is
# complete.
for f in "$etcd_cache/etcd" "$k8s_cache/kubectl" "$k8s_cache/kube-controller-manager" "$k8s_cache/kube-apiserver"; do
  cp -f "$f" "$dest/"
done
