package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"

	"github.com/cxops/cx-operator/test/bench/internal/stats"
)

// SectionHeading is the heading of this benchmark's section of
// docs/benchmarks.md. --markdown rewrites only what lies between
// blockBegin and blockEnd inside it; the prose around stays.
const SectionHeading = "## Reconcile throughput (bench-reconcile)"

const (
	blockBegin = "<!-- bench-reconcile results: begin (written by `make bench-reconcile`) -->"
	blockEnd   = "<!-- bench-reconcile results: end -->"
)

// Targets of the issue.
const (
	targetSeconds1000 = 5.0
	targetRSS1000     = 60 << 20
	targetRSS10000    = 250 << 20
)

var selfPID = os.Getpid()

// factsText is the machine line printed before the results.
func factsText(f benchkit.Facts) string {
	return fmt.Sprintf("machine: %s CPUs (%s), Linux %s, %s, %s, load average %s; source %s",
		f.CPUs, f.CPUModel, f.Kernel, f.GoVersion, f.Date, f.Load, f.Source)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// ms shows a latency: milliseconds below a second, else seconds.
func ms(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// perObjective is a count per objective, with two decimals.
func perObjective(count, n int) string {
	return fmt.Sprintf("%d (%.2f/obj)", count, float64(count)/float64(n))
}

func (r *result) rate() float64 { return float64(r.n) / r.allReady.Seconds() }

// writeRows are the API writes the benchmark reports, per phase.
var writeRows = []struct{ label, resource, subresource string }{
	{"PrometheusRule writes (SSA)", "prometheusrules", ""},
	{"CXObjective status patches", "cxobjectives", "status"},
	{"CXTeam status patches", "cxteams", "status"},
	{"AlertmanagerConfig writes (SSA)", "alertmanagerconfigs", ""},
	{"Events written", "events", ""},
}

func (p phase) writeCell(resource, subresource string, n int) string {
	return perObjective(p.requests.Writes(resource, subresource), n)
}

// text is the plain report of one size.
func (r *result) text() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("-- %d objectives over %d teams in %d namespaces, %d create workers (load average at start %s)\n",
		r.n, r.teams, r.namespaces, r.workers, r.loadAvg)
	p("  first create to last create returned:  %s\n", seconds(r.createsDone))
	p("  first create to last rule present:     %s\n", seconds(r.lastRule))
	p("  first create to all Ready:             %s (%.0f objectives/s)\n", seconds(r.allReady), r.rate())
	p("  first create to manager settled:       %s\n", seconds(r.settled))
	p("  create -> rule:  p50 %s  p99 %s  max %s\n", ms(stats.Quantile(r.ruleLatency, .5)), ms(stats.Quantile(r.ruleLatency, .99)), ms(stats.Quantile(r.ruleLatency, 1)))
	p("  create -> Ready: p50 %s  p99 %s  max %s\n", ms(stats.Quantile(r.readyLatency, .5)), ms(stats.Quantile(r.readyLatency, .99)), ms(stats.Quantile(r.readyLatency, 1)))
	p("  manager VmRSS when ready, before any object: %s\n", mib(r.rssStart))
	p("  manager peak RSS (VmHWM): %s when settled (VmRSS then %s, largest sampled %s), %s after the team touch, %s after a restart\n",
		mib(r.peakRSS), mib(r.rssSettled), mib(r.rssSampledMax), mib(r.peakRSSEnd), mib(r.peakRSSRestart))
	p("  one stored PrometheusRule: %d bytes of JSON, %d without managedFields; one CXObjective: %d, %d\n",
		r.ruleBytes, r.ruleBytesNoMF, r.objBytes, r.objBytesNoMF)
	for _, ph := range []phase{r.load, r.idle, r.touch, r.restart} {
		p("  phase %-10s %6.1fs wall; CPU: manager %.1fs, kube-apiserver %.1fs, etcd %.1fs, benchmark %.1fs\n",
			ph.name, ph.wall.Seconds(), ph.cpuManager.Seconds(), ph.cpuAPIServer.Seconds(), ph.cpuEtcd.Seconds(), ph.cpuSelf.Seconds())
		p("    reconciles: %s objective (%.1f ms each, %.1f ms queued), %.0f team\n",
			perObjective(int(ph.reconciles[objectiveController]), r.n),
			1000*ph.reconcileSeconds[objectiveController]/max(ph.reconciles[objectiveController], 1),
			1000*ph.queueSeconds[objectiveController]/max(ph.reconciles[objectiveController], 1),
			ph.reconciles[teamController])
		for _, w := range writeRows {
			p("    %-32s %s\n", w.label+":", ph.writeCell(w.resource, w.subresource, r.n))
		}
		p("    watch events: %d rules added, %d rules changed, %d objectives changed (%d status only, %d of them only BudgetKnown)\n",
			ph.watch.ruleAdds, ph.watch.ruleMods, ph.watch.objMods, ph.watch.objStatus, ph.watch.objBudget)
		p("    requests:")
		for _, k := range sortedKeys(ph.requests) {
			if k.Verb == "WATCH" || k.Resource == "" {
				continue
			}
			p(" %s%s %s=%.0f", k.Resource, suffix(k.Subresource), k.Verb, ph.requests[k])
		}
		p("\n    etcd operations:")
		for _, k := range slices.Sorted(maps.Keys(ph.etcd)) {
			if strings.Contains(k, "cx.cxops.io") || strings.Contains(k, "monitoring.coreos.com") || strings.Contains(k, "events") {
				p(" %s=%.0f", k, ph.etcd[k])
			}
		}
		p("\n")
	}
	return b.String()
}

func suffix(sub string) string {
	if sub == "" {
		return ""
	}
	return "/" + sub
}

func sortedKeys(c benchkit.Requests) []benchkit.RequestKey {
	keys := make([]benchkit.RequestKey, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b benchkit.RequestKey) int {
		return strings.Compare(a.Resource+"/"+a.Subresource+" "+a.Verb, b.Resource+"/"+b.Subresource+" "+b.Verb)
	})
	return keys
}

// row is one line of the summary: a label, a target and a cell per size.
type row struct {
	label, target string
	cell          func(*result) string
}

func rows() []row {
	rssTarget := func(r *result) string {
		switch {
		case r.n <= 1000:
			return mark(r.peakRSS <= targetRSS1000)
		case r.n <= 10000:
			return mark(r.peakRSS <= targetRSS10000)
		}
		return ""
	}
	return []row{
		{"first create → last rule present", "< 5 s at 1,000", func(r *result) string {
			s := seconds(r.lastRule)
			if r.n == 1000 {
				s += " " + mark(r.lastRule.Seconds() < targetSeconds1000)
			}
			return s
		}},
		{"first create → all Ready", "", func(r *result) string { return seconds(r.allReady) }},
		{"objectives per second (to all Ready)", "", func(r *result) string { return fmt.Sprintf("%.0f", r.rate()) }},
		{"last create returned", "", func(r *result) string { return seconds(r.createsDone) }},
		{"create → rule p50 / p99 / max", "", func(r *result) string {
			return fmt.Sprintf("%s / %s / %s", ms(stats.Quantile(r.ruleLatency, .5)), ms(stats.Quantile(r.ruleLatency, .99)), ms(stats.Quantile(r.ruleLatency, 1)))
		}},
		{"create → Ready p50 / p99 / max", "", func(r *result) string {
			return fmt.Sprintf("%s / %s / %s", ms(stats.Quantile(r.readyLatency, .5)), ms(stats.Quantile(r.readyLatency, .99)), ms(stats.Quantile(r.readyLatency, 1)))
		}},
		{"manager peak RSS (VmHWM), settled", "< 60 MiB at 1,000, < 250 MiB at 10,000", func(r *result) string {
			return mib(r.peakRSS) + " " + rssTarget(r)
		}},
		{"manager VmRSS when started, before any object", "", func(r *result) string { return mib(r.rssStart) }},
		{"manager peak RSS after team touch / restarted manager", "", func(r *result) string {
			return mib(r.peakRSSEnd) + " / " + mib(r.peakRSSRestart)
		}},
		{"objective reconciles while creating", "", func(r *result) string {
			return perObjective(int(r.load.reconciles[objectiveController]), r.n)
		}},
		{"PrometheusRule writes while creating", "1 per objective", func(r *result) string {
			return r.load.writeCell("prometheusrules", "", r.n)
		}},
		{"CXObjective status writes while creating (of which only BudgetKnown)", "", func(r *result) string {
			return fmt.Sprintf("%s (%d)", r.load.writeCell("cxobjectives", "status", r.n), r.load.watch.objBudget)
		}},
		{"CXTeam status patches while creating", "", func(r *result) string {
			return r.load.writeCell("cxteams", "status", r.n)
		}},
		{"Events written while creating", "", func(r *result) string { return r.load.writeCell("events", "", r.n) }},
		{"AlertmanagerConfig writes while creating", "", func(r *result) string {
			return fmt.Sprintf("%d for %d teams", r.load.requests.Writes("alertmanagerconfigs", ""), r.teams+1)
		}},
		{"all manager writes while creating", "", func(r *result) string { return perObjective(totalWrites(r.load), r.n) }},
		{"writes of any kind while idle", "0", func(r *result) string {
			return fmt.Sprint(totalWrites(r.idle))
		}},
		{"team touch: PrometheusRule writes", "0", func(r *result) string {
			return r.touch.writeCell("prometheusrules", "", r.n) + " " + mark(r.touch.requests.Writes("prometheusrules", "") == 0)
		}},
		{"team touch: objective reconciles / status writes (objectives changed, of which only BudgetKnown)", "", func(r *result) string {
			return fmt.Sprintf("%.0f / %d (%d, %d)", r.touch.reconciles[objectiveController], r.touch.requests.Writes("cxobjectives", "status"),
				r.touch.watch.objMods, r.touch.watch.objBudget)
		}},
		{"restart: PrometheusRule writes", "0", func(r *result) string {
			return r.restart.writeCell("prometheusrules", "", r.n) + " " + mark(r.restart.requests.Writes("prometheusrules", "") == 0)
		}},
		{"restart: status writes (objectives changed, of which only BudgetKnown)", "", func(r *result) string {
			return fmt.Sprintf("%d (%d, %d)", r.restart.requests.Writes("cxobjectives", "status"), r.restart.watch.objMods, r.restart.watch.objBudget)
		}},
		{"restart: AlertmanagerConfig writes", "0", func(r *result) string {
			n := r.restart.requests.Writes("alertmanagerconfigs", "")
			return fmt.Sprintf("%d for %d teams %s", n, r.teams+1, mark(n == 0))
		}},
		{"restart: start to settled", "", func(r *result) string { return seconds(r.restartSettled) }},
		{"CPU while creating: manager / kube-apiserver / etcd / benchmark", "", func(r *result) string {
			return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f s", r.load.cpuManager.Seconds(), r.load.cpuAPIServer.Seconds(),
				r.load.cpuEtcd.Seconds(), r.load.cpuSelf.Seconds())
		}},
		{"idle-machine floor: CPU of all four ÷ 2 cores", "", func(r *result) string {
			return seconds((r.load.cpuManager + r.load.cpuAPIServer + r.load.cpuEtcd + r.load.cpuSelf) / 2)
		}},
		{"CPU per objective: manager / kube-apiserver", "", func(r *result) string {
			return fmt.Sprintf("%.1f / %.1f ms", 1000*r.load.cpuManager.Seconds()/float64(r.n), 1000*r.load.cpuAPIServer.Seconds()/float64(r.n))
		}},
		{"load average at start", "", func(r *result) string { return r.loadAvg }},
	}
}

// totalWrites counts the manager's writes in a phase (the benchmark's own
// creates and updates excluded).
func totalWrites(p phase) int {
	n := 0
	for _, w := range writeRows {
		n += p.requests.Writes(w.resource, w.subresource)
	}
	return n
}

func mark(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌"
}

// summaryTable is the plain summary of every size.
func summaryTable(results []*result) string {
	var b strings.Builder
	for _, rw := range rows() {
		fmt.Fprintf(&b, "%-66s", rw.label)
		for _, r := range results {
			fmt.Fprintf(&b, " | %-28s", rw.cell(r))
		}
		if rw.target != "" {
			fmt.Fprintf(&b, " | target %s", rw.target)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// markdownBlock is the results block of the docs section.
func markdownBlock(cfg config, f benchkit.Facts, results []*result) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("%s\n\n", blockBegin)
	p("Measured %s: `%s` (manager built from `%s` with `go build ./cmd/manager`), %s CPUs (%s), Linux %s, %s, load average %s at the start.\n\n",
		f.Date, cfg.command, f.Source, f.CPUs, f.CPUModel, f.Kernel, f.GoVersion, f.Load)
	p("| | target |")
	for _, r := range results {
		p(" %s objectives |", thousands(r.n))
	}
	p("\n| --- | --- |")
	for range results {
		p(" --- |")
	}
	p("\n")
	for _, rw := range rows() {
		p("| %s | %s |", rw.label, rw.target)
		for _, r := range results {
			p(" %s |", rw.cell(r))
		}
		p("\n")
	}
	p("\n%s\n", blockEnd)
	return b.String()
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// writeDocs puts block between the markers of this benchmark's section of
// path. A missing file or section is created; the rest of the file stays
// as it is.
func writeDocs(path, block string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	doc := string(data)
	if doc == "" {
		doc = "# Benchmarks\n"
	}
	start := strings.Index(doc, "\n"+SectionHeading+"\n")
	if start < 0 {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + SectionHeading + "\n\n" + block
		return os.WriteFile(path, []byte(doc), 0o644)
	}
	sectionStart := start + 1
	sectionEnd := len(doc)
	if next := strings.Index(doc[sectionStart+len(SectionHeading):], "\n## "); next >= 0 {
		sectionEnd = sectionStart + len(SectionHeading) + next + 1
	}
	section := doc[sectionStart:sectionEnd]
	b, e := strings.Index(section, blockBegin), strings.Index(section, blockEnd)
	switch {
	case b >= 0 && e > b:
		section = section[:b] + strings.TrimSuffix(block, "\n") + section[e+len(blockEnd):]
	default:
		section = strings.TrimRight(section, "\n") + "\n\n" + block + "\n"
	}
	doc = doc[:sectionStart] + section + doc[sectionEnd:]
	return os.WriteFile(path, []byte(doc), 0o644)
}
