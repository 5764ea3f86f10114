package routing

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// This file simulates what Alertmanager does with an AlertmanagerConfig
// spec, so that the tests of this package and `kubectl cx route` can say
// which receiver an alert reaches, when, and what mutes it, without an
// Alertmanager. It covers what Build generates (equality and regular
// expression matchers, one level of child routes, weekday and time-of-day
// intervals) and refuses what it does not simulate rather than guess.

// Labels is the label set of an alert.
type Labels map[string]string

// Matches says whether the labels satisfy every matcher, as Alertmanager
// evaluates matchers: a missing label is the empty string, and regular
// expressions are anchored at both ends. It fails on a matcher without a
// match type or with a regular expression that does not compile.
func Matches(ms []monitoringv1alpha1.Matcher, l Labels) (bool, error) {
	for _, m := range ms {
		ok, err := matchOne(m, l[m.Name])
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func matchOne(m monitoringv1alpha1.Matcher, v string) (bool, error) {
	switch m.MatchType {
	case monitoringv1alpha1.MatchEqual:
		return v == m.Value, nil
	case monitoringv1alpha1.MatchNotEqual:
		return v != m.Value, nil
	case monitoringv1alpha1.MatchRegexp, monitoringv1alpha1.MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return false, fmt.Errorf("matcher %s: %w", m, err)
		}
		return re.MatchString(v) == (m.MatchType == monitoringv1alpha1.MatchRegexp), nil
	default:
		return false, fmt.Errorf("matcher %s has no match type", m.Name)
	}
}

// OnNamespace returns the spec as prometheus-operator hands it to
// Alertmanager for an AlertmanagerConfig of that namespace under its default
// matcher strategy (OnNamespace): namespace="<namespace>" is added to the
// matchers of the top route and to both sides of every inhibition rule, and
// the top route gets continue: true, so that an alert goes on to the routes
// of other AlertmanagerConfigs and of the Alertmanager's own configuration.
// The spec passed in is not changed. Receiver and time interval names stay
// as they are in the spec (prometheus-operator prefixes them with
// "<namespace>/<config name>/" in the configuration it writes).
func OnNamespace(spec monitoringv1alpha1.AlertmanagerConfigSpec, namespace string) monitoringv1alpha1.AlertmanagerConfigSpec {
	out := *spec.DeepCopy()
	ns := monitoringv1alpha1.Matcher{Name: cxv1alpha1.AlertLabelNamespace, Value: namespace, MatchType: monitoringv1alpha1.MatchEqual}
	if out.Route != nil {
		out.Route.Matchers = append(out.Route.Matchers, ns)
		out.Route.Continue = true
	}
	for i := range out.InhibitRules {
		out.InhibitRules[i].SourceMatch = append(out.InhibitRules[i].SourceMatch, ns)
		out.InhibitRules[i].TargetMatch = append(out.InhibitRules[i].TargetMatch, ns)
	}
	return out
}

// RouteOf returns the route that Alertmanager picks for an alert within the
// spec: nil when the top route does not match; else the first child route
// that matches; else the top route itself. Child routes of child routes are
// not followed: Build generates none.
func RouteOf(spec monitoringv1alpha1.AlertmanagerConfigSpec, l Labels) (*monitoringv1alpha1.Route, error) {
	if spec.Route == nil {
		return nil, errors.New("the spec has no route")
	}
	ok, err := Matches(spec.Route.Matchers, l)
	if err != nil || !ok {
		return nil, err
	}
	children, err := spec.Route.ChildRoutes()
	if err != nil {
		return nil, fmt.Errorf("decoding the child routes: %w", err)
	}
	for i := range children {
		ok, err := Matches(children[i].Matchers, l)
		if err != nil {
			return nil, err
		}
		if ok {
			return &children[i], nil
		}
	}
	top := *spec.Route
	return &top, nil
}

// Inhibits says whether a firing source alert mutes the target alert under
// the spec's inhibition rules: some rule's source matchers match the source,
// its target matchers match the target, and the labels it lists in equal
// have the same value on both (a missing label counts as empty).
func Inhibits(spec monitoringv1alpha1.AlertmanagerConfigSpec, source, target Labels) (bool, error) {
	for _, r := range spec.InhibitRules {
		ok, err := inhibitsBy(r, source, target)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func inhibitsBy(r monitoringv1alpha1.InhibitRule, source, target Labels) (bool, error) {
	if ok, err := Matches(r.SourceMatch, source); err != nil || !ok {
		return false, err
	}
	if ok, err := Matches(r.TargetMatch, target); err != nil || !ok {
		return false, err
	}
	for _, name := range r.Equal {
		if source[name] != target[name] {
			return false, nil
		}
	}
	return true, nil
}

// InhibitionsOf returns the inhibition rules whose target side matches the
// alert: the rules under which some other firing alert could mute it.
func InhibitionsOf(spec monitoringv1alpha1.AlertmanagerConfigSpec, target Labels) ([]monitoringv1alpha1.InhibitRule, error) {
	var out []monitoringv1alpha1.InhibitRule
	for _, r := range spec.InhibitRules {
		ok, err := Matches(r.TargetMatch, target)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// InhibitedBy says whether the rule mutes target while source fires.
func InhibitedBy(r monitoringv1alpha1.InhibitRule, source, target Labels) (bool, error) {
	return inhibitsBy(r, source, target)
}

// ActiveAt says whether a route with these active time intervals sends at
// instant at, evaluated the way Alertmanager evaluates time intervals
// without a location: in UTC, start times inclusive and end times
// exclusive, weekday ranges inclusive. A route without active time
// intervals is always active. It fails on an interval name the spec does
// not define, and on intervals with fields it does not simulate (days of
// the month, months, years).
func ActiveAt(spec monitoringv1alpha1.AlertmanagerConfigSpec, names []string, at time.Time) (bool, error) {
	if len(names) == 0 {
		return true, nil
	}
	at = at.UTC()
	for _, name := range names {
		mti := timeInterval(spec, name)
		if mti == nil {
			return false, fmt.Errorf("the spec has no time interval %q", name)
		}
		for _, ti := range mti.TimeIntervals {
			ok, err := intervalContains(ti, at)
			if err != nil {
				return false, fmt.Errorf("time interval %q: %w", name, err)
			}
			if ok {
				return true, nil
			}
		}
	}
	return false, nil
}

func timeInterval(spec monitoringv1alpha1.AlertmanagerConfigSpec, name string) *monitoringv1alpha1.MuteTimeInterval {
	for i := range spec.MuteTimeIntervals {
		if spec.MuteTimeIntervals[i].Name == name {
			return &spec.MuteTimeIntervals[i]
		}
	}
	return nil
}

func intervalContains(ti monitoringv1alpha1.TimeInterval, at time.Time) (bool, error) {
	if len(ti.DaysOfMonth) > 0 || len(ti.Months) > 0 || len(ti.Years) > 0 {
		return false, errors.New("days of the month, months and years are not simulated")
	}
	minute := at.Hour()*60 + at.Minute()
	inTime := len(ti.Times) == 0
	for _, tr := range ti.Times {
		r, err := tr.Parse()
		if err != nil {
			return false, fmt.Errorf("time range %s-%s: %w", tr.StartTime, tr.EndTime, err)
		}
		inTime = inTime || (minute >= r.Start && minute < r.End)
	}
	inDay := len(ti.Weekdays) == 0
	for _, wr := range ti.Weekdays {
		first, last, isRange := strings.Cut(string(wr), ":")
		if !isRange {
			last = first
		}
		from, ok1 := weekdayNumbers[cxv1alpha1.Weekday(strings.ToLower(first))]
		to, ok2 := weekdayNumbers[cxv1alpha1.Weekday(strings.ToLower(last))]
		if !ok1 || !ok2 {
			return false, fmt.Errorf("weekday range %q is not a day or a range of days from sunday to saturday", wr)
		}
		d := int(at.Weekday())
		inDay = inDay || (d >= from && d <= to)
	}
	return inTime && inDay, nil
}
