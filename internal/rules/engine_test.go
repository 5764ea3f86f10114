package rules_test

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/internal/simulate"
	"github.com/cxops/cx-operator/internal/slo"
)

// The alert behaviour of the generated rules, evaluated by the Prometheus
// rules engine on synthetic series scraped and evaluated every 30 seconds.
// Expected times come from the SRE workbook's arithmetic, not from runs.

const (
	step     = 30 * time.Second
	rate     = 10.0 // events per second at normal traffic
	target   = "99.9"
	budget   = 0.001
	pageLong = time.Hour
	// pageFactor is the first page window's burn-rate factor (1h and 5m).
	pageFactor = 14.4
	// slowShort and slowFactor are the second page window (6h and 30m).
	slowShort  = 30 * time.Minute
	slowFactor = 6.0
)

var start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// kind is an SLI kind with the objective and the source of its series.
type kind struct {
	name string
	sli  cxv1alpha1.SLI
	// source feeds the SLI's series; bad(at) is the share of bad events
	// (or of bad time) at a time since the start.
	source func(traffic simulate.Traffic) simulate.Source
	// countsEvents: the low-traffic guard applies.
	countsEvents bool
}

// granularity is how late a time-based SLI may see a burn of that share:
// its gauges show one bad sample in 1/share, so a window crosses a
// threshold only when the next bad sample comes.
func (k kind) granularity(share float64) time.Duration {
	if k.countsEvents {
		return 0
	}
	return time.Duration(float64(step) / (share * probes))
}

func lbl(kv ...string) labels.Labels { return labels.FromStrings(kv...) }

func kinds() []kind {
	return []kind{
		{
			name: "error ratio",
			sli: cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{
				Errors: `http_requests_total{job="checkout",code=~"5.."}`,
				Total:  `http_requests_total{job="checkout"}`,
			}},
			source: func(t simulate.Traffic) simulate.Source {
				return simulate.Counters(
					lbl("__name__", "http_requests_total", "job", "checkout", "code", "200"),
					lbl("__name__", "http_requests_total", "job", "checkout", "code", "503"), t)
			},
			countsEvents: true,
		},
		{
			name: "latency from a classic histogram",
			sli: cxv1alpha1.SLI{Latency: &cxv1alpha1.LatencySLI{
				Metric: `http_request_duration_seconds{job="api"}`, Threshold: "300ms", Histogram: cxv1alpha1.HistogramClassic,
			}},
			source: func(t simulate.Traffic) simulate.Source {
				return simulate.ClassicHistogram("http_request_duration_seconds", lbl("job", "api"),
					[]float64{0.1, 0.3, 1, 5}, 0.3, t)
			},
			countsEvents: true,
		},
		{
			name: "latency from a native histogram",
			sli: cxv1alpha1.SLI{Latency: &cxv1alpha1.LatencySLI{
				Metric: `http_request_duration_seconds{job="api"}`, Threshold: "300ms", Histogram: cxv1alpha1.HistogramNative,
			}},
			source: func(t simulate.Traffic) simulate.Source {
				return simulate.NativeHistogram("http_request_duration_seconds", lbl("job", "api"), 0.3, t)
			},
			countsEvents: true,
		},
		{
			name: "availability from a probe",
			sli: cxv1alpha1.SLI{Availability: &cxv1alpha1.AvailabilitySLI{
				Metric: `probe_success{job="blackbox",instance="https://shop.example.com"}`,
			}},
			source: func(t simulate.Traffic) simulate.Source {
				return gaugeOf(lbl("__name__", "probe_success", "job", "blackbox", "instance", "https://shop.example.com"), t, 1, 0)
			},
		},
		{
			name: "a CSAT score",
			sli: cxv1alpha1.SLI{Score: &cxv1alpha1.ScoreSLI{
				Metric: `cx_csat_score{survey="post-purchase"}`, Threshold: "4.2", GoodWhen: cxv1alpha1.GoodAbove,
			}},
			source: func(t simulate.Traffic) simulate.Source {
				return gaugeOf(lbl("__name__", "cx_csat_score", "survey", "post-purchase"), t, 4.6, 3.1)
			},
		},
	}
}

// probes is the number of series a time-based SLI averages: probes from
// several regions, or survey gauges per channel. The SLI's selector matches
// them all.
const probes = 20

// gaugeOf turns traffic into gauges for time-based SLIs: at each scrape, of
// the probes series, as many show the bad value as the traffic's bad share
// owes, accumulated over time, in turn. So a bad share of 1 keeps every
// series bad, and 0.001 is one bad sample in a thousand.
func gaugeOf(series labels.Labels, traffic simulate.Traffic, good, bad float64) simulate.Source {
	var last time.Duration
	var owed float64
	var next int
	return func(at time.Duration) []simulate.Sample {
		events, b := traffic(last, at)
		last = at
		if events > 0 {
			owed += probes * b / events
		}
		out := make([]simulate.Sample, probes)
		for i := range out {
			lb := labels.NewBuilder(series)
			lb.Set("region", fmt.Sprintf("r%02d", i))
			out[i] = simulate.Sample{Labels: lb.Labels(), Value: good}
		}
		for ; owed >= 1-1e-9; owed-- {
			out[next%probes].Value = bad
			next++
		}
		return out
	}
}

func objective(t *testing.T, sli cxv1alpha1.SLI) slo.Objective {
	t.Helper()
	return objectiveOver(t, sli, "30d")
}

func objectiveOver(t *testing.T, sli cxv1alpha1.SLI, window cxv1alpha1.Duration) slo.Objective {
	t.Helper()
	return objectiveAlerting(t, sli, window, nil)
}

func objectiveAlerting(t *testing.T, sli cxv1alpha1.SLI, window cxv1alpha1.Duration, alerting *cxv1alpha1.Alerting) slo.Objective {
	t.Helper()
	obj := &cxv1alpha1.CXObjective{
		ObjectMeta: metav1.ObjectMeta{Name: "journey-slo", Namespace: "shop"},
		Spec: cxv1alpha1.CXObjectiveSpec{
			Journey: "checkout", Owner: cxv1alpha1.TeamRef{Team: "checkout"},
			SLI: sli, Target: target, Window: window, Alerting: alerting,
		},
	}
	owner := slo.Team{Name: "checkout", Namespace: "shop", Department: "Product", DisplayName: "Checkout squad"}
	o, err := slo.FromObjective(obj, owner, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// simulateRun evaluates the objective's rules over a run and fails on any
// rule evaluation error.
func simulateRun(t *testing.T, o slo.Objective, source simulate.Source, d time.Duration) *simulate.Timeline {
	t.Helper()
	return simulateObserved(t, o, simulate.Run{Duration: d, Source: source})
}

// simulateObserved evaluates the objective's rules over a run (its start,
// scrape and evaluation intervals are the test's) and fails on any rule
// evaluation error.
func simulateObserved(t *testing.T, o slo.Objective, run simulate.Run) *simulate.Timeline {
	t.Helper()
	file, err := rules.RuleFile(rules.Generate(o))
	if err != nil {
		t.Fatal(err)
	}
	e, err := simulate.New(step)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := e.Load(o.Name, file); err != nil {
		t.Fatal(err)
	}
	run.Start, run.Scrape, run.Eval = start, step, step
	tl, err := e.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range tl.Errors {
		t.Errorf("rule evaluation error: %v", err)
	}
	return tl
}

// within asserts that got lies in [want-early, want+late].
func within(t *testing.T, what string, got, want, early, late time.Duration) {
	t.Helper()
	if got < want-early || got > want+late {
		t.Errorf("%s at %s, want %s (between %s and %s)", what, got, want, want-early, want+late)
	} else {
		t.Logf("%s at %s (the arithmetic says %s)", what, got, want)
	}
}

func TestTotalOutagePagesWithinTwoMinutesAndResolvesWithinTheShortWindow(t *testing.T) {
	const (
		onset    = 2 * time.Hour
		duration = 30 * time.Minute
	)
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			o := objective(t, k.sli)
			traffic := simulate.Steady(rate, simulate.Switch(0, 1, onset, onset+duration))
			tl := simulateRun(t, o, k.source(traffic), onset+duration+45*time.Minute)

			pages := tl.Firing("severity", "page")
			if len(pages) != 1 {
				t.Fatalf("%d page episodes, want 1: %+v", len(pages), pages)
			}
			p := pages[0]
			// With every event bad, the 1h window's error ratio reaches
			// 14.4 x the budget after 1h x 14.4 x 0.001 = 51.8s; the 5m
			// window reached it long before. Up to one scrape and one
			// evaluation later, Prometheus sees it.
			detect := time.Duration(float64(pageLong) * pageFactor * budget)
			within(t, "the page fired", p.Start-onset, detect, step, 2*step)
			if p.Start-onset > 2*time.Minute {
				t.Errorf("the page fired %s after the outage began, more than 2 minutes", p.Start-onset)
			}
			// Both page conditions hold after 30 minutes of outage; once
			// firing, the page stays until a pair falls under half its
			// factor (rules.Hysteresis), so it resolves when the last short
			// window, 30m at 6x, drops below 3 x the budget: after
			// 30m x (1 - 3 x 0.001).
			resolve := time.Duration(float64(slowShort) * (1 - slowFactor*rules.Hysteresis*budget))
			if p.End < 0 {
				t.Fatalf("the page did not resolve after recovery")
			}
			within(t, "the page resolved", p.End-(onset+duration), resolve, step, 2*step)

			wantLabels := map[string]string{
				"alertname": "CXErrorBudgetBurn", "cx_team": "checkout", "namespace": "shop",
				"cx_objective": "journey-slo", "cx_journey": "checkout", "severity": "page",
			}
			for name, value := range wantLabels {
				if got := p.Labels.Get(name); got != value {
					t.Errorf("page label %s = %q, want %q", name, got, value)
				}
			}
			if !regexp.MustCompile(`^Checkout \w[\w ]* is burning this month's error budget \d+× too fast$`).MatchString(p.Summary) {
				t.Errorf("the page's summary does not read as a sentence: %q", p.Summary)
			}
			// Every figure of the description was read by the template.
			if !regexp.MustCompile(`\d+(\.\d+)?% .* over the last 1h; the objective is 99\.9% over 30d\. Error budget left: -?\d+\.\d+%\.`).MatchString(p.Description) {
				t.Errorf("the page's description lacks its figures: %q", p.Description)
			}
			t.Logf("summary: %s; description: %s", p.Summary, p.Description)
		})
	}
}

func TestABurnOfOnceTheBudgetNeverPages(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			o := objective(t, k.sli)
			traffic := simulate.Steady(rate, func(time.Duration) float64 { return budget })
			// 7h: every page window (6h at most) full of the steady burn.
			tl := simulateRun(t, o, k.source(traffic), 7*time.Hour)
			if pages := tl.Firing("severity", "page"); len(pages) > 0 {
				t.Fatalf("a burn of 1x paged: %+v", pages)
			}
		})
	}
}

func TestABurnAtTheTicketThresholdRaisesATicketAndNoPage(t *testing.T) {
	// A 7-day objective: its windows are the 30-day ones scaled by 7/30
	// (ticket 5h35m and 16h50m, page 15m and 1h25m), which keeps the run
	// short; the factors are the same.
	const burn = 5.0 // above 3x and 1x (tickets), below 6x and 14.4x (pages)
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			o := objectiveOver(t, k.sli, "7d")
			// Every ticket window full of good events before the burn.
			history := o.Ticket[len(o.Ticket)-1].Long
			traffic := simulate.Steady(rate, simulate.Switch(0, burn*budget, history, 100*24*time.Hour))
			// A constant burn b fills a window of length L to the factor f
			// after L x f / b; the ticket fires when the first pair does.
			want := time.Duration(1 << 62)
			for _, w := range o.Ticket {
				want = min(want, time.Duration(float64(w.Long)*w.Factor/burn))
			}
			tl := simulateRun(t, o, k.source(traffic), history+want+time.Hour)
			if pages := tl.Firing("severity", "page"); len(pages) > 0 {
				t.Fatalf("a 5x burn paged: %+v", pages)
			}
			tickets := tl.Firing("severity", "ticket")
			if len(tickets) != 1 {
				t.Fatalf("%d ticket episodes, want 1: %+v", len(tickets), tickets)
			}
			within(t, "the ticket fired", tickets[0].Start-history, want, 2*time.Minute, 2*time.Minute+k.granularity(burn*budget))
		})
	}
}

func TestLowTrafficWithSporadicErrorsDoesNotPage(t *testing.T) {
	cases := []struct {
		name    string
		traffic simulate.Traffic
		d       time.Duration
	}{
		{
			// What Sloth's and Pyrra's rules page on 20 times.
			name:    "one request every 2 minutes, one in five failing, for 6 hours",
			traffic: simulate.Discrete(2*time.Minute, func(i int64) bool { return i%5 == 0 }),
			d:       6 * time.Hour,
		},
		{
			name:    "one request every 2 minutes, 20% failing at random, for 6 hours",
			traffic: simulate.Discrete(2*time.Minute, pseudoRandom(0.2)),
			d:       6 * time.Hour,
		},
		{
			name:    "one request every 75 seconds, 15% failing at random, for 8 hours",
			traffic: simulate.Discrete(75*time.Second, pseudoRandom(0.15)),
			d:       8 * time.Hour,
		},
	}
	for _, k := range kinds() {
		if !k.countsEvents {
			continue
		}
		for _, c := range cases {
			t.Run(k.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				tl := simulateRun(t, objective(t, k.sli), k.source(c.traffic), c.d)
				if pages := tl.Firing("severity", "page"); len(pages) > 0 {
					t.Fatalf("%d pages at low traffic, first at %s", len(pages), pages[0].Start)
				}
			})
		}
	}
}

func TestAnIncidentAtLowTrafficPagesOnceWithoutFlapping(t *testing.T) {
	const (
		onset    = 2 * time.Hour
		duration = 2 * time.Hour
	)
	for _, k := range kinds() {
		if !k.countsEvents {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			// Two requests a minute, a quarter of them failing at random
			// during the incident: 30 bad events an hour, enough to page,
			// too few for a 5-minute window to tell a lull from a recovery.
			bad := pseudoRandom(0.25)
			traffic := simulate.Discrete(30*time.Second, func(i int64) bool {
				at := time.Duration(i) * 30 * time.Second
				return at > onset && at <= onset+duration && bad(i)
			})
			tl := simulateRun(t, objective(t, k.sli), k.source(traffic), onset+duration+90*time.Minute)
			pages := tl.Firing("severity", "page")
			if len(pages) != 1 {
				t.Fatalf("%d page episodes for one incident, want 1: %+v", len(pages), pages)
			}
			t.Logf("paged %s after the onset, resolved %s after the end", pages[0].Start-onset, pages[0].End-onset-duration)
			if pages[0].End < 0 {
				t.Error("the page did not resolve within 90 minutes of the end of the incident")
			}
		})
	}
}

func TestABurnHoveringAroundThePageThresholdPagesOnce(t *testing.T) {
	// Every page window full of good events before the onset.
	const onset = 6 * time.Hour
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			// From the onset, an error ratio that swings between 1% and 2%
			// every 20 minutes: its 5m window crosses 14.4 x 0.1% = 1.44%
			// again and again, its 1h window stays just above it.
			share := func(at time.Duration) float64 {
				if at < onset {
					return 0
				}
				return 0.015 + 0.005*math.Sin(2*math.Pi*at.Minutes()/20)
			}
			tl := simulateRun(t, objective(t, k.sli), k.source(simulate.Steady(rate, share)), onset+3*time.Hour)
			pages := tl.Firing("severity", "page")
			if len(pages) != 1 {
				t.Fatalf("%d page episodes for one hovering burn, want 1: %+v", len(pages), pages)
			}
			// The page fires when the share averaged over both the 1h and
			// the 5m window exceeds 14.4 x 0.1%: integrated numerically.
			want := firstCrossing(share, onset, pageLong, 5*time.Minute, pageFactor*budget)
			within(t, "the page fired", pages[0].Start-onset, want-onset, time.Minute+k.granularity(0.01), 2*time.Minute+k.granularity(0.01))
		})
	}
}

// firstCrossing returns the first time, on a 30s grid, at which the share
// averaged over the long and over the short window ending then both exceed
// threshold: the burn-rate condition in plain arithmetic.
func firstCrossing(share func(time.Duration) float64, from, long, short time.Duration, threshold float64) time.Duration {
	avg := func(end, window time.Duration) float64 {
		const n = 600
		var sum float64
		for i := 0; i < n; i++ {
			sum += share(end - window + time.Duration(float64(window)*(float64(i)+0.5)/n))
		}
		return sum / n
	}
	for at := from; ; at += step {
		if avg(at, long) > threshold && avg(at, short) > threshold {
			return at
		}
	}
}

func TestLongWindowsCoverTheHistoryThereIs(t *testing.T) {
	// Six hours of a steady 2% of bad events: every window, the 30-day one
	// included, shows a burn of 20 and an SLI of 98%, however little of it
	// the data fills. (2%, so that the gauges of time-based SLIs show
	// enough bad samples for the shares to be exact; for those, the first
	// scrape stands for a whole 5-minute base window of time, 1.4% of six
	// hours, within the 3% allowed.)
	// One SLI that counts events and one that samples time: the two ways
	// windows are composed.
	for _, k := range kinds() {
		if k.name != "error ratio" && k.name != "availability from a probe" {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			var got map[string]float64
			traffic := simulate.Steady(rate, func(time.Duration) float64 { return 20 * budget })
			const d = 6 * time.Hour
			simulateObserved(t, objective(t, k.sli), simulate.Run{Duration: d, Source: k.source(traffic),
				Observe: func(at time.Duration, e *simulate.Engine) {
					if at != d {
						return
					}
					got = map[string]float64{}
					for _, q := range []string{`cx:sli`, `cx:burn_rate{cx_window="30d"}`, `cx:burn_rate{cx_window="1h"}`, `cx:error_budget_remaining`} {
						v, err := e.Query(context.Background(), q, start.Add(at))
						if err != nil || len(v) != 1 {
							t.Fatalf("%s: %v %v", q, v, err)
						}
						got[q] = v[0].F
					}
				}})
			want := map[string]float64{`cx:sli`: 0.98, `cx:burn_rate{cx_window="30d"}`: 20, `cx:burn_rate{cx_window="1h"}`: 20, `cx:error_budget_remaining`: -19}
			for q, w := range want {
				if math.Abs(got[q]-w) > 0.03*math.Abs(w)+0.0005 {
					t.Errorf("%s = %v, want %v", q, got[q], w)
				}
			}
		})
	}
}

func TestMissingMetricsRaiseNoAlertAndNoError(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			tl := simulateRun(t, objective(t, k.sli), simulate.Silent(), 2*time.Hour)
			if len(tl.Episodes) > 0 {
				t.Fatalf("alerts without metrics: %+v", tl.Episodes)
			}
			if tl.Evaluations == 0 {
				t.Fatal("nothing was evaluated")
			}
		})
	}
}

// pseudoRandom says, for event i, whether it is bad with probability p, the
// same way on every run.
func pseudoRandom(p float64) func(int64) bool {
	return func(i int64) bool {
		x := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
		x ^= x >> 31
		x *= 0xBF58476D1CE4E5B9
		x ^= x >> 27
		return float64(x%1_000_000)/1_000_000 < p
	}
}

func TestBurnRatesAreRecordedForTheStateWindowsOnly(t *testing.T) {
	// One rule records the burn rate of every window: with the default
	// windows all windows are state windows; with one page pair of 1h and
	// 10m and no tickets, the rules also compose the 5m base window and
	// helper windows between 1h and 30d (30d is more than slo.MaxTerms
	// hours), which no alert or status reads and which get no burn rate.
	sli := kinds()[0].sli
	noTickets := false
	for name, alerting := range map[string]*cxv1alpha1.Alerting{
		"default windows": nil,
		"one page pair":   {Ticket: &noTickets, PageWindows: []cxv1alpha1.BurnRateWindow{{Long: "1h", Short: "10m", Factor: "14.4"}}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := objectiveAlerting(t, sli, "30d", alerting)
			var want []string
			for _, w := range o.StateWindows() {
				want = append(want, slo.FormatDuration(w))
			}
			planned := map[string]bool{}
			for _, p := range o.Plan() {
				planned[slo.FormatDuration(p.Window)] = true
			}
			var got []string
			const d = 30 * time.Minute
			traffic := simulate.Steady(rate, func(time.Duration) float64 { return 2 * budget })
			simulateObserved(t, o, simulate.Run{Duration: d, Source: kinds()[0].source(traffic),
				Observe: func(at time.Duration, e *simulate.Engine) {
					if at != d {
						return
					}
					v, err := e.Query(context.Background(), `cx:burn_rate`, start.Add(at))
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range v {
						got = append(got, s.Metric.Get(rules.LabelWindow))
						if math.Abs(s.F-2) > 0.1 {
							t.Errorf("burn rate over %s = %v, want 2", s.Metric.Get(rules.LabelWindow), s.F)
						}
					}
				}})
			slices.SortFunc(got, func(a, b string) int {
				x, _ := slo.ParseWindowLabel(a)
				y, _ := slo.ParseWindowLabel(b)
				return int(x - y)
			})
			if !slices.Equal(got, want) {
				t.Errorf("burn rates recorded for %v, want %v (windows planned: %v)", got, want, planned)
			}
			if len(planned) == len(want) && alerting != nil {
				t.Errorf("the plan %v has no window beyond the state windows: the test does not test the helper case", planned)
			}
		})
	}
}
