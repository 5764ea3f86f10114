// Command bench-reconcile measures how fast the manager turns CXObjectives
// into PrometheusRules, how much memory it needs for that, and how many
// writes it sends to the API server.
//
// For each size it starts a fresh local control plane (the kube-apiserver
// and etcd that `make envtest` builds, with the CRDs), runs the real manager
// binary against it as a separate process, creates 50 CXTeams across 10
// namespaces and then the CXObjectives, concurrently, and watches for each
// objective's PrometheusRule and for its Ready condition. It then checks
// that nothing is written again when nothing changed: it waits idle, touches
// every team's spec in a way that leaves the rules as they are, and restarts
// the manager, counting the API server's own request metrics each time.
// With --markdown it rewrites its results block in docs/benchmarks.md.
//
//	go build -o bin/manager ./cmd/manager
//	go run ./test/bench/reconcile --manager bin/manager [--sizes 1000,10000] [--markdown]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
	"github.com/cxops/cx-operator/test/utils"
)

// config is the command line.
type config struct {
	sizes      []int
	teams      int
	namespaces int
	// lastApplied creates the objectives as a client-side kubectl apply
	// does, with a copy of each in an annotation.
	lastApplied bool
	workers     int
	idle        time.Duration
	timeout     time.Duration
	manager     string
	managerArg  string
	managerEnv  string
	docs        string
	markdown    bool
	keep        bool
	command     string
	// profileDir, when set, receives CPU profiles of the API server and the
	// manager while the objectives are created, and the manager's heap.
	profileDir     string
	profileSeconds int
	managerPprof   string
}

func main() { benchkit.Main("bench-reconcile", run) }

func run(ctx context.Context) error {
	root := utils.RepoRoot()
	cfg := config{command: benchkit.CommandLine("./test/bench/reconcile")}
	sizes := flag.String("sizes", "1000,10000", "numbers of CXObjectives, comma-separated; each size runs on a fresh control plane and a fresh manager")
	flag.IntVar(&cfg.teams, "teams", 50, "CXTeams the objectives are spread over")
	flag.IntVar(&cfg.namespaces, "namespaces", 10, "namespaces the teams are spread over")
	flag.BoolVar(&cfg.lastApplied, "last-applied", false, "create each objective with the annotation in which a client-side kubectl apply keeps a copy of it, as GitOps tools that apply that way do")
	flag.IntVar(&cfg.workers, "workers", 32, "concurrent creates")
	flag.DurationVar(&cfg.idle, "idle", 10*time.Second, "how long to wait idle after every objective is Ready, counting writes")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "how long one phase of one size may take at most")
	flag.StringVar(&cfg.manager, "manager", "", "the manager binary to run; empty: build ./cmd/manager into a temporary folder")
	flag.StringVar(&cfg.managerArg, "manager-args", "", "extra arguments for the manager, space-separated")
	flag.StringVar(&cfg.managerEnv, "manager-env", "", "extra environment of the manager, space-separated NAME=value (e.g. GOMEMLIMIT=48MiB)")
	flag.StringVar(&cfg.docs, "docs", filepath.Join(root, "docs", "benchmarks.md"), "the Markdown file whose results block --markdown rewrites")
	flag.BoolVar(&cfg.markdown, "markdown", false, "rewrite the results block of the section \""+SectionHeading+"\" in --docs")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work folder (kubeconfig, manager logs, metrics) after a successful run")
	flag.StringVar(&cfg.profileDir, "profile", "", "folder for CPU profiles of kube-apiserver (and of the manager, with --manager-pprof) taken while the objectives are created")
	flag.IntVar(&cfg.profileSeconds, "profile-seconds", 15, "length of the CPU profiles")
	flag.StringVar(&cfg.managerPprof, "manager-pprof", "", "host:port where the manager serves net/http/pprof (passed to it as --pprof-bind-address), for --profile")
	flag.Parse()
	var err error
	if cfg.sizes, err = parseSizes(*sizes); err != nil {
		return err
	}
	if cfg.teams < 1 || cfg.namespaces < 1 || cfg.teams%cfg.namespaces != 0 {
		return fmt.Errorf("--teams (%d) must be a positive multiple of --namespaces (%d)", cfg.teams, cfg.namespaces)
	}
	if cfg.workers < 1 {
		return errors.New("--workers must be at least 1")
	}
	return benchkit.InWorkDir("bench-reconcile", "manager logs, metrics", cfg.keep, func(work string) error {
		return measure(ctx, cfg, work)
	})
}

// measure runs every size, prints the results and, with --markdown,
// writes them into the docs.
func measure(ctx context.Context, cfg config, work string) error {
	var err error
	if cfg.manager, err = benchkit.ManagerBinary(ctx, cfg.manager, work); err != nil {
		return err
	}
	facts := benchkit.ReadFacts()
	fmt.Println(factsText(facts))
	var results []*result
	for _, n := range cfg.sizes {
		dir := filepath.Join(work, strconv.Itoa(n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		res, err := runSize(ctx, cfg, n, dir)
		if err != nil {
			return fmt.Errorf("%d objectives: %w", n, err)
		}
		fmt.Println(res.text())
		results = append(results, res)
	}
	fmt.Println(summaryTable(results))
	if cfg.markdown {
		if err := writeDocs(cfg.docs, markdownBlock(cfg, facts, results)); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench-reconcile: wrote the results block of %q in %s\n", SectionHeading, cfg.docs)
	}
	return nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--sizes: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--sizes: no size given")
	}
	return out, nil
}
