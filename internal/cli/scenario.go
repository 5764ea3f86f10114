package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
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
