package main

// The Markdown section of docs/benchmarks.md: its method and results text,
// and rewriting it in place (one results block per length of history).

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// markdownSection writes this benchmark's section of docs/benchmarks.md:
// how it measures, then one results subsection per history length. The
// results of this run replace those of an earlier run with the same
// history length in previous (the section as it was); the others stay.
func markdownSection(r *result, previous string) string {
	var b strings.Builder
	b.WriteString(SectionHeading + "\n\n")
	b.WriteString(methodText())
	results := resultsOf(previous)
	results[r.cfg.days] = resultsText(r)
	days := slices.Sorted(maps.Keys(results))
	for _, d := range days {
		b.WriteString(strings.TrimRight(results[d], "\n") + "\n\n")
	}
	return b.String()
}

func methodText() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("CPU time that the Prometheus rules engine spends per evaluation cycle on the rules of one objective: ")
	p("the rules we generate (`internal/rules`) against Sloth's and Pyrra's rule files for the same three objectives ")
	p("(`../shared/anchors`: checkout error ratio 99.5%%, api-latency 99%% under 300 ms, storefront-availability probe 99.9%%, all over 30d, with the same metric names), ")
	p("on the same synthetic TSDB, in one run; and how soon each tool pages in an outage. ")
	p("Prometheus v0.316.0's `tsdb`, `promql` and `rules` packages run in-process; the code is in `test/bench/rules`.\n\n")
	p("`make bench-rules` runs `go run ./test/bench/rules --markdown` (4 days of history) and rewrites the results for that history length below; ")
	p("`make bench-rules BENCH_RULES_FLAGS=\"--days 30\"` does the same for 30 days. `go run ./test/bench/rules --help` lists the knobs (days, pods, cycles, step, seed).\n\n")
	p("### Method\n\n")
	p("- **Raw series.** Checkout: `http_requests_total{job=\"checkout\"}` per pod and status code (200, 201, 404, 500, 503). ")
	p("API: the classic histogram `http_request_duration_seconds{job=\"api\"}` per pod, %d buckets including `le=\"0.3\"`, with `_count` and `_sum`. ", len(latencyBuckets))
	p("Storefront: `probe_success{job=\"blackbox\",instance=\"https://shop.example.com\"}`, one series per prober. ")
	p("A scrape every step (30 s): integer counters at %g requests/s per pod, ±%g%% over the day and ±%g%% from scrape to scrape; ", requestsPerPod, diurnalSwing*100, noise*50)
	p("the budgets burn well under 1×: 0.2%% 5xx (budget 0.5%%), 0.4%% of requests slower than 300 ms (budget 1%%), 0.05%% failed probes (budget 0.1%%). ")
	p("The history is written with the TSDB appender in time order; no rule runs while it is written, except the backfill.\n")
	p("- **TSDB** as in a Prometheus with 31 days of retention: blocks of 2h, 6h, 18h and 54h, compacted before measuring, and no compaction while measuring. ")
	p("**PromQL engine** with Prometheus's defaults (lookback 5m, 50M max samples, subqueries without a step at the evaluation interval). ")
	p("**Rule groups** loaded from each tool's file by the rule manager, alert state restored, evaluated with `Group.Eval` in file order, each at its own interval ")
	p("(Pyrra's `-increase` groups every 2m30s, every other group at the global interval). ")
	p("Sloth's files open with a `---` separator and a comment; the loader keeps the one YAML document, since Prometheus's `rulefmt` reads only the first.\n")
	p("- **Backfill.** Rules that read other rules' recorded series over a range or at an offset need those series' history. ")
	p("The benchmark finds them in each tool's expressions (a selector inside a range or a subquery, or with an offset, that may match a recording rule's name and labels, ")
	p("plus every recording rule those read) and records them over the history at every step, interleaved with writing it: ")
	p("each rule's expression as a range query at its group's interval, rule after rule in file order, as `promtool tsdb create-blocks-from rules` does, ")
	p("which gives the samples that evaluating the group at every step would write.\n")
	p("- **Measurement.** One tool after the other: a warm-up cycle, then N cycles at successive 30 s timestamps right after the history, new raw samples written between cycles. ")
	p("Each group's `Eval` is timed with the process's user+system CPU time (`getrusage`, so the garbage collection it causes counts too) and with wall time. ")
	p("*CPU/cycle* is the sum over the objective's groups, each evaluated once (median, p90, and the mean, which spreads garbage collection evenly wherever it fell); *CPU/min* weighs each group by its evaluations per minute. ")
	p("*Samples read* is the engine's count (`Query.Stats()`); *recorded series* the series the recording rules wrote in the last cycle (a rule whose expression is empty at the time writes none). ")
	p("*CPU per rule* is CPU/cycle over the number of rules: the rules engine's fixed cost per rule ")
	p("(it prints each rule's expression and parses it again at every evaluation, every selector looks up its series in every TSDB block of the rule's time span, each rule's samples are committed on their own) ")
	p("dominates when a rule reads few samples.\n")
	p("- **Detection.** After the measured cycles, every objective's new events turn bad at once (all checkout requests 5xx, all API requests slower than 0.5 s, all probes fail), ")
	p("and all groups of all tools are evaluated at their intervals every 30 s. The time is from the start of the outage to the first evaluation at which the page fires: ")
	p("ours `%s`, Sloth `%s`, Pyrra `%s` (its first window pair, `long: 1h4m`, has `for: 2m`). ", ours.page, sloth.page, pyrra.page)
	p("File order is the most favourable order for Sloth, whose alerts are a group of their own.\n")
	p("- **Sanity.** The burn rates each tool records at the end of the measured cycles, to show that the tools agree on the data and that the backfill gave the long windows their history.\n\n")
	return b.String()
}

func resultsText(r *result) string {
	keys, sums := r.byObjective()
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("%s\n\n", resultsHeading(r.cfg.days))
	p("**Command:** `go run ./test/bench/rules %s`", strings.Join(r.cfg.args, " "))
	if os.Getenv("MAKELEVEL") != "" {
		p(" (from `make bench-rules`)")
	}
	p(". **Machine:** %s, %d CPUs (GOMAXPROCS %d), %s %s/%s. **Date:** %s. The run took %s (peak RSS %s). ",
		cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		r.finishedAt.Format("2006-01-02"), r.totalTime.Round(time.Second), mib(r.peakRSS))
	p("One-minute load average when the run began %s, when measuring ours %s, Sloth %s, Pyrra %s: ",
		r.loadAvg, r.toolLoad[ours.name], r.toolLoad[sloth.name], r.toolLoad[pyrra.name])
	p("other processes on the machine lengthen wall times, and through shared caches and cores raise CPU times a little, more so for short measurements.\n\n")
	p("%s of history at %s: %s raw samples; raw series: checkout %d (%d pods × %d codes), api-latency %d (%d pods × %d), storefront-availability %d; %d TSDB blocks after compaction. ",
		daysText(r.cfg.days), r.cfg.step, thousands(int64(r.written)), r.rawSeries["checkout"], r.cfg.pods, len(statusCodes),
		r.rawSeries["api-latency"], r.cfg.pods, len(latencyBuckets)+2, r.rawSeries["storefront-availability"], r.blocks)
	p("Median and p90 of %d measured cycles.\n\n", r.cfg.cycles)
	if r.cfg.days < 30 {
		p("With %s of history, Pyrra's `[30d]` ranges (and its `[4d6h51m]` window) read all of it, and Sloth's `[30d]` over `slo:sli_error:ratio_rate5m` reads %s of that series; ", daysText(r.cfg.days), daysText(r.cfg.days))
		p("with 30 days they read up to %.1f× as many samples. Our rules read as many samples whatever the history, ", 30/float64(r.cfg.days))
		p("but every selector of a rule looks up its series in every block that the rule's time span covers, and our 30d window spans 27 days; ")
		p("the terms of that window that lie before the history find no series and count as no events.\n\n")
	}
	p("Backfilled: ")
	for i, t := range tools {
		if i > 0 {
			p("; ")
		}
		p("**%s**: %s", t.name, backfillText(r, t))
	}
	p(".\n\n")

	p("| objective | tool | rules (recording / alerting) | recorded series | reads raw series over | reads recorded series over | CPU/cycle p50 | CPU/cycle p90 | CPU/cycle mean | wall/cycle p50 | CPU/min p50 | CPU per rule | samples read/cycle |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range keys {
		for _, t := range tools {
			s := sums[k][t.name]
			p("| %s | %s | %d / %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k, t.name,
				s.s.recording, s.s.alerting, s.s.recordedSeries, span(s.s.rawSpan), span(s.s.recordedSpan),
				ms(s.cpu50), ms(s.cpu90), ms(s.cpuMean), ms(s.wall50), ms(s.min50), ms(s.perRule()), thousands(s.samples50))
		}
	}
	p("\nOurs against the others; target: ours ≤ %s Sloth and ≤ %s Pyrra per objective, CPU per cycle (median).\n\n", ratio(targetVsSloth), ratio(targetVsPyrra))
	p("| objective | against | ours / theirs, per cycle (p50) | by mean | per minute (p50) | target | met |\n|---|---|---|---|---|---|---|\n")
	var missed []string
	for _, row := range r.ratios() {
		p("| %s | %s | %s | %s | %s | ≤ %s | %s |\n", row.key, row.other, ratio(row.cycle), ratio(row.meanCycle), ratio(row.minute), ratio(row.target), yesNo(row.met))
		if !row.met {
			missed = append(missed, fmt.Sprintf("%s against %s (%s)", row.key, row.other, ratio(row.cycle)))
		}
	}
	if len(missed) == 0 {
		p("\nAll targets met.\n\n")
	} else {
		p("\nMissed: %s.\n\n", strings.Join(missed, "; "))
	}

	p("Detection, from the start of the outage to the page (evaluations every %s; a dash: not within %s):\n\n", r.cfg.step, r.cfg.detectFor)
	p("| objective | outage | ours | Sloth | Pyrra |\n|---|---|---|---|---|\n")
	for _, k := range keys {
		p("| %s | %s | %s | %s | %s |\n", k, sums[k][ours.name].s.obj.outage,
			detected(sums[k][ours.name].s), detected(sums[k][sloth.name].s), detected(sums[k][pyrra.name].s))
	}
	var early []string
	for _, s := range r.subjects {
		if s.pagedBefore {
			early = append(early, s.tool.name+" for "+s.obj.key)
		}
	}
	if len(early) == 0 {
		p("\nNo page fired before the outage.\n\n")
	} else {
		p("\nPages that fired before the outage: %s.\n\n", strings.Join(early, ", "))
	}

	p("Sanity, burn rates at the end of the measured cycles (Pyrra records no 3d or 30d burn rate; its 4d6h51m window stands in for 3d):\n\n")
	p("| objective | tool | 5m | 3d | 30d |\n|---|---|---|---|---|\n")
	for _, k := range keys {
		for _, t := range tools {
			s := sums[k][t.name].s
			p("| %s | %s | %s | %s | %s |\n", k, t.name, burn(s, window5m), burn(s, window3d), burn(s, window30d))
		}
	}
	p("\nWhat dominates: the costliest rules per objective and tool, median wall time per evaluation and share of the objective's rule time.\n\n")
	for _, k := range keys {
		for _, t := range tools {
			p("- %s, %s: %s\n", k, t.name, costliestText(sums[k][t.name].s, 2))
		}
	}
	if len(r.errors) > 0 {
		p("\n**Rule evaluation errors:**\n\n")
		for _, e := range r.errors {
			p("- %s\n", e)
		}
	}
	return b.String()
}

func resultsHeading(days int) string { return "### Results: " + daysText(days) + " of history" }

func daysText(days int) string {
	if days == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

// resultsOf returns the results subsections of a section, by history
// length.
func resultsOf(section string) map[int]string {
	out := map[int]string{}
	days := -1
	var cur strings.Builder
	flush := func() {
		if days >= 0 {
			out[days] = cur.String()
		}
		cur.Reset()
		days = -1
	}
	for line := range strings.Lines(section) {
		t := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(t, "### ") || strings.HasPrefix(t, "## ") {
			flush()
			var d int
			if _, err := fmt.Sscanf(t, "### Results: %d", &d); err == nil && t == resultsHeading(d) {
				days = d
			}
		}
		if days >= 0 {
			cur.WriteString(line)
		}
	}
	flush()
	return out
}

// sectionBounds returns the lines of the section under SectionHeading,
// [start, end), up to the next level-2 heading; start is -1 when there is
// none.
func sectionBounds(lines []string) (start, end int) {
	start, end = -1, len(lines)
	for i, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if start < 0 && t == SectionHeading {
			start = i
			continue
		}
		if start >= 0 && strings.HasPrefix(t, "## ") {
			return start, i
		}
	}
	return start, end
}

// sectionOf returns the section under SectionHeading in doc, or "".
func sectionOf(doc string) string {
	lines := strings.SplitAfter(doc, "\n")
	start, end := sectionBounds(lines)
	if start < 0 {
		return ""
	}
	return strings.Join(lines[start:end], "")
}

// replaceSection puts section in place of the one under SectionHeading in
// doc, up to the next level-2 heading, or appends it.
func replaceSection(doc, section string) string {
	lines := strings.SplitAfter(doc, "\n")
	start, end := sectionBounds(lines)
	section = strings.TrimRight(section, "\n") + "\n"
	if start < 0 {
		if doc == "" {
			return section
		}
		return strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	if end < len(lines) {
		section += "\n"
	}
	return strings.Join(lines[:start], "") + section + strings.Join(lines[end:], "")
}

// docHeader starts docs/benchmarks.md when it does not exist yet.
const docHeader = `# Benchmarks

Each section is written by the command it names; run it again to refresh
the figures. Figures depend on the machine: compare them within a section,
where one run measured them side by side.

`

func writeMarkdown(path string, r *result) error {
	doc, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	text := string(doc)
	if text == "" {
		text = docHeader
	}
	section := markdownSection(r, sectionOf(text))
	if err := os.WriteFile(path, []byte(replaceSection(text, section)), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func backfillText(r *result, t tool) string {
	var keys, texts []string
	for _, s := range r.subjects {
		if s.tool.name == t.name && len(s.backfilled) > 0 {
			keys = append(keys, s.obj.key)
			texts = append(texts, summariseBackfill(s.backfilled))
		}
	}
	switch {
	case len(texts) == 0:
		return "nothing (no rule reads a recorded series over a range or at an offset)"
	case len(texts) == len(objectives()) && len(slices.Compact(slices.Clone(texts))) == 1:
		return "for each objective, " + texts[0]
	}
	parts := make([]string, len(texts))
	for i := range texts {
		parts[i] = keys[i] + ": " + texts[i]
	}
	return strings.Join(parts, "; ")
}

func costliestText(s *subject, n int) string {
	var parts []string
	for i, c := range s.costliest() {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("`%s` %s (%.0f%%)", c.name, ms(c.median), 100*c.share))
	}
	return strings.Join(parts, ", ")
}

func detected(s *subject) string {
	if s.detected < 0 {
		return "—"
	}
	m := int(s.detected / time.Minute)
	sec := int((s.detected % time.Minute) / time.Second)
	return fmt.Sprintf("%dm%02ds", m, sec)
}

func burn(s *subject, w string) string {
	v, ok := s.sanity[w]
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.3f", v)
}
