package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"

	"github.com/cxops/cx-operator/internal/slo"
)

// config is what the command line sets.
type config struct {
	anchors   string
	docs      string
	markdown  bool
	days      int
	pods      int
	probers   int
	cycles    int
	step      time.Duration
	detectFor time.Duration
	seed      uint64
	args      []string
}

// firstCycle is the time of the warm-up cycle; the history ends one step
// before it. Fixed, so that runs are repeatable.
var firstCycle = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// historyChunk is how much raw history is written before the backfill rules
// are recorded over it: well within the hour behind its newest sample in
// which the TSDB head accepts samples in order.
const historyChunk = 30 * time.Minute

// subject is one tool's rules for one objective, loaded into the engine,
// and what the benchmark found out about them.
type subject struct {
	tool  tool
	obj   objective
	model slo.Objective
	file  ruleFile

	groups []*rules.Group
	// needs are the tool's recording rules that need history.
	needs map[ruleRef]bool
	// backfill holds those of them that are in file, if any.
	backfill *ruleFile
	// backfilled lists them for the report.
	backfilled []backfilledRule

	recording, alerting   int
	rawSpan, recordedSpan time.Duration

	// costs has one entry per measured cycle.
	costs []cycleCost
	// ruleWall[group][rule] is each rule's evaluation time per cycle.
	ruleWall [][][]time.Duration
	// recordedSeries is the number of series the recording rules wrote in
	// the last measured cycle.
	recordedSeries int

	// pagedBefore is set when the page fired before the outage.
	pagedBefore bool
	// detected is how long after the outage began the page fired; -1 for
	// not within the scenario.
	detected time.Duration
	// sanity holds burn rates read at the end of the measured cycles.
	sanity map[string]float64
}

// cycleCost is the cost of one evaluation cycle of all of a subject's
// groups.
type cycleCost struct {
	cpu, wall time.Duration
	// cpuPerMinute weighs each group by its evaluations per minute.
	cpuPerMinute time.Duration
	samples      int64
}

// result is everything the report shows.
type result struct {
	cfg       config
	subjects  []*subject
	rawSeries map[string]int
	written   int
	blocks    int
	phases    []phase
	errors    []string
	peakRSS   int64
	loadAvg   string
	// toolLoad is the load average when each tool's measurement began.
	toolLoad   map[string]string
	totalTime  time.Duration
	finishedAt time.Time
}

// phase is one step of the run and how long it took.
type phase struct {
	name string
	took time.Duration
}

// run runs the benchmark; logf reports progress.
func run(ctx context.Context, cfg config, logf func(format string, a ...any)) (_ *result, err error) {
	began := time.Now()
	res := &result{cfg: cfg, loadAvg: loadAverage(), toolLoad: map[string]string{}}
	p := parser.NewParser(parser.Options{})
	subjects, err := loadSubjects(cfg, p)
	if err != nil {
		return nil, err
	}
	res.subjects = subjects

	e, err := newEngine(cfg.step)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := e.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the TSDB: %w", cerr))
		}
	}()
	for _, s := range subjects {
		if s.groups, err = e.load(s.file); err != nil {
			return nil, err
		}
		if bf, ok := backfillFile(s.file, s.needs); ok {
			s.backfill = &bf
			s.backfilled = describeBackfill(bf)
		}
	}

	start := firstCycle.Add(-time.Duration(cfg.days) * 24 * time.Hour)
	w := newWorkload(cfg.pods, cfg.probers, cfg.step, cfg.seed, start)
	res.rawSeries = w.seriesCount()
	timed := func(name string, f func() error) error {
		t := time.Now()
		logf("%s ...\n", name)
		err := f()
		res.phases = append(res.phases, phase{name: name, took: time.Since(t)})
		logf("%s: %s\n", name, time.Since(t).Round(100*time.Millisecond))
		return err
	}
	errs := newErrorSet()
	if err := timed(fmt.Sprintf("writing %d days of raw samples and backfilling", cfg.days), func() error {
		n, err := writeHistory(ctx, e, w, subjects, start)
		res.written = n
		return err
	}); err != nil {
		return nil, err
	}
	if err := timed("compacting the TSDB", func() error {
		// Nothing may compact while the benchmark measures the process's
		// CPU time.
		e.db.DisableCompactions()
		if err := e.db.Compact(ctx); err != nil {
			return fmt.Errorf("compacting the TSDB: %w", err)
		}
		res.blocks = len(e.db.Blocks())
		return nil
	}); err != nil {
		return nil, err
	}
	for _, t := range tools {
		res.toolLoad[t.name] = loadAverage()
		if err := timed("measuring "+t.name, func() error {
			var err error
			// The label lets a CPU profile (--cpuprofile) show one tool.
			pprof.Do(ctx, pprof.Labels("tool", t.name), func(ctx context.Context) {
				err = measure(ctx, e, w, subjects, t, cfg, errs)
			})
			return err
		}); err != nil {
			return nil, err
		}
	}
	last := firstCycle.Add(time.Duration(cfg.cycles) * cfg.step)
	for _, s := range subjects {
		s.sanity = sanity(ctx, e, s, last)
	}
	if err := timed("detection scenarios", func() error {
		return detect(ctx, e, w, subjects, last, cfg, errs)
	}); err != nil {
		return nil, err
	}
	res.errors = errs.list
	res.peakRSS = peakRSS()
	res.totalTime = time.Since(began)
	res.finishedAt = time.Now().UTC()
	return res, nil
}

// loadSubjects builds our rule files and reads Sloth's and Pyrra's, and
// works out which of each tool's recording rules need history.
func loadSubjects(cfg config, p parser.Parser) ([]*subject, error) {
	var out []*subject
	byTool := map[string][]*subject{}
	for _, o := range objectives() {
		model, err := slo.FromObjective(o.obj, o.owner, nil)
		if err != nil {
			return nil, fmt.Errorf("modelling objective %s: %w", o.obj.Name, err)
		}
		for _, t := range tools {
			var content []byte
			if t.name == ours.name {
				content, err = ourRuleFile(model)
			} else {
				content, err = os.ReadFile(filepath.Join(cfg.anchors, anchorFolder(t), o.key+".rules.yaml"))
			}
			if err != nil {
				return nil, fmt.Errorf("reading the rules of %s for %s: %w", t.name, o.key, err)
			}
			f, err := parseRuleFile(anchorFolder(t)+"/"+o.key, content, p)
			if err != nil {
				return nil, err
			}
			s := &subject{tool: t, obj: o, model: model, file: f, detected: -1}
			s.recording, s.alerting = countRules(f)
			out = append(out, s)
			byTool[t.name] = append(byTool[t.name], s)
		}
	}
	for _, subs := range byTool {
		files := make([]ruleFile, len(subs))
		for i, s := range subs {
			files[i] = s.file
		}
		a, err := analyse(files, p)
		if err != nil {
			return nil, err
		}
		need := a.needsHistory()
		if err := a.checkBackfillOrder(need); err != nil {
			return nil, err
		}
		for _, s := range subs {
			s.needs = need
			s.rawSpan, s.recordedSpan = a.spans(s.file.name)
		}
	}
	return out, nil
}

func anchorFolder(t tool) string {
	switch t.name {
	case sloth.name:
		return "sloth"
	case pyrra.name:
		return "pyrra"
	}
	return "ours"
}

// writeHistory writes the raw history up to one step before the first
// cycle, and records the backfill rules over it at every step (each group
// at its interval), in chunks so that the TSDB head takes their samples in
// order. It returns the number of raw samples written.
func writeHistory(ctx context.Context, e *engine, w *workload, subjects []*subject, start time.Time) (int, error) {
	end := firstCycle.Add(-w.step)
	written := 0
	for at := start; !at.After(end); {
		chunkEnd := at.Add(historyChunk - w.step)
		if chunkEnd.After(end) {
			chunkEnd = end
		}
		n, err := w.writeUntil(ctx, e.db, chunkEnd)
		written += n
		if err != nil {
			return written, err
		}
		for _, s := range subjects {
			if s.backfill == nil {
				continue
			}
			if err := e.backfill(ctx, *s.backfill, at, chunkEnd); err != nil {
				return written, err
			}
		}
		at = chunkEnd.Add(w.step)
	}
	return written, nil
}

// measure evaluates every group of one tool's subjects for a warm-up cycle
// and cfg.cycles measured cycles at successive steps from firstCycle,
// writing each step's raw samples before the cycle when no earlier tool
// did.
func measure(ctx context.Context, e *engine, w *workload, subjects []*subject, t tool, cfg config, errs *errorSet) error {
	var mine []*subject
	for _, s := range subjects {
		if s.tool.name == t.name {
			mine = append(mine, s)
			s.ruleWall = make([][][]time.Duration, len(s.groups))
			for gi, g := range s.groups {
				s.ruleWall[gi] = make([][]time.Duration, len(g.Rules()))
			}
		}
	}
	runtime.GC()
	for k := 0; k <= cfg.cycles; k++ {
		ts := firstCycle.Add(time.Duration(k) * cfg.step)
		if _, err := w.writeUntil(ctx, e.db, ts); err != nil {
			return err
		}
		for _, s := range mine {
			var c cycleCost
			recorded := 0
			for gi, g := range s.groups {
				m, err := e.eval(ctx, g, ts)
				if err != nil {
					return err
				}
				errs.check(s, g)
				c.cpu += m.cpu
				c.wall += m.wall
				c.samples += m.samples
				c.cpuPerMinute += time.Duration(float64(m.cpu) * float64(time.Minute) / float64(g.Interval()))
				for ri, r := range g.Rules() {
					s.ruleWall[gi][ri] = append(s.ruleWall[gi][ri], r.GetEvaluationDuration())
					if _, ok := r.(*rules.RecordingRule); ok {
						recorded += m.results[r.Query().String()]
					}
				}
			}
			s.pagedBefore = s.pagedBefore || paging(s)
			if k == 0 {
				// The warm-up cycle fills caches and pools; it is not counted.
				continue
			}
			s.costs = append(s.costs, c)
			s.recordedSeries = recorded
		}
	}
	return nil
}

// detect runs the outage scenarios: from onset, every objective's new
// events are all bad. Every tool's groups are evaluated at their intervals
// until each page fired or cfg.detectFor passed.
func detect(ctx context.Context, e *engine, w *workload, subjects []*subject, onset time.Time, cfg config, errs *errorSet) error {
	for _, o := range objectives() {
		w.outage[o.key] = onset
	}
	for ts := onset.Add(cfg.step); !ts.After(onset.Add(cfg.detectFor)); ts = ts.Add(cfg.step) {
		if _, err := w.writeUntil(ctx, e.db, ts); err != nil {
			return err
		}
		pending := false
		for _, s := range subjects {
			for _, g := range s.groups {
				if aligned(ts, g.Interval()) {
					g.Eval(ctx, ts)
					errs.check(s, g)
				}
			}
			if s.detected < 0 && paging(s) {
				s.detected = ts.Sub(onset)
			}
			pending = pending || s.detected < 0
		}
		if !pending {
			break
		}
	}
	return nil
}

// paging says whether the subject's page alert fires.
func paging(s *subject) bool {
	for _, g := range s.groups {
		for _, ar := range g.AlertingRules() {
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring && s.tool.isPage(a.Labels) {
					return true
				}
			}
		}
	}
	return false
}

// aligned says whether a group with that interval is evaluated at ts:
// groups run at multiples of their interval.
func aligned(ts time.Time, interval time.Duration) bool {
	return ts.UnixMilli()%interval.Milliseconds() == 0
}
