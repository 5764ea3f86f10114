package main

// What the measured cycles add up to: quantiles, the costliest rules, the
// burn rates read back for the sanity table, and the rule errors seen.

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/prometheus/rules"

	"github.com/cxops/cx-operator/test/bench/internal/stats"
)

// The burn-rate windows compared across tools, to show that the three agree
// on the data (and that the backfill gave Sloth's and our long windows
// their history). Pyrra records no 3d or 30d burn rate; its longest,
// 4d6h51m, stands in for 3d.
const (
	window5m  = "5m"
	window3d  = "3d"
	window30d = "30d"
)

var sanityWindows = []string{window5m, window3d, window30d}

func sanity(ctx context.Context, e *engine, s *subject, ts time.Time) map[string]float64 {
	name := s.obj.obj.Name
	budget := s.model.Budget
	var qs map[string]string
	switch s.tool.name {
	case ours.name:
		qs = map[string]string{}
		for _, w := range sanityWindows {
			qs[w] = fmt.Sprintf(`cx:burn_rate{cx_objective=%q,cx_window=%q}`, name, w)
		}
	case sloth.name:
		qs = map[string]string{
			window5m:  fmt.Sprintf(`slo:current_burn_rate:ratio{sloth_slo=%q}`, name),
			window3d:  fmt.Sprintf(`slo:sli_error:ratio_rate3d{sloth_slo=%q} / %g`, name, budget),
			window30d: fmt.Sprintf(`slo:period_burn_rate:ratio{sloth_slo=%q}`, name),
		}
	case pyrra.name:
		qs = map[string]string{
			window5m: fmt.Sprintf(`{__name__=~".+:burnrate5m",slo=%q} / %g`, name, budget),
			window3d: fmt.Sprintf(`{__name__=~".+:burnrate4d6h51m",slo=%q} / %g`, name, budget),
		}
	}
	out := map[string]float64{}
	for w, q := range qs {
		v, err := e.instant(ctx, q, ts)
		if err == nil && len(v) == 1 {
			out[w] = v[0].F
		}
	}
	return out
}

// errorSet collects rule evaluation errors, each once.
type errorSet struct {
	seen map[string]bool
	list []string
}

func newErrorSet() *errorSet { return &errorSet{seen: map[string]bool{}} }

func (es *errorSet) check(s *subject, g *rules.Group) {
	for _, r := range g.Rules() {
		if err := r.LastError(); err != nil {
			msg := fmt.Sprintf("%s, %s, group %s, rule %s: %v", s.tool.name, s.obj.key, g.Name(), r.Name(), err)
			if !es.seen[msg] {
				es.seen[msg] = true
				es.list = append(es.list, msg)
			}
		}
	}
}

// costliest returns the subject's rules by median evaluation time, most
// expensive first.
func (s *subject) costliest() []ruleCost {
	var out []ruleCost
	var total time.Duration
	for gi, g := range s.groups {
		for ri, r := range g.Rules() {
			m := stats.Quantile(s.ruleWall[gi][ri], 0.5)
			total += m
			out = append(out, ruleCost{name: ruleName(r), median: m})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].median > out[j].median })
	for i := range out {
		if total > 0 {
			out[i].share = float64(out[i].median) / float64(total)
		}
	}
	return out
}

// ruleCost is one rule's median evaluation time and its share of the
// subject's.
type ruleCost struct {
	name   string
	median time.Duration
	share  float64
}

func ruleName(r rules.Rule) string {
	n := r.Name()
	for _, k := range []string{"cx_window", "sloth_window", "long", "severity"} {
		if v := r.Labels().Get(k); v != "" {
			n += "{" + k + "=\"" + v + "\"}"
			break
		}
	}
	return n
}
