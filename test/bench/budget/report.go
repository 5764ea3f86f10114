package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// factsLine is the machine line printed before the results.
func factsLine(f benchkit.Facts) string {
	return fmt.Sprintf("%s: nproc %s (%s), Linux %s, %s, load average %s, source %s",
		f.Date, f.CPUs, f.CPUModel, f.Kernel, f.GoVersion, f.Load, f.Source)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func millis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func perMinute(n int, wall time.Duration) string {
	return fmt.Sprintf("%d (%.1f/min)", n, float64(n)/wall.Minutes())
}

func cores(cpu, wall time.Duration) string {
	return fmt.Sprintf("%.1f s (%.3f cores)", cpu.Seconds(), cpu.Seconds()/wall.Seconds())
}

// row is one line of the results table.
type row struct {
	label string
	cell  func(p phaseResult, namespaces, limit int) string
}

func rows() []row {
	return []row{
		{"measured over", func(p phaseResult, _, _ int) string {
			if p.periods == 0 {
				return "from the stop to steady: " + secs(p.wall)
			}
			return fmt.Sprintf("%d × %s (%s)", p.periods, p.period, secs(p.wall))
		}},
		{"queries to Prometheus (fake's counter)", func(p phaseResult, _, _ int) string { return fmt.Sprint(p.queries) }},
		{"queries per second: measured / namespaces ÷ period", func(p phaseResult, ns, _ int) string {
			return fmt.Sprintf("%.2f / %.2f", float64(p.queries)/p.wall.Seconds(), float64(ns)/p.period.Seconds())
		}},
		{"queries per namespace, fewest – most", func(p phaseResult, _, _ int) string {
			return fmt.Sprintf("%d – %d", p.spread.perNamespaceMin, p.spread.perNamespaceMax)
		}},
		{"time between two queries of one namespace, min – max", func(p phaseResult, _, _ int) string {
			if p.spread.gapMax == 0 {
				return "—"
			}
			return secs(p.spread.gapMin) + " – " + secs(p.spread.gapMax)
		}},
		{"most queries in flight (--budget-query-concurrency)", func(p phaseResult, _, limit int) string {
			return fmt.Sprintf("%d (%d)", p.spread.maxInFlight, limit)
		}},
		{"most queries arriving within one second (if spread evenly over ¾ of the period)", func(p phaseResult, ns, _ int) string {
			return fmt.Sprintf("%d (%.0f)", p.spread.busiestSecond, math.Ceil(float64(ns)/(0.75*p.period.Seconds())))
		}},
		{"query latency at the front, p50 / max", func(p phaseResult, _, _ int) string {
			return millis(p.spread.latencyP50) + " / " + millis(p.spread.latencyMax)
		}},
		{"objectives whose figures the fake changed, per period", func(p phaseResult, _, _ int) string {
			if p.flippedPerPeriod == 0 {
				return "0"
			}
			return fmt.Sprint(p.flippedPerPeriod)
		}},
		{"API writes: cxobjectives/status (per minute)", func(p phaseResult, _, _ int) string { return perMinute(p.objectiveWrites, p.wall) }},
		{"API writes: cxteams/status (per minute)", func(p phaseResult, _, _ int) string { return perMinute(p.teamWrites, p.wall) }},
		{"API writes: everything else", func(p phaseResult, _, _ int) string {
			if len(p.otherWrites) == 0 {
				return "none"
			}
			return sortedCounts(p.otherWrites)
		}},
		{"status changes a watch saw: objectives / teams", func(p phaseResult, _, _ int) string {
			return fmt.Sprintf("%d / %d", p.objChanged, p.teamChanged)
		}},
		{"most status changes seen within one second", func(p phaseResult, _, _ int) string { return fmt.Sprint(p.busiestWrites) }},
		{"objectives not showing the fake's budget left at the end", func(p phaseResult, _, _ int) string {
			if p.stale < 0 {
				return "—"
			}
			return fmt.Sprint(p.stale)
		}},
		{"reconciles (both controllers)", func(p phaseResult, _, _ int) string { return fmt.Sprintf("%.0f", p.reconciles) }},
		{"manager CPU (utime+stime)", func(p phaseResult, _, _ int) string { return cores(p.cpuMgr, p.wall) }},
		{"kube-apiserver CPU / etcd CPU", func(p phaseResult, _, _ int) string {
			return cores(p.cpuAPI, p.wall) + " / " + cores(p.cpuEtcd, p.wall)
		}},
		{"manager VmRSS, mean / max sampled", func(p phaseResult, _, _ int) string { return mib(p.rssMean) + " / " + mib(p.rssMax) }},
		{"manager VmHWM at the end (peak of the phase; restart: since start)", func(p phaseResult, _, _ int) string { return mib(p.hwm) }},
		{"manager Go heap in use at the end", func(p phaseResult, _, _ int) string { return mib(int64(p.heap)) }},
		{"manager allocations per period (restart: in all)", func(p phaseResult, _, _ int) string {
			n := max(p.periods, 1)
			return mib(int64(p.allocated / float64(n)))
		}},
		{"load average at start → end", func(p phaseResult, _, _ int) string { return p.loadStart + " → " + p.loadEnd }},
	}
}

// text is one phase as plain lines.
func (p phaseResult) text(namespaces, limit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", p.name)
	for _, r := range rows() {
		fmt.Fprintf(&b, "  %s: %s\n", r.label, r.cell(p, namespaces, limit))
	}
	return b.String()
}

func (r *results) setupLine() string {
	return fmt.Sprintf("%d objectives in %d namespaces (one CXTeam each): created in %s; all Ready after %s, all with figures (BudgetKnown=True) after %s, reader steady after %s; manager VmHWM while setting up %s.",
		r.objectives, r.namespaces, secs(r.createsDone), secs(r.allReady), secs(r.allKnown), secs(r.steady), mib(r.setupHWM))
}

func (r *results) text(limit int) string {
	var b strings.Builder
	b.WriteString(r.setupLine() + "\n")
	for _, p := range r.phases {
		b.WriteString(p.text(r.namespaces, limit))
	}
	return b.String()
}

// markdown is the results block for docs/benchmarks.md.
func (r *results) markdown(cfg config, f benchkit.Facts) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("Measured %s: `%s` (manager built from `%s`), nproc %s (%s), Linux %s, %s, load average %s at the start.\n\n",
		f.Date, cfg.command, f.Source, f.CPUs, f.CPUModel, f.Kernel, f.GoVersion, f.Load)
	p("Setup: %s\n\n", r.setupLine())
	p("| |")
	for _, ph := range r.phases {
		p(" %s |", ph.name)
	}
	p("\n| --- |")
	for range r.phases {
		p(" --- |")
	}
	p("\n")
	for _, rw := range rows() {
		p("| %s |", rw.label)
		for _, ph := range r.phases {
			p(" %s |", strings.ReplaceAll(rw.cell(ph, r.namespaces, cfg.queryConcurrency), "|", "\\|"))
		}
		p("\n")
	}
	return b.String()
}
