// Package routing turns a CXTeam into the spec of the AlertmanagerConfig
// that delivers the team's alerts: one route per severity, one receiver per
// severity holding the team's channels, business hours as a time interval,
// and the inhibition rules that keep a breach from notifying twice. It has
// no Kubernetes client: a team in, a spec out, nothing mutated.
//
// The routes rely on the alert labels described in docs/design.md (cx_team,
// severity, cx_objective, cx_objective_namespace, cx_journey, cx_sli).
// prometheus-operator adds a namespace matcher to the top route and to every
// inhibition rule, so the spec names no namespace.
package routing

import (
	"errors"
	"fmt"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// Names inside the generated spec. prometheus-operator prefixes them with
// the namespace and name of the AlertmanagerConfig, so they only have to be
// unique within one team.
const (
	// DefaultReceiver is the receiver of the top route. It has no
	// integrations: an alert of the team that no child route matches is
	// dropped.
	DefaultReceiver = "default"
	// BusinessHoursInterval is the name of the time interval that holds a
	// businessHours team's tickets and notices (and pages, with
	// pagesInHoursOnly). The receivers of the child routes are named after
	// the severity they get: page, ticket and notice.
	BusinessHoursInterval = "business-hours"
)

// configNamePrefix starts the name of every generated AlertmanagerConfig.
const configNamePrefix = "cx-"

// maxObjectName is the longest name of a Kubernetes object (a DNS subdomain).
const maxObjectName = 253

// ConfigName returns the name of the AlertmanagerConfig generated for the
// CXTeam named team, in the team's namespace: "cx-" and the team name, for
// example "cx-checkout". The prefix keeps it apart from AlertmanagerConfigs
// that people write by hand. Build rejects team names too long for it.
func ConfigName(team string) string { return configNamePrefix + team }

// Severities in the order in which the routes and receivers are generated.
var severities = []cxv1alpha1.Severity{cxv1alpha1.SeverityPage, cxv1alpha1.SeverityTicket, cxv1alpha1.SeverityNotice}

// Build returns the spec of the team's AlertmanagerConfig.
//
// The top route matches cx_team="<team name>" and groups by objective and
// severity, so that each breach of an objective notifies once per severity.
// Its child routes send severity page, ticket and notice to the receivers of
// the same names; each receiver has one integration per channel that lists
// the severity in receive. A severity that no channel receives gets neither
// route nor receiver: its alerts fall to DefaultReceiver and are dropped (see
// Unrouted, so that the caller can warn).
//
// Build is deterministic: the same team gives the same spec, and the same
// YAML when the spec is marshalled with sigs.k8s.io/yaml. It never mutates
// the team, and the spec shares no memory with it. Secret references are
// passed through as they are; no secret is read.
//
// A spec that passed the API server's validation but still cannot be routed
// (a duration too long for Alertmanager, a Secret reference without a key,
// and the like) gives an *InvalidError whose entries name the fields.
func Build(team *cxv1alpha1.CXTeam) (monitoringv1alpha1.AlertmanagerConfigSpec, error) {
	if team == nil {
		return monitoringv1alpha1.AlertmanagerConfigSpec{}, errors.New("building the routing of a CXTeam: the team is nil")
	}
	p, errs := resolve(team)
	if len(errs) > 0 {
		return monitoringv1alpha1.AlertmanagerConfigSpec{}, &InvalidError{Errors: errs}
	}
	receivers := buildReceivers(p)
	route, err := buildRoute(p, receivers)
	if err != nil {
		return monitoringv1alpha1.AlertmanagerConfigSpec{}, fmt.Errorf("building the routes of CXTeam %q: %w", team.Name, err)
	}
	return monitoringv1alpha1.AlertmanagerConfigSpec{
		Route:             route,
		Receivers:         receivers,
		InhibitRules:      inhibitRules(p.name),
		MuteTimeIntervals: timeIntervals(p),
	}, nil
}

// Unrouted returns the severities that no channel of the team receives, in
// the order page, ticket, notice. Build gives them no route, so their alerts
// reach nobody; the controller may warn about them.
func Unrouted(team *cxv1alpha1.CXTeam) []cxv1alpha1.Severity {
	if team == nil {
		return nil
	}
	var out []cxv1alpha1.Severity
	for _, s := range severities {
		received := false
		for _, ch := range team.Spec.Channels {
			if receives(ch, s) {
				received = true
				break
			}
		}
		if !received {
			out = append(out, s)
		}
	}
	return out
}

// receives says whether the channel lists the severity in receive.
func receives(ch cxv1alpha1.Channel, s cxv1alpha1.Severity) bool {
	for _, r := range ch.Receive {
		if r == s {
			return true
		}
	}
	return false
}
