// Package budget turns the series that the generated recording rules write
// (cx:sli, cx:error_budget_remaining, cx:burn_rate) and the ALERTS of the
// generated alerts into the figures of a CXObjective's status, rounded for
// display, and says when they changed enough to be written. It builds the
// queries; it does not send them.
package budget

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/internal/slo"
)

// Query returns the one query that reads the state of every objective of a
// namespace: the recorded SLI, budget left and burn rates, and the firing
// alerts. It reads recorded series only, never raw ones.
func Query(namespace string) string {
	ns := strconv.Quote(namespace)
	return fmt.Sprintf(`{__name__=~"%s|%s|%s",cx_objective_namespace=%s} or ALERTS{alertstate="firing",alertname=~"%s|%s",cx_objective_namespace=%s}`,
		rules.MetricSLI, rules.MetricBudgetRemaining, rules.MetricBurnRate, ns,
		rules.AlertBurn, rules.AlertExhaustion, ns)
}

// Figures is what Prometheus says about one objective.
type Figures struct {
	// SLI is the share of good events over the objective's window.
	SLI float64
	// HasSLI is false when the series is missing or not a number.
	HasSLI bool
	// Remaining is the share of the budget left.
	Remaining float64
	// HasRemaining is false when the series is missing or not a number.
	HasRemaining bool
	// BurnRates by window.
	BurnRates map[time.Duration]float64
	// Firing are the severities of the objective's alerts firing now.
	Firing []string
}

// ErrMalformed says that a query result is not what the recording rules
// write.
var ErrMalformed = errors.New("the answer is not the vector of recorded series that cx-operator's rules write")

// Parse reads a query result into figures by objective name. It refuses
// anything but an instant vector, and series without the labels the rules
// put on them.
func Parse(v model.Value) (map[string]*Figures, error) {
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%w: got a %s", ErrMalformed, typeOf(v))
	}
	out := map[string]*Figures{}
	for _, s := range vec {
		name := string(s.Metric[model.LabelName(cxv1alpha1.AlertLabelObjective)])
		if name == "" {
			return nil, fmt.Errorf("%w: a series without %s: %s", ErrMalformed, cxv1alpha1.AlertLabelObjective, s.Metric)
		}
		f := out[name]
		if f == nil {
			f = &Figures{BurnRates: map[time.Duration]float64{}}
			out[name] = f
		}
		value := float64(s.Value)
		finite := !math.IsNaN(value) && !math.IsInf(value, 0)
		switch string(s.Metric[model.MetricNameLabel]) {
		case rules.MetricSLI:
			f.SLI, f.HasSLI = value, finite
		case rules.MetricBudgetRemaining:
			f.Remaining, f.HasRemaining = value, finite
		case rules.MetricBurnRate:
			w, err := slo.ParseWindowLabel(string(s.Metric[rules.LabelWindow]))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, s.Metric, err)
			}
			if finite {
				f.BurnRates[w] = value
			}
		case "ALERTS":
			if sev := string(s.Metric[cxv1alpha1.AlertLabelSeverity]); sev != "" && !slices.Contains(f.Firing, sev) {
				f.Firing = append(f.Firing, sev)
			}
		}
	}
	for _, f := range out {
		sort.Strings(f.Firing)
	}
	return out, nil
}

func typeOf(v model.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().String()
}

// Known says whether the figures are enough to report: the recording rules
// have produced the SLI and the budget left.
func (f *Figures) Known() bool { return f != nil && f.HasSLI && f.HasRemaining }

// Status writes the figures as the status shows them, rounded: the SLI with
// one more decimal than the target has (at least two), the budget left with
// one decimal, burn rates with one decimal.
func (f *Figures) Status(target string, readAt time.Time) *cxv1alpha1.BudgetStatus {
	st := &cxv1alpha1.BudgetStatus{
		SLI:       strconv.FormatFloat(f.SLI*100, 'f', sliDecimals(target), 64) + "%",
		Remaining: strconv.FormatFloat(f.Remaining*100, 'f', 1, 64) + "%",
		Firing:    slices.Clone(f.Firing),
	}
	windows := make([]time.Duration, 0, len(f.BurnRates))
	for w := range f.BurnRates {
		windows = append(windows, w)
	}
	slices.Sort(windows)
	for _, w := range windows {
		rate := formatBurn(f.BurnRates[w])
		st.BurnRates = append(st.BurnRates, cxv1alpha1.WindowBurnRate{Window: slo.FormatDuration(w), Rate: rate})
		if w == slo.StatusBurnWindow {
			st.BurnRate1h = rate
		}
	}
	t := metav1.NewTime(readAt)
	st.ReadAt = &t
	return st
}

func formatBurn(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "x" }

func sliDecimals(target string) int {
	_, frac, _ := strings.Cut(target, ".")
	return max(2, len(frac)+1)
}

// Changed says whether the displayed figures differ, so that an unchanged
// objective costs no status write. readAt is not compared.
func Changed(old, updated *cxv1alpha1.BudgetStatus) bool {
	if old == nil || updated == nil {
		return old != updated
	}
	a, b := *old, *updated
	a.ReadAt, b.ReadAt = nil, nil
	return !equalStatus(a, b)
}

func equalStatus(a, b cxv1alpha1.BudgetStatus) bool {
	return a.SLI == b.SLI && a.Remaining == b.Remaining && a.BurnRate1h == b.BurnRate1h &&
		slices.Equal(a.BurnRates, b.BurnRates) && slices.Equal(a.Firing, b.Firing)
}
