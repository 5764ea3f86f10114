package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/cxops/cx-operator/test/utils"
)

// ManagerBinary returns the absolute path of the manager binary to run:
// bin, or, when bin is empty, ./cmd/manager built into dir.
func ManagerBinary(ctx context.Context, bin, dir string) (string, error) {
	if bin == "" {
		var err error
		if bin, err = buildManager(ctx, dir); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", fmt.Errorf("finding the manager binary: %w", err)
	}
	return abs, nil
}

// buildManager builds ./cmd/manager into dir, as `make build` does.
func buildManager(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/manager")
	cmd.Dir = utils.RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %w\n%s", err, b)
	}
	return out, nil
}

// ManagerOptions say how to run the manager.
type ManagerOptions struct {
	// Binary is the manager binary, Kubeconfig the file it runs with and
	// Log the file its output goes to.
	Binary, Kubeconfig, Log string
	// Args come after the flags every run has; Env after this process's
	// environment and KUBECONFIG.
	Args, Env []string
	// MemoryEvery is how often VmRSS is sampled; it must be positive.
	MemoryEvery time.Duration
}

// Manager is a running manager binary, with its VmRSS sampled until it
// exits.
type Manager struct {
	cmd        *exec.Cmd
	log        string
	metricsURL string
	readyzURL  string
	exited     chan struct{}
	waitErr    error
	sampled    chan struct{}

	mu sync.Mutex
	// samples are VmRSS readings, every MemoryEvery and on each Peak.
	samples []MemorySample
	// hwm is the last VmHWM read, the peak resident set size.
	hwm int64
}

// MemorySample is one VmRSS reading.
type MemorySample struct {
	At  time.Time
	RSS int64
}

// StartManager runs the manager as a user would: its own process, the
// kubeconfig in KUBECONFIG, no leader election (one replica), plain-HTTP
// metrics and probes on free loopback ports.
func StartManager(o ManagerOptions) (*Manager, error) {
	metricsAddr, err := utils.FreeAddress()
	if err != nil {
		return nil, err
	}
	probeAddr, err := utils.FreeAddress()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(o.Log)
	if err != nil {
		return nil, fmt.Errorf("creating the manager's log: %w", err)
	}
	args := append([]string{
		"--leader-elect=false",
		"--metrics-bind-address=" + metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address=" + probeAddr,
	}, o.Args...)
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+o.Kubeconfig), o.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &Manager{
		cmd: cmd, log: o.Log,
		metricsURL: "http://" + metricsAddr + "/metrics", readyzURL: "http://" + probeAddr + "/readyz",
		exited: make(chan struct{}), sampled: make(chan struct{}),
	}
	go func() {
		m.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(m.exited)
	}()
	go m.sampleMemory(o.MemoryEvery)
	return m, nil
}

// PID is the manager's process id.
func (m *Manager) PID() int { return m.cmd.Process.Pid }

// LogPath is the file the manager's output goes to.
func (m *Manager) LogPath() string { return m.log }

// sampleMemory reads VmRSS and VmHWM until the process exits.
func (m *Manager) sampleMemory(every time.Duration) {
	defer close(m.sampled)
	t := time.NewTicker(every)
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

func (m *Manager) readMemory() {
	rss, hwm, err := ReadMemory(m.PID())
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, MemorySample{At: time.Now(), RSS: rss})
	m.hwm = hwm
}

// Peak reads VmHWM afresh, in bytes; the VmRSS read with it counts as a
// sample.
func (m *Manager) Peak() int64 {
	m.readMemory()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hwm
}

// ResetPeak sets the process's VmHWM back to its current VmRSS (Linux 4.0
// and later), so that VmHWM at the end of a phase is that phase's peak.
func (m *Manager) ResetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", m.PID()), []byte("5"), 0)
}

// RSSBetween returns the mean and the largest VmRSS sampled in [from, to].
func (m *Manager) RSSBetween(from, to time.Time) (mean, top int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum, n int64
	for _, s := range m.samples {
		if s.At.Before(from) || s.At.After(to) {
			continue
		}
		sum += s.RSS
		n++
		top = max(top, s.RSS)
	}
	if n == 0 {
		return 0, 0
	}
	return sum / n, top
}

// RSSLast returns the last VmRSS sampled, 0 before the first.
func (m *Manager) RSSLast() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) == 0 {
		return 0
	}
	return m.samples[len(m.samples)-1].RSS
}

// Samples returns a copy of the VmRSS samples so far.
func (m *Manager) Samples() []MemorySample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]MemorySample(nil), m.samples...)
}

// WaitReady waits until the manager's readiness probe answers 200.
func (m *Manager) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-m.exited:
			return fmt.Errorf("the manager exited before it was ready: %v\n%s", m.waitErr, LogTail(m.log))
		default:
		}
		if ok200(ctx, m.readyzURL) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager was not ready after %s\n%s", timeout, LogTail(m.log))
		}
		if err := Sleep(ctx, 100*time.Millisecond); err != nil {
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

// Stop ends the manager with SIGTERM, as a pod's termination does, kills
// it if it has not exited after 30 seconds, and waits for it.
func (m *Manager) Stop() error {
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

// Metrics reads the manager's own metrics.
func (m *Manager) Metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	families, err := Scrape(ctx, http.DefaultClient, m.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("reading the manager's metrics: %w", err)
	}
	return families, nil
}

// LogTail is the end of a log file, for error messages.
func LogTail(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	const limit = 4000
	if len(raw) > limit {
		raw = raw[len(raw)-limit:]
	}
	return string(raw)
}
