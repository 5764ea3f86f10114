package rules_test

import (
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cxops/cx-operator/internal/rules"
)

// TestValidateFindsWhatRulefmtFinds holds Validate, which gives rulefmt
// only the labels and annotations of an alert that are templates, to the
// verdicts of rulefmt's own validation of the whole rule: the same errors
// for label and annotation names and values, plain or templated, and the
// same silence for valid ones.
func TestValidateFindsWhatRulefmtFinds(t *testing.T) {
	tests := []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
	}{
		{"plain labels and annotations pass", map[string]string{"severity": "page", "cx_team": "checkout"}, map[string]string{"runbook_url": "https://runbooks.example.com/x"}},
		{"templates that parse pass", map[string]string{"instance": "{{ $labels.instance }}"}, map[string]string{"summary": "burning {{ printf \"%.0f\" $value }}x"}},
		{"no labels or annotations at all pass", nil, nil},
		{"a plain label with an invalid name fails", map[string]string{"0tier": "1"}, nil},
		{"a plain label named __name__ fails", map[string]string{"__name__": "x"}, nil},
		{"a plain label value that is not UTF-8 fails", map[string]string{"tier": "\xff"}, nil},
		{"a templated label value that is not UTF-8 fails", map[string]string{"tier": "{{ $value }}\xff"}, nil},
		{"a templated label that does not parse fails", map[string]string{"tier": "{{ $value "}, nil},
		{"a plain annotation with an invalid name fails", nil, map[string]string{"1summary": "text"}},
		{"a templated annotation with an invalid name fails", nil, map[string]string{"1summary": "{{ $value }}"}},
		{"a templated annotation that does not parse fails", nil, map[string]string{"description": "{{ if }}"}},
		{"a template that calls an unknown function fails", nil, map[string]string{"description": "{{ nosuchfunc $value }}"}},
		{"closing braces without an opening pair are text", nil, map[string]string{"description": "a } and }} and {x"}},
		{"several faults are all reported", map[string]string{"0a": "\xff", "b": "{{"}, map[string]string{"2c": "x", "d": "{{ end }}"}},
	}
	p := parser.NewParser(parser.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := monitoringv1.Rule{Alert: "CXTest", Expr: intstr.FromString("vector(1) > 0"), Labels: tt.labels, Annotations: tt.annotations}
			spec := monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{Name: "g", Rules: []monitoringv1.Rule{r}}}}
			before := len(tt.labels) + len(tt.annotations)
			got := rules.Validate(spec)
			full := rulefmt.Rule{Alert: r.Alert, Expr: r.Expr.String(), Labels: tt.labels, Annotations: tt.annotations}
			want := full.Validate(rulefmt.RuleNode{}, model.UTF8Validation, p)
			if (got == nil) != (len(want) == 0) {
				t.Fatalf("Validate: %v; rulefmt: %v", got, want)
			}
			for _, w := range want {
				if !strings.Contains(got.Error(), w.Error()) {
					t.Errorf("Validate does not report rulefmt's %q; it says %v", w.Error(), got)
				}
			}
			if got != nil {
				if n := strings.Count(got.Error(), "group \"g\", rule 0"); n != len(want) {
					t.Errorf("Validate reports %d errors, rulefmt %d: %v", n, len(want), got)
				}
			}
			if len(r.Labels)+len(r.Annotations) != before {
				t.Error("Validate changed the rule's labels or annotations")
			}
		})
	}
}
