package rules

import (
	"maps"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/slo"
)

// forecastFor is how long the budget exhaustion forecast must hold before it
// fires: a forecast from one bad hour is noise.
const forecastFor = time.Hour

// Generate returns the PrometheusRule spec of an objective: one rule group,
// evaluated in order, so that each recorded window is composed of windows
// recorded before it in the same evaluation. The output depends only on the
// objective, and the objective is not changed.
func Generate(o slo.Objective) monitoringv1.PrometheusRuleSpec {
	plans := o.Plan()
	rs := recordWindows(o, plans)
	rs = append(rs, recordState(o, plans)...)
	rs = append(rs, alerts(o)...)
	return monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
		Name:  GroupName(o),
		Rules: rs,
	}}}
}

// GroupName is the name of the objective's rule group.
func GroupName(o slo.Objective) string { return "cx-" + o.Name }

// recordWindows records the total and bad events per second over every
// window of the plan, shortest first: two rules for the base window, which
// read the raw series, and one rule for each composed window, which records
// both.
func recordWindows(o slo.Objective, plans []slo.WindowPlan) []monitoringv1.Rule {
	rs := make([]monitoringv1.Rule, 0, len(plans)+1)
	for _, p := range plans {
		if !p.Base() {
			rs = append(rs, record(o, MetricEvents, composeExpr(o, p), p.Window))
			continue
		}
		bad, total := baseExprs(o, p.Window)
		// All events first: the base window's bad events read them.
		rs = append(rs, recordEvents(o, EventsTotal, total, p.Window), recordEvents(o, EventsBad, bad, p.Window))
	}
	return rs
}

func recordEvents(o slo.Objective, kind, expr string, window time.Duration) monitoringv1.Rule {
	r := record(o, MetricEvents, expr, window)
	r.Labels[LabelEvents] = kind
	return r
}

// recordState records what dashboards and the controller read: the burn rate
// over every alert window and over the objective's window (one rule, whose
// series keep the window of the events they divide), the SLI, the budget
// left and the objective's description.
func recordState(o slo.Objective, plans []slo.WindowPlan) []monitoringv1.Rule {
	windows := ""
	if state := o.StateWindows(); len(state) != len(plans) {
		// The plan holds every state window; its other windows (the base
		// window or helpers) get no burn rate.
		windows = windowsMatcher(state)
	}
	burn := selector(o, MetricEvents, EventsBad, windows) + " / ignoring (" + LabelEvents + ") " +
		selector(o, MetricEvents, EventsTotal, windows) + " / " + slo.FormatFloat(o.Budget)
	ratio := events(o, EventsBad, o.Window) + " / on () " + events(o, EventsTotal, o.Window)
	rs := []monitoringv1.Rule{
		record(o, MetricBurnRate, burn, 0),
		record(o, MetricSLI, "1 - "+ratio, o.Window),
		record(o, MetricBudgetRemaining, "1 - "+series(o, MetricBurnRate, o.Window), 0),
	}
	info := record(o, MetricInfo, "vector(1)", 0)
	info.Labels[cxv1alpha1.AlertLabelTeam] = o.Owner.Name
	info.Labels[LabelTeamNamespace] = o.Owner.Namespace
	info.Labels[cxv1alpha1.AlertLabelJourney] = o.Journey
	info.Labels[cxv1alpha1.AlertLabelSLIKind] = string(o.SLI.Kind)
	info.Labels[LabelTarget] = o.TargetText
	info.Labels[LabelObjectiveWindow] = slo.FormatDuration(o.Window)
	return append(rs, info)
}

func record(o slo.Objective, metric, expr string, window time.Duration) monitoringv1.Rule {
	l := map[string]string{
		cxv1alpha1.AlertLabelObjective:          o.Name,
		cxv1alpha1.AlertLabelObjectiveNamespace: o.Namespace,
	}
	if window > 0 {
		l[LabelWindow] = slo.FormatDuration(window)
	}
	return monitoringv1.Rule{Record: metric, Expr: intstr.FromString(expr), Labels: l}
}

// alerts returns the latches of each window pair, the page and ticket
// alerts for the owner, the notices for stakeholders and the optional
// forecast.
func alerts(o slo.Objective) []monitoringv1.Rule {
	var rs []monitoringv1.Rule
	if len(o.Page) > 0 {
		rs = append(rs, latches(o, slo.SeverityPage, o.Page, o.PageGuard)...)
	}
	if len(o.Ticket) > 0 {
		rs = append(rs, latches(o, slo.SeverityTicket, o.Ticket, o.TicketGuard)...)
	}
	if len(o.Page) > 0 {
		rs = append(rs, burnAlert(o, slo.SeverityPage))
	}
	if len(o.Ticket) > 0 {
		rs = append(rs, burnAlert(o, slo.SeverityTicket))
	}
	rs = append(rs, notices(o)...)
	if o.BudgetForecast {
		rs = append(rs, forecastAlert(o))
	}
	return rs
}

// latches records one latch per window pair of a severity.
func latches(o slo.Objective, sev slo.Severity, ws []slo.BurnWindow, g slo.Guard) []monitoringv1.Rule {
	rs := make([]monitoringv1.Rule, 0, len(ws))
	for _, w := range ws {
		r := record(o, MetricBurnLatch, latchExpr(o, sev, w, g), w.Long)
		r.Labels[cxv1alpha1.AlertLabelSeverity] = string(sev)
		rs = append(rs, r)
	}
	return rs
}

func burnAlert(o slo.Objective, sev slo.Severity) monitoringv1.Rule {
	ws := o.Page
	if sev == slo.SeverityTicket {
		ws = o.Ticket
	}
	r := monitoringv1.Rule{
		Alert:       AlertBurn,
		Expr:        intstr.FromString(burnExpr(o, sev)),
		Labels:      alertLabels(o, o.Owner, sev),
		Annotations: burnAnnotations(o, ws[0], ""),
	}
	if o.KeepFiringFor > 0 {
		kff := monitoringv1.NonEmptyDuration(slo.FormatDuration(o.KeepFiringFor))
		r.KeepFiringFor = &kff
	}
	return r
}

// notices tell each stakeholder team about the breach on its notice
// channels. They follow the most urgent alert the objective raises: the page,
// or the ticket for an objective that does not page.
func notices(o slo.Objective) []monitoringv1.Rule {
	ws, sev := o.Page, slo.SeverityPage
	if len(ws) == 0 {
		ws, sev = o.Ticket, slo.SeverityTicket
	}
	if len(ws) == 0 {
		return nil
	}
	rs := make([]monitoringv1.Rule, 0, len(o.Stakeholders))
	for _, t := range o.Stakeholders {
		l := alertLabels(o, t, slo.SeverityNotice)
		l[cxv1alpha1.AlertLabelStakeholder] = o.Owner.Name
		rs = append(rs, monitoringv1.Rule{
			Alert:       AlertNotice,
			Expr:        intstr.FromString(burnExpr(o, sev)),
			Labels:      l,
			Annotations: burnAnnotations(o, ws[0], o.Owner.DisplayName),
		})
	}
	return rs
}

func forecastAlert(o slo.Objective) monitoringv1.Rule {
	remaining := series(o, MetricBudgetRemaining, 0)
	expr := "(\n  " + series(o, MetricBurnRate, slo.ForecastWindow) + " > on () 4 * " + remaining +
		"\n)\nand on () " + remaining + " > 0"
	hold := monitoringv1.Duration(slo.FormatDuration(forecastFor))
	return monitoringv1.Rule{
		Alert:       AlertExhaustion,
		Expr:        intstr.FromString(expr),
		For:         &hold,
		Labels:      alertLabels(o, o.Owner, slo.SeverityTicket),
		Annotations: forecastAnnotations(o),
	}
}

// alertLabels are the labels that route an alert to team t; see
// docs/design.md. The objective's own labels cannot override them.
func alertLabels(o slo.Objective, t slo.Team, sev slo.Severity) map[string]string {
	l := make(map[string]string, len(o.Labels)+8)
	for k, v := range o.Labels {
		l[k] = literal(v)
	}
	maps.Copy(l, map[string]string{
		cxv1alpha1.AlertLabelTeam:               t.Name,
		cxv1alpha1.AlertLabelNamespace:          t.Namespace,
		cxv1alpha1.AlertLabelDepartment:         literal(t.Department),
		cxv1alpha1.AlertLabelObjective:          o.Name,
		cxv1alpha1.AlertLabelObjectiveNamespace: o.Namespace,
		cxv1alpha1.AlertLabelJourney:            o.Journey,
		cxv1alpha1.AlertLabelSLIKind:            string(o.SLI.Kind),
		cxv1alpha1.AlertLabelSeverity:           string(sev),
	})
	if t.Department == "" {
		delete(l, cxv1alpha1.AlertLabelDepartment)
	}
	return l
}
