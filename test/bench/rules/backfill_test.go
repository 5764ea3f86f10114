package main

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func mustParse(t *testing.T, name, content string) ruleFile {
	t.Helper()
	f, err := parseRuleFile(name, []byte(content), parser.NewParser(parser.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// backfilled lists the records (with their window label) that need history.
func backfilled(t *testing.T, files ...ruleFile) []string {
	t.Helper()
	a, err := analyse(files, parser.NewParser(parser.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	need := a.needsHistory()
	if err := a.checkBackfillOrder(need); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if bf, ok := backfillFile(f, need); ok {
			for _, b := range describeBackfill(bf) {
				out = append(out, b.String())
			}
		}
	}
	sort.Strings(out)
	return out
}

// A rolling window averaged from a short recorded ratio, as Sloth writes
// its 30-day window.
const averagedWindow = `
---
# generated
groups:
- name: sli
  rules:
  - record: job:errors:ratio
    expr: sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))
    labels: {sloth_window: 5m, slo: a}
  - record: job:errors:ratio
    expr: sum(rate(errors_total[1h])) / sum(rate(requests_total[1h]))
    labels: {sloth_window: 1h, slo: a}
  - record: job:errors:ratio
    expr: sum_over_time(job:errors:ratio{slo="a",sloth_window="5m"}[30d]) / count_over_time(job:errors:ratio{slo="a",sloth_window="5m"}[30d])
    labels: {sloth_window: 30d, slo: a}
- name: alerts
  rules:
  - alert: Burn
    expr: job:errors:ratio{slo="a",sloth_window="1h"} > 0.1
`

// Windows composed of shorter windows read at offsets, as ours are.
const composedWindows = `
groups:
- name: composed
  rules:
  - record: x:rate
    expr: sum(rate(requests_total[5m]))
    labels: {w: 5m}
  - record: x:rate
    expr: (x:rate{w="5m"} + on () (x:rate{w="5m"} offset 5m or on () vector(0))) / 2
    labels: {w: 10m}
  - record: x:rate
    expr: (x:rate{w="10m"} + on () (x:rate{w="10m"} offset 10m or on () vector(0))) / 2
    labels: {w: 20m}
  - record: x:burn
    expr: x:rate{w="20m"} / 10
  - alert: Burn
    expr: x:burn > 1 and on () ALERTS{alertname="Burn"}
`

// Windows read from raw series only, as Pyrra's are.
const rawWindows = `
groups:
- name: raw
  interval: 2m30s
  rules:
  - record: x:burnrate5m
    expr: sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))
  - record: x:burnrate1h
    expr: sum(rate(errors_total[1h])) / sum(rate(requests_total[1h]))
  - alert: Burn
    expr: x:burnrate5m > 0.1 and x:burnrate1h > 0.1
    for: 2m
`

func TestBackfillNeedsOnlyWhatRulesReadAtPastTimes(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    []string
	}{
		{"an average over a range needs the averaged series, not the windows read now", averagedWindow,
			[]string{`job:errors:ratio{sloth_window="5m"}`}},
		{"a window read at an offset needs history, and so do the windows it is made of", composedWindows,
			[]string{"x:rate", "x:rate"}},
		{"rules that read raw series only need none", rawWindows, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := backfilled(t, mustParse(t, "f", c.content))
			if !slices.Equal(got, c.want) {
				t.Errorf("backfilled %q, want %q", got, c.want)
			}
		})
	}
}

func TestComposedWindowsKeepTheirOrderAndLeaveTheLongestOut(t *testing.T) {
	f := mustParse(t, "f", composedWindows)
	a, err := analyse([]ruleFile{f}, parser.NewParser(parser.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	bf, ok := backfillFile(f, a.needsHistory())
	if !ok {
		t.Fatal("nothing to backfill")
	}
	var ws []string
	for _, r := range bf.groups.Groups[0].Rules {
		ws = append(ws, r.Labels["w"])
	}
	if want := []string{"5m", "10m"}; !slices.Equal(ws, want) {
		t.Errorf("backfilled windows %q, want %q: the 20m window is read only now", ws, want)
	}
	if bf.groups.Groups[0].Name != "backfill/composed" {
		t.Errorf("backfill group named %q", bf.groups.Groups[0].Name)
	}
}

func TestSummariseBackfillListsTheWindowsOfEachRecord(t *testing.T) {
	rs := []backfilledRule{
		{"x:bad", "cx_window", "5m"}, {"x:all", "cx_window", "5m"},
		{"x:bad", "cx_window", "30m"}, {"x:all", "cx_window", "30m"},
	}
	want := "`x:bad` with cx_window 5m, 30m and `x:all` with cx_window 5m, 30m (4 rules)"
	if got := summariseBackfill(rs); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := summariseBackfill([]backfilledRule{{record: "y"}}); got != "`y` (1 rule)" {
		t.Errorf("got %s", got)
	}
}

func TestARuleThatReadsALaterRuleAtAnOffsetCannotBeBackfilledByRangeQueries(t *testing.T) {
	f := mustParse(t, "f", `
groups:
- name: g
  rules:
  - record: a
    expr: b offset 5m
  - record: b
    expr: sum(rate(requests_total[5m]))
  - record: c
    expr: a offset 1h
`)
	a, err := analyse([]ruleFile{f}, parser.NewParser(parser.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.checkBackfillOrder(a.needsHistory()); err == nil {
		t.Error("no error for a rule that reads a later rule")
	}
}

func TestSpansTellRawFromRecordedReads(t *testing.T) {
	f := mustParse(t, "f", averagedWindow)
	a, err := analyse([]ruleFile{f}, parser.NewParser(parser.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	raw, recorded := a.spans("f")
	if span(raw) != "1h" || span(recorded) != "30d" {
		t.Errorf("raw over %s and recorded over %s, want 1h and 30d", span(raw), span(recorded))
	}
}

func TestSingleDocument(t *testing.T) {
	cases := []struct {
		name, in, want, err string
	}{
		{name: "a leading separator and comment are dropped", in: "\n---\n# generated\ngroups: []\n", want: "# generated\ngroups: []\n"},
		{name: "a plain file is kept", in: "groups: []\n", want: "groups: []\n"},
		{name: "a trailing separator is dropped", in: "groups: []\n---\n", want: "groups: []\n"},
		{name: "two documents are refused", in: "groups: []\n---\ngroups: []\n", err: "2 YAML documents"},
		{name: "comments only are refused", in: "---\n# nothing\n", err: "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := singleDocument([]byte(c.in))
			switch {
			case c.err != "":
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want one with %q", err, c.err)
				}
			case err != nil:
				t.Fatal(err)
			case string(got) != c.want:
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
