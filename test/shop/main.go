// Command shop is the synthetic shop of the end-to-end test: a Prometheus
// exporter whose series are the ones config/samples' objectives select, with
// simulated traffic and incidents that a test switches on and off over HTTP.
// Nothing is served for real: counters advance by the traffic (requests per
// second) times the time elapsed, computed when they are scraped.
//
// Every series carries its own job and instance labels, so Prometheus scrapes
// it with honor_labels: true:
//
//	http_requests_total{job="checkout"|"storefront"|"landing",instance,code="200"|"404"|"500"|"503"|...}   counter
//	http_request_duration_seconds{job="checkout"|"storefront"|"landing",instance}  histogram, le 0.05 0.1 0.25 0.5 0.8 1 2.5 5 10
//	support_first_response_seconds{job="support",instance,queue="chat"}             histogram, le 30 60 120 180 300 600 900 1800
//	probe_success{job="blackbox",instance="https://shop.example.com"}               gauge 1 or 0
//	cx_csat_score{job="surveys",instance,survey="post-purchase"}                    gauge, 4.6 by default
//
// A healthy shop: 10 requests per second per web job (2% answered 404, no
// 5xx), 0.2 chats per second, every latency under the smallest threshold of
// the samples (0.5 s for the web, 300 s for chats), the probe up, CSAT 4.6.
//
// # Control endpoint
//
// Parameters go in the query string, a form body, or a JSON object body
// (field names as below; numbers as numbers); the query string wins. Every
// answer is the state as JSON (as GET /control/state), or 400 with a message.
//
//	GET    /control/state                              the whole simulation
//	POST   /control/traffic    job, rps, errorShare, score
//	       baseline traffic: rps (requests or chats per second) and errorShare
//	       (share of 5xx, web jobs) of one job, or of all when job is empty;
//	       score: the CSAT score when no drop is on
//	POST   /control/incidents  kind, job, share, code, seconds, score
//	       start an incident (or change it):
//	         kind=errors     job (web; all when empty), share (default 1) answered code (default 500, any 5xx)
//	         kind=slow       job (any; all when empty), share (default 1) taking seconds (default 1.5, chats 900)
//	         kind=probe-down probe_success becomes 0
//	         kind=csat-drop  cx_csat_score becomes score (default 3.4)
//	DELETE /control/incidents  kind, job
//	       stop incidents of one kind (of one job or all), or every incident of
//	       job (errors and slow), or every incident when both are empty
//
// Example: curl -X POST '127.0.0.1:PORT/control/incidents?kind=errors&job=checkout&share=0.2'
//
// Other paths: /metrics (the exposition), /-/healthy.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	addr := flag.String("listen-address", "127.0.0.1:9464", "address to serve /metrics and /control on (loopback only)")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatalf("shop: %v", err)
	}
}

func run(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s := newSim(time.Now)
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: newHandler(s), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("shop: serving /metrics and /control on http://%s", lis.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Printf("shop: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// newHandler serves the exposition and the control endpoint of s.
func newHandler(s *sim) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: log.Default()}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "OK\n")
	})
	mux.HandleFunc("GET /control/state", func(w http.ResponseWriter, _ *http.Request) {
		writeState(w, s)
	})
	mux.HandleFunc("POST /control/traffic", control(s, "traffic", s.setTraffic))
	mux.HandleFunc("POST /control/incidents", control(s, "start incident", s.startIncident))
	mux.HandleFunc("DELETE /control/incidents", control(s, "stop incident", s.stopIncident))
	return mux
}

// control wraps one state change: it reads the parameters, applies them,
// logs what changed and answers the new state.
func control(s *sim, what string, apply func(params) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := readParams(r)
		if err == nil {
			err = apply(p)
		}
		if err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, errBadRequest) {
				code = http.StatusBadRequest
			}
			log.Printf("shop: %s refused: %v", what, err)
			http.Error(w, err.Error(), code)
			return
		}
		body, _ := json.Marshal(p)
		log.Printf("shop: %s %s", what, body)
		writeState(w, s)
	}
}

func writeState(w http.ResponseWriter, s *sim) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.snapshot())
}

// readParams reads a JSON object body, if any, then the query string and
// form values over it.
func readParams(r *http.Request) (params, error) {
	var p params
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			return p, fmt.Errorf("reading the body: %w", err)
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				return p, badRequest("decoding the JSON body: %v", err)
			}
		}
	}
	if err := r.ParseForm(); err != nil {
		return p, badRequest("parsing the parameters: %v", err)
	}
	for key, vals := range r.Form {
		v := vals[len(vals)-1]
		switch key {
		case "job":
			p.Job = v
		case "kind":
			p.Kind = v
		case "code":
			p.Code = v
		case "rps", "errorShare", "share", "seconds", "score":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return p, badRequest("%s=%q is not a number", key, v)
			}
			*floatField(&p, key) = &f
		default:
			return p, badRequest("unknown parameter %q", key)
		}
	}
	return p, nil
}

func floatField(p *params, key string) **float64 {
	switch key {
	case "rps":
		return &p.RPS
	case "errorShare":
		return &p.ErrorShare
	case "share":
		return &p.Share
	case "seconds":
		return &p.Seconds
	default:
		return &p.Score
	}
}
