// Command bench-budget measures the manager's budget reader at scale: how
// many queries it sends to Prometheus, how many it has in flight, how many
// writes it sends to the API server, and what it costs the manager in CPU
// and memory, in a steady state.
//
// It starts a local control plane (the kube-apiserver and etcd that `make
// envtest` builds, with the CRDs), the fake Prometheus of
// test/utils/fakeprom with a fixed latency behind a front of its own that
// records every query, and the real manager binary as its own process. It
// creates one CXTeam per namespace and the CXObjectives, tells the fake to
// answer each namespace with the recorded series of every objective in it,
// and waits until every objective is Ready and shows its figures. Then it
// measures whole refresh periods: with figures that do not change, with a
// share of the objectives changing every period, and, after a restart with a
// shorter --budget-refresh-interval, once more with figures that do not
// change. It prints the results, and a Markdown block for
// docs/benchmarks.md.
//
//	make bench-budget
//	go run ./test/bench/budget --manager bin/manager [--objectives 10000] [--namespaces 100] [--periods 3]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// config is the command line.
type config struct {
	objectives, namespaces int
	workers                int
	period                 time.Duration
	periods                int
	shortPeriod            time.Duration
	shortPeriods           int
	latency                time.Duration
	queryConcurrency       int
	changeSlices           int
	qps                    float64
	burst                  int
	timeout                time.Duration
	manager                string
	markdownOut            string
	keep                   bool
	command                string
}

func main() { benchkit.Main("bench-budget", run) }

func run(ctx context.Context) error {
	cfg := config{command: benchkit.CommandLine("./test/bench/budget")}
	flag.IntVar(&cfg.objectives, "objectives", 10000, "CXObjectives to create")
	flag.IntVar(&cfg.namespaces, "namespaces", 100, "namespaces the objectives are spread over, one CXTeam each")
	flag.IntVar(&cfg.workers, "workers", 32, "concurrent creates")
	flag.DurationVar(&cfg.period, "period", time.Minute, "--budget-refresh-interval of the main run (the manager's default is 1m)")
	flag.IntVar(&cfg.periods, "periods", 2, "refresh periods measured in each phase of the main run")
	flag.DurationVar(&cfg.shortPeriod, "short-period", 10*time.Second, "--budget-refresh-interval of the short variant; 0 skips it")
	flag.IntVar(&cfg.shortPeriods, "short-periods", 3, "refresh periods measured in the short variant")
	flag.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "how long the fake Prometheus takes to answer a query")
	flag.IntVar(&cfg.queryConcurrency, "query-concurrency", 4, "--budget-query-concurrency of the manager (its default is 4)")
	flag.IntVar(&cfg.changeSlices, "change-slices", 10, "in the changing phase, one objective in this many (in every namespace) changes its budget left each period")
	flag.Float64Var(&cfg.qps, "kube-api-qps", 200, "--kube-api-qps of the manager (its default is 200)")
	flag.IntVar(&cfg.burst, "kube-api-burst", 400, "--kube-api-burst of the manager (its default is 400)")
	flag.DurationVar(&cfg.timeout, "timeout", 20*time.Minute, "how long creating the objectives and waiting for their figures may take")
	flag.StringVar(&cfg.manager, "manager", "", "the manager binary; empty: build ./cmd/manager into the work folder")
	flag.StringVar(&cfg.markdownOut, "markdown-out", "", "also write the Markdown results block to this file")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work folder (manager logs, memory samples) after a successful run")
	flag.Parse()
	switch {
	case cfg.objectives < 1 || cfg.namespaces < 1 || cfg.namespaces > cfg.objectives:
		return errors.New("--objectives and --namespaces must be positive, with at least one objective per namespace")
	case cfg.periods < 1 || cfg.shortPeriods < 1:
		return errors.New("--periods and --short-periods must be at least 1")
	case cfg.changeSlices < 1:
		return errors.New("--change-slices must be at least 1")
	case cfg.period <= 0:
		return errors.New("--period must be positive")
	}

	return benchkit.InWorkDir("bench-budget", "manager logs, memory samples", cfg.keep, func(work string) error {
		return measure(ctx, cfg, work)
	})
}

// measure runs the benchmark in work and prints the results and the
// Markdown block.
func measure(ctx context.Context, cfg config, work string) error {
	if cfg.manager == "" {
		fmt.Println("building ./cmd/manager")
	}
	var err error
	if cfg.manager, err = benchkit.ManagerBinary(ctx, cfg.manager, work); err != nil {
		return err
	}
	facts := benchkit.ReadFacts()
	fmt.Println(factsLine(facts))
	res, err := execute(ctx, cfg, work)
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Println(res.text(cfg.queryConcurrency))
	block := res.markdown(cfg, facts)
	fmt.Println(block)
	if err := os.WriteFile(filepath.Join(work, "results.md"), []byte(block), 0o644); err != nil {
		return err
	}
	if cfg.markdownOut != "" {
		if err := os.WriteFile(cfg.markdownOut, []byte(block), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", cfg.markdownOut, err)
		}
	}
	return nil
}
