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

// buildManager builds ./cmd/manager into dir, as `make build` does.
func buildManager(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/manager")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %w\n%s", err, b)
	}
	return out, nil
}

// managerProcess is a running manager binary.
type managerProcess struct {
	cmd         *exec.Cmd
	logPath     string
	metricsURL  string
	readyzURL   string
	exited      chan struct{}
	waitErr     error
	samplerDone chan struct{}

	mu sync.Mutex
	// rss are VmRSS samples, every sampleEvery.
	rss []rssSample
	// hwm is the last VmHWM read, the peak resident set size.
	hwm int64
}

type rssSample struct {
	at  time.Time
	rss int64
}

// sampleEvery is the interval of the VmRSS samples.
const sampleEvery = 100 * time.Millisecond

// managerCommand is what the benchmark adds to the manager's command line
// and environment.
type managerCommand struct {
	args, env []string
}

// startManager runs the manager as a user would: its own process, the
// kubeconfig in KUBECONFIG, no leader election, plain HTTP metrics on a
// free loopback port.
func startManager(bin, kubeconfig, logPath string, extra managerCommand) (*managerProcess, error) {
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
	args := append([]string{
		"--leader-elect=false",
		"--metrics-bind-address=" + metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address=" + probeAddr,
	}, extra.args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), extra.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &managerProcess{
		cmd: cmd, logPath: logPath,
		metricsURL: "http://" + metricsAddr + "/metrics", readyzURL: "http://" + probeAddr + "/readyz",
		exited: make(chan struct{}), samplerDone: make(chan struct{}),
	}
	go func() {
		m.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(m.exited)
	}()
	go m.sample()
	return m, nil
}

func (m *managerProcess) pid() int { return m.cmd.Process.Pid }

// sample reads VmRSS and VmHWM until the process exits.
func (m *managerProcess) sample() {
	defer close(m.samplerDone)
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		m.readMemory()
		select {
		case <-m.exited:
			return
		case <-t.C:
		}
	}
}

func (m *managerProcess) readMemory() {
	rss, hwm, err := readMemory(m.pid())
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rss = append(m.rss, rssSample{at: time.Now(), rss: rss})
	m.hwm = hwm
}

// peak returns the last VmHWM read, in bytes, after reading it afresh.
func (m *managerProcess) peak() int64 {
	m.readMemory()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hwm
}

// rssMax returns the largest VmRSS sampled in [from, to].
func (m *managerProcess) rssMax(from, to time.Time) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var top int64
	for _, s := range m.rss {
		if !s.at.Before(from) && !s.at.After(to) && s.rss > top {
			top = s.rss
		}
	}
	return top
}

// writeSamples writes the VmRSS samples as CSV: seconds since the first
// sample, bytes.
func (m *managerProcess) writeSamples(path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("seconds,vmrss_bytes\n")
	for _, s := range m.rss {
		fmt.Fprintf(&b, "%.1f,%d\n", s.at.Sub(m.rss[0].at).Seconds(), s.rss)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// rssLast returns the last VmRSS sampled.
func (m *managerProcess) rssLast() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rss) == 0 {
		return 0
	}
	return m.rss[len(m.rss)-1].rss
}

// readMemory reads VmRSS and VmHWM of a process, in bytes.
func readMemory(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
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

// waitReady waits for the manager's readiness probe.
func (m *managerProcess) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-m.exited:
			return fmt.Errorf("the manager exited before it was ready: %v\n%s", m.waitErr, logTail(m.logPath))
		default:
		}
		if ok := probe(ctx, m.readyzURL); ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager was not ready after %s\n%s", timeout, logTail(m.logPath))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func probe(ctx context.Context, url string) bool {
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

// stop ends the manager with SIGTERM, as a pod's termination does, and
// waits for it to exit.
func (m *managerProcess) stop() error {
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
	<-m.samplerDone
	return nil
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

func (m *managerProcess) counters(ctx context.Context) (managerCounters, error) {
	families, err := scrape(ctx, http.DefaultClient, m.metricsURL)
	if err != nil {
		return managerCounters{}, fmt.Errorf("reading the manager's metrics: %w", err)
	}
	c := managerCounters{
		reconciles: map[string]float64{}, reconcileSeconds: map[string]float64{}, queueSeconds: map[string]float64{},
		depth: map[string]float64{}, unfinished: map[string]float64{},
	}
	for _, x := range families["controller_runtime_reconcile_total"].GetMetric() {
		c.reconciles[labels(x)["controller"]] += x.GetCounter().GetValue()
	}
	for _, x := range families["controller_runtime_reconcile_time_seconds"].GetMetric() {
		c.reconcileSeconds[labels(x)["controller"]] += x.GetHistogram().GetSampleSum()
	}
	for _, x := range families["workqueue_queue_duration_seconds"].GetMetric() {
		c.queueSeconds[labels(x)["name"]] += x.GetHistogram().GetSampleSum()
	}
	for _, x := range families["workqueue_depth"].GetMetric() {
		c.depth[labels(x)["name"]] += x.GetGauge().GetValue()
	}
	for _, x := range families["workqueue_unfinished_work_seconds"].GetMetric() {
		c.unfinished[labels(x)["name"]] += x.GetGauge().GetValue()
	}
	return c, nil
}

// waitQuiet waits until the objective controller reconciled at least
// minReconciles times since base, its queue is empty and nothing is in
// progress, and the count stayed the same for a second.
func (m *managerProcess) waitQuiet(ctx context.Context, base float64, minReconciles int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	last := -1.0
	var lastChange time.Time
	for {
		c, err := m.counters(ctx)
		if err != nil {
			return time.Time{}, err
		}
		n := c.reconciles[objectiveController]
		if n != last {
			last, lastChange = n, time.Now()
		}
		idle := c.depth[objectiveController] == 0 && c.unfinished[objectiveController] == 0 &&
			c.depth[teamController] == 0 && c.unfinished[teamController] == 0
		if n-base >= float64(minReconciles) && idle && time.Since(lastChange) >= time.Second {
			return lastChange, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("the manager did not settle within %s: %.0f objective reconciles of at least %d, queue depth %.0f",
				timeout, n-base, minReconciles, c.depth[objectiveController])
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Controller names, as the reconcilers register them.
const (
	objectiveController = "cxobjective"
	teamController      = "cxteam"
)

// logTail returns the end of a log file, for error messages.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	const limit = 4000
	if len(data) > limit {
		data = data[len(data)-limit:]
	}
	return string(data)
}
