package routing

import (
	"encoding/json"
	"fmt"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// Values of the cx_sli label (docs/design.md) that inhibition needs.
const (
	sliAvailability = "availability"
	sliLatency      = "latency"
	sliErrorRatio   = "error-ratio"
)

// groupBy makes one notification per breach of an objective per severity.
var groupBy = []string{cxv1alpha1.AlertLabelObjective, cxv1alpha1.AlertLabelObjectiveNamespace, cxv1alpha1.AlertLabelSeverity}

// buildRoute returns the top route: the team's alerts, grouped, with one
// child route per receiver other than DefaultReceiver.
func buildRoute(p plan, receivers []monitoringv1alpha1.Receiver) (*monitoringv1alpha1.Route, error) {
	top := &monitoringv1alpha1.Route{
		Receiver:      DefaultReceiver,
		GroupBy:       append([]string(nil), groupBy...),
		GroupWait:     ptrTo(p.groupWait),
		GroupInterval: ptrTo(p.groupInterval),
		Matchers:      []monitoringv1alpha1.Matcher{equal(cxv1alpha1.AlertLabelTeam, p.name)},
	}
	for _, r := range receivers {
		if r.Name == DefaultReceiver {
			continue
		}
		child := childRoute(p, cxv1alpha1.Severity(r.Name))
		// Route.Routes is raw JSON because the CRD schema cannot refer to
		// itself; encoding/json writes struct fields in a fixed order.
		raw, err := json.Marshal(child)
		if err != nil {
			return nil, fmt.Errorf("encoding the %s route: %w", r.Name, err)
		}
		top.Routes = append(top.Routes, apiextensionsv1.JSON{Raw: raw})
	}
	return top, nil
}

// childRoute sends severity s to the receiver of the same name. Tickets and
// notices repeat at the ticket interval, and wait for business hours when
// the team has them; pages wait only with pagesInHoursOnly.
func childRoute(p plan, s cxv1alpha1.Severity) monitoringv1alpha1.Route {
	r := monitoringv1alpha1.Route{
		Receiver: string(s),
		Matchers: []monitoringv1alpha1.Matcher{equal(cxv1alpha1.AlertLabelSeverity, string(s))},
	}
	inHoursOnly := true
	if s == cxv1alpha1.SeverityPage {
		r.RepeatInterval = ptrTo(p.pageRepeat)
		inHoursOnly = p.pagesInHoursOnly
	} else {
		r.RepeatInterval = ptrTo(p.ticketRepeat)
	}
	if p.hours != nil && inHoursOnly {
		r.ActiveTimeIntervals = []string{BusinessHoursInterval}
	}
	return r
}

// timeIntervals returns the business hours of a businessHours team, in UTC
// (v1alpha1 time intervals have no location), and nothing for a 24x7 team.
func timeIntervals(p plan) []monitoringv1alpha1.MuteTimeInterval {
	if p.hours == nil {
		return nil
	}
	return []monitoringv1alpha1.MuteTimeInterval{{
		Name: BusinessHoursInterval,
		TimeIntervals: []monitoringv1alpha1.TimeInterval{{
			Times:    []monitoringv1alpha1.TimeRange{{StartTime: p.hours.start, EndTime: p.hours.end}},
			Weekdays: append([]monitoringv1alpha1.WeekdayRange(nil), p.hours.weekdays...),
		}},
	}}
}

// inhibitRules keeps one breach from notifying twice:
//   - an availability page of a journey silences the latency and error-ratio
//     pages of the same journey, which the outage causes;
//   - a page of an objective silences the ticket of the same objective,
//     since a fast burn is also a slow one.
//
// Inhibition rules apply to every alert that Alertmanager sees, so both
// sides of each rule also match the team, and a team's rules act only on
// its own alerts. prometheus-operator adds the namespace matchers.
func inhibitRules(team string) []monitoringv1alpha1.InhibitRule {
	byTeam := equal(cxv1alpha1.AlertLabelTeam, team)
	page := equal(cxv1alpha1.AlertLabelSeverity, string(cxv1alpha1.SeverityPage))
	return []monitoringv1alpha1.InhibitRule{
		{
			SourceMatch: []monitoringv1alpha1.Matcher{byTeam, page, equal(cxv1alpha1.AlertLabelSLIKind, sliAvailability)},
			TargetMatch: []monitoringv1alpha1.Matcher{byTeam, page, {
				Name:      cxv1alpha1.AlertLabelSLIKind,
				Value:     sliLatency + "|" + sliErrorRatio,
				MatchType: monitoringv1alpha1.MatchRegexp,
			}},
			Equal: []string{cxv1alpha1.AlertLabelTeam, cxv1alpha1.AlertLabelJourney},
		},
		{
			SourceMatch: []monitoringv1alpha1.Matcher{byTeam, page},
			TargetMatch: []monitoringv1alpha1.Matcher{byTeam, equal(cxv1alpha1.AlertLabelSeverity, string(cxv1alpha1.SeverityTicket))},
			Equal:       []string{cxv1alpha1.AlertLabelObjective, cxv1alpha1.AlertLabelObjectiveNamespace},
		},
	}
}

// equal is the matcher name="value". The match type is always spelled out,
// rather than left to the deprecated regex flag of v1alpha1 matchers.
func equal(name, value string) monitoringv1alpha1.Matcher {
	return monitoringv1alpha1.Matcher{Name: name, Value: value, MatchType: monitoringv1alpha1.MatchEqual}
}
