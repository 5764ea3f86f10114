package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/routing"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/internal/simulate"
	"github.com/cxops/cx-operator/internal/slo"
)

// Scenarios of kubectl cx test.
const (
	// ScenarioOutage: every event is bad from the onset until every alert
	// that can fire has fired, then all are good again for a while.
	ScenarioOutage = "outage"
	// ScenarioRecovery: a short outage, long enough to page, then good
	// events until every alert has resolved.
	ScenarioRecovery = "recovery"
	// ScenarioLowTraffic: one event every 2 minutes, a fifth of them bad
	// from the onset, for 6 hours.
	ScenarioLowTraffic = "lowtraffic"
	// ScenarioBurn is "burn=Nx": from the onset, the error budget burns N
	// times faster than sustainable.
	ScenarioBurn = "burn"
)

const (
	// testStep is the scrape and rule evaluation interval of the runs.
	testStep = 30 * time.Second
	// historyEval is the evaluation interval during the history, whose
	// traffic is steady and good: it keeps long histories fast. Composed
	// windows read recorded series with a lookback of 5 minutes, so one
	// evaluation every 5 minutes always leaves a sample to read.
	historyEval = 5 * time.Minute
	// testProbes is how many series a time-based SLI averages, so that a
	// small bad share of time is spread evenly rather than one bad scrape
	// now and then.
	testProbes = 20
	// lowTrafficPeriod and lowTrafficBadShare are the low-traffic scenario.
	lowTrafficPeriod   = 2 * time.Minute
	lowTrafficBadShare = 0.2
	lowTrafficDuration = 6 * time.Hour
)

// testStart is the wall-clock time of the first sample of every run, a
// Monday at midnight UTC, so that runs are the same every time.
var testStart = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

// TestCommand are the options of kubectl cx test.
type TestCommand struct {
	// Input says which manifests to read: the objective and its teams.
	Input InputOptions
	// Objective is the objective's name, or namespace/name.
	Objective string
	// Scenario is outage, recovery, lowtraffic or burn=Nx.
	Scenario string
	// History is how long good traffic runs before the onset; 0 for the
	// objective's longest alert window.
	History time.Duration
	// Duration is how long the run goes on after the onset; 0 for the
	// scenario's default.
	Duration time.Duration
	// Rate is the number of events per second at normal traffic; 0 for 10.
	Rate float64
}

// scenario is a parsed scenario with its timings.
type scenario struct {
	name string
	// burn is the burn rate of burn=Nx.
	burn float64
	// share is the bad share of events (or of time) at a time since the
	// onset, for every scenario but lowtraffic.
	share func(sinceOnset time.Duration) float64
	// outage is how long the outage of outage and recovery lasts.
	outage time.Duration
	// duration is how long the run lasts after the onset.
	duration time.Duration
	// untilResolved stops the run once nothing fires after the outage.
	untilResolved bool
	// story says in words what happens.
	story string
}

func parseScenario(s string) (scenario, error) {
	switch {
	case s == ScenarioOutage || s == ScenarioRecovery || s == ScenarioLowTraffic:
		return scenario{name: s}, nil
	case strings.HasPrefix(s, ScenarioBurn+"="):
		n := strings.TrimSuffix(strings.TrimPrefix(s, ScenarioBurn+"="), "x")
		f, err := strconv.ParseFloat(n, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) {
			return scenario{}, usagef("--scenario burn=Nx needs a burn rate N greater than 0, e.g. burn=10x, not %q", s)
		}
		return scenario{name: ScenarioBurn, burn: f}, nil
	case s == "":
		return scenario{}, usagef("give a scenario with --scenario outage|recovery|lowtraffic|burn=Nx")
	default:
		return scenario{}, usagef("--scenario must be outage, recovery, lowtraffic or burn=Nx (e.g. burn=10x), not %q", s)
	}
}

// RunTest evaluates the objective's generated rules with the Prometheus
// rules engine on synthetic series for the scenario, and writes a timeline
// of when each alert fires and resolves, and to which team.
func RunTest(ctx context.Context, stdout, stderr io.Writer, o TestCommand) error {
	sc, err := parseScenario(o.Scenario)
	if err != nil {
		return err
	}
	if o.Objective == "" {
		return usagef("give the objective with --objective NAME")
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return usagef("--rate must be a number of events per second greater than 0")
	}
	if o.Rate == 0 {
		o.Rate = 10
	}
	if o.History < 0 || o.Duration < 0 {
		return usagef("--history and --duration may not be negative")
	}
	in, err := ReadInputs(o.Input)
	if err != nil {
		return err
	}
	set, _, problems, err := resolveInputs(ctx, in)
	if err != nil {
		return err
	}
	if err := reportProblems(stderr, append(append([]Problem(nil), in.Problems...), problems...)); err != nil {
		return err
	}
	target, err := findObjective(set, o.Objective, o.Input.namespace())
	if err != nil {
		return err
	}
	res, err := desired.Resolve(target.obj, set.lookup)
	if err == nil {
		var rule *rulesSpec
		rule, err = buildRules(target.obj, res)
		if err == nil {
			return runScenario(ctx, stdout, stderr, o, sc, set, rule)
		}
	}
	_, ps := controllerProblems(target.from, err)
	return reportProblems(stderr, ps)
}

// rulesSpec is an objective's model and generated rule file.
type rulesSpec struct {
	from  string
	model slo.Objective
	file  []byte
}

// buildRules builds the PrometheusRule the controller applies and the
// model it comes from.
func buildRules(obj *cxv1alpha1.CXObjective, res desired.Resolution) (*rulesSpec, error) {
	rule, err := desired.PrometheusRule(obj, res, desired.DefaultOptions())
	if err != nil {
		return nil, err
	}
	stakeholders := make([]slo.Team, 0, len(res.Stakeholders))
	for _, t := range res.Stakeholders {
		stakeholders = append(stakeholders, slo.TeamFrom(t))
	}
	model, err := slo.FromObjective(obj, slo.TeamFrom(res.Owner), stakeholders)
	if err != nil {
		return nil, err
	}
	file, err := rules.RuleFile(rule.Spec)
	if err != nil {
		return nil, err
	}
	return &rulesSpec{from: "CXObjective " + obj.Namespace + "/" + obj.Name, model: model, file: file}, nil
}

func runScenario(ctx context.Context, stdout, stderr io.Writer, o TestCommand, sc scenario, set *resolvedSet, rs *rulesSpec) error {
	res, err := simulateScenario(ctx, o, sc, rs, nil)
	if err != nil {
		return err
	}
	var evalErrs []Problem
	for _, err := range res.errors {
		evalErrs = append(evalErrs, Problem{Source: Source{File: rs.from}, Severity: SeverityError, Message: "rule evaluation failed: " + err.Error()})
	}
	w := &errWriter{w: stdout}
	writeHeader(w, rs.model, res.scenario, o.Rate, res.history, res.series)
	configs, _ := teamConfigs(set)
	if err := writeTimeline(w, res.timeline, res.ended, configs); err != nil {
		return err
	}
	if w.err != nil {
		return w.err
	}
	return reportProblems(stderr, evalErrs)
}

// scenarioResult is what a simulated scenario did.
type scenarioResult struct {
	// scenario with its timings.
	scenario scenario
	// history is the good traffic before the onset.
	history time.Duration
	// series describes the synthetic series.
	series []string
	// timeline is what fired and resolved, in times since the onset.
	timeline *simulate.Timeline
	// ended is when the run stopped, since the onset.
	ended time.Duration
	// errors are the rule evaluation errors.
	errors []error
}

// simulateScenario runs the objective's rules in the Prometheus rules
// engine: the history of good traffic (evaluated every historyEval), then
// the scenario from its onset (scraped and evaluated every testStep). When
// stop is set, the run ends at the first evaluation after which it returns
// true.
func simulateScenario(ctx context.Context, o TestCommand, sc scenario, rs *rulesSpec, stop func([]simulate.Alert) bool) (*scenarioResult, error) {
	m := rs.model
	history := o.History
	if history == 0 {
		windows := m.AlertWindows()
		history = windows[len(windows)-1]
	}
	history = history.Round(historyEval)
	onset := history + testStep
	rate := o.Rate
	if rate == 0 {
		rate = 10
	}
	if err := sc.plan(m, rate, o.Duration); err != nil {
		return nil, err
	}
	src, series, err := feedFor(m, sc, rate, onset)
	if err != nil {
		return nil, fmt.Errorf("%s: synthesizing series for the SLI: %w", rs.from, err)
	}
	e, err := simulate.New(testStep)
	if err != nil {
		return nil, err
	}
	defer func() { _ = e.Close() }()
	if err := e.Load(m.Name, rs.file); err != nil {
		return nil, fmt.Errorf("%s: %w", rs.from, err)
	}
	pre, err := e.Run(ctx, simulate.Run{Start: testStart, Duration: history, Scrape: testStep, Eval: historyEval, Source: src})
	if err != nil {
		return nil, fmt.Errorf("simulating the history: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := simulate.Run{
		Start: testStart.Add(onset), Duration: sc.duration, Scrape: testStep, Eval: testStep,
		Source: func(at time.Duration) []simulate.Sample { return src(onset + at) },
	}
	res := &scenarioResult{scenario: sc, history: history, series: series, ended: sc.duration}
	run.Observe = func(at time.Duration, e *simulate.Engine) {
		alerts := e.Alerts()
		if (sc.untilResolved && at > sc.outage && len(alerts) == 0) || (stop != nil && stop(alerts)) {
			res.ended = at
			cancel()
		}
	}
	tl, err := e.Run(runCtx, run)
	if err != nil && (!errors.Is(err, context.Canceled) || ctx.Err() != nil) {
		return nil, fmt.Errorf("simulating the scenario: %w", err)
	}
	res.timeline = tl
	res.errors = append(append(res.errors, pre.Errors...), tl.Errors...)
	return res, nil
}

// plan fills in the scenario's bad share and timings for the objective, from
// the burn-rate arithmetic of its windows: a constant bad share x over a
// window of length L reaches the factor f of the budget b after L·f·b/x.
func (sc *scenario) plan(m slo.Objective, rate float64, duration time.Duration) error {
	var err error
	switch sc.name {
	case ScenarioOutage:
		sc.planOutage(m, rate)
	case ScenarioRecovery:
		sc.planRecovery(m, rate)
	case ScenarioBurn:
		err = sc.planBurn(m, rate)
	case ScenarioLowTraffic:
		err = sc.planLowTraffic(m)
	}
	if err != nil {
		return err
	}
	if duration > 0 {
		sc.duration = duration
	}
	sc.duration = sc.duration.Round(testStep)
	if sc.name == ScenarioRecovery {
		sc.story = fmt.Sprintf("every event is bad from the onset for %s, then all are good; the run ends once every alert "+
			"has resolved, or at +%s", formatSince(sc.outage), formatSince(sc.duration))
	}
	return nil
}

// urgentWindows are the pairs of the most urgent alert: the page's, or the
// ticket's for an objective that does not page.
func urgentWindows(m slo.Objective) ([]slo.BurnWindow, slo.Guard) {
	if len(m.Page) == 0 {
		return m.Ticket, m.TicketGuard
	}
	return m.Page, m.PageGuard
}

// lastFire is when the last pair of any alert fires at a bad share x.
func lastFire(m slo.Objective, x, rate float64) (time.Duration, bool) {
	last, found := latestFire(m, m.Page, m.PageGuard, x, rate)
	if t, ok := latestFire(m, m.Ticket, m.TicketGuard, x, rate); ok {
		last, found = max(last, t), true
	}
	return last, found
}

func longestShort(m slo.Objective) time.Duration {
	out := time.Duration(0)
	for _, w := range append(append([]slo.BurnWindow(nil), m.Page...), m.Ticket...) {
		out = max(out, w.Short)
	}
	return out
}

// outageShare is every event bad from the onset for the outage.
func outageShare(outage time.Duration) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t >= 0 && t < outage {
			return 1
		}
		return 0
	}
}

// planOutage: bad until every alert that can fire has fired, then good
// for as long as the urgent alert's short window, so that it resolves.
func (sc *scenario) planOutage(m slo.Objective, rate float64) {
	last, ok := lastFire(m, 1, rate)
	if !ok {
		last = time.Hour
	}
	urgent, _ := urgentWindows(m)
	sc.outage = max(10*time.Minute, last+5*time.Minute).Round(testStep)
	sc.duration = sc.outage + shortest(urgent, longestShort(m)) + 10*time.Minute
	sc.story = fmt.Sprintf("every event is bad from the onset for %s, then all are good", formatSince(sc.outage))
	sc.share = outageShare(sc.outage)
}

// planRecovery: bad until the urgent alert fires, then good until
// everything resolved; the bound leaves time for the longest short window
// to clear twice.
func (sc *scenario) planRecovery(m slo.Objective, rate float64) {
	urgent, guard := urgentWindows(m)
	first, ok := earliestFire(m, urgent, guard, 1, rate)
	if !ok {
		first = 10 * time.Minute
	}
	sc.outage = (first + 5*time.Minute).Round(testStep)
	sc.duration = sc.outage + 2*longestShort(m) + time.Hour
	sc.untilResolved = true
	sc.share = outageShare(sc.outage)
}

// planBurn: a constant burn until the last pair that it exceeds fires; if
// it exceeds none, as long as the urgent alert's longest window, to show
// that nothing fires.
func (sc *scenario) planBurn(m slo.Objective, rate float64) error {
	x := sc.burn * m.Budget
	if x >= 1 {
		return usagef("burn=%sx is more than the %s%% objective can burn: at most %sx, when every event is bad",
			slo.FormatFloat(sc.burn), m.TargetText, slo.FormatFloat(math.Floor(1/m.Budget*1000)/1000))
	}
	if last, ok := lastFire(m, x, rate); ok {
		sc.duration = last + 10*time.Minute
	} else {
		urgent, _ := urgentWindows(m)
		long := time.Duration(0)
		for _, w := range urgent {
			long = max(long, w.Long)
		}
		sc.duration = long + 10*time.Minute
	}
	sc.story = fmt.Sprintf("from the onset the error budget burns %sx too fast: %s of events are bad", slo.FormatFloat(sc.burn), percent(x))
	sc.share = func(t time.Duration) float64 {
		if t >= 0 {
			return x
		}
		return 0
	}
	return nil
}

func (sc *scenario) planLowTraffic(m slo.Objective) error {
	if !m.SLI.Kind.CountsEvents() {
		return usagef("lowtraffic counts events: the %s SLI of %s samples time, so traffic does not change it", m.SLI.Kind, m.Name)
	}
	sc.duration = lowTrafficDuration
	sc.story = fmt.Sprintf("one event every %s, from the onset %s of them bad (at random, the same each run)",
		formatSince(lowTrafficPeriod), percent(lowTrafficBadShare))
	return nil
}

// fireAfter is when a window pair fires at a constant bad share x after a
// history of good events, or false if it never does: the long window
// reaches the factor after L·f·b/x, and for SLIs that count events it must
// also hold the guard's bad events.
func fireAfter(m slo.Objective, w slo.BurnWindow, g slo.Guard, x, rate float64) (time.Duration, bool) {
	need := w.Factor * m.Budget
	if x <= need {
		return 0, false
	}
	t := time.Duration(float64(w.Long) * need / x)
	if m.SLI.Kind.CountsEvents() && g.MinBadEventsPerHour > 0 {
		guard := time.Duration(g.MinBadEventsPerHour * w.Long.Hours() / (rate * x) * float64(time.Second))
		if guard > w.Long {
			return 0, false
		}
		t = max(t, guard)
	}
	return t, true
}

func earliestFire(m slo.Objective, ws []slo.BurnWindow, g slo.Guard, x, rate float64) (time.Duration, bool) {
	best, found := time.Duration(math.MaxInt64), false
	for _, w := range ws {
		if t, ok := fireAfter(m, w, g, x, rate); ok {
			best, found = min(best, t), true
		}
	}
	return best, found
}

func latestFire(m slo.Objective, ws []slo.BurnWindow, g slo.Guard, x, rate float64) (time.Duration, bool) {
	last, found := time.Duration(0), false
	for _, w := range ws {
		if t, ok := fireAfter(m, w, g, x, rate); ok {
			last, found = max(last, t), true
		}
	}
	return last, found
}

func shortest(ws []slo.BurnWindow, fallback time.Duration) time.Duration {
	out := time.Duration(0)
	for _, w := range ws {
		out = max(out, w.Short)
	}
	if out == 0 {
		return fallback
	}
	return out
}

// feedFor returns the source of the objective's raw series for the
// scenario, over the time since the start of the history, and a description
// of the series.
func feedFor(m slo.Objective, sc scenario, rate float64, onset time.Duration) (simulate.Source, []string, error) {
	var traffic simulate.Traffic
	if sc.name == ScenarioLowTraffic {
		traffic = simulate.Discrete(lowTrafficPeriod, func(i int64) bool {
			return time.Duration(i)*lowTrafficPeriod > onset && pseudoRandom(i) < lowTrafficBadShare
		})
	} else {
		traffic = simulate.Steady(rate, func(at time.Duration) float64 { return sc.share(at - onset) })
	}
	s := m.SLI
	switch s.Kind {
	case slo.KindErrorRatio:
		return counterFeed(s, traffic)
	case slo.KindLatency:
		extra, err := seriesFor(s.Metric, nil)
		if err != nil {
			return nil, nil, err
		}
		extra = withoutName(extra)
		if s.Native {
			return simulate.NativeHistogram(s.Metric.Name, extra, s.Threshold, traffic),
				[]string{fmt.Sprintf("native histogram %s: good events at %s, bad at %s",
					seriesString(s.Metric.Name, extra), seconds(s.Threshold/4), seconds(s.Threshold*4))}, nil
		}
		buckets := []float64{s.Threshold, 4 * s.Threshold}
		return simulate.ClassicHistogram(s.Metric.Name, extra, buckets, s.Threshold, traffic),
			[]string{fmt.Sprintf("classic histogram %s (_bucket at le %s, %s and +Inf, _count, _sum): good events at %s, bad at %s",
				seriesString(s.Metric.Name, extra), slo.FormatFloat(buckets[0]), slo.FormatFloat(buckets[1]),
				seconds(s.Threshold/2), seconds(s.Threshold*2))}, nil
	case slo.KindAvailability:
		return gaugeFeed(s.Metric, 1, 0, func(at time.Duration) float64 { return sc.share(at - onset) })
	case slo.KindScore:
		good, bad := s.Threshold+1, s.Threshold-1
		if !s.GoodAbove {
			good, bad = bad, good
		}
		return gaugeFeed(s.Metric, good, bad, func(at time.Duration) float64 { return sc.share(at - onset) })
	}
	return nil, nil, fmt.Errorf("unknown SLI kind %q", s.Kind)
}

// counterFeed feeds an error-ratio SLI: a good and a bad counter when one
// series can match both selectors (the usual code=~"5.." case), else a
// total and an errors counter of their own.
func counterFeed(s slo.SLI, traffic simulate.Traffic) (simulate.Source, []string, error) {
	if s.Errors.Name == s.Total.Name {
		both := slo.Selector{Name: s.Total.Name, Matchers: append(append([]*labels.Matcher(nil), s.Errors.Matchers...), s.Total.Matchers...)}
		bad, errBad := seriesFor(both, nil)
		good, errGood := seriesFor(s.Total, &s.Errors)
		if errBad == nil && errGood == nil {
			return simulate.Counters(good, bad, traffic),
				[]string{"good events " + good.String(), "bad events " + bad.String()}, nil
		}
	}
	total, err := seriesFor(s.Total, &s.Errors)
	if err != nil {
		return nil, nil, err
	}
	errs, err := seriesFor(s.Errors, &s.Total)
	if err != nil {
		return nil, nil, err
	}
	var last time.Duration
	var n, b float64
	return func(at time.Duration) []simulate.Sample {
		events, bad := traffic(last, at)
		if at > 0 {
			n += events
			b += bad
		}
		last = at
		return []simulate.Sample{{Labels: total, Value: n}, {Labels: errs, Value: b}}
	}, []string{"all events " + total.String(), "bad events " + errs.String()}, nil
}

// gaugeFeed feeds testProbes series of a gauge, each good or bad at each
// scrape, so that the share of bad samples follows share(at).
func gaugeFeed(sel slo.Selector, good, bad float64, share func(time.Duration) float64) (simulate.Source, []string, error) {
	base, err := seriesFor(sel, nil)
	if err != nil {
		return nil, nil, err
	}
	probe := ""
	for _, name := range []string{"probe", "replica", "cx_probe"} {
		if !sel.HasLabel(name) {
			probe = name
			break
		}
	}
	if probe == "" {
		return nil, nil, fmt.Errorf("the selector %s matches on every label name that could tell probes apart", sel)
	}
	series := make([]labels.Labels, testProbes)
	for i := range series {
		b := labels.NewBuilder(base)
		b.Set(probe, fmt.Sprintf("p%02d", i+1))
		series[i] = b.Labels()
	}
	var owed float64
	next := 0
	src := func(at time.Duration) []simulate.Sample {
		owed += float64(len(series)) * share(at)
		out := make([]simulate.Sample, len(series))
		for i, l := range series {
			out[i] = simulate.Sample{Labels: l, Value: good}
		}
		for ; owed >= 1-1e-9; owed-- {
			out[next%len(out)].Value = bad
			next++
		}
		return out
	}
	desc := fmt.Sprintf("%d series %s with %s=p01..p%02d: %s when good, %s when bad", testProbes, base.String(), probe, testProbes,
		slo.FormatFloat(good), slo.FormatFloat(bad))
	return src, []string{desc}, nil
}

func withoutName(l labels.Labels) labels.Labels {
	b := labels.NewBuilder(l)
	b.Del("__name__")
	return b.Labels()
}

func seriesString(name string, l labels.Labels) string {
	b := labels.NewBuilder(l)
	b.Set("__name__", name)
	return b.Labels().String()
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).String()
}

func percent(x float64) string {
	return slo.FormatFloat(math.Round(x*100*10000)/10000) + "%"
}

// pseudoRandom returns a number in [0, 1) for event i, the same on every
// run (the SplitMix64 finalizer).
func pseudoRandom(i int64) float64 {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / float64(1<<53)
}

// writeHeader says what was simulated.
func writeHeader(w *errWriter, m slo.Objective, sc scenario, rate float64, history time.Duration, series []string) {
	w.println(fmt.Sprintf("CXObjective %s/%s: %s SLI, %s%% over %s, owned by team %s/%s",
		m.Namespace, m.Name, m.SLI.Kind, m.TargetText, slo.FormatDuration(m.Window), m.Owner.Namespace, m.Owner.Name))
	scName := sc.name
	if sc.name == ScenarioBurn {
		scName = "burn=" + slo.FormatFloat(sc.burn) + "x"
	}
	w.println(fmt.Sprintf("Scenario %s: %s.", scName, sc.story))
	traffic := fmt.Sprintf("%s events per second", slo.FormatFloat(rate))
	if sc.name == ScenarioLowTraffic {
		traffic = "one event every " + formatSince(lowTrafficPeriod)
	} else if !m.SLI.Kind.CountsEvents() {
		traffic = "time sampled at each scrape"
	}
	w.println(fmt.Sprintf("Traffic: %s; %s of good traffic before the onset.", traffic, formatSince(history)))
	windows := m.AlertWindows()
	if longest := windows[len(windows)-1]; history < longest {
		w.println(fmt.Sprintf("Note: the history is shorter than the longest alert window (%s): windows longer than %s hold "+
			"less good traffic than they would in production, so the alerts that read them fire early.", formatSince(longest), formatSince(history)))
	}
	for _, s := range series {
		w.println("Series: " + s)
	}
	w.println(fmt.Sprintf("Prometheus rules engine: scrape and evaluation every %s (every %s during the history).",
		formatSince(testStep), formatSince(historyEval)))
	w.println()
}

// event is one line of the timeline.
type event struct {
	at     time.Duration
	fires  bool
	labels labels.Labels
	alert  string
	text   string
}

// writeTimeline writes when each alert fired and resolved, since the onset,
// with the team and channels it reaches.
func writeTimeline(w *errWriter, tl *simulate.Timeline, ended time.Duration, configs []teamConfig) error {
	var events []event
	for _, ep := range tl.Episodes {
		events = append(events, event{at: ep.Start, fires: true, labels: ep.Labels, alert: ep.Alert, text: ep.Summary})
		if ep.End >= 0 {
			events = append(events, event{at: ep.End, labels: ep.Labels, alert: ep.Alert})
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at < events[j].at })
	if len(events) == 0 {
		w.println(fmt.Sprintf("No alert fired in the %s after the onset.", formatSince(ended)))
		return w.err
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	// The table goes to a strings.Builder, whose writes do not fail.
	_, _ = fmt.Fprintln(tw, "SINCE ONSET\tEVENT\tSEVERITY\tALERT\tTEAM\tSUMMARY")
	for _, ev := range events {
		verb := "resolves"
		if ev.fires {
			verb = "fires"
		}
		team := ev.labels.Get(cxv1alpha1.AlertLabelNamespace) + "/" + ev.labels.Get(cxv1alpha1.AlertLabelTeam)
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", "+"+formatSince(ev.at), verb, ev.labels.Get(cxv1alpha1.AlertLabelSeverity),
			ev.alert, team, oneLine(ev.text))
		if ev.fires {
			to, err := reaches(ev.labels, configs)
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintf(tw, "\t\t\t\t\tto %s\n", to)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		w.println(strings.TrimRight(line, " "))
	}
	var still []string
	for _, ep := range tl.Episodes {
		if ep.End < 0 {
			still = append(still, fmt.Sprintf("%s %s (%s/%s)", ep.Labels.Get(cxv1alpha1.AlertLabelSeverity), ep.Alert,
				ep.Labels.Get(cxv1alpha1.AlertLabelNamespace), ep.Labels.Get(cxv1alpha1.AlertLabelTeam)))
		}
	}
	w.println()
	if len(still) > 0 {
		w.println(fmt.Sprintf("End of the run at +%s: still firing: %s.", formatSince(ended), strings.Join(still, ", ")))
	} else {
		w.println(fmt.Sprintf("End of the run at +%s: every alert has resolved.", formatSince(ended)))
	}
	return w.err
}

// reaches says which channels of which team an alert reaches.
func reaches(l labels.Labels, configs []teamConfig) (string, error) {
	al := routing.Labels(l.Map())
	for _, tc := range configs {
		r, err := routing.RouteOf(tc.spec, al)
		if err != nil {
			return "", err
		}
		if r == nil {
			continue
		}
		if r.Receiver == routing.DefaultReceiver {
			return "nobody: team " + tc.team.Name + " has no channel for severity " + al[cxv1alpha1.AlertLabelSeverity], nil
		}
		out := tc.team.Name + ": " + channelsOf(tc, r.Receiver)
		if len(r.ActiveTimeIntervals) > 0 {
			out += ", only in " + strings.Join(r.ActiveTimeIntervals, ", ")
		}
		return out, nil
	}
	return "nobody: no team's AlertmanagerConfig among the manifests takes it", nil
}

// formatSince writes a duration as 45s, 1m30s, 2h, 1h5m or 3d, without
// zero parts.
func formatSince(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	days := d / (24 * time.Hour)
	h := (d % (24 * time.Hour)) / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 || (days == 0 && h == 0 && m == 0) {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}
