// Package utils holds harness code shared by the envtest suites, the
// end-to-end test and the demo: a local control plane from the binaries the
// Makefile builds, and helpers to read manifests.
package utils

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cxops/cx-operator/internal/scheme"
)

// PrometheusOperatorVersion is the version of the prometheus-operator CRDs
// (and of the typed API in go.mod) that the control plane installs.
const PrometheusOperatorVersion = "v0.93.1"

// RepoRoot returns the root of the repository, found from this file.
func RepoRoot() string {
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		panic("utils: cannot find the repository root")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CRDPaths are the folders whose CRDs every local control plane installs:
// cx-operator's own and the prometheus-operator kinds.
func CRDPaths() []string {
	root := RepoRoot()
	return []string{
		filepath.Join(root, "config", "crd", "bases"),
		filepath.Join(root, "test", "crds", "prometheus-operator-"+PrometheusOperatorVersion),
	}
}

// Scheme returns a scheme with every kind cx-operator reads or writes.
func Scheme() *runtime.Scheme { return scheme.New() }

// AssetsDir returns the folder with kube-apiserver, etcd and kubectl that
// `make envtest` builds, from KUBEBUILDER_ASSETS, or an error that says how
// to get them. A missing control plane is a failure, never a skip.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		return "", errors.New("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, " +
			"or `make envtest` and export KUBEBUILDER_ASSETS=$(pwd)/bin/k8s/1.37.2")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("the local control plane needs %s in KUBEBUILDER_ASSETS (%s): run `make envtest`: %w", bin, dir, err)
		}
	}
	return dir, nil
}

// NewEnvironment returns an envtest environment, not started, that runs the
// real kube-apiserver and etcd built by the Makefile and installs the CRDs.
func NewEnvironment() (*envtest.Environment, error) {
	dir, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     CRDPaths(),
		ErrorIfCRDPathMissing: true,
		Scheme:                Scheme(),
	}, nil
}
