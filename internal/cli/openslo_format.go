package cli

import "encoding/json"

// OpenSLO documents, decoded for mapping. Fields are those of the OpenSLO
// v1 specification; unknown ones are reported.
type osloMeta struct {
	Name        string            `json:"name,omitempty"`
	DisplayName string            `json:"displayName,omitempty"`
	Labels      map[string]any    `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type osloSLOSpec struct {
	Description     string            `json:"description,omitempty"`
	Service         string            `json:"service,omitempty"`
	Indicator       *osloInlineSLI    `json:"indicator,omitempty"`
	IndicatorRef    string            `json:"indicatorRef,omitempty"`
	TimeWindow      []osloTimeWindow  `json:"timeWindow,omitempty"`
	BudgetingMethod string            `json:"budgetingMethod,omitempty"`
	Objectives      []osloObjective   `json:"objectives,omitempty"`
	AlertPolicies   []osloPolicyEntry `json:"alertPolicies,omitempty"`
}

type osloInlineSLI struct {
	Metadata osloMeta    `json:"metadata,omitempty"`
	Spec     osloSLISpec `json:"spec,omitempty"`
}

type osloTimeWindow struct {
	Duration  string        `json:"duration,omitempty"`
	IsRolling *bool         `json:"isRolling,omitempty"`
	Calendar  *osloCalendar `json:"calendar,omitempty"`
}

type osloCalendar struct {
	StartTime string `json:"startTime,omitempty"`
	TimeZone  string `json:"timeZone,omitempty"`
}

type osloObjective struct {
	DisplayName     string         `json:"displayName,omitempty"`
	Op              string         `json:"op,omitempty"`
	Value           *json.Number   `json:"value,omitempty"`
	Target          *json.Number   `json:"target,omitempty"`
	TargetPercent   *json.Number   `json:"targetPercent,omitempty"`
	TimeSliceTarget *json.Number   `json:"timeSliceTarget,omitempty"`
	TimeSliceWindow any            `json:"timeSliceWindow,omitempty"`
	Indicator       *osloInlineSLI `json:"indicator,omitempty"`
	IndicatorRef    string         `json:"indicatorRef,omitempty"`
	CompositeWeight *json.Number   `json:"compositeWeight,omitempty"`
}

type osloSLISpec struct {
	Description     string           `json:"description,omitempty"`
	ThresholdMetric *osloMetric      `json:"thresholdMetric,omitempty"`
	RatioMetric     *osloRatioMetric `json:"ratioMetric,omitempty"`
}

type osloMetric struct {
	MetricSource osloMetricSource `json:"metricSource,omitempty"`
}

type osloMetricSource struct {
	MetricSourceRef string         `json:"metricSourceRef,omitempty"`
	Type            string         `json:"type,omitempty"`
	Spec            map[string]any `json:"spec,omitempty"`
}

type osloRatioMetric struct {
	Counter *bool       `json:"counter,omitempty"`
	Good    *osloMetric `json:"good,omitempty"`
	Bad     *osloMetric `json:"bad,omitempty"`
	Total   *osloMetric `json:"total,omitempty"`
	RawType string      `json:"rawType,omitempty"`
	Raw     *osloMetric `json:"raw,omitempty"`
}

type osloPolicyEntry struct {
	AlertPolicyRef string           `json:"alertPolicyRef,omitempty"`
	Kind           string           `json:"kind,omitempty"`
	Metadata       osloMeta         `json:"metadata,omitempty"`
	Spec           *osloAlertPolicy `json:"spec,omitempty"`
}

type osloAlertPolicy struct {
	Description         string               `json:"description,omitempty"`
	AlertWhenNoData     *bool                `json:"alertWhenNoData,omitempty"`
	AlertWhenResolved   *bool                `json:"alertWhenResolved,omitempty"`
	AlertWhenBreaching  *bool                `json:"alertWhenBreaching,omitempty"`
	Conditions          []osloConditionEntry `json:"conditions,omitempty"`
	NotificationTargets []any                `json:"notificationTargets,omitempty"`
}

type osloConditionEntry struct {
	ConditionRef string              `json:"conditionRef,omitempty"`
	Kind         string              `json:"kind,omitempty"`
	Metadata     osloMeta            `json:"metadata,omitempty"`
	Spec         *osloAlertCondition `json:"spec,omitempty"`
}

type osloAlertCondition struct {
	Description string        `json:"description,omitempty"`
	Severity    string        `json:"severity,omitempty"`
	Condition   osloCondition `json:"condition,omitempty"`
}

type osloCondition struct {
	Kind           string       `json:"kind,omitempty"`
	Op             string       `json:"op,omitempty"`
	Threshold      *json.Number `json:"threshold,omitempty"`
	LookbackWindow string       `json:"lookbackWindow,omitempty"`
	AlertAfter     string       `json:"alertAfter,omitempty"`
}

// osloDoc is one OpenSLO document with its spec decoded by kind.
type osloDoc struct {
	obj  Object
	kind string
	meta osloMeta
	// spec is *osloSLOSpec, *osloSLISpec, *osloAlertPolicy or
	// *osloAlertCondition.
	spec any
}
