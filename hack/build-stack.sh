#!/usr/bin/env bash
# Builds the real engines of the end-to-end stack from the Go module proxy,
# pinned, into DEST_DIR: prometheus-operator, Prometheus (and promtool) and
# Alertmanager (and amtool). Each binary is cached outside the clone, keyed by
# version, so a fresh clone copies them in seconds.
#
# Why built from the module proxy rather than Debian's packages (Prometheus
# 2.42, Alertmanager 0.25): Prometheus 3.16 is the engine of the
# github.com/prometheus/prometheus v0.316 library that the unit tests and
# `kubectl cx test` evaluate rules with, so the end-to-end test runs the very
# same PromQL; Alertmanager 0.25 has no Microsoft Teams receiver, which a
# CXTeam can ask for, and prometheus-operator v0.93.1 targets 0.33+.
#
# Usage: hack/build-stack.sh DEST_DIR OPERATOR_VERSION PROMETHEUS_VERSION ALERTMANAGER_VERSION
set -euo pipefail
dest=${1:?destination}
op=${2:?prometheus-operator version, e.g. v0.93.1}
prom=${3:?prometheus module version, e.g. v0.316.0}
am=${4:?alertmanager version, e.g. v0.34.2}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/cx-operator
mkdir -p "$dest"

modfield() { # MODULE@VERSION FIELD
  go mod download -json "$1" | sed -n "s/.*\"$2\": \"\(.*\)\",*/\1/p"
}

build_operator() {
  local out=$cache/prometheus-operator-$op src
  src=$(mktemp -d)
  trap 'rm -rf "$src"' RETURN
  (
    cd "$src"
    printf 'module cxops.local/prometheus-operator\n\ngo 1.26.0\n' > go.mod
    # The root module's own requirements, so that its dependency graph
    # resolves as it does upstream (otherwise an ambiguous
    # cloud.google.com/go/compute/metadata import).
    local rootmod
    rootmod=$(modfield "github.com/prometheus-operator/prometheus-operator@$op" GoMod)
    awk '/^require \(/{p=1} p{print} p&&/^\)/{p=0}' "$rootmod" >> go.mod
    cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
GO
    go get "github.com/prometheus-operator/prometheus-operator@$op" \
      "github.com/prometheus-operator/prometheus-operator/pkg/client@$op" \
      "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring@$op" >/dev/null 2>&1
    GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
    mkdir -p "$out"
    go build -tags tools -trimpath -ldflags "-s -w" -o "$out/prometheus-operator" \
      github.com/prometheus-operator/prometheus-operator/cmd/operator
  )
}

build_prometheus() {
  local out=$cache/prometheus-$prom
  mkdir -p "$out"
  GOBIN=$out GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" \
    "github.com/prometheus/prometheus/cmd/prometheus@$prom" \
    "github.com/prometheus/prometheus/cmd/promtool@$prom"
}

build_alertmanager() {
  local out=$cache/alertmanager-$am src
  src=$(mktemp -d)
  trap 'chmod -R u+w "$src"; rm -rf "$src"' RETURN
  # The module embeds its web UI from ui/app/dist, which is built by npm and
  # not part of the module: copy the module out and put a placeholder there.
  cp -r "$(modfield "github.com/prometheus/alertmanager@$am" Dir)/." "$src/"
  chmod -R u+w "$src"
  mkdir -p "$src/ui/app/dist"
  echo '<html><body>Alertmanager UI not built; use the API.</body></html>' > "$src/ui/app/dist/index.html"
  mkdir -p "$out"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out/alertmanager" ./cmd/alertmanager \
    && go build -trimpath -ldflags "-s -w" -o "$out/amtool" ./cmd/amtool)
}

[ -x "$cache/prometheus-operator-$op/prometheus-operator" ] || { echo "building prometheus-operator $op (once)" >&2; build_operator; }
[ -x "$cache/alertmanager-$am/alertmanager" ] || { echo "building alertmanager $am (once)" >&2; build_alertmanager; }
[ -x "$cache/prometheus-$prom/prometheus" ] || { echo "building prometheus $prom (minutes, once)" >&2; build_prometheus; }

cp -f "$cache/prometheus-operator-$op/prometheus-operator" \
  "$cache/prometheus-$prom/prometheus" "$cache/prometheus-$prom/promtool" \
  "$cache/alertmanager-$am/alertmanager" "$cache/alertmanager-$am/amtool" "$dest/"
