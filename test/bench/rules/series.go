package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// The raw series of the three objectives, as a scrape every step of every
// pod and probe would write them: integer counters that grow with traffic
// that follows the time of day, a low error rate, a classic histogram, and
// probe results that fail now and then. An outage (see workload.outage)
// turns one objective's new events all bad.

// Normal traffic. The error budgets burn at well under 1x: checkout 0.2%
// 5xx against a 0.5% budget, 0.4% of API requests slower than 300 ms
// against 1%, and 0.05% of failed probes against 0.1%.
const (
	// requestsPerPod is the mean request rate of one pod, per second.
	requestsPerPod = 10.0
	// diurnalSwing is how far traffic moves around its mean over the day.
	diurnalSwing = 0.4
	// noise is the spread of one pod's traffic from scrape to scrape.
	noise = 0.2
	// probeFailure is the chance that one probe fails.
	probeFailure = 0.0005
)

// statusCodes and their share of checkout responses.
var statusCodes = []struct {
	code          string
	share, outage float64
}{
	{"200", 0.900, 0},
	{"201", 0.070, 0},
	{"404", 0.028, 0},
	{"500", 0.001, 0.5},
	{"503", 0.001, 0.5},
}

// latencyBuckets are the API histogram's bounds (+Inf last), the share of
// requests in each bucket (between the previous bound and this one), the
// share during an outage (all between 0.5 s and 1 s), and a typical
// duration in each bucket for _sum. le="0.3" is the objective's threshold.
var latencyBuckets = []struct {
	le                  float64
	share, outage, mean float64
}{
	{0.05, 0.40, 0, 0.03},
	{0.1, 0.35, 0, 0.075},
	{0.3, 0.246, 0, 0.18},
	{0.5, 0.0025, 0, 0.4},
	{1, 0.001, 1, 0.7},
	{2.5, 0.0004, 0, 1.6},
	{math.Inf(1), 0.0001, 0, 4},
}

// workload holds every raw series and writes their samples in time order.
type workload struct {
	step  time.Duration
	rng   *rand.Rand
	pods  int
	names []labels.Labels
	refs  []storage.SeriesRef
	vals  []float64

	// requests[pod][code] and buckets[pod][bucket] accumulate events; the
	// counters are their integer parts.
	requests, buckets [][]float64
	probes            int

	// outage, per objective key, is when all new events of that objective
	// turn bad; zero for never.
	outage map[string]time.Time
	// next is the time of the next scrape to write.
	next time.Time
}

// newWorkload lays out the series: for each pod, one counter per status
// code and a histogram with len(latencyBuckets) buckets, _count and _sum;
// and one probe series per prober.
func newWorkload(pods, probers int, step time.Duration, seed uint64, start time.Time) *workload {
	w := &workload{
		step: step, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), pods: pods, probes: probers,
		outage: map[string]time.Time{}, next: start,
	}
	for p := range pods {
		pod := fmt.Sprintf("checkout-6f9c%02d", p)
		ip := fmt.Sprintf("10.1.%d.%d:8080", p/200, p%200+10)
		for _, c := range statusCodes {
			w.names = append(w.names, labels.FromStrings("__name__", "http_requests_total",
				"job", "checkout", "namespace", teamPayments, "pod", pod, "instance", ip, "code", c.code))
		}
		w.requests = append(w.requests, make([]float64, len(statusCodes)))
	}
	for p := range pods {
		pod := fmt.Sprintf("api-58d4%02d", p)
		ip := fmt.Sprintf("10.2.%d.%d:8080", p/200, p%200+10)
		with := func(name string, kv ...string) labels.Labels {
			return labels.FromStrings(append([]string{"__name__", name,
				"job", "api", "namespace", teamPlatform, "pod", pod, "instance", ip}, kv...)...)
		}
		for _, b := range latencyBuckets {
			w.names = append(w.names, with("http_request_duration_seconds_bucket", "le", formatLe(b.le)))
		}
		w.names = append(w.names, with("http_request_duration_seconds_count"), with("http_request_duration_seconds_sum"))
		w.buckets = append(w.buckets, make([]float64, len(latencyBuckets)))
	}
	for i := range probers {
		w.names = append(w.names, labels.FromStrings("__name__", "probe_success",
			"job", "blackbox", "instance", "https://shop.example.com", "prober", "prober-"+strconv.Itoa(i)))
	}
	w.refs = make([]storage.SeriesRef, len(w.names))
	w.vals = make([]float64, len(w.names))
	return w
}

// seriesCount returns the number of raw series per objective key.
func (w *workload) seriesCount() map[string]int {
	return map[string]int{
		"checkout":                w.pods * len(statusCodes),
		"api-latency":             w.pods * (len(latencyBuckets) + 2),
		"storefront-availability": w.probes,
	}
}

func (w *workload) bad(key string, at time.Time) bool {
	on, ok := w.outage[key]
	return ok && !on.IsZero() && at.After(on)
}

// events returns how many requests one pod served in the step before at.
func (w *workload) events(at time.Time) float64 {
	hour := float64(at.UTC().Hour()) + float64(at.UTC().Minute())/60
	diurnal := 1 + diurnalSwing*math.Sin(2*math.Pi*(hour-9)/24)
	return requestsPerPod * w.step.Seconds() * diurnal * (1 + noise*(w.rng.Float64()-0.5))
}

// scrape computes every series' value at at.
func (w *workload) scrape(at time.Time) {
	i := 0
	badRequests := w.bad("checkout", at)
	for p := range w.pods {
		n := w.events(at)
		for c, code := range statusCodes {
			share := code.share
			if badRequests {
				share = code.outage
			}
			w.requests[p][c] += n * share
			w.vals[i] = math.Floor(w.requests[p][c])
			i++
		}
	}
	slow := w.bad("api-latency", at)
	for p := range w.pods {
		n := w.events(at)
		var cum, sum float64
		for b, bucket := range latencyBuckets {
			share := bucket.share
			if slow {
				share = bucket.outage
			}
			w.buckets[p][b] += n * share
			cum += w.buckets[p][b]
			sum += w.buckets[p][b] * bucket.mean
			w.vals[i] = math.Floor(cum)
			i++
		}
		w.vals[i] = math.Floor(cum) // _count, equal to the +Inf bucket
		w.vals[i+1] = sum
		i += 2
	}
	down := w.bad("storefront-availability", at)
	for range w.probes {
		v := 1.0
		if down || w.rng.Float64() < probeFailure {
			v = 0
		}
		w.vals[i] = v
		i++
	}
}

// writeUntil writes every scrape from the next one up to and including
// until, one commit per scrape, and returns the number of samples written.
func (w *workload) writeUntil(ctx context.Context, db storage.AppendableV2, until time.Time) (int, error) {
	written := 0
	for ; !w.next.After(until); w.next = w.next.Add(w.step) {
		w.scrape(w.next)
		app := db.AppenderV2(ctx)
		t := w.next.UnixMilli()
		for i, ls := range w.names {
			ref, err := app.Append(w.refs[i], ls, 0, t, w.vals[i], nil, nil, storage.AOptions{})
			if err != nil {
				err = fmt.Errorf("appending %s at %s: %w", ls, w.next.UTC().Format(time.RFC3339), err)
				return written, errors.Join(err, app.Rollback())
			}
			w.refs[i] = ref
		}
		if err := app.Commit(); err != nil {
			return written, fmt.Errorf("committing the scrape at %s: %w", w.next.UTC().Format(time.RFC3339), err)
		}
		written += len(w.names)
	}
	return written, nil
}

func formatLe(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'f', -1, 64)
}
