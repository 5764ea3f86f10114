package main

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/cxops/cx-operator/internal/slo"
)

// recordedSamples reads every sample of the series named like cx:... .
func recordedSamples(t *testing.T, e *engine, from, to time.Time) map[string][]float64 {
	t.Helper()
	q, err := e.db.Querier(from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	}()
	out := map[string][]float64{}
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel, "cx:.+"))
	for set.Next() {
		s := set.At()
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			_, v := it.At()
			out[s.Labels().String()] = append(out[s.Labels().String()], v)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRangeQueryBackfillRecordsWhatStepEvaluationWould(t *testing.T) {
	const step = 30 * time.Second
	history := 3 * time.Hour
	start := firstCycle.Add(-history)
	end := firstCycle.Add(-step)
	o := objectives()[0]
	model, err := slo.FromObjective(o.obj, o.owner, nil)
	if err != nil {
		t.Fatal(err)
	}
	content, err := ourRuleFile(model)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	f, err := parseRuleFile("ours/"+o.key, content, p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyse([]ruleFile{f}, p)
	if err != nil {
		t.Fatal(err)
	}
	bf, ok := backfillFile(f, a.needsHistory())
	if !ok {
		t.Fatal("nothing to backfill")
	}

	open := func() *engine {
		e, err := newEngine(step)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := e.close(); err != nil {
				t.Error(err)
			}
		})
		return e
	}
	ctx := context.Background()
	byRange, byStep := open(), open()
	groups, err := byStep.load(bf)
	if err != nil {
		t.Fatal(err)
	}
	wr := newWorkload(2, 1, step, 7, start)
	ws := newWorkload(2, 1, step, 7, start)
	for at := start; !at.After(end); at = at.Add(historyChunk) {
		chunkEnd := at.Add(historyChunk - step)
		if _, err := wr.writeUntil(ctx, byRange.db, chunkEnd); err != nil {
			t.Fatal(err)
		}
		if err := byRange.backfill(ctx, bf, at, chunkEnd); err != nil {
			t.Fatal(err)
		}
		if _, err := ws.writeUntil(ctx, byStep.db, chunkEnd); err != nil {
			t.Fatal(err)
		}
		for ts := at; !ts.After(chunkEnd); ts = ts.Add(step) {
			for _, g := range groups {
				g.Eval(ctx, ts)
				for _, r := range g.Rules() {
					if err := r.LastError(); err != nil {
						t.Fatalf("%s at %s: %v", r.Name(), ts, err)
					}
				}
			}
		}
	}

	got := recordedSamples(t, byRange, start, end)
	want := recordedSamples(t, byStep, start, end)
	windows := map[string]bool{}
	for _, b := range describeBackfill(bf) {
		windows[b.window] = true
	}
	// Every backfilled window records two series: total and bad events.
	if len(want) != 2*len(windows) {
		t.Fatalf("stepping recorded %d series, want two per backfilled window (%d windows)", len(want), len(windows))
	}
	for series, ws := range want {
		gs := got[series]
		if len(gs) != len(ws) {
			t.Errorf("%s: range queries recorded %d samples, stepping %d", series, len(gs), len(ws))
			continue
		}
		for i := range ws {
			if math.Abs(gs[i]-ws[i]) > 1e-9*math.Max(1, math.Abs(ws[i])) {
				t.Errorf("%s, sample %d: %g by range query, %g by stepping", series, i, gs[i], ws[i])
				break
			}
		}
	}
}
