package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/slo"
)

// series writes the selector of one of the objective's recorded series.
func series(o slo.Objective, metric string, window time.Duration) string {
	return selector(o, metric, "", windowMatcher(window))
}

// events writes the selector of the objective's total or bad events per
// second over a window (MetricEvents with LabelEvents = kind).
func events(o slo.Objective, kind string, window time.Duration) string {
	return selector(o, MetricEvents, kind, windowMatcher(window))
}

// windowMatcher matches cx_window to one window, or to any for 0.
func windowMatcher(window time.Duration) string {
	if window <= 0 {
		return ""
	}
	return matcher(LabelWindow, "=", slo.FormatDuration(window))
}

// windowsMatcher matches cx_window to any of the windows.
func windowsMatcher(windows []time.Duration) string {
	names := make([]string, len(windows))
	for i, w := range windows {
		names[i] = slo.FormatDuration(w)
	}
	return matcher(LabelWindow, "=~", strings.Join(names, "|"))
}

// selector writes a selector of the objective's series of a metric, with
// LabelEvents when kind is set and then the extra matchers that are not
// empty. It is written without fmt: rendering a thousand objectives writes
// a hundred thousand selectors.
func selector(o slo.Objective, metric, kind string, extra ...string) string {
	var b strings.Builder
	b.WriteString(metric)
	b.WriteString("{" + matcher("cx_objective", "=", o.Name) + "," + matcher("cx_objective_namespace", "=", o.Namespace))
	if kind != "" {
		b.WriteString("," + matcher(LabelEvents, "=", kind))
	}
	for _, m := range extra {
		if m != "" {
			b.WriteString("," + m)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// matcher writes one label matcher, the value quoted as %q would.
func matcher(name, op, value string) string { return name + op + strconv.Quote(value) }

// baseExprs returns the expressions of the bad and all events per second
// over the base window: the only ones that read raw series, and only over
// the base window.
func baseExprs(o slo.Objective, base time.Duration) (bad, total string) {
	r := "[" + slo.FormatDuration(base) + "]"
	s := o.SLI
	switch s.Kind {
	case slo.KindErrorRatio:
		total = "sum(rate(" + s.Total.String() + r + "))"
		// Error counters often appear only with the first error: until
		// then, no errors among the events is a ratio of 0, not no data.
		// The events were recorded just before, so the raw series are
		// not read twice.
		bad = "sum(rate(" + s.Errors.String() + r + ")) or on () 0 * " + events(o, EventsTotal, base)
	case slo.KindLatency:
		if s.Native {
			hist := "sum(rate(" + s.Metric.String() + r + "))"
			total = "histogram_count(" + hist + ")"
			bad = total + " * histogram_fraction(" + slo.FormatFloat(s.Threshold) + ", +Inf, " + hist + ")"
		} else {
			le := bucketMatcher(s.Threshold)
			total = "sum(rate(" + s.Metric.WithName(s.Metric.Name+"_count") + r + "))"
			good := "sum(rate(" + s.Metric.WithName(s.Metric.Name+"_bucket", le) + r + "))"
			bad = "clamp_min(" + total + " - " + good + ", 0)"
		}
	case slo.KindAvailability:
		// Time-based SLIs count seconds: events is 1 wherever the gauge has
		// data, so that a window that reaches back before the data began
		// still divides by the time it covers.
		bad = "1 - avg(avg_over_time(" + s.Metric.String() + r + "))"
		total = "count(last_over_time(" + s.Metric.String() + r + ")) > bool 0"
	case slo.KindScore:
		op := "<"
		if !s.GoodAbove {
			op = ">"
		}
		// A subquery at the evaluation interval: the share of evaluations
		// over the base window at which the score was on the bad side.
		sub := "[" + slo.FormatDuration(base) + ":]"
		bad = "avg(avg_over_time((" + s.Metric.String() + " " + op + " bool " + slo.FormatFloat(s.Threshold) + ")" + sub + "))"
		total = "count(last_over_time(" + s.Metric.String() + r + ")) > bool 0"
	}
	return bad, total
}

// bucketMatcher matches the le label of the bucket at the threshold in each
// way it is spelled: exporters write 300 or 1.0 (client_golang's text
// format), and Prometheus 3 rewrites every le it scrapes as a float, 300.0
// (https://prometheus.io/docs/prometheus/latest/migration/, "le and quantile
// label values"). A rule that named one spelling would find no bucket on
// the other Prometheus, and the SLI would have no data.
func bucketMatcher(threshold float64) *labels.Matcher {
	var forms []string
	add := func(f string) {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	g := strconv.FormatFloat(threshold, 'g', -1, 64)
	add(slo.FormatFloat(threshold))
	add(g)
	if !strings.ContainsAny(g, ".eEIN") {
		add(g + ".0")
	}
	if len(forms) == 1 {
		return labels.MustNewMatcher(labels.MatchEqual, "le", forms[0])
	}
	for i, f := range forms {
		forms[i] = regexp.QuoteMeta(f)
	}
	return labels.MustNewMatcher(labels.MatchRegexp, "le", strings.Join(forms, "|"))
}

// composeExpr writes a window's total and bad events per second, both at
// once, as the weighted sum of shorter recorded windows. Each past term is
// told apart from the others by LabelOffset, so that the union (or) of the
// terms keeps every one, and the sum adds up those that exist: a term whose
// time lies before the objective existed counts as no events, so that
// ratios cover the history there is, and an objective without any data
// records nothing. Each term is one selector, read once.
func composeExpr(o slo.Objective, p slo.WindowPlan) string {
	sameWeight := true
	for _, t := range p.Terms {
		sameWeight = sameWeight && t.Weight == p.Terms[0].Weight && t.Weight == t.Chunk
	}
	parts := make([]string, len(p.Terms))
	for i, t := range p.Terms {
		term := series(o, MetricEvents, t.Chunk)
		if t.Offset > 0 {
			off := slo.FormatDuration(t.Offset)
			term = "label_replace(" + term + " offset " + off + `, "` + LabelOffset + `", "` + off + `", "", "")`
		}
		if !sameWeight {
			term += " * " + seconds(t.Weight)
		}
		parts[i] = term
	}
	sum := "sum without (" + LabelWindow + ", " + LabelOffset + ") (\n  " + strings.Join(parts, "\n  or ") + "\n)"
	if sameWeight {
		return sum + " / " + fmt.Sprint(len(p.Terms))
	}
	return sum + " / " + seconds(p.Window)
}

// Hysteresis is the share of the factor and of the guard's minimum of bad
// events below which a firing alert resolves: it fires at 14.4x and stays
// until the burn falls under 7.2x, so that a burn that hovers around a
// threshold raises one alert, not one per crossing.
const Hysteresis = 0.5

// burnCondition writes one multi-window condition: the burn rate exceeds the
// factor over the long and the short window, with the low-traffic guard for
// SLIs that count events. scale is 1 for the condition that fires, and
// Hysteresis for the one that keeps a firing alert.
func burnCondition(o slo.Objective, w slo.BurnWindow, g slo.Guard, scale float64) string {
	factor := w.Factor * scale
	f := slo.FormatFloat(factor)
	long := "max without (" + LabelWindow + ") (" + series(o, MetricBurnRate, w.Long) + " > " + f + ")"
	short := series(o, MetricBurnRate, w.Short) + " > " + f
	lines := []string{long}
	if o.SLI.Kind.CountsEvents() && g.MinShortWindowBadEvents > 0 {
		// A short window too thin to tell: had the burn gone on at the long
		// window's error ratio, it would hold fewer than
		// MinShortWindowBadEvents bad events, so finding none there says
		// little. The long window decides alone.
		short = "(" + short + "\n    or on () " + events(o, EventsTotal, w.Short) + " * " + seconds(w.Short) +
			" * on () " + events(o, EventsBad, w.Long) + " / on () " + events(o, EventsTotal, w.Long) +
			" < " + slo.FormatFloat(g.MinShortWindowBadEvents) + ")"
	}
	lines = append(lines, "and on () "+short)
	if o.SLI.Kind.CountsEvents() && g.MinBadEventsPerHour > 0 {
		lines = append(lines, "and on () "+events(o, EventsBad, w.Long)+" * 3600 >= "+slo.FormatFloat(g.MinBadEventsPerHour*scale))
	}
	return "(\n  " + strings.Join(lines, "\n  ") + "\n)"
}

// latchExpr is the expression of a window pair's latch: the pair's
// condition at full thresholds sets it, and once set (its own series at the
// previous evaluation) the condition at Hysteresis times the thresholds
// holds it. Its value is the long window's burn rate.
func latchExpr(o slo.Objective, sev slo.Severity, w slo.BurnWindow, g slo.Guard) string {
	self := latchSeries(o, sev, w.Long)
	return burnCondition(o, w, g, 1) + "\nor\n(\n" + indent(burnCondition(o, w, g, Hysteresis)) + "\n) and on () " + self
}

// latchSeries selects the latch of the pair with that long window.
func latchSeries(o slo.Objective, sev slo.Severity, long time.Duration) string {
	return selector(o, MetricBurnLatch, "", matcher(cxv1alpha1.AlertLabelSeverity, "=", string(sev)), windowMatcher(long))
}

// burnExpr is the expression of a burn-rate alert: any of its severity's
// latches is set. Its value is the highest long-window burn rate.
func burnExpr(o slo.Objective, sev slo.Severity) string {
	return "max without (" + LabelWindow + ") (" + selector(o, MetricBurnLatch, "", matcher(cxv1alpha1.AlertLabelSeverity, "=", string(sev))) + ")"
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func seconds(d time.Duration) string { return slo.FormatFloat(d.Seconds()) }
