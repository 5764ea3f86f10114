// Package slo is the domain model of a customer-experience objective and its
// math: the error budget, the multi-window, multi-burn-rate alert windows
// (Google SRE workbook, chapter "Alerting on SLOs") scaled to the objective's
// window, and the low-traffic guards. It has no Kubernetes client: values
// in, values out.
package slo

import "time"

// SLIKind is the kind of service level indicator.
type SLIKind string

// SLI kinds. The values are the cx_sli alert label.
const (
	KindErrorRatio   SLIKind = "error-ratio"
	KindLatency      SLIKind = "latency"
	KindAvailability SLIKind = "availability"
	KindScore        SLIKind = "score"
)

// CountsEvents says whether the SLI counts customer events (requests),
// rather than samples of time. Only such SLIs have low traffic.
func (k SLIKind) CountsEvents() bool { return k == KindErrorRatio || k == KindLatency }

// Severity of an alert; the values are the severity alert label.
type Severity string

// Severities.
const (
	SeverityPage   Severity = "page"
	SeverityTicket Severity = "ticket"
	SeverityNotice Severity = "notice"
)

// Team is a resolved CXTeam: who owns an objective or is told about it.
type Team struct {
	// Name of the CXTeam.
	Name string
	// Namespace of the CXTeam; alerts for the team carry it as their
	// namespace label so that the team's AlertmanagerConfig matches them.
	Namespace string
	// Department, e.g. Product.
	Department string
	// DisplayName is how people call the team; defaults to Name.
	DisplayName string
}

// SLI is a validated indicator. Selectors were parsed once, by the
// Prometheus parser.
type SLI struct {
	// Kind of the indicator.
	Kind SLIKind
	// Errors and Total select the counters of an error-ratio SLI.
	Errors, Total Selector
	// Metric selects the histogram (latency, by its base name) or the gauge
	// (availability, score).
	Metric Selector
	// Threshold is the latency in seconds, or the score threshold.
	Threshold float64
	// ThresholdText is the threshold as the user wrote it ("300ms", "4.2").
	ThresholdText string
	// Native is true for a native histogram.
	Native bool
	// GoodAbove is true when a score is good at or above the threshold.
	GoodAbove bool
}

// BurnWindow is one multi-window burn-rate condition.
type BurnWindow struct {
	// Long proves that the burn is significant.
	Long time.Duration
	// Short proves that the burn still goes on.
	Short time.Duration
	// Factor is the burn rate that triggers: the error ratio over both
	// windows exceeds Factor times the error budget.
	Factor float64
}

// Guard keeps objectives with few events from paging on noise.
type Guard struct {
	// MinBadEventsPerHour: the long window must hold at least this many bad
	// events for each hour it spans. 0 turns it off.
	MinBadEventsPerHour float64
	// MinShortWindowBadEvents: the short window may clear an alert only
	// when, at the long window's error ratio, it would show at least this
	// many bad events; a thinner short window defers to the long window. 0
	// turns it off.
	MinShortWindowBadEvents float64
}

// Objective is a validated CXObjective with everything resolved: its team,
// its windows and guards, its defaults applied.
type Objective struct {
	// Name and Namespace of the CXObjective.
	Name, Namespace string
	// Journey and Touchpoint say where customers are.
	Journey, Touchpoint string
	// Description in plain words.
	Description string
	// Owner is the team that is paged.
	Owner Team
	// Stakeholders are told, never paged.
	Stakeholders []Team
	// SLI is the indicator.
	SLI SLI
	// Target is the objective as a fraction, e.g. 0.999.
	Target float64
	// TargetText is the target in percent as written, e.g. "99.9".
	TargetText string
	// Budget is the error budget as a fraction: 1 - Target, computed
	// exactly from the decimal text.
	Budget float64
	// Window is the rolling period of the objective.
	Window time.Duration
	// Page and Ticket are the burn-rate windows; empty when turned off.
	Page, Ticket []BurnWindow
	// PageGuard and TicketGuard apply to SLIs that count events.
	PageGuard, TicketGuard Guard
	// KeepFiringFor keeps page and ticket alerts firing after their
	// condition cleared; 0 for not at all.
	KeepFiringFor time.Duration
	// BudgetForecast adds the budget exhaustion ticket.
	BudgetForecast bool
	// Labels and Annotations are added to every alert.
	Labels, Annotations map[string]string
	// RunbookURL and DashboardURL go into annotations when set.
	RunbookURL, DashboardURL string
}

// BaseWindow is the only range over which raw (scraped) series are read:
// the shortest alert window, at most 5 minutes. Every longer window is
// derived from series recorded at this one.
func (o Objective) BaseWindow() time.Duration {
	base := DefaultBaseWindow
	for _, w := range append(append([]BurnWindow{}, o.Page...), o.Ticket...) {
		base = min(base, w.Short, w.Long)
	}
	return base
}

// AlertWindows returns every distinct window an alert reads, ascending.
func (o Objective) AlertWindows() []time.Duration {
	set := map[time.Duration]bool{o.BaseWindow(): true}
	for _, w := range append(append([]BurnWindow{}, o.Page...), o.Ticket...) {
		set[w.Long] = true
		set[w.Short] = true
	}
	if o.BudgetForecast {
		set[ForecastWindow] = true
	}
	return sortedDurations(set)
}

// StatusBurnWindow is the window of the burn rate that status shows.
const StatusBurnWindow = time.Hour

// StateWindows returns the windows whose burn rates are recorded for alerts,
// dashboards and status: every alert window and the objective's window,
// ascending.
func (o Objective) StateWindows() []time.Duration {
	set := map[time.Duration]bool{o.Window: true}
	// The burn rate over the last hour is shown by `kubectl get`, whatever
	// the alert windows are.
	if StatusBurnWindow <= o.Window {
		set[StatusBurnWindow] = true
	}
	for _, w := range o.AlertWindows() {
		set[w] = true
	}
	return sortedDurations(set)
}
