#!/usr/bin/env bash
# Copies the CRDs of the prometheus-operator kinds cx-operator uses (and the
# tests install) from the prometheus-operator root module of one version into
# a folder of this repository, so that tests need no network.
#
# Usage: hack/prometheus-operator-crds.sh VERSION DEST_DIR
set -euo pipefail
version=${1:?version}
dest=${2:?destination}
dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$version" \
  | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
src=$dir/example/prometheus-operator-crd
mkdir -p "$dest"
for kind in prometheusrules alertmanagerconfigs prometheuses alertmanagers; do
  cp -f "$src/monitoring.coreos.com_$kind.yaml" "$dest/"
  chmod 0644 "$dest/monitoring.coreos.com_$kind.yaml"
done
cat > "$dest/README.md" <<MD
# prometheus-operator CRDs, $version

Copied by \`make prometheus-operator-crds\` from
\`github.com/prometheus-operator/prometheus-operator@$version\`,
folder \`example/prometheus-operator-crd/\`. Do not edit: regenerate.

The envtest suites and the local stack install them so that the typed
prometheus-operator API (\`pkg/apis/monitoring\` $version), these CRDs and the
prometheus-operator binary of the end-to-end test agree.
AlertmanagerConfig is served as v1alpha1 only, which is what an API server
without prometheus-operator's conversion webhook needs.
MD
