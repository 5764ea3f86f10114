// Package scheme builds the runtime scheme that the manager, the kubectl
// plugin and the tests share: Kubernetes built-in kinds, cx-operator's kinds
// and the prometheus-operator kinds cx-operator writes.
package scheme

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// New returns a new scheme with every kind cx-operator reads or writes.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		cxv1alpha1.AddToScheme,
		monitoringv1.AddToScheme,
		monitoringv1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			// Only a programming error (a kind registered twice) gets here.
			panic(fmt.Sprintf("scheme: %v", err))
		}
	}
	return s
}
