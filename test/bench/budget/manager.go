package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cxops/cx-operator/test/utils"
)

// buildManager builds ./cmd/manager into dir.
func buildManager(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/manager")
	cmd.Dir = utils.RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %w\n%s", err, b)
	}
	return out, nil
}

// managerFlags are the manager's flags that the benchmark varies.
type managerFlags struct {
	prometheusURL    string
	period           time.Duration
	queryConcurrency int
	qps              float64
	burst            int
}

// manager is a running manager binary.
type manager struct {
	cmd        *exec.Cmd
	log        string
	metricsURL string
	readyzURL  string
	exited     chan struct{}
	waitErr    error
	sampled    chan struct{}

	mu sync.Mutex
	// samples are VmRSS readings, every memoryEvery.
	samples []memorySample
}

type memorySample struct {
	at  time.Time
	rss int64
}

// memoryEvery is how often VmRSS is read.
const memoryEvery = 250 * time.Millisecond

// startManager runs the manager binary as its own process with the given
// kubeconfig: no leader election, plain-HTTP metrics and probes on free
// loopback ports.
func startManager(bin, kubeconfig, logPath string, f managerFlags) (*manager, error) {
	metricsAddr, err := utils.FreeAddress()
	if err != nil {
		return nil, err
	}
	probeAddr, err := utils.FreeAddress()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--leader-elect=false",
		"--metrics-bind-address="+metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address="+probeAddr,
		"--prometheus-url="+f.prometheusURL,
		"--budget-refresh-interval="+f.period.String(),
		"--budget-query-concurrency="+strconv.Itoa(f.queryConcurrency),
		"--kube-api-qps="+strconv.FormatFloat(f.qps, 'f', -1, 64),
		"--kube-api-burst="+strconv.Itoa(f.burst),
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &manager{
		cmd: cmd, log: logPath,
		metricsURL: "http://" + metricsAddr + "/metrics", readyzURL: "http://" + probeAddr + "/readyz",
		exited: make(chan struct{}), sampled: make(chan struct{}),
	}
	go func() {
		m.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(m.exited)
	}()
	go m.sampleMemory()
	return m, nil
}

func (m *manager) pid() int { return m.cmd.Process.Pid }

func (m *manager) sampleMemory() {
	defer close(m.sampled)
	t := time.NewTicker(memoryEvery)
	defer t.Stop()
	for {
		if rss, _, err := memoryOf(m.pid()); err == nil {
			m.mu.Lock()
			m.samples = append(m.samples, memorySample{at: time.Now(), rss: rss})
			m.mu.Unlock()
		}
		select {
		case <-m.exited:
			return
		case <-t.C:
		}
	}
}

// rssBetween returns the mean and the largest VmRSS sampled in [from, to].
func (m *manager) rssBetween(from, to time.Time) (mean, top int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum, n int64
	for _, s := range m.samples {
		if s.at.Before(from) || s.at.After(to) {
			continue
		}
		sum += s.rss
		n++
		top = max(top, s.rss)
	}
	if n == 0 {
		return 0, 0
	}
	return sum / n, top
}

// resetPeak sets the process's VmHWM back to its current VmRSS (Linux 4.0
// and later), so that VmHWM at the end of a phase is that phase's peak.
func (m *manager) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", m.pid()), []byte("5"), 0)
}

// memoryOf reads VmRSS and VmHWM of a process, in bytes.
func memoryOf(pid int) (rss, hwm int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("reading %s of process %d: %w", key, pid, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// waitReady waits until the manager's readiness probe answers 200.
func (m *manager) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-m.exited:
			return fmt.Errorf("the manager exited before it was ready: %v\n%s", m.waitErr, tail(m.log))
		default:
		}
		if ok200(ctx, m.readyzURL) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager was not ready after %s\n%s", timeout, tail(m.log))
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func ok200(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop sends SIGTERM, as a pod's termination does, and waits.
func (m *manager) stop() error {
	select {
	case <-m.exited:
	default:
		if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stopping the manager: %w", err)
		}
		select {
		case <-m.exited:
		case <-time.After(30 * time.Second):
			if err := m.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				return fmt.Errorf("killing the manager: %w", err)
			}
			<-m.exited
		}
	}
	<-m.sampled
	return nil
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

func (m *manager) metrics(ctx context.Context) (managerMetrics, error) {
	families, err := scrape(ctx, http.DefaultClient, m.metricsURL)
	if err != nil {
		return managerMetrics{}, fmt.Errorf("reading the manager's metrics: %w", err)
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
func (m *manager) waitSettled(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last, since := -1.0, time.Now()
	for {
		mm, err := m.metrics(ctx)
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
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(raw) > 4000 {
		raw = raw[len(raw)-4000:]
	}
	return string(raw)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
