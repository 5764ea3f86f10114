package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Duration is a Prometheus-style duration of one unit: minutes (m), hours
// (h), days (d) or weeks (w), e.g. 5m, 1h, 28d, 4w.
// +kubebuilder:validation:Pattern=`^[1-9][0-9]{0,3}(m|h|d|w)$`
// +kubebuilder:validation:MaxLength=5
type Duration string

// Histogram says how a latency histogram is exposed.
// +kubebuilder:validation:Enum=classic;native
type Histogram string

// Histogram kinds.
const (
	// HistogramClassic reads the _bucket series at le equal to the
	// threshold, and the _count series.
	HistogramClassic Histogram = "classic"
	// HistogramNative reads a native histogram with histogram_fraction().
	HistogramNative Histogram = "native"
)

// GoodWhen says on which side of a threshold a score is good.
// +kubebuilder:validation:Enum=above;below
type GoodWhen string

// Sides of a score threshold.
const (
	// GoodAbove: the score is good when it is at or above the threshold
	// (CSAT, NPS).
	GoodAbove GoodWhen = "above"
	// GoodBelow: the score is good when it is at or below the threshold
	// (customer effort, wait time).
	GoodBelow GoodWhen = "below"
)

// CXObjectiveSpec is the desired state of a CXObjective.
//
// +kubebuilder:validation:XValidation:rule="!has(self.alerting) || !has(self.alerting.pageWindows) || self.alerting.pageWindows.all(w, int(w.long.substring(0, size(w.long)-1)) * (w.long.endsWith('w') ? 604800 : w.long.endsWith('d') ? 86400 : w.long.endsWith('h') ? 3600 : 60) <= int(self.window.substring(0, size(self.window)-1)) * (self.window.endsWith('w') ? 604800 : self.window.endsWith('d') ? 86400 : self.window.endsWith('h') ? 3600 : 60))",message="alerting.pageWindows: a long window may not exceed the objective's window"
// +kubebuilder:validation:XValidation:rule="!has(self.alerting) || !has(self.alerting.ticketWindows) || self.alerting.ticketWindows.all(w, int(w.long.substring(0, size(w.long)-1)) * (w.long.endsWith('w') ? 604800 : w.long.endsWith('d') ? 86400 : w.long.endsWith('h') ? 3600 : 60) <= int(self.window.substring(0, size(self.window)-1)) * (self.window.endsWith('w') ? 604800 : self.window.endsWith('d') ? 86400 : self.window.endsWith('h') ? 3600 : 60))",message="alerting.ticketWindows: a long window may not exceed the objective's window"
// +kubebuilder:validation:XValidation:rule="!has(self.stakeholders) || !self.stakeholders.exists(s, s.team == self.owner.team && has(s.__namespace__) == has(self.owner.__namespace__) && (!has(s.__namespace__) || s.__namespace__ == self.owner.__namespace__))",message="stakeholders: the owner team is told anyway and cannot also be a stakeholder"
type CXObjectiveSpec struct {
	// journey is the customer journey this objective protects, e.g.
	// checkout, search, support. It is put on alerts as cx_journey, and
	// availability pages inhibit the journey's other pages to the same team.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Journey string `json:"journey"`

	// touchpoint is where in the journey customers meet the service, e.g.
	// "payment API", "landing page", "live chat".
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Touchpoint string `json:"touchpoint,omitempty"`

	// owner is the team that owns the objective and is paged when it
	// breaches.
	// +required
	Owner TeamRef `json:"owner"`

	// description says in plain words what customers experience when the
	// objective is met; it goes into alert descriptions.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// sli is how good and bad customer experience is measured: exactly one
	// of errorRatio, latency, availability or score.
	// +required
	SLI SLI `json:"sli"`

	// target is the share of good experience to reach over the window, in
	// percent, e.g. "99.9". A string, not a float, so that it round-trips
	// exactly through YAML, JSON and Prometheus; strictly between 0 and 100.
	// +required
	// +kubebuilder:validation:Pattern=`^[0-9]{1,2}(\.[0-9]{1,6})?$`
	// +kubebuilder:validation:XValidation:rule="double(self) > 0.0 && double(self) < 100.0",message="target must be a percentage strictly between 0 and 100, e.g. \"99.9\""
	Target string `json:"target"`

	// window is the rolling period over which the target holds, e.g. 28d,
	// 30d or 4w. Burn-rate alert windows scale with it. Defaults to 30d.
	// +optional
	// +kubebuilder:default="30d"
	// +kubebuilder:validation:XValidation:rule="int(self.substring(0, size(self)-1)) * (self.endsWith('w') ? 604800 : self.endsWith('d') ? 86400 : self.endsWith('h') ? 3600 : 60) >= 86400 && int(self.substring(0, size(self)-1)) * (self.endsWith('w') ? 604800 : self.endsWith('d') ? 86400 : self.endsWith('h') ? 3600 : 60) <= 7776000",message="window must be between 1d and 90d"
	Window Duration `json:"window,omitempty"`

	// alerting says who is told when the error budget burns too fast.
	// Defaults: pages and tickets on, with the Google SRE workbook's
	// multi-window, multi-burn-rate windows scaled to the window.
	// +optional
	Alerting *Alerting `json:"alerting,omitempty"`

	// stakeholders are other teams that are told (on their notice
	// channels) when this objective pages its owner. They are never paged.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Stakeholders []TeamRef `json:"stakeholders,omitempty"`
}

// TeamRef names a CXTeam.
type TeamRef struct {
	// team is the name of the CXTeam.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Team string `json:"team"`

	// namespace of the CXTeam. Defaults to the objective's namespace. A team
	// in another namespace must list the objective's namespace in its
	// allowedNamespaces.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// SLI is how customer experience is measured. Set exactly one field.
//
// +kubebuilder:validation:XValidation:rule="[has(self.errorRatio), has(self.latency), has(self.availability), has(self.score)].filter(x, x).size() == 1",message="set exactly one of errorRatio, latency, availability or score"
type SLI struct {
	// errorRatio counts bad events against all events, from two counters:
	// for example 5xx responses against all responses.
	// +optional
	ErrorRatio *ErrorRatioSLI `json:"errorRatio,omitempty"`

	// latency counts events slower than a threshold against all events,
	// from a histogram.
	// +optional
	Latency *LatencySLI `json:"latency,omitempty"`

	// availability is the share of time a 0/1 gauge, such as a blackbox
	// probe's probe_success, is 1.
	// +optional
	Availability *AvailabilitySLI `json:"availability,omitempty"`

	// score is the share of time a gauge, such as CSAT, NPS or customer
	// effort, is on the good side of a threshold.
	// +optional
	Score *ScoreSLI `json:"score,omitempty"`
}

// Selector is a PromQL instant vector selector: a metric name and label
// matchers, e.g. http_requests_total{job="checkout",code=~"5.."}. The
// controller parses it with the Prometheus parser; what does not parse makes
// the objective Stalled with reason InvalidSpec.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:XValidation:rule="size(self.trim()) > 0",message="a selector may not be blank"
// +kubebuilder:validation:XValidation:rule="!self.matches('^\\\\s*\\\\{\\\\s*\\\\}\\\\s*$')",message="a selector needs a metric name or at least one label matcher, not {}"
type Selector string

// ErrorRatioSLI measures the ratio of bad to all events from two counters.
type ErrorRatioSLI struct {
	// errors selects the counter(s) of bad events, e.g.
	// http_requests_total{job="checkout",code=~"5.."}. The series are summed.
	// +required
	Errors Selector `json:"errors"`

	// total selects the counter(s) of all events, e.g.
	// http_requests_total{job="checkout"}. The series are summed.
	// +required
	Total Selector `json:"total"`
}

// LatencySLI measures the share of events slower than a threshold.
type LatencySLI struct {
	// metric selects the histogram by its base name and label matchers,
	// e.g. http_request_duration_seconds{job="api"}. For a classic histogram
	// the _bucket and _count series are read.
	// +required
	Metric Selector `json:"metric"`

	// threshold is the latency customers accept, e.g. 300ms or 1.5s. For a
	// classic histogram it must be one of the bucket boundaries (le).
	// +required
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?(ms|s)$`
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="double(self.substring(0, size(self) - (self.endsWith('ms') ? 2 : 1))) > 0.0",message="threshold must be greater than zero"
	Threshold string `json:"threshold"`

	// histogram is classic (buckets with an le label) or native. Defaults
	// to classic.
	// +optional
	// +kubebuilder:default=classic
	Histogram Histogram `json:"histogram,omitempty"`
}

// AvailabilitySLI measures the share of time a 0/1 gauge is 1.
type AvailabilitySLI struct {
	// metric selects the 0/1 gauge, e.g.
	// probe_success{job="blackbox",instance="https://shop.example.com"}.
	// Several series are averaged.
	// +required
	Metric Selector `json:"metric"`
}

// ScoreSLI measures the share of time a gauge is on the good side of a
// threshold.
type ScoreSLI struct {
	// metric selects the gauge, e.g. cx_csat_score{survey="post-purchase"}.
	// Several series are averaged.
	// +required
	Metric Selector `json:"metric"`

	// threshold is the value the score must stay at or above (or at or
	// below), e.g. "4.2" on a 1-5 CSAT scale.
	// +required
	// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	Threshold string `json:"threshold"`

	// goodWhen is above (good at or above the threshold, as CSAT) or below
	// (good at or below, as customer effort).
	// +required
	GoodWhen GoodWhen `json:"goodWhen"`
}

// Alerting says who is told when the error budget burns too fast.
type Alerting struct {
	// page turns page alerts (fast burn, wakes the owner) on or off.
	// Defaults to true.
	// +optional
	Page *bool `json:"page,omitempty"`

	// ticket turns ticket alerts (slow burn, business hours) on or off.
	// Defaults to true.
	// +optional
	Ticket *bool `json:"ticket,omitempty"`

	// pageWindows replaces the default page burn-rate windows. Default for
	// a 30d window (Google SRE workbook): 14.4x over 1h and 5m, 6x over 6h
	// and 30m; for other windows the durations scale with it. No two pairs
	// may have the same long window.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	PageWindows []BurnRateWindow `json:"pageWindows,omitempty"`

	// ticketWindows replaces the default ticket burn-rate windows. Default
	// for a 30d window: 3x over 1d and 2h, 1x over 3d and 6h, scaled for
	// other windows. No two pairs may have the same long window.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	TicketWindows []BurnRateWindow `json:"ticketWindows,omitempty"`

	// lowTraffic keeps error-ratio and latency objectives with few events
	// from paging on a handful of errors, and from flapping.
	// +optional
	LowTraffic *LowTraffic `json:"lowTraffic,omitempty"`

	// keepFiringFor keeps page and ticket alerts firing for this long after
	// their condition cleared, e.g. 10m. Off by default: the low-traffic
	// guard already keeps quiet services from flapping, and the SRE
	// workbook's short windows are there to resolve an alert soon after
	// recovery.
	// +optional
	KeepFiringFor *Duration `json:"keepFiringFor,omitempty"`

	// budgetForecast adds a ticket alert (CXErrorBudgetExhaustion) when, at
	// the burn rate of the last day, the error budget that is left runs out
	// within a quarter of the window (7.5 days for 30d), for an hour on end.
	// Off by default: a burn fast enough to matter already raises a
	// burn-rate ticket, so the forecast mostly adds noise late in a window.
	// +optional
	BudgetForecast bool `json:"budgetForecast,omitempty"`

	// labels are added to every alert of this objective. Keys are
	// Prometheus label names; the labels the operator sets (cx_*,
	// severity, namespace) cannot be overridden.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$'))",message="alerting.labels: keys must be Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*)"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('cx_') && !k.startsWith('__') && k != 'severity' && k != 'namespace' && k != 'alertname')",message="alerting.labels: cx_*, __*, severity, namespace and alertname are set by the operator"
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are added to every alert of this objective.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$'))",message="alerting.annotations: keys must be Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*)"
	Annotations map[string]string `json:"annotations,omitempty"`

	// runbookURL is put on every alert as the runbook_url annotation.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	RunbookURL string `json:"runbookURL,omitempty"`

	// dashboardURL is put on every alert as the dashboard_url annotation.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	DashboardURL string `json:"dashboardURL,omitempty"`
}

// BurnRateWindow is one multi-window burn-rate condition: the error budget
// burns factor times too fast over both the long and the short window.
//
// +kubebuilder:validation:XValidation:rule="int(self.short.substring(0, size(self.short)-1)) * (self.short.endsWith('w') ? 604800 : self.short.endsWith('d') ? 86400 : self.short.endsWith('h') ? 3600 : 60) < int(self.long.substring(0, size(self.long)-1)) * (self.long.endsWith('w') ? 604800 : self.long.endsWith('d') ? 86400 : self.long.endsWith('h') ? 3600 : 60)",message="the short window must be shorter than the long window"
type BurnRateWindow struct {
	// long is the window that proves the burn is significant, e.g. 1h.
	// +required
	Long Duration `json:"long"`

	// short is the window that proves the burn is still going on, so that
	// the alert resolves soon after recovery, e.g. 5m. Usually 1/12 of long.
	// +required
	Short Duration `json:"short"`

	// factor is the burn rate that triggers the alert: how many times
	// faster than sustainable the budget is spent, e.g. "14.4".
	// +required
	// +kubebuilder:validation:Pattern=`^[0-9]{1,4}(\.[0-9]{1,3})?$`
	// +kubebuilder:validation:XValidation:rule="double(self) > 0.0",message="factor must be greater than zero"
	Factor string `json:"factor"`
}

// LowTraffic guards error-ratio and latency objectives with few events.
// Availability and score SLIs sample time, not traffic, and ignore it.
type LowTraffic struct {
	// pageMinBadEventsPerHour: a page fires only when its long window holds
	// at least this many bad events for each hour it spans (20 means 20 in a
	// 1h window, 120 in a 6h window), so that a handful of errors among a
	// handful of requests does not wake anyone: at under one request a
	// minute, a page needs a third of them to fail. Once the page fires, it
	// stays until the count falls under half of this. 0 turns the guard off.
	// Defaults to 20.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	PageMinBadEventsPerHour *int32 `json:"pageMinBadEventsPerHour,omitempty"`

	// ticketMinBadEventsPerHour is the same guard for tickets. Defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	TicketMinBadEventsPerHour *int32 `json:"ticketMinBadEventsPerHour,omitempty"`

	// minShortWindowBadEvents: the short window of a burn-rate alert may
	// clear it only when it holds enough events to tell, that is when, had
	// the burn gone on at the long window's error ratio, it would hold at
	// least this many bad events. A thinner short window defers to the long
	// window, so that an alert on a quiet service neither flaps between
	// sparse errors nor resolves during a lull. At normal traffic the short
	// window decides, as in the SRE workbook. 0 turns it off. Defaults to 3.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	MinShortWindowBadEvents *int32 `json:"minShortWindowBadEvents,omitempty"`
}

// CXObjectiveStatus is the observed state of a CXObjective.
type CXObjectiveStatus struct {
	// observedGeneration is the generation of the spec that the conditions
	// and the generated rule describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Stalled, Reconciling and BudgetKnown.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// team is the owning CXTeam as namespace/name, once resolved.
	// +optional
	Team string `json:"team,omitempty"`

	// prometheusRule is the name of the generated PrometheusRule, in the
	// objective's namespace.
	// +optional
	PrometheusRule string `json:"prometheusRule,omitempty"`

	// budget holds the figures read from Prometheus.
	// +optional
	Budget *BudgetStatus `json:"budget,omitempty"`
}

// BudgetStatus is how the objective is doing, read from the recording rules
// that the operator generates. Figures are strings rounded for display.
type BudgetStatus struct {
	// sli is the share of good experience over the window, in percent,
	// e.g. "99.93%".
	// +optional
	SLI string `json:"sli,omitempty"`

	// remaining is the error budget left over the window, in percent of the
	// budget, e.g. "42.1%"; negative once the budget is spent.
	// +optional
	Remaining string `json:"remaining,omitempty"`

	// burnRate1h is the burn rate over the last hour, e.g. "2.3x" (1x
	// spends the budget exactly over the window).
	// +optional
	BurnRate1h string `json:"burnRate1h,omitempty"`

	// burnRates are the burn rates over each alert window.
	// +optional
	// +listType=map
	// +listMapKey=window
	BurnRates []WindowBurnRate `json:"burnRates,omitempty"`

	// firing lists the objective's alerts that fire now, e.g.
	// ["page", "ticket"].
	// +optional
	// +listType=set
	Firing []string `json:"firing,omitempty"`

	// readAt is when these figures were read from Prometheus. They are
	// read every period but written only when one changes at the precision
	// shown, so readAt says since when they stand; the BudgetKnown
	// condition says whether they are current.
	// +optional
	ReadAt *metav1.Time `json:"readAt,omitempty"`
}

// WindowBurnRate is the burn rate over one window.
type WindowBurnRate struct {
	// window is the window, e.g. 1h.
	// +required
	Window string `json:"window"`
	// rate is the burn rate, e.g. "14.4x".
	// +required
	Rate string `json:"rate"`
}

// CXObjective is a customer-experience service level objective: a journey's
// SLI, the target it must meet over a window, the team that owns it, and
// how that team is told when the error budget burns too fast.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cxo;cxobjective,categories=cx
// +kubebuilder:printcolumn:name="Team",type=string,JSONPath=`.spec.owner.team`
// +kubebuilder:printcolumn:name="Journey",type=string,JSONPath=`.spec.journey`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.target`
// +kubebuilder:printcolumn:name="Window",type=string,JSONPath=`.spec.window`
// +kubebuilder:printcolumn:name="SLI",type=string,JSONPath=`.status.budget.sli`
// +kubebuilder:printcolumn:name="Budget left",type=string,JSONPath=`.status.budget.remaining`
// +kubebuilder:printcolumn:name="Burn (1h)",type=string,JSONPath=`.status.budget.burnRate1h`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CXObjective struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the objective's desired state.
	// +required
	Spec CXObjectiveSpec `json:"spec"`

	// status is the objective's observed state.
	// +optional
	Status CXObjectiveStatus `json:"status,omitempty"`
}

// CXObjectiveList is a list of CXObjectives.
//
// +kubebuilder:object:root=true
type CXObjectiveList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CXObjective `json:"items"`
}
