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

// Validate checks a PrometheusRule spec the way Prometheus checks a rule
// file when it loads one, with its own rulefmt package and PromQL parser:
// names, expressions, label names and annotation templates.
func Validate(spec monitoringv1.PrometheusRuleSpec) error {
	file, err := RuleFile(spec)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, errs := rulefmt.Parse(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), logger)
	if len(errs) > 0 {
		return fmt.Errorf("the generated rules do not pass Prometheus's validation: %w", errors.Join(errs...))
	}
	return nil
}
