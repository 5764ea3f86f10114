package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
	"github.com/cxops/cx-operator/test/utils/fakeprom"
)

// bench is one run: the control plane, the fake Prometheus and its front,
// the tracker, and the manager of the moment.
type bench struct {
	cfg    config
	dir    string
	l      layout
	cl     *benchkit.ControlPlane
	fake   *fakeprom.Server
	front  *front
	model  *budgetModel
	tr     *tracker
	mgr    *benchkit.Manager
	starts int
	res    *results
}

// results are what the run measured.
type results struct {
	objectives, namespaces int
	// Setting up, from the first objective's create.
	createsDone, allReady, allKnown, steady time.Duration
	setupHWM                                int64
	phases                                  []phaseResult
}

// snapshot is every counter at one moment.
type snapshot struct {
	at                      time.Time
	req                     benchkit.Requests
	queries                 int64
	cpuMgr, cpuAPI, cpuEtcd time.Duration
	mm                      managerMetrics
	objChanges, teamChanges int
	load                    string
}

// phaseResult is what happened between two snapshots.
type phaseResult struct {
	name            string
	period          time.Duration
	periods         int
	wall            time.Duration
	queries         int64
	spread          spreadStats
	objectiveWrites int
	teamWrites      int
	otherWrites     map[string]int
	objChanged      int
	teamChanged     int
	// busiestWrites is the most status changes seen within one second.
	busiestWrites int
	// flippedPerPeriod is how many objectives the fake changed each period.
	flippedPerPeriod int
	// stale is how many objectives did not show the fake's figure at the
	// end; -1 when not checked.
	stale                   int
	reconciles              float64
	cpuMgr, cpuAPI, cpuEtcd time.Duration
	rssMean, rssMax, hwm    int64
	heap, allocated         float64
	loadStart, loadEnd      string
}

func execute(ctx context.Context, cfg config, dir string) (res *results, err error) {
	b := &bench{cfg: cfg, dir: dir, l: layout{objectives: cfg.objectives, namespaces: cfg.namespaces},
		res: &results{objectives: cfg.objectives, namespaces: cfg.namespaces}}
	fmt.Printf("== %d objectives in %d namespaces, fake Prometheus answering in %s\n", cfg.objectives, cfg.namespaces, cfg.latency)
	if b.cl, err = startCluster(dir); err != nil {
		return nil, err
	}
	trackerCtx, stopTracker := context.WithCancel(ctx)
	defer func() {
		stopTracker()
		if b.mgr != nil {
			err = errors.Join(err, b.mgr.Stop())
		}
		if b.front != nil {
			b.front.close()
		}
		if b.fake != nil {
			b.fake.Close()
		}
		err = errors.Join(err, b.cl.Stop())
	}()
	b.fake = fakeprom.Start()
	b.fake.SetLatency(cfg.latency)
	if b.front, err = startFront(b.fake); err != nil {
		return nil, err
	}
	b.model = newBudgetModel(b.l, b.fake)
	b.model.publish()
	if b.tr, err = startTracker(trackerCtx, b.cl.Admin); err != nil {
		return nil, err
	}
	steps := []func(context.Context) error{b.setUp, b.unchanged(cfg.period, cfg.periods), b.changing}
	if cfg.shortPeriod > 0 {
		steps = append(steps, b.restart(cfg.shortPeriod), b.unchanged(cfg.shortPeriod, cfg.shortPeriods))
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return b.res, b.writeMemorySamples(b.mgr)
}

// launch starts a manager with the given refresh interval.
func (b *bench) launch(ctx context.Context, period time.Duration) error {
	b.starts++
	var err error
	b.mgr, err = startManager(b.cfg.manager, b.cl.ManagerKubeconfig, filepath.Join(b.dir, fmt.Sprintf("manager-%d.log", b.starts)), managerFlags{
		prometheusURL: b.front.url(), period: period, queryConcurrency: b.cfg.queryConcurrency,
		qps: b.cfg.qps, burst: b.cfg.burst,
	})
	if err != nil {
		return err
	}
	return b.mgr.WaitReady(ctx, time.Minute)
}

// setUp starts the manager, creates the teams and the objectives, and
// waits until every objective is Ready with its figures and the reader is
// in a steady state.
func (b *bench) setUp(ctx context.Context) error {
	if err := b.launch(ctx, b.cfg.period); err != nil {
		return err
	}
	if err := benchkit.CreateNamespaces(ctx, b.cl.Client, b.l.namespaceNames()...); err != nil {
		return err
	}
	if _, err := benchkit.CreateAll(ctx, b.cl.Client, b.cfg.workers, b.cfg.namespaces, func(ns int) client.Object { return team(ns) }); err != nil {
		return err
	}
	if err := b.waitFor(ctx, time.Minute, "teams Ready", func() (bool, string) {
		n := b.tr.teamsReadyCount()
		return n == b.cfg.namespaces, fmt.Sprintf("%d of %d teams Ready", n, b.cfg.namespaces)
	}); err != nil {
		return err
	}
	start := time.Now()
	if _, err := benchkit.CreateAll(ctx, b.cl.Client, b.cfg.workers, b.cfg.objectives, func(i int) client.Object { return b.l.objective(i) }); err != nil {
		return err
	}
	b.res.createsDone = time.Since(start)
	fmt.Printf("  %d objectives created in %s\n", b.cfg.objectives, b.res.createsDone.Round(time.Second))
	var readyAt time.Duration
	if err := b.waitFor(ctx, b.cfg.timeout, "objectives Ready with figures", func() (bool, string) {
		ready, known, _, _ := b.tr.counts()
		if ready == b.cfg.objectives && readyAt == 0 {
			readyAt = time.Since(start)
		}
		return ready == b.cfg.objectives && known == b.cfg.objectives,
			fmt.Sprintf("%d Ready, %d with figures (BudgetKnown=True), of %d", ready, known, b.cfg.objectives)
	}); err != nil {
		return err
	}
	b.res.allReady, b.res.allKnown = readyAt, time.Since(start)
	fmt.Printf("  all Ready after %s, all figures after %s\n", b.res.allReady.Round(time.Second), b.res.allKnown.Round(time.Second))
	if err := waitSettled(ctx, b.mgr, b.cfg.timeout); err != nil {
		return err
	}
	if err := b.waitSteady(ctx, b.cfg.period); err != nil {
		return err
	}
	if err := b.waitCalm(ctx); err != nil {
		return err
	}
	b.res.steady = time.Since(start)
	if _, hwm, err := benchkit.ReadMemory(b.mgr.PID()); err == nil {
		b.res.setupHWM = hwm
	}
	fmt.Printf("  steady after %s; manager VmHWM so far %s\n", b.res.steady.Round(time.Second), mib(b.res.setupHWM))
	return nil
}

// waitFor polls done every second until it holds, printing its progress
// every ten seconds.
func (b *bench) waitFor(ctx context.Context, timeout time.Duration, what string, done func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	lastPrint := time.Now()
	for {
		ok, progress := done()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: %s after %s\n%s", what, progress, timeout, benchkit.LogTail(b.mgr.LogPath()))
		}
		if time.Since(lastPrint) >= 10*time.Second {
			fmt.Printf("  … %s (load average %s)\n", progress, benchkit.LoadAverage())
			lastPrint = time.Now()
		}
		if err := benchkit.Sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

// waitSteady waits until the reader writes nothing more on its own: from a
// moment X, every namespace is read again, and no status changed since X.
// Every namespace read after X saw figures that it had already written, and
// the round that was under way at X has updated its teams.
func (b *bench) waitSteady(ctx context.Context, period time.Duration) error {
	names := b.l.namespaceNames()
	deadline := time.Now().Add(b.cfg.timeout)
	for {
		x := time.Now()
		if err := b.waitFor(ctx, 3*period+time.Minute, "every namespace read again", func() (bool, string) {
			return b.front.allSince(x, names), "not every namespace read since " + x.Format(time.TimeOnly)
		}); err != nil {
			return err
		}
		// The last namespace's writes, and the teams' at the end of the round.
		if err := benchkit.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if b.tr.quietSince().Before(x) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the reader kept writing for %s", b.cfg.timeout)
		}
	}
}

// waitCalm waits, for two minutes at most, until kube-apiserver uses less
// than a tenth of a core over five seconds: after the creates it works on
// for a while (it has nothing to do with the reader), and that would count
// in the first phase.
func (b *bench) waitCalm(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		before := benchkit.CPUTime(b.cl.APIServerPID)
		if err := benchkit.Sleep(ctx, 5*time.Second); err != nil {
			return err
		}
		used := benchkit.CPUTime(b.cl.APIServerPID) - before
		if used < 500*time.Millisecond {
			return nil
		}
		fmt.Printf("  … kube-apiserver still busy: %s of CPU in 5 s\n", used)
	}
	return nil
}

func (b *bench) snapshot(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now(), queries: b.fake.Queries(), load: benchkit.LoadAverage(),
		cpuMgr: benchkit.CPUTime(b.mgr.PID()), cpuAPI: benchkit.CPUTime(b.cl.APIServerPID), cpuEtcd: benchkit.CPUTime(b.cl.EtcdPID)}
	_, _, s.objChanges, s.teamChanges = b.tr.counts()
	var err error
	if s.req, err = b.cl.Requests(ctx); err != nil {
		return s, err
	}
	if s.mm, err = readMetrics(ctx, b.mgr); err != nil {
		return s, err
	}
	return s, nil
}

// phase turns two snapshots of the same manager into a phase's results.
func (b *bench) phase(name string, period time.Duration, periods int, s0, s1 snapshot) phaseResult {
	req := s1.req.Minus(s0.req)
	p := phaseResult{
		name: name, period: period, periods: periods, wall: s1.at.Sub(s0.at),
		queries:         s1.queries - s0.queries,
		spread:          spreadOf(b.front.between(s0.at, s1.at), b.l.namespaceNames()),
		objectiveWrites: req.Writes("cxobjectives", "status"), teamWrites: req.Writes("cxteams", "status"),
		otherWrites: otherWrites(req),
		objChanged:  s1.objChanges - s0.objChanges, teamChanged: s1.teamChanges - s0.teamChanges,
		busiestWrites: b.tr.busiestSecond(s0.at, s1.at),
		stale:         -1,
		reconciles:    s1.mm.reconciles - s0.mm.reconciles,
		cpuMgr:        s1.cpuMgr - s0.cpuMgr, cpuAPI: s1.cpuAPI - s0.cpuAPI, cpuEtcd: s1.cpuEtcd - s0.cpuEtcd,
		heap: s1.mm.heap, allocated: s1.mm.allocated - s0.mm.allocated,
		loadStart: s0.load, loadEnd: s1.load,
	}
	p.rssMean, p.rssMax = b.mgr.RSSBetween(s0.at, s1.at)
	if _, hwm, err := benchkit.ReadMemory(b.mgr.PID()); err == nil {
		p.hwm = hwm
	}
	return p
}

// unchanged measures whole periods in which no figure changes.
func (b *bench) unchanged(period time.Duration, periods int) func(context.Context) error {
	return func(ctx context.Context) error {
		name := fmt.Sprintf("%s, figures unchanged", period)
		fmt.Printf("  measuring %d × %s: %s\n", periods, period, name)
		if err := b.mgr.ResetPeak(); err != nil {
			return fmt.Errorf("resetting the manager's VmHWM: %w", err)
		}
		s0, err := b.snapshot(ctx)
		if err != nil {
			return err
		}
		if err := benchkit.Sleep(ctx, time.Duration(periods)*period); err != nil {
			return err
		}
		s1, err := b.snapshot(ctx)
		if err != nil {
			return err
		}
		b.record(b.phase(name, period, periods, s0, s1))
		return nil
	}
}

// changing measures whole periods at the start of each of which one
// objective in changeSlices, in every namespace, changes its budget left by
// more than the status shows.
func (b *bench) changing(ctx context.Context) error {
	period, periods := b.cfg.period, b.cfg.periods
	name := fmt.Sprintf("%s, 1 in %d objectives changing each period", period, b.cfg.changeSlices)
	fmt.Printf("  measuring %d × %s: %s\n", periods, period, name)
	if err := b.mgr.ResetPeak(); err != nil {
		return fmt.Errorf("resetting the manager's VmHWM: %w", err)
	}
	s0, err := b.snapshot(ctx)
	if err != nil {
		return err
	}
	flipped := 0
	for k := range periods {
		flipped += b.model.flip(k, b.cfg.changeSlices)
		if err := benchkit.Sleep(ctx, time.Until(s0.at.Add(time.Duration(k+1)*period))); err != nil {
			return err
		}
	}
	s1, err := b.snapshot(ctx)
	if err != nil {
		return err
	}
	p := b.phase(name, period, periods, s0, s1)
	p.flippedPerPeriod = flipped / periods
	// Every namespace was read at least once after the last change; give
	// the last one's writes time to arrive.
	if err := benchkit.Sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	p.stale = b.tr.stale(b.l, b.model)
	b.record(p)
	return nil
}

// restart stops the manager and starts one with another refresh interval,
// and measures from the stop until the reader is steady again.
func (b *bench) restart(period time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		fmt.Printf("  restarting the manager with --budget-refresh-interval=%s\n", period)
		old := b.mgr
		if err := old.Stop(); err != nil {
			return err
		}
		if err := b.writeMemorySamples(old); err != nil {
			return err
		}
		s0, err := b.snapshotWithout(ctx)
		if err != nil {
			return err
		}
		if err := b.launch(ctx, period); err != nil {
			return err
		}
		s0.cpuMgr = 0
		if err := waitSettled(ctx, b.mgr, b.cfg.timeout); err != nil {
			return err
		}
		if err := b.waitSteady(ctx, period); err != nil {
			return err
		}
		s1, err := b.snapshot(ctx)
		if err != nil {
			return err
		}
		p := b.phase(fmt.Sprintf("restart with %s, until steady", period), period, 0, s0, s1)
		b.record(p)
		return nil
	}
}

// snapshotWithout is a snapshot while no manager runs.
func (b *bench) snapshotWithout(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now(), queries: b.fake.Queries(), load: benchkit.LoadAverage(),
		cpuAPI: benchkit.CPUTime(b.cl.APIServerPID), cpuEtcd: benchkit.CPUTime(b.cl.EtcdPID)}
	_, _, s.objChanges, s.teamChanges = b.tr.counts()
	var err error
	s.req, err = b.cl.Requests(ctx)
	return s, err
}

func (b *bench) record(p phaseResult) {
	b.res.phases = append(b.res.phases, p)
	fmt.Println(indent(p.text(b.cfg.namespaces, b.cfg.queryConcurrency)))
}

// writeMemorySamples writes a manager's VmRSS samples as CSV, next to its
// log.
func (b *bench) writeMemorySamples(m *benchkit.Manager) error {
	var sb strings.Builder
	sb.WriteString("unix_seconds,vmrss_bytes\n")
	for _, s := range m.Samples() {
		fmt.Fprintf(&sb, "%.2f,%d\n", float64(s.At.UnixMilli())/1000, s.RSS)
	}
	return os.WriteFile(strings.TrimSuffix(m.LogPath(), ".log")+"-rss.csv", []byte(sb.String()), 0o644)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
