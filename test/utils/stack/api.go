package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// RuleGroup is a rule group as Prometheus's GET /api/v1/rules shows it.
type RuleGroup struct {
	// Name is the group's name (the PrometheusRule's group name).
	Name string `json:"name"`
	// File is the rule file it was loaded from.
	File string `json:"file"`
	// Rules are the group's recording and alerting rules.
	Rules []Rule `json:"rules"`
	// Interval is the evaluation interval in seconds.
	Interval float64 `json:"interval"`
	// LastEvaluation is when the group was last evaluated (zero before the first).
	LastEvaluation time.Time `json:"lastEvaluation"`
}

// Rule is one rule of a RuleGroup.
type Rule struct {
	// Type is "alerting" or "recording".
	Type string `json:"type"`
	// Name is the alert name or the recorded series' name.
	Name string `json:"name"`
	// Query is the PromQL expression.
	Query string `json:"query"`
	// Labels are the rule's labels.
	Labels map[string]string `json:"labels"`
	// Annotations are an alerting rule's annotations.
	Annotations map[string]string `json:"annotations"`
	// State is an alerting rule's state: inactive, pending or firing.
	State string `json:"state"`
	// Health is ok, err or unknown (not evaluated yet).
	Health string `json:"health"`
	// LastError is the error of the last evaluation.
	LastError string `json:"lastError"`
	// Alerts are an alerting rule's active alerts.
	Alerts []PrometheusAlert `json:"alerts"`
}

// PrometheusAlert is an active alert in Prometheus.
type PrometheusAlert struct {
	// Labels identify the alert.
	Labels map[string]string `json:"labels"`
	// Annotations are its annotations.
	Annotations map[string]string `json:"annotations"`
	// State is pending or firing.
	State string `json:"state"`
	// ActiveAt is when the expression first returned the series.
	ActiveAt *time.Time `json:"activeAt"`
	// Value is the expression's value, as Prometheus formats it.
	Value string `json:"value"`
}

// Sample is one series of an instant query's result.
type Sample struct {
	// Metric is the series' labels.
	Metric map[string]string
	// Value is its value.
	Value float64
	// Time is the evaluation time.
	Time time.Time
}

// AlertmanagerAlert is an alert as Alertmanager's GET /api/v2/alerts shows it.
type AlertmanagerAlert struct {
	// Labels identify the alert.
	Labels map[string]string `json:"labels"`
	// Annotations are its annotations.
	Annotations map[string]string `json:"annotations"`
	// StartsAt, EndsAt and UpdatedAt are as Alertmanager keeps them.
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Fingerprint identifies the label set.
	Fingerprint string `json:"fingerprint"`
	// Receivers are the receivers its routes lead to.
	Receivers []struct {
		Name string `json:"name"`
	} `json:"receivers"`
	// Status is the alert's state: active, suppressed or unprocessed, and
	// what silences or inhibits it.
	Status struct {
		State       string   `json:"state"`
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
		// MutedBy names the time intervals that mute it now.
		MutedBy []string `json:"mutedBy"`
	} `json:"status"`
}

// ReceiverNames returns the names of the alert's receivers.
func (a AlertmanagerAlert) ReceiverNames() []string {
	names := make([]string, 0, len(a.Receivers))
	for _, r := range a.Receivers {
		names = append(names, r.Name)
	}
	return names
}

// ReceiverName returns the name prometheus-operator gives a receiver of an
// AlertmanagerConfig in the generated configuration:
// <namespace>/<config>/<receiver>.
func ReceiverName(namespace, config, receiver string) string {
	return namespace + "/" + config + "/" + receiver
}

var apiClient = &http.Client{Timeout: 10 * time.Second}

// getJSON GETs base+path and decodes the JSON answer into out.
func getJSON(ctx context.Context, base, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only: nothing to lose
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.500s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: decoding the answer: %w", path, err)
	}
	return nil
}

// promData GETs a Prometheus API path and decodes its data field into out.
func (s *Stack) promData(ctx context.Context, path string, out any) error {
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := getJSON(ctx, s.promURL, path, &env); err != nil {
		return fmt.Errorf("asking Prometheus: %w", err)
	}
	if env.Status != "success" {
		return fmt.Errorf("asking Prometheus: GET %s: %s", path, env.Error)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("asking Prometheus: GET %s: decoding the data: %w", path, err)
	}
	return nil
}

// RuleGroups returns every rule group Prometheus has loaded.
func (s *Stack) RuleGroups(ctx context.Context) ([]RuleGroup, error) {
	var data struct {
		Groups []RuleGroup `json:"groups"`
	}
	if err := s.promData(ctx, "/api/v1/rules", &data); err != nil {
		return nil, err
	}
	return data.Groups, nil
}

// WaitForRuleGroup waits until Prometheus has loaded a rule group named
// name and evaluated it once, and returns it.
func (s *Stack) WaitForRuleGroup(ctx context.Context, name string) (RuleGroup, error) {
	var found RuleGroup
	err := s.Poll(ctx, pollInterval, func(ctx context.Context) (bool, error) {
		groups, err := s.RuleGroups(ctx)
		if err != nil {
			return false, err
		}
		var names []string
		for _, g := range groups {
			if g.Name == name && !g.LastEvaluation.IsZero() {
				found = g
				return true, nil
			}
			names = append(names, g.Name)
		}
		return false, fmt.Errorf("the rule groups Prometheus has are %v; last sync: %s", names, s.lastSync(TargetPrometheus))
	})
	if err != nil {
		return RuleGroup{}, fmt.Errorf("waiting for Prometheus to load the rule group %q: %w", name, err)
	}
	return found, nil
}

// PrometheusAlerts returns Prometheus's active (pending and firing) alerts.
func (s *Stack) PrometheusAlerts(ctx context.Context) ([]PrometheusAlert, error) {
	var data struct {
		Alerts []PrometheusAlert `json:"alerts"`
	}
	if err := s.promData(ctx, "/api/v1/alerts", &data); err != nil {
		return nil, err
	}
	return data.Alerts, nil
}

// WaitForPrometheusAlert waits until Prometheus has an active alert for
// which match is true, and returns it.
func (s *Stack) WaitForPrometheusAlert(ctx context.Context, match func(PrometheusAlert) bool) (PrometheusAlert, error) {
	return waitForAlert(ctx, s, "Prometheus's active alerts", s.PrometheusAlerts, match,
		func(a PrometheusAlert) (map[string]string, string) { return a.Labels, a.State })
}

// queryPoint is one series of a query result: labels and [time, "value"].
type queryPoint struct {
	Metric map[string]string  `json:"metric"`
	Value  [2]json.RawMessage `json:"value"`
}

// Query evaluates an instant PromQL query now and returns the vector.
// Scalars come back as one sample without labels.
func (s *Stack) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.promData(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	var pts []queryPoint
	switch data.ResultType {
	case "vector":
		if err := json.Unmarshal(data.Result, &pts); err != nil {
			return nil, fmt.Errorf("query %q: decoding the vector: %w", expr, err)
		}
	case "scalar":
		pts = make([]queryPoint, 1)
		if err := json.Unmarshal(data.Result, &pts[0].Value); err != nil {
			return nil, fmt.Errorf("query %q: decoding the scalar: %w", expr, err)
		}
	default:
		return nil, fmt.Errorf("query %q: a %s result; use an instant vector or scalar", expr, data.ResultType)
	}
	out := make([]Sample, 0, len(pts))
	for _, p := range pts {
		var ts float64
		var val string
		if err := json.Unmarshal(p.Value[0], &ts); err != nil {
			return nil, fmt.Errorf("query %q: decoding a timestamp: %w", expr, err)
		}
		if err := json.Unmarshal(p.Value[1], &val); err != nil {
			return nil, fmt.Errorf("query %q: decoding a value: %w", expr, err)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %q: %w", expr, val, err)
		}
		out = append(out, Sample{Metric: p.Metric, Value: v, Time: time.UnixMilli(int64(ts * 1000))})
	}
	return out, nil
}

// AlertmanagerConfig returns the configuration Alertmanager runs, as
// GET /api/v2/status shows it (YAML, secrets masked as <secret>).
func (s *Stack) AlertmanagerConfig(ctx context.Context) (string, error) {
	var status struct {
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	if err := getJSON(ctx, s.amURL, "/api/v2/status", &status); err != nil {
		return "", fmt.Errorf("asking Alertmanager: %w", err)
	}
	return status.Config.Original, nil
}

// AlertmanagerReceivers returns the names of the receivers of the
// configuration Alertmanager runs.
func (s *Stack) AlertmanagerReceivers(ctx context.Context) ([]string, error) {
	cfg, err := s.AlertmanagerConfig(ctx)
	if err != nil {
		return nil, err
	}
	var parsed struct {
		Receivers []struct {
			Name string `json:"name"`
		} `json:"receivers"`
	}
	if err := utilyaml.Unmarshal([]byte(cfg), &parsed); err != nil {
		return nil, fmt.Errorf("reading Alertmanager's configuration: %w", err)
	}
	names := make([]string, 0, len(parsed.Receivers))
	for _, r := range parsed.Receivers {
		names = append(names, r.Name)
	}
	return names, nil
}

// WaitForReceiver waits until the configuration Alertmanager runs has a
// receiver named name (see ReceiverName).
func (s *Stack) WaitForReceiver(ctx context.Context, name string) error {
	err := s.Poll(ctx, pollInterval, func(ctx context.Context) (bool, error) {
		names, err := s.AlertmanagerReceivers(ctx)
		if err != nil {
			return false, err
		}
		if slices.Contains(names, name) {
			return true, nil
		}
		return false, fmt.Errorf("the receivers Alertmanager has are %v; last sync: %s", names, s.lastSync(TargetAlertmanager))
	})
	if err != nil {
		return fmt.Errorf("waiting for Alertmanager to load the receiver %q: %w", name, err)
	}
	return nil
}

// AlertmanagerAlerts returns the alerts Alertmanager holds, active,
// silenced and inhibited ones included.
func (s *Stack) AlertmanagerAlerts(ctx context.Context) ([]AlertmanagerAlert, error) {
	var alerts []AlertmanagerAlert
	if err := getJSON(ctx, s.amURL, "/api/v2/alerts", &alerts); err != nil {
		return nil, fmt.Errorf("asking Alertmanager: %w", err)
	}
	return alerts, nil
}

// WaitForAlertmanagerAlert waits until Alertmanager holds an alert for
// which match is true, and returns it.
func (s *Stack) WaitForAlertmanagerAlert(ctx context.Context, match func(AlertmanagerAlert) bool) (AlertmanagerAlert, error) {
	return waitForAlert(ctx, s, "Alertmanager's alerts", s.AlertmanagerAlerts, match,
		func(a AlertmanagerAlert) (map[string]string, string) { return a.Labels, a.Status.State })
}

// waitForAlert polls list until one of its alerts matches.
func waitForAlert[T any](ctx context.Context, s *Stack, what string, list func(context.Context) ([]T, error), match func(T) bool,
	view func(T) (map[string]string, string)) (T, error) {
	var found T
	err := s.Poll(ctx, pollInterval, func(ctx context.Context) (bool, error) {
		alerts, err := list(ctx)
		if err != nil {
			return false, err
		}
		for _, a := range alerts {
			if match(a) {
				found = a
				return true, nil
			}
		}
		return false, fmt.Errorf("none of %s (%d) matches: %s", what, len(alerts), summarizeLabels(alerts, view))
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("waiting for a match among %s: %w", what, err)
	}
	return found, nil
}

// summarizeLabels shows up to five alerts by their labels and state.
func summarizeLabels[T any](alerts []T, view func(T) (map[string]string, string)) string {
	var parts []string
	for i, a := range alerts {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(alerts)-5))
			break
		}
		labels, state := view(a)
		parts = append(parts, state+" "+labelString(labels))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// labelString formats labels as {a="1", b="2"}, sorted by name.
func labelString(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
