// Command render measures `kubectl cx render` on 1,000 objectives, and
// `sloth generate` on the same objectives written in Sloth's format, side by
// side: wall time, CPU time and peak resident memory of each run, read with
// getrusage from the child process. `make bench-render` runs it from the
// repository root; it prints a Markdown table for docs/benchmarks.md.
//
// It builds bin/kubectl-cx from this tree, and Sloth (pinned) into
// bin/sloth-<version> from a scratch module under bin/, outside the
// project's go.mod, once.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// slothVersion is the Sloth release the figures compare with.
const slothVersion = "v0.16.0"

type options struct {
	objectives int
	teams      int
	runs       int
	dir        string
	kubectlCX  string
	sloth      string
}

func main() {
	var o options
	flag.IntVar(&o.objectives, "objectives", 1000, "number of objectives to render")
	flag.IntVar(&o.teams, "teams", 50, "number of teams (and Sloth services) they belong to")
	flag.IntVar(&o.runs, "runs", 5, "measured runs of each command, after one warm-up run; the median is reported")
	flag.StringVar(&o.dir, "dir", filepath.Join("bin", "bench-render"), "folder for the generated inputs and outputs")
	flag.StringVar(&o.kubectlCX, "kubectl-cx", "", "kubectl-cx binary to measure (default: build bin/kubectl-cx from this tree)")
	flag.StringVar(&o.sloth, "sloth", "", "sloth binary to compare with (default: build bin/sloth-"+slothVersion+")")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-render:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.objectives < 1 || o.teams < 1 || o.runs < 1 {
		return errors.New("--objectives, --teams and --runs must be positive")
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	var err error
	if o.kubectlCX == "" {
		if o.kubectlCX, err = buildKubectlCX(); err != nil {
			return err
		}
	}
	if o.sloth == "" {
		if o.sloth, err = buildSloth(); err != nil {
			return err
		}
	}
	cxDir := filepath.Join(o.dir, "cx")
	slothFile := filepath.Join(o.dir, "sloth", "slos.yaml")
	if err := writeInputs(cxDir, slothFile, o.objectives, o.teams); err != nil {
		return err
	}
	out := func(name string) string { return filepath.Join(o.dir, name) }
	cases := []benchCase{
		{name: "kubectl cx render (PrometheusRule and AlertmanagerConfig objects, YAML)",
			argv: []string{o.kubectlCX, "render", "-f", cxDir, "-n", "bench"}, stdout: out("cx-objects.yaml")},
		{name: "kubectl cx render --format=rule-file (plain Prometheus rule file)",
			argv: []string{o.kubectlCX, "render", "-f", cxDir, "-n", "bench", "--format=rule-file"}, stdout: out("cx-rules.yaml")},
		{name: "sloth generate " + slothVersion + " (plain Prometheus rule file)",
			argv: []string{o.sloth, "generate", "--no-log", "-i", slothFile, "-o", out("sloth-rules.yaml")}, file: out("sloth-rules.yaml")},
	}
	for i := range cases {
		if err := cases[i].measure(o.runs); err != nil {
			return err
		}
	}
	var b strings.Builder
	report(&b, o, cases)
	_, err = os.Stdout.WriteString(b.String())
	return err
}

// buildKubectlCX builds the plugin from this tree.
func buildKubectlCX() (string, error) {
	out := filepath.Join("bin", "kubectl-cx")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/kubectl-cx")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building kubectl-cx: %w", err)
	}
	return out, nil
}

// buildSloth builds Sloth once, from a scratch module of its own under bin/,
// so that the project's go.mod never sees it.
func buildSloth() (string, error) {
	bin, err := filepath.Abs(filepath.Join("bin", "sloth-"+slothVersion))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	mod := bin + "-mod"
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", err
	}
	steps := [][]string{
		{"go", "get", "-tool", "github.com/slok/sloth/cmd/sloth@" + slothVersion},
		{"go", "build", "-o", bin, "github.com/slok/sloth/cmd/sloth"},
	}
	if _, err := os.Stat(filepath.Join(mod, "go.mod")); err != nil {
		steps = append([][]string{{"go", "mod", "init", "cxops.local/sloth-tool"}}, steps...)
	}
	fmt.Fprintf(os.Stderr, "bench-render: building Sloth %s into %s (once, a few minutes)\n", slothVersion, bin)
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("building Sloth (%s): %w", strings.Join(s, " "), err)
		}
	}
	return bin, nil
}

// benchCase is one command measured.
type benchCase struct {
	name string
	argv []string
	// stdout receives the command's output; file is an output the command
	// writes itself.
	stdout, file string
	// results of the measured runs.
	wall, cpu []time.Duration
	rssKiB    []int64
	// rules counts the recording and alerting rules in the output.
	records, alerts int
	outBytes        int
}

// measure runs the command once to warm the page cache, then runs times.
func (c *benchCase) measure(runs int) error {
	for i := 0; i <= runs; i++ {
		wall, cpu, rss, err := c.once()
		if err != nil {
			return err
		}
		if i > 0 {
			c.wall = append(c.wall, wall)
			c.cpu = append(c.cpu, cpu)
			c.rssKiB = append(c.rssKiB, rss)
		}
	}
	path := c.stdout
	if path == "" {
		path = c.file
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c.outBytes = len(b)
	for _, line := range strings.Split(string(b), "\n") {
		switch t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- ")); {
		case strings.HasPrefix(t, "record:"):
			c.records++
		case strings.HasPrefix(t, "alert:"):
			c.alerts++
		}
	}
	return nil
}

func (c *benchCase) once() (wall, cpu time.Duration, rssKiB int64, err error) {
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if c.stdout != "" {
		f, err := os.Create(c.stdout)
		if err != nil {
			return 0, 0, 0, err
		}
		defer func() { _ = f.Close() }()
		cmd.Stdout = f
	}
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w\n%s", strings.Join(c.argv, " "), err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, 0, errors.New("no resource usage of the child on this platform")
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// Linux reports ru_maxrss in KiB.
	return wall, cpu, ru.Maxrss, nil
}

func median[T int64 | time.Duration](xs []T) T {
	s := append([]T(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func maxOf(xs []int64) int64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// report writes the results as Markdown; writes to a strings.Builder do not
// fail.
func report(w *strings.Builder, o options, cases []benchCase) {
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	_, _ = fmt.Fprintf(w, "%d objectives of %d teams (%d%% error ratio, %d%% latency, %d%% availability, %d%% score), 30d windows; "+
		"median of %d runs after a warm-up; %d CPUs (%s/%s), Go %s, load average %s at the end, %s.\n\n",
		o.objectives, o.teams, 40, 30, 20, 10, o.runs, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), load,
		time.Now().UTC().Format("2006-01-02"))
	_, _ = fmt.Fprintln(w, "| command | wall (median) | CPU (median) | peak RSS (max) | rules out (recording + alerting) | output |")
	_, _ = fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, c := range cases {
		_, _ = fmt.Fprintf(w, "| %s | %s | %s | %.0f MiB | %d + %d | %.1f MiB |\n", c.name, round(median(c.wall)), round(median(c.cpu)),
			float64(maxOf(c.rssKiB))/1024, c.records, c.alerts, float64(c.outBytes)/(1<<20))
	}
	sloth := cases[len(cases)-1]
	_, _ = fmt.Fprintln(w)
	for _, c := range cases[:len(cases)-1] {
		speed := float64(median(sloth.wall)) / float64(median(c.wall))
		verdict := "meets"
		if median(c.wall) >= time.Second || speed < 5 {
			verdict = "misses"
		}
		_, _ = fmt.Fprintf(w, "- %s: %s Sloth's wall time (%.2f×), %s its CPU time, %s its peak RSS; %s the target (under 1 s, at least 5× faster than Sloth).\n",
			c.name, ratio(median(c.wall), median(sloth.wall)), speed, ratio(median(c.cpu), median(sloth.cpu)),
			ratio(time.Duration(maxOf(c.rssKiB)), time.Duration(maxOf(sloth.rssKiB))), verdict)
	}
}

// ratio writes a/b as "0.4×" or "2.5×".
func ratio(a, b time.Duration) string {
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
