// Package simulate evaluates Prometheus rule files with the Prometheus rules
// engine itself, in-process: a TSDB in a temporary folder, the PromQL engine
// and the rule manager's groups of github.com/prometheus/prometheus. Raw
// series come from a Source that stands in for scraped targets. The tests
// of the generated rules, `kubectl cx test` and the rules benchmark all run
// on it, so that what they say about alerts is what Prometheus does.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// Sample is one raw sample: a float, or a native histogram when Histogram
// is set.
type Sample struct {
	// Labels of the series, with __name__.
	Labels labels.Labels
	// Value of a float sample.
	Value float64
	// Histogram of a native histogram sample.
	Histogram *histogram.FloatHistogram
}

// Engine is a TSDB, a PromQL engine and a set of rule groups.
type Engine struct {
	dir     string
	db      *tsdb.DB
	engine  *promql.Engine
	manager *rules.Manager
	groups  []*rules.Group
	eval    time.Duration
	logger  *slog.Logger
}

// New opens an empty engine whose rule groups are evaluated every
// evalInterval (the global evaluation interval of a Prometheus config).
func New(evalInterval time.Duration) (*Engine, error) {
	dir, err := os.MkdirTemp("", "cx-simulate-")
	if err != nil {
		return nil, fmt.Errorf("creating the TSDB folder: %w", err)
	}
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = 0
	opts.OutOfOrderTimeWindow = 0
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tsdb.Open(dir, logger, nil, opts, nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("opening the TSDB: %w", err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:        logger,
		MaxSamples:    200_000_000,
		Timeout:       10 * time.Minute,
		LookbackDelta: 5 * time.Minute,
		Parser:        parser.NewParser(parser.Options{}),
		// As in Prometheus: a subquery without a step, such as [5m:],
		// steps at the global evaluation interval.
		NoStepSubqueryIntervalFn: func(int64) int64 { return evalInterval.Milliseconds() },
	})
	e := &Engine{dir: dir, db: db, engine: engine, eval: evalInterval, logger: logger}
	e.manager = rules.NewManager(&rules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		QueryFunc:            rules.EngineQueryFunc(engine, db),
		NotifyFunc:           func(context.Context, string, ...*rules.Alert) {},
		Context:              context.Background(),
		AppendableV2:         db,
		Queryable:            db,
		Logger:               logger,
		Parser:               parser.NewParser(parser.Options{}),
	})
	return e, nil
}

// Close closes the TSDB and removes its folder.
func (e *Engine) Close() error {
	return errors.Join(e.db.Close(), os.RemoveAll(e.dir))
}

// Load adds the groups of a rule file, in the order of the file. It fails
// on a file that Prometheus would refuse to load.
func (e *Engine) Load(name string, ruleFile []byte) error {
	path := e.dir + "/" + name + ".rules.yaml"
	if err := os.WriteFile(path, ruleFile, 0o600); err != nil {
		return fmt.Errorf("writing rule file %s: %w", name, err)
	}
	groups, errs := e.manager.LoadGroups(e.eval, labels.EmptyLabels(), "", nil, false, path)
	if len(errs) > 0 {
		return fmt.Errorf("loading rule file %s: %w", name, errors.Join(errs...))
	}
	var loaded []*rules.Group
	for _, g := range groups {
		// A fresh Prometheus has no alert state to restore: mark it done,
		// which is also what makes alerting rules write their ALERTS series.
		for _, ar := range g.AlertingRules() {
			ar.SetRestored(true)
		}
		loaded = append(loaded, g)
	}
	sort.Slice(loaded, func(i, j int) bool { return loaded[i].Name() < loaded[j].Name() })
	e.groups = append(e.groups, loaded...)
	return nil
}

// Groups returns the loaded rule groups.
func (e *Engine) Groups() []*rules.Group { return e.groups }

// Append writes raw samples at time ts, as a scrape would.
func (e *Engine) Append(ts time.Time, samples []Sample) error {
	app := e.db.Appender(context.Background())
	t := ts.UnixMilli()
	for _, s := range samples {
		var err error
		if s.Histogram != nil {
			_, err = app.AppendHistogram(0, s.Labels, t, nil, s.Histogram)
		} else {
			_, err = app.Append(0, s.Labels, t, s.Value)
		}
		if err != nil {
			_ = app.Rollback()
			return fmt.Errorf("appending %s at %s: %w", s.Labels, ts.UTC().Format(time.RFC3339), err)
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("committing samples at %s: %w", ts.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// Eval evaluates every group once at ts, and returns the errors of the
// rules that failed.
func (e *Engine) Eval(ctx context.Context, ts time.Time) []error {
	var errs []error
	for _, g := range e.groups {
		g.Eval(ctx, ts)
		for _, r := range g.Rules() {
			if err := r.LastError(); err != nil {
				errs = append(errs, fmt.Errorf("group %s, rule %s: %w", g.Name(), r.Name(), err))
			}
		}
	}
	return errs
}

// EvalGroup evaluates one group at ts.
func (e *Engine) EvalGroup(ctx context.Context, g *rules.Group, ts time.Time) {
	g.Eval(ctx, ts)
}

// Alert is one alert instance as the rule manager holds it.
type Alert struct {
	// Name is the alert rule's name.
	Name string
	// Labels are the alert's labels, alertname included.
	Labels labels.Labels
	// Annotations are the alert's expanded annotations.
	Annotations labels.Labels
	// Firing is true once the alert fires (false while pending).
	Firing bool
	// Value is the value of the alert expression at the last evaluation.
	Value float64
}

// Alerts returns the alerts that are pending or firing now.
func (e *Engine) Alerts() []Alert {
	var out []Alert
	for _, g := range e.groups {
		for _, ar := range g.AlertingRules() {
			for _, a := range ar.ActiveAlerts() {
				out = append(out, Alert{
					Name:        ar.Name(),
					Labels:      a.Labels,
					Annotations: a.Annotations,
					Firing:      a.State == rules.StateFiring,
					Value:       a.Value,
				})
			}
		}
	}
	return out
}

// Query evaluates an instant query at ts.
func (e *Engine) Query(ctx context.Context, expr string, ts time.Time) (promql.Vector, error) {
	q, err := e.engine.NewInstantQuery(ctx, e.db, nil, expr, ts)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", expr, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", expr, res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", expr, err)
	}
	return v, nil
}

// Storage returns the engine's TSDB, for callers that write many samples.
func (e *Engine) Storage() storage.Storage { return e.db }
