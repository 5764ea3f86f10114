package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
	"github.com/cxops/cx-operator/test/utils/fakeprom"
)

// front is the benchmark's own HTTP server in front of the fake
// Prometheus: the manager's --prometheus-url points here. It passes every
// request on and records, for each query, the namespace it asks about and
// when it arrived and was answered, and how many were in flight at once.
type front struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	inFlight int
	queries  []query
}

// query is one request to /api/v1/query as the front saw it.
type query struct {
	namespace  string
	start, end time.Time
}

func startFront(fake *fakeprom.Server) (*front, error) {
	target, err := url.Parse(fake.URL())
	if err != nil {
		return nil, err
	}
	f := &front{proxy: httputil.NewSingleHostReverseProxy(target)}
	// The reader sends up to --budget-query-concurrency queries at once;
	// keep that many connections open, so that no query pays for a new
	// one.
	f.proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f, nil
}

func (f *front) url() string { return f.srv.URL }

func (f *front) close() { f.srv.Close() }

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		f.proxy.ServeHTTP(w, r)
		return
	}
	ns := namespaceOfQuery(r)
	start := time.Now()
	f.mu.Lock()
	f.inFlight++
	f.mu.Unlock()
	defer func() {
		end := time.Now()
		f.mu.Lock()
		f.inFlight--
		f.queries = append(f.queries, query{namespace: ns, start: start, end: end})
		f.mu.Unlock()
	}()
	f.proxy.ServeHTTP(w, r)
}

// namespaceOfQuery reads the namespace out of the query's selector, from
// the URL or from a form body, which it puts back for the proxy.
func namespaceOfQuery(r *http.Request) string {
	q := r.URL.Query().Get("query")
	if q == "" && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err == nil {
			if form, err := url.ParseQuery(string(body)); err == nil {
				q = form.Get("query")
			}
		}
	}
	const key = `cx_objective_namespace="`
	i := strings.Index(q, key)
	if i < 0 {
		return ""
	}
	rest := q[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// between returns the queries that arrived in [from, to), in arrival
// order.
func (f *front) between(from, to time.Time) []query {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []query
	for _, q := range f.queries {
		if !q.start.Before(from) && q.start.Before(to) {
			out = append(out, q)
		}
	}
	return out
}

// allSince says whether every namespace was queried, and answered, after t.
func (f *front) allSince(t time.Time, namespaces []string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, q := range f.queries {
		if q.start.After(t) {
			seen[q.namespace] = true
		}
	}
	for _, ns := range namespaces {
		if !seen[ns] {
			return false
		}
	}
	return true
}

// spreadStats describe how the queries of a phase were spread.
type spreadStats struct {
	// perNamespaceMin and perNamespaceMax are the fewest and most queries
	// one namespace got.
	perNamespaceMin, perNamespaceMax int
	// gapMin and gapMax are the shortest and longest time between two
	// queries of the same namespace.
	gapMin, gapMax time.Duration
	// maxInFlight is the most queries the front had open at once.
	maxInFlight int
	// busiestSecond is the most queries that arrived within one second.
	busiestSecond int
	// latencyP50 and latencyMax are as seen by the front (the fake's
	// latency plus encoding the answer).
	latencyP50, latencyMax time.Duration
}

func spreadOf(qs []query, namespaces []string) spreadStats {
	var s spreadStats
	byNS := map[string][]time.Time{}
	for _, q := range qs {
		byNS[q.namespace] = append(byNS[q.namespace], q.start)
	}
	s.perNamespaceMin = len(qs)
	for _, ns := range namespaces {
		starts := byNS[ns]
		s.perNamespaceMin = min(s.perNamespaceMin, len(starts))
		s.perNamespaceMax = max(s.perNamespaceMax, len(starts))
		for i := 1; i < len(starts); i++ {
			gap := starts[i].Sub(starts[i-1])
			if s.gapMin == 0 || gap < s.gapMin {
				s.gapMin = gap
			}
			s.gapMax = max(s.gapMax, gap)
		}
	}
	// In flight: sweep over arrivals and answers in time order; an answer
	// at the same instant as an arrival counts first.
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(qs))
	latencies := make([]time.Duration, 0, len(qs))
	for _, q := range qs {
		edges = append(edges, edge{q.start, 1}, edge{q.end, -1})
		latencies = append(latencies, q.end.Sub(q.start))
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	open := 0
	for _, e := range edges {
		open += e.delta
		s.maxInFlight = max(s.maxInFlight, open)
	}
	for i, j := 0, 0; j < len(qs); j++ {
		for qs[j].start.Sub(qs[i].start) >= time.Second {
			i++
		}
		s.busiestSecond = max(s.busiestSecond, j-i+1)
	}
	if len(latencies) > 0 {
		slices.Sort(latencies)
		s.latencyP50, s.latencyMax = latencies[len(latencies)/2], latencies[len(latencies)-1]
	}
	return s
}

// budgetModel is what the fake Prometheus says about every objective: the
// recorded series of an objective whose budget left is base, plus a step
// when the objective has been flipped an odd number of times.
type budgetModel struct {
	layout layout
	fake   *fakeprom.Server

	mu      sync.Mutex
	flipped []bool
}

// flipStep moves the budget left by 1.3 percentage points: more than the
// one decimal the status shows it with, so every flip is a new figure.
const flipStep = 0.013

// burnRates are the burn rates the rules record for a 30d objective, by
// cx_window, except 30d, which follows the budget left.
var burnRates = map[string]float64{"5m": 0.5, "30m": 0.6, "1h": 0.8, "2h": 0.9, "6h": 1.0, "1d": 1.1, "3d": 1.0}

// errorBudget is the share of bad events a 99.5% target allows.
const errorBudget = 0.005

func newBudgetModel(l layout, fake *fakeprom.Server) *budgetModel {
	return &budgetModel{layout: l, fake: fake, flipped: make([]bool, l.objectives)}
}

// remaining is objective i's budget left: 40% to 89%, by its place in its
// namespace.
func (m *budgetModel) remaining(i int) float64 {
	r := 0.40 + float64(m.layout.position(i)%50)/100
	if m.flipped[i] {
		r += flipStep
	}
	return r
}

// shown is the budget left as the status should show it.
func (m *budgetModel) shown(i int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return formatPercent(m.remaining(i))
}

// publish tells the fake Prometheus every namespace's series.
func (m *budgetModel) publish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ns := range m.layout.namespaces {
		name := namespaceName(ns)
		var series []fakeprom.Series
		for _, i := range m.layout.objectivesIn(ns) {
			r := m.remaining(i)
			burn := make(map[string]float64, len(burnRates)+1)
			for w, v := range burnRates {
				burn[w] = v
			}
			burn["30d"] = 1 - r
			series = append(series, fakeprom.ObjectiveSeries(name, benchkit.ObjectiveName(i), "30d", 1-errorBudget*(1-r), r, burn)...)
		}
		m.fake.Set(name, fakeprom.Behaviour{Series: series})
	}
}

// flip changes the budget left of the objectives in slice k of `slices`
// equal slices of every namespace (by place in the namespace, so that every
// namespace has its share), and publishes the new series. It returns how
// many objectives changed.
func (m *budgetModel) flip(k, slices int) int {
	m.mu.Lock()
	n := 0
	for i := range m.flipped {
		if m.layout.position(i)%slices == k%slices {
			m.flipped[i] = !m.flipped[i]
			n++
		}
	}
	m.mu.Unlock()
	m.publish()
	return n
}
