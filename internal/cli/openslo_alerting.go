package cli

import (
	"fmt"
	"strings"
	"time"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/slo"
)

// This file maps OpenSLO alert policies and their burn-rate conditions onto
// the alerting windows of a CXObjective.

// alerting maps the SLO's alert policies onto burn-rate windows: each
// burnrate condition becomes a window pair whose long window is the
// condition's lookback window.
func (im *importer) alerting(d *osloDoc, entries []osloPolicyEntry) *cxv1alpha1.Alerting {
	if len(entries) == 0 {
		return nil
	}
	a := &cxv1alpha1.Alerting{}
	for i, e := range entries {
		path := fmt.Sprintf("spec.alertPolicies[%d]", i)
		policy, owner := im.policy(d, e, path)
		if policy == nil {
			continue
		}
		im.policyFlags(owner, policy, path)
		for j, ce := range policy.Conditions {
			cpath := fmt.Sprintf("%s.spec.conditions[%d]", path, j)
			cond, cowner, cp := im.condition(owner, ce, cpath)
			if cond == nil {
				continue
			}
			sev, w, ok := im.burnWindow(cowner, cond, cp)
			if !ok {
				continue
			}
			switch sev {
			case cxv1alpha1.SeverityPage:
				a.PageWindows = append(a.PageWindows, w)
			case cxv1alpha1.SeverityTicket:
				a.TicketWindows = append(a.TicketWindows, w)
			}
		}
	}
	for _, ws := range []*[]cxv1alpha1.BurnRateWindow{&a.PageWindows, &a.TicketWindows} {
		if len(*ws) > 4 {
			im.warn(d, "spec.alertPolicies", "%d window pairs of one severity: a CXObjective keeps the first 4", len(*ws))
			*ws = (*ws)[:4]
		}
	}
	if len(a.PageWindows) == 0 && len(a.TicketWindows) == 0 {
		im.warn(d, "spec.alertPolicies", "no burn-rate condition maps: the CXObjective keeps the default page and ticket windows")
		return nil
	}
	off := false
	if len(a.PageWindows) == 0 {
		a.Page = &off
	}
	if len(a.TicketWindows) == 0 {
		a.Ticket = &off
	}
	return a
}

// policy resolves an inline or referenced alert policy.
func (im *importer) policy(d *osloDoc, e osloPolicyEntry, path string) (*osloAlertPolicy, *osloDoc) {
	if e.AlertPolicyRef != "" {
		p, ok := im.policies[e.AlertPolicyRef]
		if !ok {
			im.warn(d, path+".alertPolicyRef", "not mapped: no AlertPolicy %q among the files given", e.AlertPolicyRef)
			return nil, nil
		}
		return p.spec.(*osloAlertPolicy), p
	}
	if e.Spec == nil {
		im.warn(d, path, "not mapped: neither alertPolicyRef nor an inline AlertPolicy")
		return nil, nil
	}
	return e.Spec, d
}

func (im *importer) policyFlags(d *osloDoc, p *osloAlertPolicy, path string) {
	prefix := path + ".spec"
	if d.kind == osloKindAlertPolicy {
		prefix = specField
	}
	if p.AlertWhenNoData != nil && *p.AlertWhenNoData {
		im.warn(d, prefix+".alertWhenNoData", "not mapped: missing data is reported in the CXObjective's status (BudgetKnown=False, NoData), not alerted on")
	}
	if p.AlertWhenResolved != nil && !*p.AlertWhenResolved {
		im.warn(d, prefix+".alertWhenResolved", "not mapped: the channels of a CXTeam are always told when an alert resolves")
	}
	if p.AlertWhenBreaching != nil && !*p.AlertWhenBreaching {
		im.warn(d, prefix+".alertWhenBreaching", "not mapped: burn-rate alerts fire while the budget burns too fast")
	}
	if len(p.NotificationTargets) > 0 {
		im.warn(d, prefix+".notificationTargets", "not mapped: alerts reach the channels of the owner CXTeam")
	}
}

// condition resolves an inline or referenced alert condition.
func (im *importer) condition(owner *osloDoc, ce osloConditionEntry, path string) (*osloAlertCondition, *osloDoc, string) {
	if ce.ConditionRef != "" {
		c, ok := im.conds[ce.ConditionRef]
		if !ok {
			im.warn(owner, path+".conditionRef", "not mapped: no AlertCondition %q among the files given", ce.ConditionRef)
			return nil, nil, ""
		}
		return c.spec.(*osloAlertCondition), c, specField
	}
	if ce.Spec == nil {
		im.warn(owner, path, "not mapped: neither conditionRef nor an inline AlertCondition")
		return nil, nil, ""
	}
	return ce.Spec, owner, path + ".spec"
}

// severities maps common alert severity words onto page and ticket.
var osloSeverities = map[string]cxv1alpha1.Severity{
	"page": cxv1alpha1.SeverityPage, "critical": cxv1alpha1.SeverityPage, "high": cxv1alpha1.SeverityPage,
	"urgent": cxv1alpha1.SeverityPage, "p1": cxv1alpha1.SeverityPage, "sev1": cxv1alpha1.SeverityPage,
	"ticket": cxv1alpha1.SeverityTicket, "warning": cxv1alpha1.SeverityTicket, "medium": cxv1alpha1.SeverityTicket,
	"low": cxv1alpha1.SeverityTicket, "p2": cxv1alpha1.SeverityTicket, "p3": cxv1alpha1.SeverityTicket,
	"sev2": cxv1alpha1.SeverityTicket, "sev3": cxv1alpha1.SeverityTicket,
}

// burnWindow maps one burnrate condition. OpenSLO has one lookback window;
// a CXObjective's pair has a long and a short window: the lookback window is
// the long one, and the short one is a twelfth of it, as in the SRE
// workbook's pairs.
func (im *importer) burnWindow(d *osloDoc, c *osloAlertCondition, path string) (cxv1alpha1.Severity, cxv1alpha1.BurnRateWindow, bool) {
	var w cxv1alpha1.BurnRateWindow
	sev, ok := osloSeverities[strings.ToLower(c.Severity)]
	if !ok {
		im.warn(d, path+".severity", "not mapped: %q is neither a page (page, critical, high) nor a ticket (ticket, warning, low) severity; the condition is left out", c.Severity)
		return "", w, false
	}
	cond := c.Condition
	cpath := path + ".condition"
	if !strings.EqualFold(cond.Kind, "burnrate") {
		im.warn(d, cpath+".kind", "not mapped: only burnrate conditions map to CXObjective alerts, not %q", cond.Kind)
		return "", w, false
	}
	if cond.Op != opGT && cond.Op != opGTE {
		im.warn(d, cpath+".op", "not mapped: a burn-rate alert fires above its factor; op %q is left out", cond.Op)
		return "", w, false
	}
	if cond.Op == opGTE {
		im.warn(d, cpath+".op", "gte becomes gt: burn-rate alerts fire above the factor")
	}
	factor, ok := decimalText(cond.Threshold, 3)
	if !ok || cond.Threshold == nil {
		im.warn(d, cpath+".threshold", "not mapped: the factor must be a positive number with at most 3 decimals")
		return "", w, false
	}
	long, ok := osloWindow(cond.LookbackWindow)
	if !ok {
		im.warn(d, cpath+".lookbackWindow", "not mapped: %q is not a duration in minutes, hours, days or weeks such as 1h", cond.LookbackWindow)
		return "", w, false
	}
	short := max(time.Minute, (long / 12).Truncate(time.Minute))
	if cond.AlertAfter != "" {
		im.warn(d, cpath+".alertAfter", "not mapped: the short window (%s, a twelfth of the lookback window) confirms the burn instead", formatWindow(short))
	}
	w = cxv1alpha1.BurnRateWindow{Long: cxv1alpha1.Duration(formatWindow(long)), Short: cxv1alpha1.Duration(formatWindow(short)), Factor: factor}
	return sev, w, true
}

// osloWindow parses an alert lookback window into minutes or more.
func osloWindow(s string) (time.Duration, bool) {
	m := osloDurationRE.FindStringSubmatch(s)
	if m == nil || m[2] == "s" || m[2] == "M" || m[2] == "Q" || m[2] == "Y" {
		return 0, false
	}
	d, err := slo.ParseDuration(s)
	return d, err == nil
}

// formatWindow writes a duration in the one unit the API takes.
func formatWindow(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%dw", d/(7*24*time.Hour))
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
}
