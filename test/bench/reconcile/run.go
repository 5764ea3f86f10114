package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// snapshot is every counter the benchmark reads, at one moment.
type snapshot struct {
	at       time.Time
	requests benchkit.Requests
	etcd     map[string]float64
	manager  managerCounters
	watch    watchCounts
	// cpu of the manager, the API server, etcd and this process.
	cpuManager, cpuAPIServer, cpuEtcd, cpuSelf time.Duration
}

// phase is what happened between two snapshots.
type phase struct {
	name     string
	wall     time.Duration
	requests benchkit.Requests
	etcd     map[string]float64
	watch    watchCounts
	// reconciles by controller, and their total duration.
	reconciles, reconcileSeconds, queueSeconds map[string]float64
	cpuManager, cpuAPIServer, cpuEtcd, cpuSelf time.Duration
}

func between(name string, a, b snapshot) phase {
	p := phase{
		name: name, wall: b.at.Sub(a.at), requests: b.requests.Minus(a.requests), etcd: map[string]float64{},
		watch:      b.watch.sub(a.watch),
		reconciles: map[string]float64{}, reconcileSeconds: map[string]float64{}, queueSeconds: map[string]float64{},
		cpuManager: b.cpuManager - a.cpuManager, cpuAPIServer: b.cpuAPIServer - a.cpuAPIServer,
		cpuEtcd: b.cpuEtcd - a.cpuEtcd, cpuSelf: b.cpuSelf - a.cpuSelf,
	}
	for k, v := range b.etcd {
		if d := v - a.etcd[k]; d != 0 {
			p.etcd[k] = d
		}
	}
	for _, c := range []string{objectiveController, teamController} {
		p.reconciles[c] = b.manager.reconciles[c] - a.manager.reconciles[c]
		p.reconcileSeconds[c] = b.manager.reconcileSeconds[c] - a.manager.reconcileSeconds[c]
		p.queueSeconds[c] = b.manager.queueSeconds[c] - a.manager.queueSeconds[c]
	}
	return p
}

// result is the outcome of one size.
type result struct {
	n, teams, namespaces, workers int
	loadAvg                       string
	warmup                        time.Duration
	teamsReady                    time.Duration
	// Since the first create of an objective.
	createsDone, lastRule, allReady, settled time.Duration
	ruleLatency, readyLatency                []time.Duration
	// peakRSS is the first manager's VmHWM when every objective was Ready
	// and the manager had settled; peakRSSEnd after the team touch;
	// peakRSSRestart the restarted manager's after it re-listed everything.
	peakRSS, peakRSSEnd, peakRSSRestart int64
	// rssStart is VmRSS once the manager was ready, before any object;
	// rssSampledMax the largest VmRSS sampled while creating.
	rssStart, rssSettled, rssSampledMax int64
	load, idle, touch, restart          phase
	restartSettled                      time.Duration
	// Sizes of one stored PrometheusRule and CXObjective as JSON, with and
	// without managedFields.
	ruleBytes, ruleBytesNoMF, objBytes, objBytesNoMF int
	managerLog                                       string
}

// sizeRun is one size on a fresh control plane and a fresh manager.
type sizeRun struct {
	cfg config
	n   int
	dir string
	l   layout
	res *result
	cp  *benchkit.ControlPlane
	c   client.Client
	mgr *benchkit.Manager
	obs *observer
	// last is the snapshot at the end of the last phase.
	last snapshot
}

// runSize runs one size: set up, create, nothing changed, restart.
func runSize(ctx context.Context, cfg config, n int, dir string) (res *result, err error) {
	fmt.Printf("== %d objectives, %d teams in %d namespaces\n", n, cfg.teams, cfg.namespaces)
	r := &sizeRun{
		cfg: cfg, n: n, dir: dir, l: layout{teams: cfg.teams, namespaces: cfg.namespaces, lastApplied: cfg.lastApplied},
		res: &result{n: n, teams: cfg.teams, namespaces: cfg.namespaces, workers: cfg.workers, loadAvg: benchkit.LoadAverage()},
	}
	if r.cp, err = startControlPlane(dir); err != nil {
		return nil, err
	}
	// The observer's watches end before the control plane stops.
	obsCtx, stopObserver := context.WithCancel(ctx)
	defer func() {
		stopObserver()
		if r.mgr != nil {
			err = errors.Join(err, r.mgr.Stop())
		}
		err = errors.Join(err, r.cp.Stop())
	}()
	for _, step := range []func(context.Context) error{
		func(ctx context.Context) error { return r.setUp(ctx, obsCtx) },
		r.create, r.nothingChanged, r.restart,
	} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return r.res, nil
}

// setUp starts the manager, warms up, creates the teams and starts the
// observer.
func (r *sizeRun) setUp(ctx, obsCtx context.Context) error {
	var err error
	r.c = r.cp.Client
	r.res.managerLog = filepath.Join(r.dir, "manager-1.log")
	if r.mgr, err = startManager(r.cfg, r.cp.ManagerKubeconfig, r.res.managerLog); err != nil {
		return err
	}
	if err := r.mgr.WaitReady(ctx, time.Minute); err != nil {
		return err
	}
	if rss, _, err := benchkit.ReadMemory(r.mgr.PID()); err == nil {
		r.res.rssStart = rss
	}
	if r.res.warmup, err = warmUp(ctx, r.c, r.l); err != nil {
		return err
	}
	fmt.Printf("  warm-up (one team, one objective): %s\n", round(r.res.warmup))
	if r.res.teamsReady, err = createTeams(ctx, r.c, r.cfg, r.l); err != nil {
		return err
	}
	fmt.Printf("  %d teams Ready in %s\n", r.cfg.teams, round(r.res.teamsReady))
	if r.obs, err = startObserver(obsCtx, r.cp.Admin, r.n); err != nil {
		return err
	}
	base, err := counters(ctx, r.mgr)
	if err != nil {
		return err
	}
	if _, err := waitQuiet(ctx, r.mgr, objectiveController, base.reconciles[objectiveController], 0, r.cfg.timeout); err != nil {
		return err
	}
	r.last, err = takeSnapshot(ctx, r.cp, r.mgr, r.obs)
	return err
}

// create is the timed part: create every objective, wait for the rules
// and Ready, then for the manager to settle.
func (r *sizeRun) create(ctx context.Context) error {
	s0, res := r.last, r.res
	profiles := startProfiles(ctx, r.cfg, r.cp, r.n)
	created, err := benchkit.CreateAll(ctx, r.c, r.cfg.workers, r.n, func(i int) client.Object { return r.l.objective(i) })
	if err != nil {
		return err
	}
	res.createsDone = time.Since(s0.at)
	fmt.Printf("  %d creates done in %s\n", r.n, round(res.createsDone))
	if err := r.obs.waitAll(ctx, r.cfg.timeout, s0.at); err != nil {
		return fmt.Errorf("waiting for the rules and Ready: %w\n%s", err, benchkit.LogTail(r.mgr.LogPath()))
	}
	settledAt, err := waitQuiet(ctx, r.mgr, objectiveController, s0.manager.reconciles[objectiveController], r.n, r.cfg.timeout)
	if err != nil {
		return err
	}
	res.settled = settledAt.Sub(s0.at)
	if r.last, err = takeSnapshot(ctx, r.cp, r.mgr, r.obs); err != nil {
		return err
	}
	res.load = between("create", s0, r.last)
	if err := profiles.finish(ctx, r.cfg, r.n); err != nil {
		return err
	}
	res.peakRSS, res.rssSettled = r.mgr.Peak(), r.mgr.RSSLast()
	_, res.rssSampledMax = r.mgr.RSSBetween(s0.at, r.last.at)
	ruleAt, readyAt := r.obs.times()
	res.lastRule = slices.MaxFunc(ruleAt, func(a, b time.Time) int { return a.Compare(b) }).Sub(s0.at)
	res.allReady = slices.MaxFunc(readyAt, func(a, b time.Time) int { return a.Compare(b) }).Sub(s0.at)
	for i := range r.n {
		res.ruleLatency = append(res.ruleLatency, max(0, ruleAt[i].Sub(created[i])))
		res.readyLatency = append(res.readyLatency, max(0, readyAt[i].Sub(created[i])))
	}
	fmt.Printf("  last rule after %s, all Ready after %s, settled after %s\n", round(res.lastRule), round(res.allReady), round(res.settled))
	return res.measureSizes(ctx, r.c, r.l)
}

// nothingChanged waits idle, then adds a channel to every team, which
// reconciles every team (a new receiver) and changes no rule: objectives
// do not read channels, so their controller is not woken.
func (r *sizeRun) nothingChanged(ctx context.Context) error {
	fmt.Printf("  idle for %s\n", r.cfg.idle)
	if err := benchkit.Sleep(ctx, r.cfg.idle); err != nil {
		return err
	}
	s2, err := takeSnapshot(ctx, r.cp, r.mgr, r.obs)
	if err != nil {
		return err
	}
	r.res.idle = between("idle", r.last, s2)
	fmt.Printf("  adding a channel to every team\n")
	if err := touchTeams(ctx, r.c, r.l); err != nil {
		return err
	}
	if _, err := waitQuiet(ctx, r.mgr, teamController, s2.manager.reconciles[teamController], r.l.teams, r.cfg.timeout); err != nil {
		return err
	}
	if r.last, err = takeSnapshot(ctx, r.cp, r.mgr, r.obs); err != nil {
		return err
	}
	r.res.touch = between("team touch", s2, r.last)
	r.res.peakRSSEnd = r.mgr.Peak()
	return writeSamples(r.mgr, filepath.Join(r.dir, "rss-1.csv"))
}

// restart stops the manager and starts a new one, which lists everything
// and reconciles every objective once.
func (r *sizeRun) restart(ctx context.Context) error {
	if err := dumpObjective(ctx, r.c, r.l, filepath.Join(r.dir, "objective-before-restart.yaml")); err != nil {
		return err
	}
	if err := r.mgr.Stop(); err != nil {
		return err
	}
	fmt.Printf("  restarting the manager\n")
	s4, err := takeSnapshot(ctx, r.cp, nil, r.obs)
	if err != nil {
		return err
	}
	if r.mgr, err = startManager(r.cfg, r.cp.ManagerKubeconfig, filepath.Join(r.dir, "manager-2.log")); err != nil {
		return err
	}
	if err := r.mgr.WaitReady(ctx, time.Minute); err != nil {
		return err
	}
	restartedAt, err := waitQuiet(ctx, r.mgr, objectiveController, 0, r.n, r.cfg.timeout)
	if err != nil {
		return err
	}
	r.res.restartSettled = restartedAt.Sub(s4.at)
	s5, err := takeSnapshot(ctx, r.cp, r.mgr, r.obs)
	if err != nil {
		return err
	}
	r.res.restart = between("restart", s4, s5)
	r.res.peakRSSRestart = r.mgr.Peak()
	if err := writeSamples(r.mgr, filepath.Join(r.dir, "rss-2.csv")); err != nil {
		return err
	}
	return dumpObjective(ctx, r.c, r.l, filepath.Join(r.dir, "objective-after-restart.yaml"))
}

// takeSnapshot reads every counter; mgr may be nil (before a start).
func takeSnapshot(ctx context.Context, cp *benchkit.ControlPlane, mgr *benchkit.Manager, obs *observer) (snapshot, error) {
	s := snapshot{at: time.Now(), watch: obs.counts(), cpuAPIServer: benchkit.CPUTime(cp.APIServerPID), cpuEtcd: benchkit.CPUTime(cp.EtcdPID)}
	s.cpuSelf = benchkit.CPUTime(selfPID)
	var err error
	if s.requests, s.etcd, err = apiserverMetrics(ctx, cp); err != nil {
		return s, err
	}
	if mgr == nil {
		s.manager = managerCounters{reconciles: map[string]float64{}, reconcileSeconds: map[string]float64{}, queueSeconds: map[string]float64{}}
		return s, nil
	}
	s.cpuManager = benchkit.CPUTime(mgr.PID())
	if s.manager, err = counters(ctx, mgr); err != nil {
		return s, err
	}
	return s, nil
}

// warmUp creates one team and one objective in a namespace of their own
// and waits for the rule and Ready: the first create of each custom
// resource on a fresh control plane stalls, and the manager's informers
// start on first use.
func warmUp(ctx context.Context, c client.Client, l layout) (time.Duration, error) {
	start := time.Now()
	const ns = "bench-warmup"
	if err := benchkit.CreateNamespaces(ctx, c, ns); err != nil {
		return 0, err
	}
	team := l.team(0)
	team.Namespace = ns
	if err := c.Create(ctx, team); err != nil {
		return 0, fmt.Errorf("creating the warm-up team: %w", err)
	}
	obj := l.objective(0)
	obj.Name, obj.Namespace, obj.Spec.Stakeholders = "warm-up", ns, nil
	if err := c.Create(ctx, obj); err != nil {
		return 0, fmt.Errorf("creating the warm-up objective: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		live := &cxv1alpha1.CXObjective{}
		rule := &metav1.PartialObjectMetadata{}
		rule.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PrometheusRuleKind))
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			return 0, err
		}
		ruleErr := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: desired.RuleName(obj.Name)}, rule)
		if ruleErr == nil && isReady(live) {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("the warm-up objective got no rule or was not Ready within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// createTeams creates the namespaces and the teams and waits until every
// team is Ready.
func createTeams(ctx context.Context, c client.Client, cfg config, l layout) (time.Duration, error) {
	start := time.Now()
	var names []string
	for i := range cfg.namespaces {
		names = append(names, namespaceName(i))
	}
	if err := benchkit.CreateNamespaces(ctx, c, names...); err != nil {
		return 0, err
	}
	if _, err := benchkit.CreateAll(ctx, c, cfg.workers, cfg.teams, func(k int) client.Object { return l.team(k) }); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(cfg.timeout)
	for {
		var list cxv1alpha1.CXTeamList
		if err := c.List(ctx, &list); err != nil {
			return 0, err
		}
		ready := 0
		for i := range list.Items {
			if t := &list.Items[i]; t.Namespace != "bench-warmup" && t.Status.ObservedGeneration == t.Generation &&
				teamReady(t) {
				ready++
			}
		}
		if ready == cfg.teams {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d teams Ready after %s", ready, cfg.teams, cfg.timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func teamReady(t *cxv1alpha1.CXTeam) bool {
	for _, c := range t.Status.Conditions {
		if c.Type == cxv1alpha1.ConditionReady {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// dumpObjective writes the first objective as stored, managedFields and
// all, so that a write that should not have happened can be explained.
func dumpObjective(ctx context.Context, c client.Client, l layout, path string) error {
	obj := &cxv1alpha1.CXObjective{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(l.objective(0)), obj); err != nil {
		return fmt.Errorf("reading an objective: %w", err)
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// measureSizes reads one generated rule and one objective as stored, to
// show what managedFields add to the manager's cache.
func (r *result) measureSizes(ctx context.Context, c client.Client, l layout) error {
	obj := l.objective(0)
	size := func(gvk string, key client.ObjectKey) (int, int, error) {
		u := &unstructured.Unstructured{}
		apiVersion, kind, _ := strings.Cut(gvk, "|")
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		if err := c.Get(ctx, key, u); err != nil {
			return 0, 0, fmt.Errorf("reading %s %s: %w", kind, key, err)
		}
		full, err := json.Marshal(u.Object)
		if err != nil {
			return 0, 0, err
		}
		u.SetManagedFields(nil)
		stripped, err := json.Marshal(u.Object)
		return len(full), len(stripped), err
	}
	var err error
	ruleGVK := monitoringv1.SchemeGroupVersion.String() + "|" + monitoringv1.PrometheusRuleKind
	if r.ruleBytes, r.ruleBytesNoMF, err = size(ruleGVK, client.ObjectKey{Namespace: obj.Namespace, Name: desired.RuleName(obj.Name)}); err != nil {
		return err
	}
	objGVK := cxv1alpha1.GroupVersion.String() + "|CXObjective"
	r.objBytes, r.objBytesNoMF, err = size(objGVK, client.ObjectKeyFromObject(obj))
	return err
}
