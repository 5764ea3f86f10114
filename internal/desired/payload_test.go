package desired_test

import (
	"reflect"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/cxops/cx-operator/internal/desired"
	samples "github.com/cxops/cx-operator/test/utils/samples"
)

// genericPayload is Payload by apimachinery's reflection-based converter,
// which Payload writes out by hand for PrometheusRules.
func genericPayload(t *testing.T, obj runtime.Object) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	return m
}

func TestRulePayloadIsTheGenericConversion(t *testing.T) {
	// Payload writes every field of these two types; a field that
	// prometheus-operator adds must be added there too.
	for typ, fields := range map[reflect.Type]int{
		reflect.TypeFor[monitoringv1.PrometheusRuleSpec](): 1,
		reflect.TypeFor[monitoringv1.RuleGroup]():          7,
		reflect.TypeFor[monitoringv1.Rule]():               7,
	} {
		if typ.NumField() != fields {
			t.Errorf("%s has %d fields, Payload writes %d: extend rulePayload in payload.go", typ, typ.NumField(), fields)
		}
	}

	set := samples.Load(t)
	lookup := lookupIn(set.Teams...)
	rules := map[string]*monitoringv1.PrometheusRule{}
	for _, obj := range set.Objectives {
		rules[obj.Name] = sampleRule(t, obj, lookup)
	}
	full := &monitoringv1.PrometheusRule{Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{
		{
			Name: "every-field", Labels: map[string]string{"a": "b"},
			Interval: ptr.To(monitoringv1.Duration("30s")), QueryOffset: ptr.To(monitoringv1.Duration("1m")),
			PartialResponseStrategy: "warn", Limit: ptr.To(10),
			Rules: []monitoringv1.Rule{
				{Record: "r", Expr: intstr.FromString("up"), Labels: map[string]string{"x": "y"}},
				{Alert: "A", Expr: intstr.FromInt32(1), For: ptr.To(monitoringv1.Duration("5m")),
					KeepFiringFor: ptr.To(monitoringv1.NonEmptyDuration("10m")), Annotations: map[string]string{"summary": "s"}},
				{Record: "empty-maps", Expr: intstr.FromString(""), Labels: map[string]string{}, Annotations: map[string]string{}},
			},
		},
		{Name: "empty", Labels: map[string]string{}, Interval: ptr.To(monitoringv1.Duration("")), Rules: []monitoringv1.Rule{}},
	}}}
	full.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind("PrometheusRule"))
	full.Name, full.Namespace = "every-field", "shop"
	rules["every field set"] = full
	rules["no groups"] = &monitoringv1.PrometheusRule{}
	rules["empty group list"] = &monitoringv1.PrometheusRule{Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{}}}

	for name, rule := range rules {
		t.Run(name, func(t *testing.T) {
			got, err := desired.Payload(rule)
			if err != nil {
				t.Fatal(err)
			}
			if want := genericPayload(t, rule); !reflect.DeepEqual(got.Object, want) {
				t.Errorf("Payload differs from the generic conversion:\n got %#v\nwant %#v", got.Object["spec"], want["spec"])
			}
		})
	}
}
