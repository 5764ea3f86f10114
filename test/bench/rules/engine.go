package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// engine is Prometheus in-process: a TSDB laid out like that of a
// Prometheus that keeps 31 days, the PromQL engine with Prometheus's
// defaults, and rule groups loaded by the rule manager. It is built here
// rather than taken from internal/simulate because the benchmark needs the
// block layout of a long retention (a 30-day range over 2-hour blocks only
// would cost Sloth and Pyrra more than in a real Prometheus), control over
// compaction while it measures, and the engine's query statistics.
type engine struct {
	dir     string
	db      *tsdb.DB
	promql  *promql.Engine
	manager *rules.Manager
	loader  *memLoader
	step    time.Duration

	// acc receives the statistics of the queries of the group being
	// evaluated; nil between evaluations.
	acc *evalStats
}

// evalStats is what the queries of one group evaluation read and returned.
type evalStats struct {
	// samples is the number of samples the queries read.
	samples int64
	// results is the number of series each expression returned.
	results map[string]int
}

// Prometheus's defaults for what the benchmark does not vary.
const (
	// retention is the retention of a Prometheus that serves 30-day
	// objectives, with a day to spare.
	retention = 31 * 24 * time.Hour
	// maxSamples is Prometheus's default --query.max-samples.
	maxSamples = 50_000_000
	// queryTimeout is Prometheus's default --query.timeout.
	queryTimeout = 2 * time.Minute
	// lookback is Prometheus's default --query.lookback-delta.
	lookback = 5 * time.Minute
)

func newEngine(step time.Duration) (*engine, error) {
	dir, err := os.MkdirTemp("", "cx-bench-rules-")
	if err != nil {
		return nil, fmt.Errorf("creating the TSDB folder: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = retention.Milliseconds()
	// As Prometheus sets it: blocks grow to a tenth of the retention
	// (2h, 6h, 18h, 54h blocks for 31 days).
	opts.MaxBlockDuration = retention.Milliseconds() / 10
	db, err := tsdb.Open(dir, logger, nil, opts, nil)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening the TSDB: %w", err), os.RemoveAll(dir))
	}
	p := parser.NewParser(parser.Options{})
	e := &engine{dir: dir, db: db, step: step, loader: &memLoader{files: map[string]*rulefmt.RuleGroups{}, parser: p}}
	e.promql = promql.NewEngine(promql.EngineOpts{
		Logger:        logger,
		MaxSamples:    maxSamples,
		Timeout:       queryTimeout,
		LookbackDelta: lookback,
		Parser:        p,
		// As in Prometheus: a subquery without a step steps at the global
		// evaluation interval.
		NoStepSubqueryIntervalFn: func(int64) int64 { return step.Milliseconds() },
	})
	e.manager = rules.NewManager(&rules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		QueryFunc:            e.query,
		NotifyFunc:           func(context.Context, string, ...*rules.Alert) {},
		Context:              context.Background(),
		AppendableV2:         db,
		Queryable:            db,
		Logger:               logger,
		Parser:               p,
		GroupLoader:          e.loader,
	})
	return e, nil
}

func (e *engine) close() error {
	return errors.Join(e.db.Close(), os.RemoveAll(e.dir))
}

// query is the rule manager's query function: rules.EngineQueryFunc, plus
// the engine's count of samples read, which it keeps for every query anyway.
func (e *engine) query(ctx context.Context, qs string, t time.Time) (promql.Vector, error) {
	q, err := e.promql.NewInstantQuery(ctx, e.db, nil, qs, t)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	var v promql.Vector
	switch r := res.Value.(type) {
	case promql.Vector:
		v = r
	case promql.Scalar:
		v = promql.Vector{{T: r.T, F: r.V, Metric: labels.EmptyLabels()}}
	default:
		return nil, errors.New("rule result is not a vector or scalar")
	}
	if e.acc != nil {
		if s := q.Stats(); s != nil && s.Samples != nil {
			e.acc.samples += s.Samples.TotalSamples
		}
		e.acc.results[qs] = len(v)
	}
	return v, nil
}

// load loads the groups of a rule file in file order. Alert state counts
// as restored, as in a Prometheus that has run for a while; that is also
// what makes alerting rules write their ALERTS series.
func (e *engine) load(f ruleFile) ([]*rules.Group, error) {
	e.loader.files[f.name] = f.groups
	groups, errs := e.manager.LoadGroups(e.step, labels.EmptyLabels(), "", nil, false, f.name)
	if len(errs) > 0 {
		return nil, fmt.Errorf("loading rule file %s: %w", f.name, errors.Join(errs...))
	}
	out := make([]*rules.Group, 0, len(groups))
	for _, rg := range f.groups.Groups {
		g, ok := groups[rules.GroupKey(f.name, rg.Name)]
		if !ok {
			return nil, fmt.Errorf("rule file %s: group %s was not loaded", f.name, rg.Name)
		}
		for _, ar := range g.AlertingRules() {
			ar.SetRestored(true)
		}
		out = append(out, g)
	}
	return out, nil
}

// backfill records the rules of a backfill file from start to end, as
// promtool's backfill from rules does: each rule's expression as a range
// query at its group's interval, in file order, its results written under
// the rule's name and labels. It gives the samples that evaluating the
// group at every step would have written (there are no staleness markers
// to write: no recorded series ends), since each rule reads only rules
// before it (see checkBackfillOrder).
func (e *engine) backfill(ctx context.Context, f ruleFile, start, end time.Time) error {
	for _, g := range f.groups.Groups {
		interval := time.Duration(g.Interval)
		if interval == 0 {
			interval = e.step
		}
		from := start.Truncate(interval)
		if from.Before(start) {
			from = from.Add(interval)
		}
		if from.After(end) {
			continue
		}
		for _, r := range g.Rules {
			if err := e.backfillRule(ctx, g, r, from, end, interval); err != nil {
				return fmt.Errorf("backfilling %s of group %s in %s: %w", r.Record, g.Name, f.name, err)
			}
		}
	}
	return nil
}

func (e *engine) backfillRule(ctx context.Context, g rulefmt.RuleGroup, r rulefmt.Rule, from, to time.Time, step time.Duration) error {
	q, err := e.promql.NewRangeQuery(ctx, e.db, nil, r.Expr, from, to, step)
	if err != nil {
		return err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return res.Err
	}
	m, err := res.Matrix()
	if err != nil {
		return err
	}
	app := e.db.AppenderV2(ctx)
	lb := labels.NewBuilder(labels.EmptyLabels())
	for _, series := range m {
		lb.Reset(series.Metric)
		lb.Set(model.MetricNameLabel, r.Record)
		for k, v := range g.Labels {
			lb.Set(k, v)
		}
		for k, v := range r.Labels {
			lb.Set(k, v)
		}
		ls := lb.Labels()
		var ref storage.SeriesRef
		fs, hs := series.Floats, series.Histograms
		// Floats and histograms in time order, as the steps wrote them.
		for len(fs) > 0 || len(hs) > 0 {
			if len(hs) == 0 || len(fs) > 0 && fs[0].T < hs[0].T {
				ref, err = app.Append(ref, ls, 0, fs[0].T, fs[0].F, nil, nil, storage.AOptions{})
				fs = fs[1:]
			} else {
				ref, err = app.Append(ref, ls, 0, hs[0].T, 0, nil, hs[0].H, storage.AOptions{})
				hs = hs[1:]
			}
			if err != nil {
				return errors.Join(err, app.Rollback())
			}
		}
	}
	return app.Commit()
}

// measurement is the cost of one evaluation of one group.
type measurement struct {
	// cpu is the process's user and system CPU time during the evaluation.
	cpu time.Duration
	// wall is the elapsed time.
	wall time.Duration
	// samples is the number of samples the group's queries read.
	samples int64
	// results is the number of series each expression returned.
	results map[string]int
}

// eval evaluates one group at ts and measures it.
func (e *engine) eval(ctx context.Context, g *rules.Group, ts time.Time) (measurement, error) {
	acc := &evalStats{results: map[string]int{}}
	e.acc = acc
	cpu0, err := processCPU()
	if err != nil {
		return measurement{}, err
	}
	wall0 := time.Now()
	g.Eval(ctx, ts)
	wall := time.Since(wall0)
	cpu1, err := processCPU()
	e.acc = nil
	if err != nil {
		return measurement{}, err
	}
	return measurement{cpu: cpu1 - cpu0, wall: wall, samples: acc.samples, results: acc.results}, nil
}

// processCPU returns the user and system CPU time of the whole process:
// the evaluation itself and whatever garbage collection it causes.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("reading the process's CPU time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// peakRSS returns the process's peak resident memory.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// instant evaluates a query outside any measurement.
func (e *engine) instant(ctx context.Context, qs string, ts time.Time) (promql.Vector, error) {
	return e.query(ctx, qs, ts)
}
