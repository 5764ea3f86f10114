package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// operatorOnlyKinds are the kinds whose CRDs prometheus-operator's
// Prometheus controller waits for (it lists and watches them before it
// reconciles anything, rule ConfigMaps included) but cx-operator does not
// use, so test/crds does not hold them. Without them the operator never
// writes prometheus-cx-rulefiles-N.
var operatorOnlyKinds = []string{"ServiceMonitor", "PodMonitor", "Probe"}

// operatorCRDs returns the CRDs of operatorOnlyKinds as the pinned
// prometheus-operator binary prints them (`prometheus-operator crds`), so
// that they always match the binary that watches them.
func (s *Stack) operatorCRDs(ctx context.Context) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(s.opts.BinDir, "prometheus-operator"), "crds")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("printing prometheus-operator's CRDs: %w: %s", err, errOut.String())
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(&out, 64*1024)
	var crds []*apiextensionsv1.CustomResourceDefinition
	for {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		err := dec.Decode(crd)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading prometheus-operator's CRDs: %w", err)
		}
		if slices.Contains(operatorOnlyKinds, crd.Spec.Names.Kind) {
			crds = append(crds, crd)
		}
	}
	if len(crds) != len(operatorOnlyKinds) {
		return nil, fmt.Errorf("prometheus-operator crds printed %d of the CRDs of %v", len(crds), operatorOnlyKinds)
	}
	return crds, nil
}
