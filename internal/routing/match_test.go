package routing

import (
	"testing"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

func TestMatches(t *testing.T) {
	m := func(name string, typ monitoringv1alpha1.MatchType, value string) monitoringv1alpha1.Matcher {
		return monitoringv1alpha1.Matcher{Name: name, Value: value, MatchType: typ}
	}
	tests := []struct {
		name    string
		ms      []monitoringv1alpha1.Matcher
		labels  Labels
		want    bool
		wantErr bool
	}{
		{"no matchers match everything", nil, Labels{}, true, false},
		{"an equal value matches", []monitoringv1alpha1.Matcher{m("a", "=", "x")}, Labels{"a": "x"}, true, false},
		{"a missing label is the empty string", []monitoringv1alpha1.Matcher{m("a", "=", "")}, Labels{}, true, false},
		{"a missing label fails an equality on a value", []monitoringv1alpha1.Matcher{m("a", "=", "x")}, Labels{}, false, false},
		{"not equal matches another value", []monitoringv1alpha1.Matcher{m("a", "!=", "x")}, Labels{"a": "y"}, true, false},
		{"a regular expression is anchored", []monitoringv1alpha1.Matcher{m("a", "=~", "late")}, Labels{"a": "latency"}, false, false},
		{"an alternation matches either side", []monitoringv1alpha1.Matcher{m("a", "=~", "latency|error-ratio")}, Labels{"a": "error-ratio"}, true, false},
		{"a negative regular expression excludes", []monitoringv1alpha1.Matcher{m("a", "!~", "5..")}, Labels{"a": "503"}, false, false},
		{"all matchers must hold", []monitoringv1alpha1.Matcher{m("a", "=", "x"), m("b", "=", "y")}, Labels{"a": "x", "b": "z"}, false, false},
		{"a matcher without a match type is an error", []monitoringv1alpha1.Matcher{{Name: "a", Value: "x"}}, Labels{"a": "x"}, false, true},
		{"a broken regular expression is an error", []monitoringv1alpha1.Matcher{m("a", "=~", "(")}, Labels{"a": "x"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Matches(tt.ms, tt.labels)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOnNamespace(t *testing.T) {
	spec := mustBuild(t, busyTeam())
	got := OnNamespace(spec, "shop")
	if !got.Route.Continue {
		t.Error("the top route does not continue to the other configurations")
	}
	last := got.Route.Matchers[len(got.Route.Matchers)-1]
	if last.Name != "namespace" || last.Value != "shop" || last.MatchType != monitoringv1alpha1.MatchEqual {
		t.Errorf("the top route's last matcher is %s, want namespace=\"shop\"", last)
	}
	for i, r := range got.InhibitRules {
		for side, ms := range map[string][]monitoringv1alpha1.Matcher{"source": r.SourceMatch, "target": r.TargetMatch} {
			if n := ms[len(ms)-1]; n.Name != "namespace" || n.Value != "shop" {
				t.Errorf("inhibit rule %d: the %s side does not match the namespace: %v", i, side, ms)
			}
		}
	}
	if len(spec.Route.Matchers) == len(got.Route.Matchers) || spec.Route.Continue {
		t.Error("OnNamespace changed the spec it was given")
	}

	page := alert("cx_team", "busy")
	if r, err := RouteOf(got, Labels(page)); err != nil || r == nil || r.Receiver != "page" {
		t.Errorf("a page of the namespace reaches %v (%v), want the page receiver", r, err)
	}
	other := alert("cx_team", "busy", "namespace", "elsewhere")
	if r, err := RouteOf(got, Labels(other)); err != nil || r != nil {
		t.Errorf("a page of another namespace reaches %v (%v), want no route", r, err)
	}
}

func TestRouteOfFallsBackToTheTopRoute(t *testing.T) {
	// A team without notice channels has no notice route: a notice of the
	// team stays on the top route and its receiver without integrations.
	team := newTeam("checkout", withChannels(webhookChannel("oncall", page, ticket)))
	spec := mustBuild(t, team)
	r, err := RouteOf(spec, Labels(alert("severity", string(cxv1alpha1.SeverityNotice))))
	if err != nil || r == nil {
		t.Fatalf("RouteOf = %v, %v", r, err)
	}
	if r.Receiver != DefaultReceiver {
		t.Errorf("a notice reaches %q, want %q", r.Receiver, DefaultReceiver)
	}
}

func TestInhibitionsOf(t *testing.T) {
	spec := mustBuild(t, busyTeam())
	tests := []struct {
		name  string
		alert labels
		want  int
	}{
		{"a latency page may be muted by an availability page", alert("cx_team", "busy", "cx_sli", "latency"), 1},
		{"a ticket may be muted by the page of its objective", alert("cx_team", "busy", "severity", "ticket"), 1},
		{"an availability page is muted by nothing", alert("cx_team", "busy", "cx_sli", "availability"), 0},
		{"another team's alert is muted by none of this team's rules", alert("cx_team", "support", "severity", "ticket"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InhibitionsOf(spec, Labels(tt.alert))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("%d rules could mute it, want %d: %+v", len(got), tt.want, got)
			}
		})
	}
}

func TestActiveAtRefusesWhatItDoesNotSimulate(t *testing.T) {
	spec := monitoringv1alpha1.AlertmanagerConfigSpec{MuteTimeIntervals: []monitoringv1alpha1.MuteTimeInterval{{
		Name:          "monthly",
		TimeIntervals: []monitoringv1alpha1.TimeInterval{{DaysOfMonth: []monitoringv1alpha1.DayOfMonthRange{{Start: 1, End: 7}}}},
	}}}
	at := time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC)
	if _, err := ActiveAt(spec, []string{"monthly"}, at); err == nil {
		t.Error("days of the month were simulated silently")
	}
	if _, err := ActiveAt(spec, []string{"unknown"}, at); err == nil {
		t.Error("an unknown time interval was accepted")
	}
	if ok, err := ActiveAt(spec, nil, at); err != nil || !ok {
		t.Errorf("a route without active time intervals is not always active: %v, %v", ok, err)
	}
}
