package stack

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

	"github.com/cxops/cx-operator/test/utils"
)

// process is one child process of the stack, with its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	// done is closed when the process has exited; exitErr is then set.
	done    chan struct{}
	exitErr error

	mu       sync.Mutex
	stopping bool
}

// startProcess starts bin with args and env (added to the harness's own
// environment, later entries winning), its stdout and stderr in
// logDir/name.log.
func (s *Stack) startProcess(name, bin string, args, env []string) (*process, error) {
	logPath := filepath.Join(s.opts.LogDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Dir = s.workDir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("starting %s (%s): %w", name, bin, err), f.Close())
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: f, done: make(chan struct{})}
	s.Logf("started %s (pid %d), log %s", name, cmd.Process.Pid, logPath)
	go func() {
		err := cmd.Wait()
		if !p.isStopping() {
			// A server that ends by itself is a failure of the stack:
			// say so at once, Stop reports it too.
			s.Logf("%s exited by itself: %v; see %s", name, exitText(err), logPath)
		}
		p.exitErr = err
		close(p.done)
	}()
	s.procs = append(s.procs, p)
	return p, nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// isStopping reports whether stop was called.
func (p *process) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

// stop ends the process: SIGTERM, then SIGKILL after grace. It returns an
// error if the process had ended by itself, exited with a failure, or had to
// be killed; and closes the log file.
func (p *process) stop(grace time.Duration) error {
	p.mu.Lock()
	already := p.stopping
	p.stopping = true
	p.mu.Unlock()
	if already {
		return nil
	}
	var errs []error
	if p.exited() {
		errs = append(errs, fmt.Errorf("%s had exited before Stop: %s (see %s)", p.name, exitText(p.exitErr), p.logPath))
	} else {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("sending SIGTERM to %s: %w", p.name, err))
		}
		timer := time.NewTimer(grace)
		select {
		case <-p.done:
			timer.Stop()
			if !cleanExit(p.exitErr) {
				errs = append(errs, fmt.Errorf("%s did not exit cleanly on SIGTERM: %s (see %s)", p.name, exitText(p.exitErr), p.logPath))
			}
		case <-timer.C:
			errs = append(errs, fmt.Errorf("%s did not exit within %s of SIGTERM; killed it (see %s)", p.name, grace, p.logPath))
			if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("killing %s: %w", p.name, err))
			}
			<-p.done
		}
	}
	if err := p.logFile.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the log of %s: %w", p.name, err))
	}
	return errors.Join(errs...)
}

// cleanExit reports whether a process ended as asked: status 0, or killed by
// the SIGTERM it was sent (a program without a handler for it).
func cleanExit(err error) bool {
	if err == nil {
		return true
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return true
		}
	}
	return false
}

// waitHTTP polls url until it answers 200, the process exits, or ctx ends.
func waitHTTP(ctx context.Context, p *process, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if p != nil && p.exited() {
			return false, stopPolling(fmt.Errorf("%s exited while starting: %s (see %s)", p.name, exitText(p.exitErr), p.logPath))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, stopPolling(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return true, nil
	})
}

// FreeAddress returns "127.0.0.1:PORT" with a port that was free a moment
// ago and that this process has not handed out before. Use it for the
// addresses of a manager's flags (metrics, health probes) in
// Options.ManagerArgs.
func FreeAddress() (string, error) { return utils.FreeAddress() }
