package slo

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// promql is the Prometheus parser with default options, shared by every
// function of this package (it holds no state between calls).
var promqlParser = parser.NewParser(parser.Options{})

// Selector is a parsed PromQL instant vector selector.
type Selector struct {
	// Name is the metric name; empty when the selector has none.
	Name string
	// Matchers are the label matchers other than the metric name.
	Matchers []*labels.Matcher
}

// ParseSelector parses a selector the way Prometheus will, and accepts only a
// plain instant vector selector: a metric name and label matchers, without
// offset, @ modifier or range.
func ParseSelector(s string) (Selector, error) {
	expr, err := promqlParser.ParseExpr(s)
	if err != nil {
		return Selector{}, fmt.Errorf("does not parse as PromQL: %w", err)
	}
	vs, ok := expr.(*parser.VectorSelector)
	if !ok {
		return Selector{}, fmt.Errorf("must be a vector selector such as http_requests_total{job=\"checkout\"}, not a %s", describeNode(expr))
	}
	if vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return Selector{}, errors.New("may not use offset or @: the operator chooses the time ranges")
	}
	sel := Selector{Name: vs.Name}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			if m.Type == labels.MatchEqual && sel.Name == "" {
				sel.Name = m.Value
			} else if m.Type != labels.MatchEqual {
				return Selector{}, errors.New("must name one metric: a regular expression on __name__ would mix metrics")
			}
			continue
		}
		sel.Matchers = append(sel.Matchers, m)
	}
	if sel.Name == "" {
		return Selector{}, errors.New("must name a metric, e.g. http_requests_total{job=\"checkout\"}")
	}
	return sel, nil
}

// String writes the selector back as PromQL.
func (s Selector) String() string { return s.WithName(s.Name) }

// WithName writes the selector with another metric name, e.g. the _bucket
// series of a histogram.
func (s Selector) WithName(name string, extra ...*labels.Matcher) string {
	var b strings.Builder
	b.WriteString(name)
	ms := append(append([]*labels.Matcher{}, s.Matchers...), extra...)
	if len(ms) == 0 {
		return b.String()
	}
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	return b.String()
}

// HasLabel says whether the selector matches on a label.
func (s Selector) HasLabel(name string) bool {
	for _, m := range s.Matchers {
		if m.Name == name {
			return true
		}
	}
	return false
}

func describeNode(e parser.Expr) string {
	switch e.(type) {
	case *parser.MatrixSelector:
		return "range vector: leave out [..], the operator chooses the windows"
	case *parser.Call:
		return "function call: give the counter itself, the operator applies rate()"
	case *parser.AggregateExpr:
		return "aggregation: give the series, the operator sums them"
	case *parser.BinaryExpr:
		return "binary expression"
	case *parser.NumberLiteral, *parser.StringLiteral:
		return "literal"
	default:
		return "complex expression"
	}
}
