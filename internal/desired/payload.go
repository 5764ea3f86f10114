package desired

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Payload is what the controller sends with server-side apply for a
// generated object, and what `kubectl cx render` prints: the object without
// status and without the fields that the API server sets.
func Payload(obj runtime.Object) (*unstructured.Unstructured, error) {
	var (
		m   map[string]any
		err error
	)
	if r, ok := obj.(*monitoringv1.PrometheusRule); ok {
		m, err = rulePayload(r)
	} else {
		m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	}
	if err != nil {
		return nil, fmt.Errorf("converting %T for apply: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: m}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// rulePayload is runtime.DefaultUnstructuredConverter.ToUnstructured of a
// PrometheusRule, with the spec written out field by field instead of by
// reflection: the spec is nearly all of a rule object (some 20 KB of JSON,
// 19 rules), and the generic converter spent a quarter of `kubectl cx
// render`'s CPU on it. TestRulePayloadIsTheGenericConversion holds the two
// equal, and fails when prometheus-operator adds a field that this does not
// write.
func rulePayload(r *monitoringv1.PrometheusRule) (map[string]any, error) {
	shell := *r
	shell.Spec = monitoringv1.PrometheusRuleSpec{}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&shell)
	if err != nil {
		return nil, err
	}
	spec := map[string]any{}
	if len(r.Spec.Groups) > 0 {
		groups := make([]any, len(r.Spec.Groups))
		for i := range r.Spec.Groups {
			groups[i] = groupValue(&r.Spec.Groups[i])
		}
		spec["groups"] = groups
	}
	m["spec"] = spec
	return m, nil
}

// groupValue is the unstructured form of a rule group, with the omitempty
// rules of its JSON tags.
func groupValue(g *monitoringv1.RuleGroup) map[string]any {
	v := map[string]any{"name": g.Name}
	if len(g.Labels) > 0 {
		v["labels"] = stringMap(g.Labels)
	}
	if g.Interval != nil {
		v["interval"] = string(*g.Interval)
	}
	if g.QueryOffset != nil {
		v["query_offset"] = string(*g.QueryOffset)
	}
	if len(g.Rules) > 0 {
		rules := make([]any, len(g.Rules))
		for i := range g.Rules {
			rules[i] = ruleValue(&g.Rules[i])
		}
		v["rules"] = rules
	}
	if g.PartialResponseStrategy != "" {
		v["partial_response_strategy"] = g.PartialResponseStrategy
	}
	if g.Limit != nil {
		v["limit"] = int64(*g.Limit)
	}
	return v
}

// ruleValue is the unstructured form of a rule.
func ruleValue(r *monitoringv1.Rule) map[string]any {
	v := make(map[string]any, 4)
	if r.Record != "" {
		v["record"] = r.Record
	}
	if r.Alert != "" {
		v["alert"] = r.Alert
	}
	if r.Expr.Type == intstr.Int {
		v["expr"] = int64(r.Expr.IntVal)
	} else {
		v["expr"] = r.Expr.StrVal
	}
	if r.For != nil {
		v["for"] = string(*r.For)
	}
	if r.KeepFiringFor != nil {
		v["keep_firing_for"] = string(*r.KeepFiringFor)
	}
	if len(r.Labels) > 0 {
		v["labels"] = stringMap(r.Labels)
	}
	if len(r.Annotations) > 0 {
		v["annotations"] = stringMap(r.Annotations)
	}
	return v
}

func stringMap(in map[string]string) map[string]any {
	out := make(map[string]any, len(in))
	for k, s := range in {
		out[k] = s
	}
	return out
}
