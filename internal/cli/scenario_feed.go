package cli

import (
	"fmt"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cxops/cx-operator/internal/simulate"
	"github.com/cxops/cx-operator/internal/slo"
)

// feedFor returns the source of the objective's raw series for the
// scenario, over the time since the start of the history, and a description
// of the series.
func feedFor(m slo.Objective, sc scenario, rate float64, onset time.Duration) (simulate.Source, []string, error) {
	var traffic simulate.Traffic
	if sc.name == ScenarioLowTraffic {
		traffic = simulate.Discrete(lowTrafficPeriod, func(i int64) bool {
			return time.Duration(i)*lowTrafficPeriod > onset && pseudoRandom(i) < lowTrafficBadShare
		})
	} else {
		traffic = simulate.Steady(rate, func(at time.Duration) float64 { return sc.share(at - onset) })
	}
	s := m.SLI
	switch s.Kind {
	case slo.KindErrorRatio:
		return counterFeed(s, traffic)
	case slo.KindLatency:
		extra, err := seriesFor(s.Metric, nil)
		if err != nil {
			return nil, nil, err
		}
		extra = withoutName(extra)
		if s.Native {
			return simulate.NativeHistogram(s.Metric.Name, extra, s.Threshold, traffic),
				[]string{fmt.Sprintf("native histogram %s: good events at %s, bad at %s",
					seriesString(s.Metric.Name, extra), seconds(s.Threshold/4), seconds(s.Threshold*4))}, nil
		}
		buckets := []float64{s.Threshold, 4 * s.Threshold}
		return simulate.ClassicHistogram(s.Metric.Name, extra, buckets, s.Threshold, traffic),
			[]string{fmt.Sprintf("classic histogram %s (_bucket at le %s, %s and +Inf, _count, _sum): good events at %s, bad at %s",
				seriesString(s.Metric.Name, extra), slo.FormatFloat(buckets[0]), slo.FormatFloat(buckets[1]),
				seconds(s.Threshold/2), seconds(s.Threshold*2))}, nil
	case slo.KindAvailability:
		return gaugeFeed(s.Metric, 1, 0, func(at time.Duration) float64 { return sc.share(at - onset) })
	case slo.KindScore:
		good, bad := s.Threshold+1, s.Threshold-1
		if !s.GoodAbove {
			good, bad = bad, good
		}
		return gaugeFeed(s.Metric, good, bad, func(at time.Duration) float64 { return sc.share(at - onset) })
	}
	return nil, nil, fmt.Errorf("unknown SLI kind %q", s.Kind)
}

// counterFeed feeds an error-ratio SLI: a good and a bad counter when one
// series can match both selectors (the usual code=~"5.." case), else a
// total and an errors counter of their own.
func counterFeed(s slo.SLI, traffic simulate.Traffic) (simulate.Source, []string, error) {
	if s.Errors.Name == s.Total.Name {
		both := slo.Selector{Name: s.Total.Name, Matchers: append(append([]*labels.Matcher(nil), s.Errors.Matchers...), s.Total.Matchers...)}
		bad, errBad := seriesFor(both, nil)
		good, errGood := seriesFor(s.Total, &s.Errors)
		if errBad == nil && errGood == nil {
			return simulate.Counters(good, bad, traffic),
				[]string{"good events " + good.String(), "bad events " + bad.String()}, nil
		}
	}
	total, err := seriesFor(s.Total, &s.Errors)
	if err != nil {
		return nil, nil, err
	}
	errs, err := seriesFor(s.Errors, &s.Total)
	if err != nil {
		return nil, nil, err
	}
	var last time.Duration
	var n, b float64
	return func(at time.Duration) []simulate.Sample {
		events, bad := traffic(last, at)
		if at > 0 {
			n += events
			b += bad
		}
		last = at
		return []simulate.Sample{{Labels: total, Value: n}, {Labels: errs, Value: b}}
	}, []string{"all events " + total.String(), "bad events " + errs.String()}, nil
}

// gaugeFeed feeds testProbes series of a gauge, each good or bad at each
// scrape, so that the share of bad samples follows share(at).
func gaugeFeed(sel slo.Selector, good, bad float64, share func(time.Duration) float64) (simulate.Source, []string, error) {
	base, err := seriesFor(sel, nil)
	if err != nil {
		return nil, nil, err
	}
	probe := ""
	for _, name := range []string{"probe", "replica", "cx_probe"} {
		if !sel.HasLabel(name) {
			probe = name
			break
		}
	}
	if probe == "" {
		return nil, nil, fmt.Errorf("the selector %s matches on every label name that could tell probes apart", sel)
	}
	series := make([]labels.Labels, testProbes)
	for i := range series {
		b := labels.NewBuilder(base)
		b.Set(probe, fmt.Sprintf("p%02d", i+1))
		series[i] = b.Labels()
	}
	var owed float64
	next := 0
	src := func(at time.Duration) []simulate.Sample {
		owed += float64(len(series)) * share(at)
		out := make([]simulate.Sample, len(series))
		for i, l := range series {
			out[i] = simulate.Sample{Labels: l, Value: good}
		}
		for ; owed >= 1-1e-9; owed-- {
			out[next%len(out)].Value = bad
			next++
		}
		return out
	}
	desc := fmt.Sprintf("%d series %s with %s=p01..p%02d: %s when good, %s when bad", testProbes, base.String(), probe, testProbes,
		slo.FormatFloat(good), slo.FormatFloat(bad))
	return src, []string{desc}, nil
}

func withoutName(l labels.Labels) labels.Labels {
	b := labels.NewBuilder(l)
	b.Del("__name__")
	return b.Labels()
}

func seriesString(name string, l labels.Labels) string {
	b := labels.NewBuilder(l)
	b.Set("__name__", name)
	return b.Labels().String()
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).String()
}

func percent(x float64) string {
	return slo.FormatFloat(math.Round(x*100*10000)/10000) + "%"
}

// pseudoRandom returns a number in [0, 1) for event i, the same on every
// run (the SplitMix64 finalizer).
func pseudoRandom(i int64) float64 {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / float64(1<<53)
}
