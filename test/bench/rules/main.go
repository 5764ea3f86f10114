// Command bench-rules measures what rule evaluation costs Prometheus for
// the rules cx-operator generates, side by side with Sloth's and Pyrra's
// rules for the same three objectives (../shared/anchors), and how soon
// each tool pages in an outage.
//
// It writes days of synthetic raw series into an in-process TSDB, backfills
// the recorded series that rules read over ranges or at offsets, evaluates
// each tool's rule groups with the Prometheus rules engine for a number of
// cycles while measuring the process's CPU time, then runs an outage of
// every objective and notes when each page fires. With --markdown it
// rewrites its section of docs/benchmarks.md.
//
//	go run ./test/bench/rules [--days 4] [--pods 50] [--cycles 30] [--markdown]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"time"
)

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-rules:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	root := repoRoot()
	cfg := config{args: os.Args[1:]}
	flag.StringVar(&cfg.anchors, "anchors", filepath.Join(root, "..", "shared", "anchors"), "folder with Sloth's and Pyrra's rule files (sloth/<objective>.rules.yaml, pyrra/<objective>.rules.yaml)")
	flag.StringVar(&cfg.docs, "docs", filepath.Join(root, "docs", "benchmarks.md"), "the Markdown file whose section --markdown rewrites")
	flag.BoolVar(&cfg.markdown, "markdown", false, "rewrite the section \""+SectionHeading+"\" of --docs with the results")
	flag.IntVar(&cfg.days, "days", 4, "days of raw history before the measured cycles")
	flag.IntVar(&cfg.pods, "pods", 50, "pods behind the checkout and the API service (raw series: pods × 5 status codes, pods × 9 histogram series)")
	flag.IntVar(&cfg.probers, "probers", 5, "probe_success series for the storefront")
	flag.IntVar(&cfg.cycles, "cycles", 30, "measured evaluation cycles per tool, after one warm-up cycle")
	flag.DurationVar(&cfg.step, "step", 30*time.Second, "scrape and global rule evaluation interval")
	flag.DurationVar(&cfg.detectFor, "detect-for", 30*time.Minute, "how long the outage scenario runs at most")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the synthetic traffic")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if err := cfg.validate(); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stopProfile, err := startProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() {
			if err := stopProfile(); err != nil {
				fmt.Fprintln(os.Stderr, "bench-rules:", err)
			}
		}()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, cfg, func(format string, a ...any) { fmt.Fprintf(os.Stderr, format, a...) })
	if err != nil {
		return err
	}
	if err := printTable(os.Stdout, res); err != nil {
		return fmt.Errorf("printing the results: %w", err)
	}
	if len(res.errors) > 0 {
		return fmt.Errorf("%d rules failed to evaluate; the figures are not trustworthy and %s was left alone", len(res.errors), cfg.docs)
	}
	if cfg.markdown {
		if err := writeMarkdown(cfg.docs, res); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote the section %q of %s\n", SectionHeading, cfg.docs)
	}
	return nil
}

func (c config) validate() error {
	switch {
	case c.days < 1:
		return fmt.Errorf("--days must be at least 1, not %d", c.days)
	case c.pods < 1 || c.probers < 1:
		return fmt.Errorf("--pods and --probers must be at least 1")
	case c.cycles < 1:
		return fmt.Errorf("--cycles must be at least 1, not %d", c.cycles)
	case c.step < time.Second || time.Minute%c.step != 0 && c.step%time.Minute != 0:
		return fmt.Errorf("--step must divide a minute or be whole minutes, not %s", c.step)
	case c.detectFor < c.step:
		return fmt.Errorf("--detect-for must be at least one step")
	}
	return nil
}

// startProfile starts a CPU profile into path; the function it returns
// stops it and closes the file.
func startProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("starting the CPU profile: %w", err), f.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing the CPU profile: %w", err)
		}
		return nil
	}, nil
}

// repoRoot returns the root of the repository, found from this file.
func repoRoot() string {
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}
