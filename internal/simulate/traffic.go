package simulate

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Traffic says how many events happened in the span (from, to] since the
// start of a run, and how many of them were bad.
type Traffic func(from, to time.Duration) (events, bad float64)

// Steady is traffic at rate events per second, of which the share bad(at)
// is bad; bad may change over time (an incident).
func Steady(rate float64, bad func(at time.Duration) float64) Traffic {
	return func(from, to time.Duration) (float64, float64) {
		n := rate * (to - from).Seconds()
		return n, n * bad(from+(to-from)/2)
	}
}

// Discrete is one event every period; bad(i) says whether the i-th event
// (from 0) is bad. It models low traffic, where events are few and whole.
func Discrete(period time.Duration, bad func(i int64) bool) Traffic {
	return func(from, to time.Duration) (float64, float64) {
		var events, bads float64
		for i := int64(from/period) + 1; time.Duration(i)*period <= to; i++ {
			events++
			if bad(i) {
				bads++
			}
		}
		return events, bads
	}
}

// Switch is a share that is high from start to end and low otherwise: an
// incident.
func Switch(low, high float64, start, end time.Duration) func(time.Duration) float64 {
	return func(at time.Duration) float64 {
		if at >= start && at < end {
			return high
		}
		return low
	}
}

// tally counts the good and bad events of traffic up to a time since the
// start of a run; times must not go back.
type tally struct {
	traffic   Traffic
	last      time.Duration
	good, bad float64
}

func (t *tally) advance(at time.Duration) {
	events, bad := t.traffic(t.last, at)
	if at > 0 {
		t.good += events - bad
		t.bad += bad
	}
	t.last = at
}

// Counters feeds a good and a bad counter (e.g. code="200" and code="500"
// of http_requests_total) from the traffic.
func Counters(good, bad labels.Labels, traffic Traffic) Source {
	t := &tally{traffic: traffic}
	return func(at time.Duration) []Sample {
		t.advance(at)
		return []Sample{{Labels: good, Value: t.good}, {Labels: bad, Value: t.bad}}
	}
}

// ClassicHistogram feeds the _bucket (at every bound in buckets and +Inf),
// _count and _sum series of a histogram named name with the extra labels.
// Good events are observed at threshold/2, bad ones at twice the threshold.
func ClassicHistogram(name string, extra labels.Labels, buckets []float64, threshold float64, traffic Traffic) Source {
	bounds := append(append([]float64(nil), buckets...), math.Inf(1))
	sort.Float64s(bounds)
	t := &tally{traffic: traffic}
	with := func(metric string, more ...string) labels.Labels {
		b := labels.NewBuilder(extra)
		b.Set(model.MetricNameLabel, metric)
		for i := 0; i+1 < len(more); i += 2 {
			b.Set(more[i], more[i+1])
		}
		return b.Labels()
	}
	return func(at time.Duration) []Sample {
		t.advance(at)
		good, bad := t.good, t.bad
		var out []Sample
		for _, le := range bounds {
			count := 0.0
			if threshold/2 <= le {
				count += good
			}
			if threshold*2 <= le {
				count += bad
			}
			out = append(out, Sample{Labels: with(name+"_bucket", "le", formatLe(le)), Value: count})
		}
		return append(out,
			Sample{Labels: with(name + "_count"), Value: good + bad},
			Sample{Labels: with(name + "_sum"), Value: good*threshold/2 + bad*threshold*2},
		)
	}
}

// NativeHistogram feeds a native histogram (exponential buckets, schema 0)
// named name with the extra labels. Good events are observed at a quarter
// of the threshold, bad ones at four times it, so that no bucket straddles
// the threshold and histogram_fraction is exact.
func NativeHistogram(name string, extra labels.Labels, threshold float64, traffic Traffic) Source {
	lb := labels.NewBuilder(extra)
	lb.Set(model.MetricNameLabel, name)
	series := lb.Labels()
	t := &tally{traffic: traffic}
	return func(at time.Duration) []Sample {
		t.advance(at)
		good, bad := t.good, t.bad
		h := &histogram.FloatHistogram{Schema: 0, ZeroThreshold: 1e-128, Count: good + bad, Sum: good*threshold/4 + bad*threshold*4}
		// In schema 0, bucket i holds (2^(i-1), 2^i].
		gi := bucketIndex(threshold / 4)
		bi := bucketIndex(threshold * 4)
		h.PositiveSpans = []histogram.Span{{Offset: gi, Length: uint32(bi - gi + 1)}}
		h.PositiveBuckets = make([]float64, bi-gi+1)
		h.PositiveBuckets[0] = good
		h.PositiveBuckets[bi-gi] += bad
		h.CounterResetHint = histogram.NotCounterReset
		return []Sample{{Labels: series, Histogram: h}}
	}
}

func bucketIndex(v float64) int32 { return int32(math.Ceil(math.Log2(v))) }

// Gauge feeds one gauge series with value(at).
func Gauge(series labels.Labels, value func(at time.Duration) float64) Source {
	return func(at time.Duration) []Sample {
		return []Sample{{Labels: series, Value: value(at)}}
	}
}

// Join feeds several sources at once.
func Join(sources ...Source) Source {
	return func(at time.Duration) []Sample {
		out := make([]Sample, 0, len(sources))
		for _, s := range sources {
			out = append(out, s(at)...)
		}
		return out
	}
}

// Silent feeds nothing: the metrics of an objective that do not exist.
func Silent() Source { return func(time.Duration) []Sample { return nil } }

func formatLe(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'f', -1, 64)
}
