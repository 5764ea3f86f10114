// Package fakeprom is a stand-in for the Prometheus HTTP API's instant query
// endpoint, for tests and benchmarks of the budget reader: it answers
// /api/v1/query the way Prometheus does (the same JSON envelope), and each
// namespace of cx-operator's queries can be told to answer with series, to
// fail, to answer garbage, or to pass the query on to a real Prometheus.
package fakeprom

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Series is one sample of an instant vector.
type Series struct {
	// Labels, with __name__.
	Labels map[string]string
	// Value of the sample.
	Value float64
}

// Behaviour is how the server answers the queries of one namespace.
type Behaviour struct {
	// Series is the vector to answer with.
	Series []Series
	// Down answers 503, as a Prometheus that is restarting.
	Down bool
	// Malformed answers 200 with a body that is not a query result.
	Malformed bool
	// Matrix answers a range vector instead of an instant vector.
	Matrix bool
	// Proxy passes the query to the Prometheus at this base URL.
	Proxy string
}

// Server is a fake Prometheus API on 127.0.0.1.
type Server struct {
	srv *httptest.Server
	// Latency is added to every answer.
	latency atomic.Int64
	mu      sync.Mutex
	byNS    map[string]Behaviour
	queries atomic.Int64
}

// Start starts a server that answers every namespace with an empty vector
// until told otherwise.
func Start() *Server {
	s := &Server{byNS: map[string]Behaviour{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to give the manager as --prometheus-url.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Set says how to answer the queries of a namespace.
func (s *Server) Set(namespace string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byNS[namespace] = b
}

// SetLatency delays every answer.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Queries is the number of queries answered so far.
func (s *Server) Queries() int64 { return s.queries.Load() }

var namespaceOf = regexp.MustCompile(`cx_objective_namespace="([^"]*)"`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	s.queries.Add(1)
	time.Sleep(time.Duration(s.latency.Load()))
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	query := r.Form.Get("query")
	ns := ""
	if m := namespaceOf.FindStringSubmatch(query); m != nil {
		ns = m[1]
	}
	s.mu.Lock()
	b := s.byNS[ns]
	s.mu.Unlock()
	switch {
	case b.Proxy != "":
		proxy(w, r, b.Proxy)
	case b.Down:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "Prometheus is starting")
	case b.Malformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":`)
	case b.Matrix:
		writeJSON(w, success("matrix", []any{}))
	default:
		ts := float64(time.Now().UnixMilli()) / 1000
		if t := r.Form.Get("time"); t != "" {
			if v, err := strconv.ParseFloat(t, 64); err == nil {
				ts = v
			}
		}
		result := make([]any, 0, len(b.Series))
		for _, series := range b.Series {
			result = append(result, map[string]any{
				"metric": series.Labels,
				"value":  []any{ts, strconv.FormatFloat(series.Value, 'f', -1, 64)},
			})
		}
		writeJSON(w, success("vector", result))
	}
}

func proxy(w http.ResponseWriter, r *http.Request, base string) {
	resp, err := http.PostForm(base+"/api/v1/query", r.Form)
	if err != nil {
		writeError(w, http.StatusBadGateway, "unavailable", err.Error())
		return
	}
	defer func() { _ = resp.Body.Close() }()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// success is the envelope of a query result.
func success(resultType string, result []any) map[string]any {
	return map[string]any{"status": "success", "data": map[string]any{"resultType": resultType, "result": result}}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func writeError(w http.ResponseWriter, code int, kind, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": kind, "error": msg})
}

// ObjectiveSeries are the series cx-operator's rules record for one
// objective, as the budget reader's query returns them: SLI, budget left
// and burn rates over the given windows, and the severities that fire.
func ObjectiveSeries(namespace, objective, window string, sli, remaining float64, burn map[string]float64, firing ...string) []Series {
	base := func(name string) map[string]string {
		return map[string]string{"__name__": name, "cx_objective": objective, "cx_objective_namespace": namespace}
	}
	s := base("cx:sli")
	s["cx_window"] = window
	out := []Series{{Labels: s, Value: sli}, {Labels: base("cx:error_budget_remaining"), Value: remaining}}
	for w, v := range burn {
		l := base("cx:burn_rate")
		l["cx_window"] = w
		out = append(out, Series{Labels: l, Value: v})
	}
	for _, sev := range firing {
		l := base("ALERTS")
		l["alertname"], l["alertstate"], l["severity"] = "CXErrorBudgetBurn", "firing", sev
		out = append(out, Series{Labels: l, Value: 1})
	}
	return out
}
