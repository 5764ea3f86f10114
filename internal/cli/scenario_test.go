package cli

import (
	"context"
	"testing"
	"time"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/simulate"
	"github.com/cxops/cx-operator/test/utils/samples"
)

// sampleRules builds the rules of a sample objective as the controller
// would, with its teams among the samples.
func sampleRules(t *testing.T, name string) *rulesSpec {
	t.Helper()
	set := samples.Load(t)
	obj := set.Objective(t, name)
	lookup := func(namespace, team string) (*cxv1alpha1.CXTeam, error) { return set.Team(team), nil }
	res, err := desired.Resolve(obj, lookup)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := buildRules(obj, res)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func simulateSample(t *testing.T, name, scenarioName string, o TestCommand, stop func([]simulate.Alert) bool) *scenarioResult {
	t.Helper()
	sc, err := parseScenario(scenarioName)
	if err != nil {
		t.Fatal(err)
	}
	res, err := simulateScenario(context.Background(), o, sc, sampleRules(t, name), stop)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range res.errors {
		t.Errorf("rule evaluation error: %v", err)
	}
	return res
}

func within(t *testing.T, what string, got, from, to time.Duration) {
	t.Helper()
	if got < from || got > to {
		t.Errorf("%s at +%s, want between +%s and +%s", what, formatSince(got), formatSince(from), formatSince(to))
	}
}

func TestAnOutageOfCheckoutPagesItsTeamWhenTheArithmeticSays(t *testing.T) {
	res := simulateSample(t, "checkout-errors", ScenarioOutage, TestCommand{History: 6 * time.Hour}, nil)
	pages := res.timeline.Firing("severity", "page")
	if len(pages) != 1 {
		t.Fatalf("%d page episodes, want 1: %+v", len(pages), res.timeline.Episodes)
	}
	p := pages[0]
	if team := p.Labels.Get("cx_team"); team != "checkout" {
		t.Errorf("the page went to team %q, want checkout", team)
	}
	// Every event bad: the 1h window reaches 14.4 x the 0.5% budget after
	// 1h x 14.4 x 0.005 = 4m19s; Prometheus sees it within a scrape and an
	// evaluation.
	detect := time.Duration(float64(time.Hour) * 14.4 * 0.005)
	within(t, "the page fired", p.Start, detect, detect+2*testStep)
	// It resolves when the 30m window of the 6x pair falls under half its
	// factor: 30m x (1 - 3 x 0.005) after the outage ends.
	resolve := res.scenario.outage + time.Duration(float64(30*time.Minute)*(1-3*0.005))
	if p.End < 0 {
		t.Fatal("the page did not resolve")
	}
	// Events are counted per scrape, so the outage may end up to a scrape
	// earlier than the arithmetic says.
	within(t, "the page resolved", p.End, resolve-testStep, resolve+2*testStep)
	notices := res.timeline.Firing("severity", "notice")
	if len(notices) != 1 || notices[0].Labels.Get("cx_team") != "finance" {
		t.Errorf("the stakeholder finance was not told once: %+v", notices)
	}
}

func TestAnOutageOfEverySampleAlertsItsOwner(t *testing.T) {
	set := samples.Load(t)
	for _, obj := range set.Objectives {
		t.Run(obj.Name, func(t *testing.T) {
			t.Parallel()
			// A short history and run: the question is only whether the
			// synthetic series of each SLI kind raise the owner's alert. A
			// page fires within 45 minutes of a total outage; a ticket-only
			// objective runs as long as the scenario says its tickets need.
			want, run := "page", 45*time.Minute
			if a := obj.Spec.Alerting; a != nil && a.Page != nil && !*a.Page {
				want, run = "ticket", 0
			}
			owner := obj.Spec.Owner.Team
			fired := func(alerts []simulate.Alert) bool {
				for _, a := range alerts {
					if a.Firing && a.Labels.Get("severity") == want && a.Labels.Get("cx_team") == owner {
						return true
					}
				}
				return false
			}
			res := simulateSample(t, obj.Name, ScenarioOutage, TestCommand{History: time.Hour, Duration: run}, fired)
			var got []simulate.Episode
			for _, ep := range res.timeline.Firing("severity", want) {
				if ep.Labels.Get("cx_team") == obj.Spec.Owner.Team {
					got = append(got, ep)
				}
			}
			if len(got) != 1 {
				t.Errorf("%d %s episodes for team %s in +%s after the outage began, want 1: %+v", len(got), want, obj.Spec.Owner.Team,
					formatSince(res.ended), res.timeline.Episodes)
			}
		})
	}
}

func TestLowTrafficDoesNotPage(t *testing.T) {
	res := simulateSample(t, "checkout-errors", ScenarioLowTraffic, TestCommand{History: time.Hour, Duration: 3 * time.Hour}, nil)
	if pages := res.timeline.Firing("severity", "page"); len(pages) > 0 {
		t.Errorf("one request every 2 minutes, a fifth failing, paged: %+v", pages)
	}
}

func TestRecoveryStopsWhenEveryAlertResolved(t *testing.T) {
	// A one-day objective: its windows are the 30-day ones scaled by 1/30
	// (page 2m and 12m, ticket 48m and 2h25m), so everything resolves soon.
	set := samples.Load(t)
	obj := set.Objective(t, "storefront-availability")
	obj.Spec.Window = "1d"
	res0, err := desired.Resolve(obj, func(_, team string) (*cxv1alpha1.CXTeam, error) { return set.Team(team), nil })
	if err != nil {
		t.Fatal(err)
	}
	rs, err := buildRules(obj, res0)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := parseScenario(ScenarioRecovery)
	res, err := simulateScenario(context.Background(), TestCommand{}, sc, rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.timeline.Episodes) == 0 {
		t.Fatal("nothing fired")
	}
	for _, ep := range res.timeline.Episodes {
		if ep.End < 0 {
			t.Errorf("%s %s still fires at the end", ep.Alert, ep.Labels.Get("severity"))
		}
	}
	if res.ended >= res.scenario.duration {
		t.Errorf("the run went on to its bound (+%s) instead of stopping once everything resolved", formatSince(res.ended))
	}
}

func TestParseScenario(t *testing.T) {
	for _, tt := range []struct {
		in   string
		name string
		burn float64
		ok   bool
	}{
		{"outage", ScenarioOutage, 0, true},
		{"recovery", ScenarioRecovery, 0, true},
		{"lowtraffic", ScenarioLowTraffic, 0, true},
		{"burn=10x", ScenarioBurn, 10, true},
		{"burn=2.5", ScenarioBurn, 2.5, true},
		{"burn=0x", "", 0, false},
		{"burn=fast", "", 0, false},
		{"meltdown", "", 0, false},
		{"", "", 0, false},
	} {
		sc, err := parseScenario(tt.in)
		if (err == nil) != tt.ok || sc.name != tt.name || sc.burn != tt.burn {
			t.Errorf("parseScenario(%q) = %+v, %v", tt.in, sc, err)
		}
	}
}

func TestFormatSince(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 30 * time.Second: "30s", 90 * time.Second: "1m30s", time.Hour: "1h",
		time.Hour + 5*time.Minute: "1h5m", 72 * time.Hour: "3d", 67*time.Hour + 12*time.Minute: "2d19h12m",
	} {
		if got := formatSince(d); got != want {
			t.Errorf("formatSince(%s) = %q, want %q", d, got, want)
		}
	}
}
