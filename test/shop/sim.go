package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// The jobs the shop simulates, named as the samples' selectors name them.
const (
	jobCheckout   = "checkout"
	jobStorefront = "storefront"
	jobLanding    = "landing"
	jobSupport    = "support"
	jobBlackbox   = "blackbox"
	jobSurveys    = "surveys"

	probeInstance = "https://shop.example.com"
	csatSurvey    = "post-purchase"
	supportQueue  = "chat"
)

// Incident kinds, as the control endpoint names them.
const (
	kindErrors    = "errors"
	kindSlow      = "slow"
	kindProbeDown = "probe-down"
	kindCSATDrop  = "csat-drop"
)

// Defaults of the simulation: a healthy shop.
const (
	defaultWebRPS      = 10   // requests per second of each web job
	defaultChatRPS     = 0.2  // chats opened per second on the support queue
	notFoundShare      = 0.02 // share of non-5xx web requests answered 404
	defaultErrorCode   = "500"
	defaultSlowWeb     = 1.5 // seconds; over both the 0.5 and the 0.8 bucket
	defaultSlowChat    = 900 // seconds; over the 300 bucket
	defaultCSAT        = 4.6
	defaultCSATDropped = 3.4
)

// webBuckets are the classic buckets of http_request_duration_seconds; they
// hold the samples' thresholds 0.5 (storefront) and 0.8 (landing).
var webBuckets = []float64{0.05, 0.1, 0.25, 0.5, 0.8, 1, 2.5, 5, 10}

// chatBuckets are the buckets of support_first_response_seconds; they hold
// the sample's threshold of 300 seconds.
var chatBuckets = []float64{30, 60, 120, 180, 300, 600, 900, 1800}

// latencyPoint is one latency of a profile and the share of requests that
// take it.
type latencyPoint struct {
	seconds float64
	share   float64
}

// Healthy latency profiles: every point is under the smallest objective
// threshold of its kind, so a healthy shop spends no latency budget.
var (
	webProfile  = []latencyPoint{{0.03, 0.40}, {0.08, 0.30}, {0.15, 0.18}, {0.3, 0.09}, {0.45, 0.03}}
	chatProfile = []latencyPoint{{20, 0.2}, {45, 0.4}, {90, 0.25}, {150, 0.1}, {240, 0.05}}
)

// job is one simulated service with traffic: a web job (requests with status
// codes and a latency histogram) or the support queue (chats and a
// first-response histogram).
type job struct {
	name     string
	instance string
	web      bool
	buckets  []float64
	profile  []latencyPoint

	rps        float64 // traffic: requests (or chats) per second
	errorShare float64 // baseline share of 5xx answers (web jobs)

	// Incidents; zero values mean none.
	spikeShare float64
	spikeCode  string
	slowShare  float64
	slowSecs   float64

	// Exact accumulated counts; exposed rounded down.
	requests  map[string]float64  // by status code
	latencies map[float64]float64 // requests by latency in seconds
}

// sim is the simulated shop. Counters advance by traffic × elapsed time,
// computed when they are read or when the traffic changes; nothing is
// served for real.
type sim struct {
	mu      sync.Mutex
	now     func() time.Time
	last    time.Time
	jobs    map[string]*job
	probeUp bool
	// csat is the current score; csatBase the one it returns to when a
	// drop ends.
	csat, csatBase float64
	csatDrop       bool
}

func newSim(now func() time.Time) *sim {
	s := &sim{now: now, last: now(), jobs: map[string]*job{}, probeUp: true, csat: defaultCSAT, csatBase: defaultCSAT}
	for _, name := range []string{jobCheckout, jobStorefront, jobLanding} {
		s.jobs[name] = &job{
			name: name, instance: name + "-1", web: true, buckets: webBuckets, profile: webProfile,
			rps: defaultWebRPS,
			// Pre-create the usual codes at 0 so that rate() sees a
			// spike's first increments.
			requests:  map[string]float64{"200": 0, "404": 0, "500": 0, "503": 0},
			latencies: map[float64]float64{},
		}
	}
	s.jobs[jobSupport] = &job{
		name: jobSupport, instance: "support-desk-1", buckets: chatBuckets, profile: chatProfile,
		rps: defaultChatRPS, requests: map[string]float64{}, latencies: map[float64]float64{},
	}
	return s
}

// advance moves every counter to the current time. Callers hold s.mu.
func (s *sim) advance() {
	now := s.now()
	dt := now.Sub(s.last).Seconds()
	s.last = now
	if dt <= 0 {
		return
	}
	for _, j := range s.jobs {
		j.advance(dt)
	}
}

func (j *job) advance(dt float64) {
	n := j.rps * dt
	if n <= 0 {
		return
	}
	if j.web {
		share, code := j.errorShare, defaultErrorCode
		if j.spikeCode != "" {
			share, code = j.spikeShare, j.spikeCode
		}
		errs := n * share
		j.requests[code] += errs
		j.requests["404"] += (n - errs) * notFoundShare
		j.requests["200"] += (n - errs) * (1 - notFoundShare)
	}
	slow := n * j.slowShare
	if slow > 0 {
		j.latencies[j.slowSecs] += slow
	}
	for _, p := range j.profile {
		j.latencies[p.seconds] += (n - slow) * p.share
	}
}

// histogram returns the cumulative bucket counts, the count and the sum of
// the job's latencies, counts rounded down (cumulative sums are rounded, so
// buckets stay monotonic).
func (j *job) histogram() (buckets map[float64]uint64, count uint64, sum float64) {
	lats := make([]float64, 0, len(j.latencies))
	for l := range j.latencies {
		lats = append(lats, l)
	}
	sort.Float64s(lats)
	buckets = make(map[float64]uint64, len(j.buckets))
	var total float64
	i := 0
	for _, le := range j.buckets {
		for ; i < len(lats) && lats[i] <= le; i++ {
			total += j.latencies[lats[i]]
		}
		buckets[le] = uint64(whole(total))
	}
	var all float64
	for _, l := range lats {
		all += j.latencies[l]
		sum += l * j.latencies[l]
	}
	return buckets, uint64(whole(all)), sum
}

// whole rounds a count down to whole requests; the small addition keeps
// float error (0.98 × 100 = 97.99999...) from losing a request.
func whole(v float64) float64 { return math.Floor(v + 1e-6) }

// params are the fields of a control request. Every field is optional; which
// ones apply depends on the request.
type params struct {
	// Job is the job the request is about (checkout, storefront, landing,
	// support); empty means every job the request can apply to.
	Job string `json:"job,omitempty"`
	// Kind is the kind of incident: errors, slow, probe-down, csat-drop.
	Kind string `json:"kind,omitempty"`
	// RPS is the traffic in requests (chats) per second.
	RPS *float64 `json:"rps,omitempty"`
	// ErrorShare is the baseline share (0..1) of 5xx answers.
	ErrorShare *float64 `json:"errorShare,omitempty"`
	// Share is the share (0..1) of requests an incident affects.
	Share *float64 `json:"share,omitempty"`
	// Code is the status code of an error spike (5xx), 500 by default.
	Code string `json:"code,omitempty"`
	// Seconds is the latency of slow requests.
	Seconds *float64 `json:"seconds,omitempty"`
	// Score is the CSAT score during a drop (or the baseline, on /traffic).
	Score *float64 `json:"score,omitempty"`
}

var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// targets returns the jobs a request names: one, or all that match filter.
func (s *sim) targets(name string, filter func(*job) bool) ([]*job, error) {
	if name != "" {
		j, ok := s.jobs[name]
		if !ok || !filter(j) {
			return nil, badRequest("job %q does not apply here; jobs: %v", name, s.jobNames(filter))
		}
		return []*job{j}, nil
	}
	var out []*job
	for _, n := range s.jobNames(filter) {
		out = append(out, s.jobs[n])
	}
	return out, nil
}

func (s *sim) jobNames(filter func(*job) bool) []string {
	var names []string
	for n, j := range s.jobs {
		if filter(j) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func anyJob(*job) bool   { return true }
func webJob(j *job) bool { return j.web }

func share(p *float64, def float64) (float64, error) {
	if p == nil {
		return def, nil
	}
	if *p < 0 || *p > 1 || math.IsNaN(*p) {
		return 0, badRequest("a share is between 0 and 1, not %v", *p)
	}
	return *p, nil
}

func checkScore(p *float64) error {
	if p != nil && (*p < 1 || *p > 5 || math.IsNaN(*p)) {
		return badRequest("a CSAT score is between 1 and 5, not %v", *p)
	}
	return nil
}

// setTraffic sets the baseline of one job or of all: rps, errorShare, and
// for the surveys the CSAT score.
func (s *sim) setTraffic(p params) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if err := checkScore(p.Score); err != nil {
		return err
	}
	if p.Score != nil {
		s.csatBase = *p.Score
		if !s.csatDrop {
			s.csat = *p.Score
		}
	}
	if p.RPS == nil && p.ErrorShare == nil {
		if p.Score == nil {
			return badRequest("traffic needs rps, errorShare or score")
		}
		return nil
	}
	filter := anyJob
	if p.ErrorShare != nil {
		filter = webJob
	}
	jobs, err := s.targets(p.Job, filter)
	if err != nil {
		return err
	}
	if p.RPS != nil && (*p.RPS < 0 || math.IsNaN(*p.RPS) || math.IsInf(*p.RPS, 0)) {
		return badRequest("rps is a finite number >= 0, not %v", *p.RPS)
	}
	es, err := share(p.ErrorShare, 0)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if p.RPS != nil {
			j.rps = *p.RPS
		}
		if p.ErrorShare != nil {
			j.errorShare = es
		}
	}
	return nil
}

// startIncident starts (or changes) an incident.
func (s *sim) startIncident(p params) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	switch p.Kind {
	case kindErrors:
		return s.startErrors(p)
	case kindSlow:
		return s.startSlow(p)
	case kindProbeDown:
		s.probeUp = false
	case kindCSATDrop:
		if err := checkScore(p.Score); err != nil {
			return err
		}
		s.csatDrop = true
		s.csat = defaultCSATDropped
		if p.Score != nil {
			s.csat = *p.Score
		}
	default:
		return badRequest("unknown incident kind %q; kinds: %s, %s, %s, %s", p.Kind, kindErrors, kindSlow, kindProbeDown, kindCSATDrop)
	}
	return nil
}

// startErrors starts an error spike. Callers hold s.mu.
func (s *sim) startErrors(p params) error {
	sh, err := share(p.Share, 1)
	if err != nil {
		return err
	}
	code := p.Code
	if code == "" {
		code = defaultErrorCode
	}
	if c, err := strconv.Atoi(code); err != nil || c < 500 || c > 599 {
		return badRequest("an error spike answers a 5xx code, not %q", code)
	}
	jobs, err := s.targets(p.Job, webJob)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.spikeShare, j.spikeCode = sh, code
		if _, ok := j.requests[code]; !ok {
			j.requests[code] = 0
		}
	}
	return nil
}

// startSlow starts slow responses. Callers hold s.mu.
func (s *sim) startSlow(p params) error {
	sh, err := share(p.Share, 1)
	if err != nil {
		return err
	}
	if p.Seconds != nil && (*p.Seconds <= 0 || math.IsNaN(*p.Seconds) || math.IsInf(*p.Seconds, 0)) {
		return badRequest("seconds is a finite number > 0, not %v", *p.Seconds)
	}
	jobs, err := s.targets(p.Job, anyJob)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		secs := defaultSlowWeb
		if !j.web {
			secs = defaultSlowChat
		}
		if p.Seconds != nil {
			secs = *p.Seconds
		}
		j.slowShare, j.slowSecs = sh, secs
	}
	return nil
}

// stopIncident ends incidents: one kind (of one job, or of all), or every
// incident when kind is empty.
func (s *sim) stopIncident(p params) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	kinds := []string{p.Kind}
	if p.Kind == "" {
		if p.Job != "" {
			kinds = []string{kindErrors, kindSlow}
		} else {
			kinds = []string{kindErrors, kindSlow, kindProbeDown, kindCSATDrop}
		}
	}
	for _, k := range kinds {
		switch k {
		case kindErrors:
			jobs, err := s.targets(p.Job, webJob)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				j.spikeShare, j.spikeCode = 0, ""
			}
		case kindSlow:
			jobs, err := s.targets(p.Job, anyJob)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				j.slowShare, j.slowSecs = 0, 0
			}
		case kindProbeDown:
			s.probeUp = true
		case kindCSATDrop:
			s.csatDrop = false
			s.csat = s.csatBase
		default:
			return badRequest("unknown incident kind %q", k)
		}
	}
	return nil
}

// jobState is the state of one job as GET /control/state shows it.
type jobState struct {
	RPS        float64            `json:"rps"`
	ErrorShare float64            `json:"errorShare,omitempty"`
	Errors     *errorsState       `json:"errors,omitempty"`
	Slow       *slowState         `json:"slow,omitempty"`
	Requests   map[string]float64 `json:"requests,omitempty"`
	Observed   float64            `json:"observed"`
}

type errorsState struct {
	Share float64 `json:"share"`
	Code  string  `json:"code"`
}

type slowState struct {
	Share   float64 `json:"share"`
	Seconds float64 `json:"seconds"`
}

// state is the whole simulation as GET /control/state shows it.
type state struct {
	Jobs     map[string]jobState `json:"jobs"`
	ProbeUp  bool                `json:"probeUp"`
	CSAT     float64             `json:"csat"`
	CSATDrop bool                `json:"csatDrop"`
}

func (s *sim) snapshot() state {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	st := state{Jobs: map[string]jobState{}, ProbeUp: s.probeUp, CSAT: s.csat, CSATDrop: s.csatDrop}
	for n, j := range s.jobs {
		js := jobState{RPS: j.rps, ErrorShare: j.errorShare}
		if j.spikeCode != "" {
			js.Errors = &errorsState{Share: j.spikeShare, Code: j.spikeCode}
		}
		if j.slowSecs != 0 {
			js.Slow = &slowState{Share: j.slowShare, Seconds: j.slowSecs}
		}
		if j.web {
			js.Requests = map[string]float64{}
			for c, v := range j.requests {
				js.Requests[c] = whole(v)
			}
		}
		for _, v := range j.latencies {
			js.Observed += v
		}
		js.Observed = whole(js.Observed)
		st.Jobs[n] = js
	}
	return st
}
