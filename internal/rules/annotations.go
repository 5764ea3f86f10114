package rules

import (
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cxops/cx-operator/internal/slo"
)

// Annotation names.
const (
	annotationSummary     = "summary"
	annotationDescription = "description"
	annotationRunbook     = "runbook_url"
	annotationDashboard   = "dashboard_url"
)

// burnAnnotations are what a person reads in the channel: a summary in plain
// words and a description with the current figures, read by the alert
// template from the recorded series when the notification is built. owner is
// set for the notices of stakeholder teams.
func burnAnnotations(o slo.Objective, first slo.BurnWindow, owner string) map[string]string {
	summary := title(o) + " is burning " + slo.DescribeWindow(o.Window) +
		` error budget {{ printf "%.0f" $value }}× too fast`
	if owner != "" {
		summary = "FYI, owned by " + literal(owner) + ": " + summary
	}
	ratio := events(o, EventsBad, first.Long) + " / on () " + events(o, EventsTotal, first.Long)
	description := badShare(o, queryPercent(ratio, "an unknown share")) +
		" over the last " + slo.FormatDuration(first.Long) +
		"; the objective is " + o.TargetText + "% over " + slo.FormatDuration(o.Window) +
		". Error budget left: " + queryPercent(series(o, MetricBudgetRemaining, 0), "unknown") + "."
	if o.Description != "" {
		description += " " + literal(o.Description)
	}
	return withCommon(o, map[string]string{annotationSummary: summary, annotationDescription: description})
}

func forecastAnnotations(o slo.Objective) map[string]string {
	summary := title(o) + " will spend " + slo.DescribeWindow(o.Window) + " error budget within " +
		slo.FormatDuration(o.Window/4) + " at the last day's burn rate"
	description := "Error budget left: " + queryPercent(series(o, MetricBudgetRemaining, 0), "unknown") +
		"; burn rate over the last " + slo.FormatDuration(slo.ForecastWindow) + ": " +
		`{{ with query "` + strings.ReplaceAll(series(o, MetricBurnRate, slo.ForecastWindow), `"`, `\"`) +
		`" }}{{ . | first | value | printf "%.1f" }}{{ else }}unknown{{ end }}×.`
	return withCommon(o, map[string]string{annotationSummary: summary, annotationDescription: description})
}

// withCommon adds the runbook and dashboard links and the objective's own
// annotations, which win over the generated ones.
func withCommon(o slo.Objective, a map[string]string) map[string]string {
	if o.RunbookURL != "" {
		a[annotationRunbook] = literal(o.RunbookURL)
	}
	if o.DashboardURL != "" {
		a[annotationDashboard] = literal(o.DashboardURL)
	}
	maps.Copy(a, o.Annotations)
	return a
}

// title names the objective in words: "Checkout error rate (payment API)".
func title(o slo.Objective) string {
	journey := strings.ReplaceAll(o.Journey, "-", " ")
	r, size := utf8.DecodeRuneInString(journey)
	journey = string(unicode.ToUpper(r)) + journey[size:]
	kind := map[slo.SLIKind]string{
		slo.KindErrorRatio:   "error rate",
		slo.KindLatency:      "latency",
		slo.KindAvailability: "availability",
		slo.KindScore:        "score",
	}[o.SLI.Kind]
	t := journey + " " + kind
	if o.Touchpoint != "" {
		t += " (" + o.Touchpoint + ")"
	}
	return literal(t)
}

// badShare says what the share of bad events means for the SLI's kind.
func badShare(o slo.Objective, share string) string {
	switch o.SLI.Kind {
	case slo.KindLatency:
		return share + " of events took longer than " + literal(o.SLI.ThresholdText)
	case slo.KindAvailability:
		return o.SLI.Metric.Name + " was down " + share + " of the time"
	case slo.KindScore:
		side := "below"
		if !o.SLI.GoodAbove {
			side = "above"
		}
		return o.SLI.Metric.Name + " was " + side + " " + literal(o.SLI.ThresholdText) + " " + share + " of the time"
	default:
		return share + " of events failed"
	}
}

// queryPercent is a template that queries expr when the notification is
// built and prints the first value as a percentage with one decimal (or
// more below 1%), e.g. 42.1% or -350.0%: humanizePercentage would switch to
// an exponent for an overspent budget.
func queryPercent(expr, unknown string) string {
	return `{{ with query "(` + strings.ReplaceAll(expr, `"`, `\"`) + `) * 100" }}{{ with . | first | value }}` +
		`{{ if and (lt . 1.0) (gt . -1.0) }}{{ printf "%.2f" . }}{{ else }}{{ printf "%.1f" . }}{{ end }}%{{ end }}{{ else }}` +
		unknown + `{{ end }}`
}

// literal keeps text that people wrote from being read as a template:
// Prometheus expands every annotation and alert label, so "{{" in a
// description would break the rule file.
func literal(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}
