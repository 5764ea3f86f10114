package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape reads a Prometheus text exposition.
func Scrape(ctx context.Context, hc *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	// A large control plane takes a while to render its metrics; one that
	// takes longer than this has stopped answering.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// Labels are a series' labels as a map.
func Labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// RequestKey is one series of apiserver_request_total, summed over
// response codes, scopes and components.
type RequestKey struct {
	Resource, Subresource, Verb string
}

// String is "VERB resource/subresource".
func (k RequestKey) String() string {
	s := k.Verb + " " + k.Resource
	if k.Subresource != "" {
		s += "/" + k.Subresource
	}
	return s
}

// Requests are the API server's request counters at one moment, or what
// they grew by between two.
type Requests map[RequestKey]float64

// RequestsIn sums apiserver_request_total by resource, subresource and
// verb.
func RequestsIn(families map[string]*dto.MetricFamily) Requests {
	out := Requests{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		l := Labels(m)
		out[RequestKey{l["resource"], l["subresource"], l["verb"]}] += m.GetCounter().GetValue()
	}
	return out
}

// Minus is r - before, without the series that did not move.
func (r Requests) Minus(before Requests) Requests {
	out := Requests{}
	for k, v := range r {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// IsWrite says whether a verb, as apiserver_request_total spells it,
// changes something (server-side apply is APPLY).
func IsWrite(verb string) bool {
	switch verb {
	case "POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION":
		return true
	}
	return false
}

// Writes counts the writing requests on resource/subresource.
func (r Requests) Writes(resource, subresource string) int {
	n := 0.0
	for k, v := range r {
		if k.Resource == resource && k.Subresource == subresource && IsWrite(k.Verb) {
			n += v
		}
	}
	return int(n)
}
