package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Rules read at past times need the history that Prometheus would have
// recorded before the benchmark starts: a recorded series read over a range
// or at an offset (Sloth's 30d window averages the 5m ratio over [30d]; our
// windows add up shorter recorded windows read at offsets). The benchmark
// finds those recording rules from the expressions themselves, adds the
// recording rules they read in turn, and evaluates only them over the
// synthetic history.

// ruleRef names one rule: the file, the group's and the rule's positions.
type ruleRef struct {
	file        string
	group, rule int
}

// selectorRead is one vector selector of an expression, and whether it
// reads the past: inside a range or a subquery, at an offset or with @.
type selectorRead struct {
	matchers []*labels.Matcher
	past     bool
	// span is how far back it reads: its range and offset, and those of
	// subqueries around it.
	span time.Duration
}

// reads lists the vector selectors of an expression.
func reads(expr string, p parser.Parser) ([]selectorRead, error) {
	e, err := p.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", expr, err)
	}
	var out []selectorRead
	parser.Inspect(e, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		past := vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0
		span := vs.OriginalOffset
		for _, n := range path {
			switch n := n.(type) {
			case *parser.MatrixSelector:
				past = true
				span += n.Range
			case *parser.SubqueryExpr:
				past = true
				span += n.Range + n.OriginalOffset
			}
		}
		out = append(out, selectorRead{matchers: vs.LabelMatchers, past: past, span: span})
		return nil
	})
	return out, nil
}

// recorder is a recording rule and the labels every series it records has:
// its name and the group's and rule's labels.
type recorder struct {
	ref    ruleRef
	static map[string]string
}

// mayRead says whether the selector can select series of the recorder. A
// matcher on a label the rule does not set could match labels that come
// from the expression, so only the static labels can rule a recorder out.
func (r recorder) mayRead(matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if v, ok := r.static[m.Name]; ok && !m.Matches(v) {
			return false
		}
	}
	return true
}

// analysis is what the rules of one tool read.
type analysis struct {
	recorders []recorder
	reads     map[ruleRef][]selectorRead
}

func analyse(files []ruleFile, p parser.Parser) (analysis, error) {
	a := analysis{reads: map[ruleRef][]selectorRead{}}
	for _, f := range files {
		for gi, g := range f.groups.Groups {
			for ri, r := range g.Rules {
				ref := ruleRef{file: f.name, group: gi, rule: ri}
				rs, err := reads(r.Expr, p)
				if err != nil {
					return analysis{}, fmt.Errorf("rule file %s, group %s: %w", f.name, g.Name, err)
				}
				a.reads[ref] = rs
				if r.Record == "" {
					continue
				}
				static := map[string]string{}
				maps.Copy(static, g.Labels)
				maps.Copy(static, r.Labels)
				static[model.MetricNameLabel] = r.Record
				a.recorders = append(a.recorders, recorder{ref: ref, static: static})
			}
		}
	}
	return a, nil
}

// recorded says whether a selector may read what rules write: a recording
// rule's output or the ALERTS series of alerting rules.
func (a analysis) recorded(sel []*labels.Matcher) bool {
	for _, m := range sel {
		if m.Name == model.MetricNameLabel && m.Matches("ALERTS") {
			return true
		}
	}
	for _, rec := range a.recorders {
		if rec.mayRead(sel) {
			return true
		}
	}
	return false
}

// needsHistory returns the recording rules whose output some rule reads at
// past times, together with the recording rules those read, at any time,
// to compute it.
func (a analysis) needsHistory() map[ruleRef]bool {
	need := map[ruleRef]bool{}
	var queue []ruleRef
	add := func(sel []*labels.Matcher) {
		for _, rec := range a.recorders {
			if !need[rec.ref] && rec.mayRead(sel) {
				need[rec.ref] = true
				queue = append(queue, rec.ref)
			}
		}
	}
	for _, rs := range a.reads {
		for _, r := range rs {
			if r.past {
				add(r.matchers)
			}
		}
	}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		for _, r := range a.reads[ref] {
			add(r.matchers)
		}
	}
	return need
}

// checkBackfillOrder makes sure that range queries, one rule after the
// other in file order, record what evaluating the groups at every step
// would: each rule in need may read only rules of its own file that come
// before it.
func (a analysis) checkBackfillOrder(need map[ruleRef]bool) error {
	before := func(x, y ruleRef) bool {
		return x.file == y.file && (x.group < y.group || x.group == y.group && x.rule < y.rule)
	}
	for ref := range need {
		for _, r := range a.reads[ref] {
			for _, rec := range a.recorders {
				if rec.mayRead(r.matchers) && !before(rec.ref, ref) {
					return fmt.Errorf("rule %d of group %d in %s reads a rule that does not come before it; it cannot be backfilled by range queries",
						ref.rule+1, ref.group+1, ref.file)
				}
			}
		}
	}
	return nil
}

// spans returns how far back the rules of a file read raw (scraped) series
// and recorded series at most: 0 when they read them only at the time of
// evaluation, -1 when not at all.
func (a analysis) spans(file string) (raw, recorded time.Duration) {
	raw, recorded = -1, -1
	for ref, rs := range a.reads {
		if ref.file != file {
			continue
		}
		for _, r := range rs {
			if a.recorded(r.matchers) {
				recorded = max(recorded, r.span)
			} else {
				raw = max(raw, r.span)
			}
		}
	}
	return raw, recorded
}

// backfillFile returns the groups that record the history of a file: each
// group that holds rules in need, with only those rules, in their order and
// at the group's interval. It returns false when the file needs none.
func backfillFile(f ruleFile, need map[ruleRef]bool) (ruleFile, bool) {
	out := &rulefmt.RuleGroups{}
	for gi, g := range f.groups.Groups {
		var rs []rulefmt.Rule
		for ri, r := range g.Rules {
			if need[ruleRef{file: f.name, group: gi, rule: ri}] {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		out.Groups = append(out.Groups, rulefmt.RuleGroup{
			Name: "backfill/" + g.Name, Interval: g.Interval, Labels: g.Labels, Rules: rs,
		})
	}
	return ruleFile{name: "backfill/" + f.name, groups: out}, len(out.Groups) > 0
}

// backfilledRule names a backfilled recording rule for the report.
type backfilledRule struct {
	// record is the rule's name; label and window its window label, if
	// it has one (cx_window, sloth_window).
	record, label, window string
}

func (b backfilledRule) String() string {
	if b.label == "" {
		return b.record
	}
	return b.record + "{" + b.label + "=\"" + b.window + "\"}"
}

// describeBackfill lists the recording rules of a backfill file.
func describeBackfill(f ruleFile) []backfilledRule {
	var out []backfilledRule
	for _, g := range f.groups.Groups {
		for _, r := range g.Rules {
			b := backfilledRule{record: r.Record}
			for _, k := range []string{"cx_window", "sloth_window"} {
				if w, ok := r.Labels[k]; ok {
					b.label, b.window = k, w
					break
				}
			}
			out = append(out, b)
		}
	}
	return out
}

// summariseBackfill writes backfilled rules as their records, each with
// its windows: "`a` with cx_window 5m, 30m and `b` with ... (4 rules)".
func summariseBackfill(rs []backfilledRule) string {
	var order []string
	byRecord := map[string][]backfilledRule{}
	for _, r := range rs {
		if _, ok := byRecord[r.record]; !ok {
			order = append(order, r.record)
		}
		byRecord[r.record] = append(byRecord[r.record], r)
	}
	parts := make([]string, len(order))
	for i, rec := range order {
		parts[i] = "`" + rec + "`"
		if same := byRecord[rec]; same[0].label != "" {
			// A window recorded by several rules (say total and bad
			// events) is named once.
			var ws []string
			for _, r := range same {
				if !slices.Contains(ws, r.window) {
					ws = append(ws, r.window)
				}
			}
			parts[i] += " with " + same[0].label + " " + strings.Join(ws, ", ")
		}
	}
	rules := "rules"
	if len(rs) == 1 {
		rules = "rule"
	}
	return fmt.Sprintf("%s (%d %s)", strings.Join(parts, " and "), len(rs), rules)
}
