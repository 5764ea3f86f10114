package rules

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/cxops/cx-operator/internal/slo"
)

// RuleFile writes a PrometheusRule spec as a plain Prometheus rule file, the
// way prometheus-operator writes it for Prometheus: the spec's groups under
// a top-level groups key.
func RuleFile(spec monitoringv1.PrometheusRuleSpec) ([]byte, error) {
	out, err := yaml.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("writing the rule file: %w", err)
	}
	return out, nil
}

var validationParser = parser.NewParser(parser.Options{})

// Validate checks every rule of a PrometheusRule spec the way Prometheus
// checks the rules of a file it loads, with rulefmt's own rule validation
// and PromQL parser: names, expressions, durations, label names and
// values, and the templates of labels and annotations. It skips writing
// and reading the file back, which costs more than the checks.
func Validate(spec monitoringv1.PrometheusRuleSpec) error {
	var errs []error
	names := map[string]bool{}
	for _, g := range spec.Groups {
		if g.Name == "" {
			errs = append(errs, errors.New("a rule group has no name"))
		}
		if names[g.Name] {
			errs = append(errs, fmt.Errorf("group %q is defined more than once", g.Name))
		}
		names[g.Name] = true
		for i, r := range g.Rules {
			rule, err := fromSpec(r)
			if err != nil {
				errs = append(errs, fmt.Errorf("group %q, rule %d: %w", g.Name, i, err))
				continue
			}
			for _, perr := range setPlainTextAside(&rule) {
				errs = append(errs, fmt.Errorf("group %q, rule %d (%s%s): %w", g.Name, i, r.Record, r.Alert, perr))
			}
			for _, werr := range rule.Validate(rulefmt.RuleNode{}, model.UTF8Validation, validationParser) {
				errs = append(errs, fmt.Errorf("group %q, rule %d (%s%s): %w", g.Name, i, r.Record, r.Alert, &werr))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the generated rules do not pass Prometheus's validation: %w", errors.Join(errs...))
	}
	return nil
}

// setPlainTextAside takes the labels and annotations of an alerting rule
// that hold no template action (slo.HasTemplateAction) out of the rule that
// rulefmt validates, and checks them the way rulefmt does: label and
// annotation names, label values. rulefmt parses every label and
// annotation of an alerting rule as a template, which for plain text only
// costs; of the 24 of an objective's two alerts, 4 are templates. The
// rule's maps are replaced, not changed: they are the spec's.
func setPlainTextAside(rule *rulefmt.Rule) []error {
	if rule.Alert == "" {
		return nil
	}
	var errs []error
	templated := func(in map[string]string, check func(k, v string)) map[string]string {
		if in == nil {
			return nil
		}
		out := map[string]string{}
		for k, v := range in {
			if slo.HasTemplateAction(v) {
				out[k] = v
				continue
			}
			check(k, v)
		}
		return out
	}
	rule.Labels = templated(rule.Labels, func(k, v string) {
		if !model.UTF8Validation.IsValidLabelName(k) || k == model.MetricNameLabel {
			errs = append(errs, fmt.Errorf("invalid label name: %s", k))
		}
		if !model.LabelValue(v).IsValid() {
			errs = append(errs, fmt.Errorf("invalid label value: %s", v))
		}
	})
	rule.Annotations = templated(rule.Annotations, func(k, _ string) {
		if !model.UTF8Validation.IsValidLabelName(k) {
			errs = append(errs, fmt.Errorf("invalid annotation name: %s", k))
		}
	})
	return errs
}

// fromSpec is a rule as rulefmt reads it from a file.
func fromSpec(r monitoringv1.Rule) (rulefmt.Rule, error) {
	out := rulefmt.Rule{Record: r.Record, Alert: r.Alert, Expr: r.Expr.String(), Labels: r.Labels, Annotations: r.Annotations}
	if r.For != nil {
		d, err := model.ParseDuration(string(*r.For))
		if err != nil {
			return out, fmt.Errorf("for: %w", err)
		}
		out.For = d
	}
	if r.KeepFiringFor != nil {
		d, err := model.ParseDuration(string(*r.KeepFiringFor))
		if err != nil {
			return out, fmt.Errorf("keep_firing_for: %w", err)
		}
		out.KeepFiringFor = d
	}
	return out, nil
}

// ValidateFile checks a whole rule file as Prometheus loads it, with
// rulefmt.Parse: the YAML, unknown fields, the groups and every rule.
func ValidateFile(file []byte) error {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, errs := rulefmt.Parse(file, false, model.UTF8Validation, validationParser, logger)
	if len(errs) > 0 {
		return fmt.Errorf("the rule file does not pass Prometheus's validation: %w", errors.Join(errs...))
	}
	return nil
}
