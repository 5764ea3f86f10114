package benchkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cxops/cx-operator/test/utils"
)

// Main runs a benchmark command: run gets a context that ends on SIGINT
// or SIGTERM, so that the control plane and the manager are stopped on the
// way out, and an error ends the process with status 1.
func Main(command string, run func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", command, err)
		os.Exit(1)
	}
}

// Unknown stands for a machine fact that could not be read.
const Unknown = "unknown"

// InWorkDir runs body in a new temporary work folder for manager logs,
// kubeconfigs and samples, with controller-runtime's own logs (envtest,
// the benchmark's informers) in bench.log there rather than between the
// results. The folder is removed afterwards, unless keep is set or body
// fails: then it says where the folder is, whose contents (holds) explain
// a failure.
func InWorkDir(command, holds string, keep bool, body func(dir string) error) error {
	dir, err := os.MkdirTemp("", command+"-")
	if err != nil {
		return fmt.Errorf("creating the work folder: %w", err)
	}
	ok := false
	defer func() {
		if keep || !ok {
			fmt.Fprintf(os.Stderr, "%s: the work folder (%s) is %s\n", command, holds, dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(os.Stderr, "%s: removing the work folder: %v\n", command, err)
		}
	}()
	log, err := os.Create(filepath.Join(dir, "bench.log"))
	if err != nil {
		return fmt.Errorf("creating the benchmark's log: %w", err)
	}
	defer func() { _ = log.Close() }()
	ctrl.SetLogger(zap.New(zap.WriteTo(log)))
	if err := body(dir); err != nil {
		return err
	}
	ok = true
	return nil
}

// CommandLine is how this run of the benchmark in pkg (e.g.
// "./test/bench/budget") was started, with paths inside the repository
// made relative to it, for the results.
func CommandLine(pkg string) string {
	root := utils.RepoRoot() + string(filepath.Separator)
	args := []string{"go", "run", pkg}
	for _, a := range os.Args[1:] {
		args = append(args, strings.ReplaceAll(a, root, ""))
	}
	return strings.Join(args, " ")
}

// Facts describe the machine and the source of a run, printed with the
// results so that figures from different machines are not compared as
// equals.
type Facts struct {
	Date, GoVersion, CPUs, CPUModel, Kernel, Load, Source string
}

// ReadFacts reads the machine facts; what cannot be read stays empty
// (Source: Unknown).
func ReadFacts() Facts {
	f := Facts{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		GoVersion: runtime.Version(),
		CPUs:      fmt.Sprint(runtime.NumCPU()),
		Load:      LoadAverage(),
		Source:    Unknown,
	}
	if out, err := exec.Command("nproc").Output(); err == nil {
		f.CPUs = strings.TrimSpace(string(out))
	}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				f.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		f.Kernel = strings.TrimSpace(string(raw))
	}
	if out, err := exec.Command("git", "-C", utils.RepoRoot(), "describe", "--always", "--dirty").Output(); err == nil {
		f.Source = strings.TrimSpace(string(out))
	}
	return f
}

// Sleep waits for d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
