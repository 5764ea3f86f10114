package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a settable time for the simulation.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)} }
func f(v float64) *float64           { return &v }
func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
func value(t *testing.T, s *sim, series string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	families, err := reg.Gather()
	mustDo(t, err)
	name, labels, _ := strings.Cut(strings.TrimSuffix(series, "}"), "{")
	want := map[string]string{}
	for _, kv := range strings.Split(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			want[k] = strings.Trim(v, `"`)
		}
	}
	metric, suffix := name, ""
	for _, sfx := range []string{"_bucket", "_count", "_sum"} {
		if strings.HasSuffix(name, sfx) && !strings.HasSuffix(name, "_total") {
			metric, suffix = strings.TrimSuffix(name, sfx), sfx
		}
	}
	for _, fam := range families {
		if fam.GetName() != metric {
			continue
		}
	next:
		for _, m := range fam.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if k != "le" && got[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case suffix == "_count":
				return float64(m.GetHistogram().GetSampleCount())
			case suffix == "_sum":
				return m.GetHistogram().GetSampleSum()
			default:
				for _, b := range m.GetHistogram().GetBucket() {
					if formatLE(b.GetUpperBound()) == want["le"] {
						return float64(b.GetCumulativeCount())
					}
				}
			}
		}
	}
	t.Fatalf("no series %s", series)
	return 0
}

func formatLE(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestSimulation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*testing.T, *sim)
		after  time.Duration
		want   map[string]float64
	}{
		{
			name:  "a healthy checkout answers 98% 200 and 2% 404 at 10 requests per second",
			after: 10 * time.Second,
			want: map[string]float64{
				`http_requests_total{job="checkout",code="200"}`: 98,
				`http_requests_total{job="checkout",code="404"}`: 2,
				`http_requests_total{job="checkout",code="500"}`: 0,
			},
		},
		{
			name: "an error spike answers its share with the code asked for",
			change: func(t *testing.T, s *sim) {
				mustDo(t, s.startIncident(params{Kind: kindErrors, Job: jobCheckout, Share: f(0.2), Code: "503"}))
			},
			after: 10 * time.Second,
			want: map[string]float64{
				`http_requests_total{job="checkout",code="503"}`:   20,
				`http_requests_total{job="checkout",code="500"}`:   0,
				`http_requests_total{job="storefront",code="503"}`: 0,
			},
		},
		{
			name: "traffic set to 50 per second counts five times faster",
			change: func(t *testing.T, s *sim) {
				mustDo(t, s.setTraffic(params{Job: jobStorefront, RPS: f(50)}))
			},
			after: 10 * time.Second,
			want: map[string]float64{
				`http_request_duration_seconds_count{job="storefront"}`: 500,
				`http_request_duration_seconds_count{job="landing"}`:    100,
			},
		},
		{
			name:  "healthy web latencies are all within half a second",
			after: 10 * time.Second,
			want: map[string]float64{
				`http_request_duration_seconds_bucket{job="storefront",le="0.5"}`: 100,
				`http_request_duration_seconds_bucket{job="storefront",le="0.1"}`: 70,
			},
		},
		{
			name: "slow responses put their share over both thresholds",
			change: func(t *testing.T, s *sim) {
				mustDo(t, s.startIncident(params{Kind: kindSlow, Job: jobLanding, Share: f(0.3)}))
			},
			after: 10 * time.Second,
			want: map[string]float64{
				`http_request_duration_seconds_bucket{job="landing",le="0.5"}`: 70,
				`http_request_duration_seconds_bucket{job="landing",le="0.8"}`: 70,
				`http_request_duration_seconds_bucket{job="landing",le="2.5"}`: 100,
			},
		},
		{
			name: "slow chats wait over five minutes for a first response",
			change: func(t *testing.T, s *sim) {
				mustDo(t, s.startIncident(params{Kind: kindSlow, Job: jobSupport, Share: f(0.5)}))
			},
			after: 100 * time.Second,
			want: map[string]float64{
				`support_first_response_seconds_count{queue="chat"}`:           20,
				`support_first_response_seconds_bucket{queue="chat",le="300"}`: 10,
			},
		},
		{
			name: "the probe goes down and the CSAT drops",
			change: func(t *testing.T, s *sim) {
				mustDo(t, s.startIncident(params{Kind: kindProbeDown}))
				mustDo(t, s.startIncident(params{Kind: kindCSATDrop, Score: f(3.1)}))
			},
			want: map[string]float64{
				`probe_success{job="blackbox",instance="https://shop.example.com"}`: 0,
				`cx_csat_score{survey="post-purchase"}`:                             3.1,
			},
		},
		{
			name: "stopping every incident restores the healthy shop",
			change: func(t *testing.T, s *sim) {
				mustDo(t, s.startIncident(params{Kind: kindProbeDown}))
				mustDo(t, s.startIncident(params{Kind: kindCSATDrop}))
				mustDo(t, s.startIncident(params{Kind: kindErrors}))
				mustDo(t, s.stopIncident(params{}))
			},
			after: 10 * time.Second,
			want: map[string]float64{
				`probe_success{job="blackbox"}`:                 1,
				`cx_csat_score{survey="post-purchase"}`:         defaultCSAT,
				`http_requests_total{job="landing",code="500"}`: 0,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := newSim(c.now)
			if tt.change != nil {
				tt.change(t, s)
			}
			c.add(tt.after)
			for series, want := range tt.want {
				if got := value(t, s, series); got != want {
					t.Errorf("%s = %v, want %v", series, got, want)
				}
			}
		})
	}
}

func TestControlRefusesBadRequests(t *testing.T) {
	tests := []struct {
		name, method, target, body string
	}{
		{"an unknown incident kind", http.MethodPost, "/control/incidents?kind=outage", ""},
		{"an error spike with a code that is not 5xx", http.MethodPost, "/control/incidents?kind=errors&code=404", ""},
		{"a share over 1", http.MethodPost, "/control/incidents?kind=slow&share=1.5", ""},
		{"an error spike on the support queue", http.MethodPost, "/control/incidents?kind=errors&job=support", ""},
		{"an unknown job", http.MethodPost, "/control/traffic?job=payments&rps=3", ""},
		{"negative traffic", http.MethodPost, "/control/traffic?rps=-1", ""},
		{"an unknown parameter", http.MethodPost, "/control/traffic?speed=3", ""},
		{"a JSON body with an unknown field", http.MethodPost, "/control/incidents", `{"kind":"errors","severity":"high"}`},
	}
	srv := httptest.NewServer(newHandler(newSim(time.Now)))
	defer srv.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.target, strings.NewReader(tt.body))
			mustDo(t, err)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			mustDo(t, err)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %s, want 400 Bad Request; body %s", resp.Status, body)
			}
		})
	}
}

func TestControlTakesJSONAndQueryParameters(t *testing.T) {
	c := newClock()
	s := newSim(c.now)
	srv := httptest.NewServer(newHandler(s))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/control/incidents", "application/json",
		strings.NewReader(`{"kind":"errors","job":"checkout","share":0.5}`))
	mustDo(t, err)
	_ = resp.Body.Close()
	resp, err = http.Post(srv.URL+"/control/traffic?job=checkout&rps=20", "", nil)
	mustDo(t, err)
	_ = resp.Body.Close()
	c.add(10 * time.Second)
	if got := value(t, s, `http_requests_total{job="checkout",code="500"}`); got != 100 {
		t.Errorf("5xx after 10 s at 20 per second with half failing: %v, want 100", got)
	}
	problems, err := testutil.CollectAndLint(s)
	mustDo(t, err)
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
