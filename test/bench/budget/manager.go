package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// managerFlags are the manager's flags that the benchmark varies.
type managerFlags struct {
	prometheusURL    string
	period           time.Duration
	queryConcurrency int
	qps              float64
	burst            int
}

// args are the flags on the manager's command line.
func (f managerFlags) args() []string {
	return []string{
		"--prometheus-url=" + f.prometheusURL,
		"--budget-refresh-interval=" + f.period.String(),
		"--budget-query-concurrency=" + strconv.Itoa(f.queryConcurrency),
		"--kube-api-qps=" + strconv.FormatFloat(f.qps, 'f', -1, 64),
		"--kube-api-burst=" + strconv.Itoa(f.burst),
	}
}

// memoryEvery is how often VmRSS is read.
const memoryEvery = 250 * time.Millisecond

// startManager runs the manager binary with the given kubeconfig and
// flags.
func startManager(bin, kubeconfig, logPath string, f managerFlags) (*benchkit.Manager, error) {
	return benchkit.StartManager(benchkit.ManagerOptions{
		Binary: bin, Kubeconfig: kubeconfig, Log: logPath, Args: f.args(), MemoryEvery: memoryEvery,
	})
}

// managerMetrics are the manager's own metrics the benchmark reads.
type managerMetrics struct {
	// reconciles of both controllers.
	reconciles float64
	// busy says whether a work queue holds or works on an item.
	busy bool
	// allocated is go_memstats_alloc_bytes_total; heap is
	// go_memstats_heap_inuse_bytes.
	allocated, heap float64
}

func readMetrics(ctx context.Context, m *benchkit.Manager) (managerMetrics, error) {
	families, err := m.Metrics(ctx)
	if err != nil {
		return managerMetrics{}, err
	}
	var out managerMetrics
	for _, x := range families["controller_runtime_reconcile_total"].GetMetric() {
		out.reconciles += x.GetCounter().GetValue()
	}
	for _, name := range []string{"workqueue_depth", "workqueue_unfinished_work_seconds"} {
		for _, x := range families[name].GetMetric() {
			if x.GetGauge().GetValue() != 0 {
				out.busy = true
			}
		}
	}
	for _, x := range families["go_memstats_alloc_bytes_total"].GetMetric() {
		out.allocated = x.GetCounter().GetValue()
	}
	for _, x := range families["go_memstats_heap_inuse_bytes"].GetMetric() {
		out.heap = x.GetGauge().GetValue()
	}
	return out, nil
}

// waitSettled waits until the controllers' queues are empty, nothing is
// being reconciled and the reconcile count has stood still for two seconds.
func waitSettled(ctx context.Context, m *benchkit.Manager, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last, since := -1.0, time.Now()
	for {
		mm, err := readMetrics(ctx, m)
		if err != nil {
			return err
		}
		if mm.reconciles != last || mm.busy {
			last, since = mm.reconciles, time.Now()
		}
		if time.Since(since) >= 2*time.Second {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager's controllers did not settle within %s", timeout)
		}
		if err := benchkit.Sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}
