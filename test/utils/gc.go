package utils

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const (
	// kubeControllerManager is the binary `make envtest` builds next to
	// kube-apiserver and etcd.
	kubeControllerManager = "kube-controller-manager"
	// gcControllerName is the garbage collector's name in
	// kube-controller-manager v1.37: its healthz check has this name.
	gcControllerName = "garbage-collector-controller"
	// gcRunningMarker is what the garbage collector logs once its informers
	// have synced (or its initial sync timed out) and its workers start.
	gcRunningMarker = "Proceeding to collect garbage"
	// gcStartTimeout bounds the wait for the garbage collector to run. Its
	// initial sync gives up after 30s and proceeds anyway.
	gcStartTimeout = 90 * time.Second
	// gcStopTimeout bounds the wait for kube-controller-manager to exit
	// after SIGTERM, after which it is killed.
	gcStopTimeout = 15 * time.Second
	// gcStartAttempts is how often a start is tried when the chosen port
	// was taken by someone else between choosing and binding it.
	gcStartAttempts = 3
)

// StartGarbageCollector starts Kubernetes' garbage collector against the
// running API server of env, so that objects whose owners (ownerReferences)
// are deleted are deleted as in a real cluster. envtest runs only
// kube-apiserver and etcd, in which dependents are never collected.
//
// It runs kube-controller-manager from env.BinaryAssetsDirectory (or
// KUBEBUILDER_ASSETS) with only the garbage collector controller enabled, no
// leader election, a single client as a system:masters user provisioned with
// env.AddUser, and its secure port on a free port of 127.0.0.1 (only for its
// healthz). Its log goes to a file in a temporary folder; errors include the
// log's tail.
//
// It returns once the garbage collector's workers run, that is its
// dependency graph has been built from the objects in the API server (at most
// gcStartTimeout). Resources (for example CRDs) added later are picked up by
// the garbage collector's discovery resync every 30 seconds, so install CRDs
// before starting it, as envtest.Environment.Start does.
//
// stop terminates kube-controller-manager and removes the temporary folder;
// call it before env.Stop. It returns an error if kube-controller-manager had
// exited on its own before. A missing binary is an error that says to run
// `make envtest`, never a reason to skip.
func StartGarbageCollector(env *envtest.Environment) (stop func() error, err error) {
	if env == nil || env.Config == nil || env.ControlPlane.APIServer == nil {
		return nil, errors.New("StartGarbageCollector: start the envtest environment first")
	}
	dir := env.BinaryAssetsDirectory
	if dir == "" {
		dir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	bin := filepath.Join(dir, kubeControllerManager)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("the garbage collector needs %s in the envtest assets (%s): run `make envtest` "+
			"(with an older ./bin that already has kube-apiserver, remove %s first): %w",
			kubeControllerManager, dir, filepath.Join(dir, "kube-apiserver"), err)
	}

	tmp, err := os.MkdirTemp("", "cx-operator-gc-")
	if err != nil {
		return nil, err
	}
	kubeconfig, err := writeGCKubeconfig(env, tmp)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}

	for attempt := 1; ; attempt++ {
		p, err := startGCProcess(bin, kubeconfig, filepath.Join(tmp, fmt.Sprintf("%s-%d.log", kubeControllerManager, attempt)))
		if err == nil {
			return func() error {
				err := p.stop()
				_ = os.RemoveAll(tmp)
				return err
			}, nil
		}
		if attempt < gcStartAttempts && errors.Is(err, errPortTaken) {
			continue
		}
		_ = os.RemoveAll(tmp)
		return nil, err
	}
}

// writeGCKubeconfig provisions a system:masters user for the garbage
// collector and writes its kubeconfig into dir.
func writeGCKubeconfig(env *envtest.Environment, dir string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "cx-garbage-collector", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("provisioning the garbage collector's user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the garbage collector's kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

var errPortTaken = errors.New("port taken")

// gcProcess is a running kube-controller-manager.
type gcProcess struct {
	cmd      *exec.Cmd
	logPath  string
	exited   chan struct{} // closed when the process has exited
	waitErr  error         // valid after exited is closed
	stopOnce sync.Once
	stopErr  error
}

func startGCProcess(bin, kubeconfig, logPath string) (*gcProcess, error) {
	addr, err := FreeAddress()
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor

	cmd := exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		// Only the garbage collector: the other controllers would need
		// nodes, service account keys, cloud settings and so on.
		"--controllers=garbagecollector",
		// One instance per test API server: no Lease, no wait to lead.
		"--leader-elect=false",
		// One client from --kubeconfig: per-controller service account
		// tokens would need the token controller and a signing key.
		"--use-service-account-credentials=false",
		// healthz only, on loopback, with an in-memory self-signed cert.
		"--bind-address=127.0.0.1",
		"--secure-port="+port,
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &gcProcess{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	if err := p.waitRunning(addr); err != nil {
		_ = p.stop()
		return nil, err
	}
	return p, nil
}

// waitRunning polls healthz until the garbage collector's check is present
// and healthy, then the log until its workers run.
func (p *gcProcess) waitRunning(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), gcStartTimeout)
	defer cancel()
	hc := &http.Client{
		Timeout: 2 * time.Second,
		// Loopback, a self-signed certificate kept in memory, only healthz.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	defer hc.CloseIdleConnections()
	url := "https://" + addr + "/healthz?verbose=1"
	healthy := false
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-p.exited:
			log := p.logTail()
			if strings.Contains(log, "address already in use") {
				return fmt.Errorf("%w: %s exited: %v\n%s", errPortTaken, kubeControllerManager, p.waitErr, log)
			}
			return fmt.Errorf("%s exited before the garbage collector ran: %v\nlog %s:\n%s",
				kubeControllerManager, p.waitErr, p.logPath, log)
		case <-ctx.Done():
			return fmt.Errorf("the garbage collector did not run within %s (healthz ok: %t)\nlog %s:\n%s",
				gcStartTimeout, healthy, p.logPath, p.logTail())
		case <-ticker.C:
		}
		if !healthy {
			healthy = gcHealthy(ctx, hc, url)
		}
		if healthy && p.logContains(gcRunningMarker) {
			return nil
		}
	}
}

// gcHealthy reports whether the verbose healthz at url is ok and lists the
// garbage collector's check as ok.
func gcHealthy(ctx context.Context, hc *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return err == nil && resp.StatusCode == http.StatusOK &&
		bytes.Contains(body, []byte("[+]"+gcControllerName+" ok"))
}

// stop sends SIGTERM, waits a bounded time, then kills. It reports an error
// if the process had exited by itself before.
func (p *gcProcess) stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			p.stopErr = fmt.Errorf("%s had exited: %v\nlog %s:\n%s", kubeControllerManager, p.waitErr, p.logPath, p.logTail())
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(gcStopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p.stopErr
}

func (p *gcProcess) logContains(s string) bool {
	b, err := os.ReadFile(p.logPath)
	return err == nil && bytes.Contains(b, []byte(s))
}

// logTail returns the last lines of the log, for error messages.
func (p *gcProcess) logTail() string {
	const maxBytes, maxLines = 8 << 10, 40
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}
