// Package rules turns the model of an objective into the PrometheusRule spec
// that Prometheus evaluates: recording rules that compose every window from
// a short read of the raw series, multi-window, multi-burn-rate alerts for
// the owning team, notices for stakeholder teams, and series that describe
// the objective's state for dashboards and for the controller's status.
// Values in, values out: nothing here talks to Kubernetes or Prometheus.
package rules

// Recorded series. Each carries cx_objective and cx_objective_namespace;
// the rates, burn rates and SLI also carry cx_window. docs/design.md lists
// them for people.
const (
	// MetricEvents is the rate of events per second over cx_window, two
	// series per window: cx_events="total" for all events (1 for
	// availability and score SLIs, whose events are seconds) and
	// cx_events="bad" for bad ones (for those SLIs, the share of time that
	// is bad). One rule records both for every composed window.
	MetricEvents = "cx:events:rate"
	// MetricBurnRate is the error ratio over cx_window divided by the error
	// budget: 1 spends the budget exactly over the objective's window. One
	// rule records it for every window the objective's state needs.
	MetricBurnRate = "cx:burn_rate"
	// MetricSLI is the share of good events over the objective's window.
	MetricSLI = "cx:sli"
	// MetricBudgetRemaining is the share of the error budget left over the
	// objective's window: 1 untouched, 0 spent, negative overspent.
	MetricBudgetRemaining = "cx:error_budget_remaining"
	// MetricBurnLatch is set while a window pair of a severity holds, with
	// hysteresis; cx_window names the pair's long window and the value is
	// its burn rate. The burn-rate alerts fire while any latch is set.
	MetricBurnLatch = "cx:burn_rate:latch"
	// MetricInfo is always 1 and describes the objective in its labels:
	// cx_team, cx_team_namespace, cx_journey, cx_sli, target and window.
	MetricInfo = "cx:objective_info"
)

// Labels of recorded series that alerts do not carry.
const (
	// LabelEvents, on MetricEvents, says which events a series counts:
	// EventsTotal or EventsBad.
	LabelEvents = "cx_events"
	// LabelOffset tells apart the past terms of a composed window inside
	// its expression; no recorded series keeps it.
	LabelOffset = "cx_offset"
	// LabelWindow is the window a rate or burn rate covers, e.g. 5m, 30d.
	LabelWindow = "cx_window"
	// LabelTeamNamespace, on MetricInfo, is the owning team's namespace.
	LabelTeamNamespace = "cx_team_namespace"
	// LabelTarget, on MetricInfo, is the target in percent, e.g. 99.9.
	LabelTarget = "target"
	// LabelObjectiveWindow, on MetricInfo, is the objective's window.
	LabelObjectiveWindow = "window"
)

// Values of LabelEvents.
const (
	// EventsTotal counts all events.
	EventsTotal = "total"
	// EventsBad counts bad events.
	EventsBad = "bad"
)

// Alert names.
const (
	// AlertBurn fires with severity page or ticket for the owning team when
	// the error budget burns too fast over a long and a short window.
	AlertBurn = "CXErrorBudgetBurn"
	// AlertNotice fires with severity notice for each stakeholder team while
	// the owner is paged (or ticketed, for objectives that do not page).
	AlertNotice = "CXErrorBudgetBurnNotice"
	// AlertExhaustion fires with severity ticket when, at the last day's
	// burn rate, the budget left runs out within a quarter of the window.
	AlertExhaustion = "CXErrorBudgetExhaustion"
)
