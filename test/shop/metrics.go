package main

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Label names of the exposition.
const (
	labelJob      = "job"
	labelInstance = "instance"
)

var (
	requestsDesc = prometheus.NewDesc("http_requests_total",
		"HTTP requests answered, by status code (simulated).",
		[]string{labelJob, labelInstance, "code"}, nil)
	durationDesc = prometheus.NewDesc("http_request_duration_seconds",
		"Time to answer an HTTP request (simulated).",
		[]string{labelJob, labelInstance}, nil)
	firstResponseDesc = prometheus.NewDesc("support_first_response_seconds",
		"Time from a customer opening a chat to the first answer by a person (simulated).",
		[]string{labelJob, labelInstance, "queue"}, nil)
	probeDesc = prometheus.NewDesc("probe_success",
		"Whether the external probe of the shop's home page succeeded (simulated).",
		[]string{labelJob, labelInstance}, nil)
	csatDesc = prometheus.NewDesc("cx_csat_score",
		"Average customer satisfaction score of a survey, 1 to 5 (simulated).",
		[]string{labelJob, labelInstance, "survey"}, nil)
)

// Describe implements prometheus.Collector.
func (s *sim) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{requestsDesc, durationDesc, firstResponseDesc, probeDesc, csatDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it advances the simulation to now
// and reports every series. Counts are rounded down, as real counters count
// whole requests.
func (s *sim) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	for _, name := range s.jobNames(anyJob) {
		j := s.jobs[name]
		buckets, count, sum := j.histogram()
		if j.web {
			codes := make([]string, 0, len(j.requests))
			for c := range j.requests {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			for _, c := range codes {
				ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue,
					whole(j.requests[c]), j.name, j.instance, c)
			}
			ch <- prometheus.MustNewConstHistogram(durationDesc, count, sum, buckets, j.name, j.instance)
			continue
		}
		ch <- prometheus.MustNewConstHistogram(firstResponseDesc, count, sum, buckets, j.name, j.instance, supportQueue)
	}
	probe := 0.0
	if s.probeUp {
		probe = 1
	}
	ch <- prometheus.MustNewConstMetric(probeDesc, prometheus.GaugeValue, probe, jobBlackbox, probeInstance)
	ch <- prometheus.MustNewConstMetric(csatDesc, prometheus.GaugeValue, s.csat, jobSurveys, "surveys-1", csatSurvey)
}
