package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cxops/cx-operator/internal/slo"

	"github.com/cxops/cx-operator/test/bench/internal/stats"
)

// SectionHeading is the heading of this benchmark's section of
// docs/benchmarks.md; the section runs to the next level-2 heading.
const SectionHeading = "## Rule evaluation cost (bench-rules)"

// Targets of the issue, per objective: our CPU per cycle against Sloth's
// and Pyrra's.
const (
	targetVsSloth = 0.1
	targetVsPyrra = 0.02
)

// summary is the figures of one subject.
type summary struct {
	s                           *subject
	cpu50, cpu90, wall50, min50 time.Duration
	// cpuMean spreads all the CPU time of the cycles, garbage collection
	// included wherever it fell, evenly over them.
	cpuMean   time.Duration
	samples50 int64
}

func summarise(s *subject) summary {
	var cpu, wall, perMin []time.Duration
	var samples []int64
	for _, c := range s.costs {
		cpu = append(cpu, c.cpu)
		wall = append(wall, c.wall)
		perMin = append(perMin, c.cpuPerMinute)
		samples = append(samples, c.samples)
	}
	return summary{
		s: s, cpu50: stats.Quantile(cpu, 0.5), cpu90: stats.Quantile(cpu, 0.9), wall50: stats.Quantile(wall, 0.5), cpuMean: mean(cpu),
		min50: stats.Quantile(perMin, 0.5), samples50: stats.Quantile(samples, 0.5),
	}
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// perRule is the median CPU per cycle divided by the number of rules.
func (s summary) perRule() time.Duration {
	n := s.s.recording + s.s.alerting
	if n == 0 {
		return 0
	}
	return s.cpu50 / time.Duration(n)
}

// byObjective groups the summaries per objective key, in tool order.
func (r *result) byObjective() ([]string, map[string]map[string]summary) {
	var keys []string
	out := map[string]map[string]summary{}
	for _, s := range r.subjects {
		if out[s.obj.key] == nil {
			keys = append(keys, s.obj.key)
			out[s.obj.key] = map[string]summary{}
		}
		out[s.obj.key][s.tool.name] = summarise(s)
	}
	return keys, out
}

// ratioRow is our cost against another tool's for one objective.
type ratioRow struct {
	key, other      string
	cycle, minute   float64
	meanCycle       float64
	target          float64
	met             bool
	oursCPU, theirs time.Duration
}

func (r *result) ratios() []ratioRow {
	keys, sums := r.byObjective()
	var out []ratioRow
	for _, k := range keys {
		o := sums[k][ours.name]
		for _, t := range []struct {
			tool   tool
			target float64
		}{{sloth, targetVsSloth}, {pyrra, targetVsPyrra}} {
			other := sums[k][t.tool.name]
			row := ratioRow{key: k, other: t.tool.name, target: t.target, oursCPU: o.cpu50, theirs: other.cpu50}
			if other.cpu50 > 0 {
				row.cycle = float64(o.cpu50) / float64(other.cpu50)
			}
			if other.cpuMean > 0 {
				row.meanCycle = float64(o.cpuMean) / float64(other.cpuMean)
			}
			if other.min50 > 0 {
				row.minute = float64(o.min50) / float64(other.min50)
			}
			row.met = row.cycle <= t.target
			out = append(out, row)
		}
	}
	return out
}

// printTable writes the results for people at a terminal.
func printTable(w io.Writer, r *result) error {
	keys, sums := r.byObjective()
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	p("\nCPU time per evaluation cycle (process user+system, median and p90 of %d cycles at %s)\n\n", r.cfg.cycles, r.cfg.step)
	rows := []string{"objective\ttool\trules rec/alert\trecorded series\treads raw over\treads recorded over\tCPU/cycle p50\tp90\tmean\twall p50\tCPU/min p50\tper rule\tsamples/cycle"}
	for _, k := range keys {
		for _, t := range tools {
			s := sums[k][t.name]
			rows = append(rows, fmt.Sprintf("%s\t%s\t%d / %d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d", k, t.name,
				s.s.recording, s.s.alerting, s.s.recordedSeries, span(s.s.rawSpan), span(s.s.recordedSpan),
				ms(s.cpu50), ms(s.cpu90), ms(s.cpuMean), ms(s.wall50), ms(s.min50), ms(s.perRule()), s.samples50))
		}
	}
	b.WriteString(columns(rows))

	p("\nOurs against the others (CPU/cycle p50; by mean and per minute for comparison)\n\n")
	rows = []string{"objective\tvs\tours/theirs\tby mean\tper minute\ttarget\tmet"}
	for _, row := range r.ratios() {
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t≤ %s\t%s", row.key, row.other, ratio(row.cycle), ratio(row.meanCycle), ratio(row.minute), ratio(row.target), yesNo(row.met)))
	}
	b.WriteString(columns(rows))

	p("\nDetection: time from the start of the outage to the page firing (evaluations every %s)\n\n", r.cfg.step)
	rows = []string{"objective\toutage\tours\tSloth\tPyrra"}
	for _, k := range keys {
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s", k, sums[k][ours.name].s.obj.outage,
			detected(sums[k][ours.name].s), detected(sums[k][sloth.name].s), detected(sums[k][pyrra.name].s)))
	}
	b.WriteString(columns(rows))

	p("\nBackfilled over the history\n\n")
	for _, t := range tools {
		p("  %s: %s\n", t.name, backfillText(r, t))
	}
	p("\nCostliest rules (median evaluation time, share of the objective's rules)\n\n")
	for _, k := range keys {
		for _, t := range tools {
			p("  %s, %s: %s\n", k, t.name, costliestText(sums[k][t.name].s, 2))
		}
	}

	p("\nSanity: burn rates at the end of the measured cycles (Pyrra's 3d is its 4d6h51m)\n\n")
	rows = []string{"objective\ttool\t5m\t3d\t30d"}
	for _, k := range keys {
		for _, t := range tools {
			s := sums[k][t.name].s
			rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s", k, t.name, burn(s, window5m), burn(s, window3d), burn(s, window30d)))
		}
	}
	b.WriteString(columns(rows))

	for _, s := range r.subjects {
		if s.pagedBefore {
			p("\nWARNING: %s's page for %s fired before the outage\n", s.tool.name, s.obj.key)
		}
	}
	if len(r.errors) > 0 {
		p("\nRule evaluation errors:\n")
		for _, e := range r.errors {
			p("  %s\n", e)
		}
	}
	p("\n%d raw samples written, %d TSDB blocks; ", r.written, r.blocks)
	for _, ph := range r.phases {
		p("%s %s; ", ph.name, ph.took.Round(100*time.Millisecond))
	}
	p("total %s, peak RSS %s\n", r.totalTime.Round(time.Second), mib(r.peakRSS))
	_, err := io.WriteString(w, b.String())
	return err
}

// columns aligns the tab-separated cells of rows.
func columns(rows []string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	for _, r := range rows {
		// A tabwriter over a strings.Builder cannot fail.
		_, _ = io.WriteString(tw, r+"\n")
	}
	_ = tw.Flush()
	return b.String()
}

func span(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d == 0:
		return "now only"
	}
	return slo.FormatDuration(d)
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	case f < 100:
		return fmt.Sprintf("%.1f ms", f)
	default:
		return fmt.Sprintf("%.0f ms", f)
	}
}

func ratio(f float64) string {
	switch {
	case f == 0:
		return "—"
	case f < 0.01:
		return fmt.Sprintf("%.4f×", f)
	case f < 1:
		return fmt.Sprintf("%.3f×", f)
	default:
		return fmt.Sprintf("%.2f×", f)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// loadAverage reads the one-minute load average from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// cpuModel reads the processor's name from /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
