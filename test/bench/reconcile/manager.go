package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// sampleEvery is the interval of the VmRSS samples.
const sampleEvery = 100 * time.Millisecond

// startManager runs the manager with --manager-args and --manager-env, and
// with --pprof-bind-address when --manager-pprof is set.
func startManager(cfg config, kubeconfig, logPath string) (*benchkit.Manager, error) {
	args := strings.Fields(cfg.managerArg)
	if cfg.managerPprof != "" {
		args = append(args, "--pprof-bind-address="+cfg.managerPprof)
	}
	return benchkit.StartManager(benchkit.ManagerOptions{
		Binary: cfg.manager, Kubeconfig: kubeconfig, Log: logPath,
		Args: args, Env: strings.Fields(cfg.managerEnv),
		MemoryEvery: sampleEvery,
	})
}

// writeSamples writes the manager's VmRSS samples as CSV: seconds since
// the first sample, bytes.
func writeSamples(m *benchkit.Manager, path string) error {
	samples := m.Samples()
	var b strings.Builder
	b.WriteString("seconds,vmrss_bytes\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "%.1f,%d\n", s.At.Sub(samples[0].At).Seconds(), s.RSS)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// managerCounters are what the benchmark reads from the manager's metrics.
type managerCounters struct {
	// reconciles by controller name.
	reconciles map[string]float64
	// reconcileSeconds is the total reconcile time by controller name.
	reconcileSeconds map[string]float64
	// queueSeconds is the total time items waited in the queue.
	queueSeconds map[string]float64
	// depth is the work queue's depth by controller name.
	depth map[string]float64
	// unfinished is the work in progress, in seconds, by controller.
	unfinished map[string]float64
}

func counters(ctx context.Context, m *benchkit.Manager) (managerCounters, error) {
	families, err := m.Metrics(ctx)
	if err != nil {
		return managerCounters{}, err
	}
	c := managerCounters{
		reconciles: map[string]float64{}, reconcileSeconds: map[string]float64{}, queueSeconds: map[string]float64{},
		depth: map[string]float64{}, unfinished: map[string]float64{},
	}
	for _, x := range families["controller_runtime_reconcile_total"].GetMetric() {
		c.reconciles[benchkit.Labels(x)["controller"]] += x.GetCounter().GetValue()
	}
	for _, x := range families["controller_runtime_reconcile_time_seconds"].GetMetric() {
		c.reconcileSeconds[benchkit.Labels(x)["controller"]] += x.GetHistogram().GetSampleSum()
	}
	for _, x := range families["workqueue_queue_duration_seconds"].GetMetric() {
		c.queueSeconds[benchkit.Labels(x)["name"]] += x.GetHistogram().GetSampleSum()
	}
	for _, x := range families["workqueue_depth"].GetMetric() {
		c.depth[benchkit.Labels(x)["name"]] += x.GetGauge().GetValue()
	}
	for _, x := range families["workqueue_unfinished_work_seconds"].GetMetric() {
		c.unfinished[benchkit.Labels(x)["name"]] += x.GetGauge().GetValue()
	}
	return c, nil
}

// waitQuiet waits until the named controller reconciled at least
// minReconciles times since base, both controllers' queues are empty and
// nothing is in progress, and the count stayed the same for a second.
func waitQuiet(ctx context.Context, m *benchkit.Manager, controller string, base float64, minReconciles int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	last := -1.0
	var lastChange time.Time
	for {
		c, err := counters(ctx, m)
		if err != nil {
			return time.Time{}, err
		}
		n := c.reconciles[controller]
		if n != last {
			last, lastChange = n, time.Now()
		}
		idle := c.depth[objectiveController] == 0 && c.unfinished[objectiveController] == 0 &&
			c.depth[teamController] == 0 && c.unfinished[teamController] == 0
		if n-base >= float64(minReconciles) && idle && time.Since(lastChange) >= time.Second {
			return lastChange, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("the manager did not settle within %s: %.0f %s reconciles of at least %d, queue depth %.0f and %.0f",
				timeout, n-base, controller, minReconciles, c.depth[objectiveController], c.depth[teamController])
		}
		if err := benchkit.Sleep(ctx, 100*time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
}

// Controller names, as the reconcilers register them.
const (
	objectiveController = "cxobjective"
	teamController      = "cxteam"
)
