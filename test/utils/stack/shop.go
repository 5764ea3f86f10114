package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cxops/cx-operator/test/utils"
)

// Incident kinds of the shop exporter (see test/shop).
const (
	// IncidentErrors answers a share of a web job's requests with a 5xx code.
	IncidentErrors = "errors"
	// IncidentSlow makes a share of a job's requests (or chats) slow.
	IncidentSlow = "slow"
	// IncidentProbeDown sets probe_success to 0.
	IncidentProbeDown = "probe-down"
	// IncidentCSATDrop lowers cx_csat_score.
	IncidentCSATDrop = "csat-drop"
)

// buildShop builds test/shop into dir and returns the binary's path. The Go
// build cache makes later builds a link step.
func (s *Stack) buildShop(ctx context.Context, dir string) (string, error) {
	return GoBuild(ctx, "./test/shop", filepath.Join(dir, "shop"), filepath.Join(s.opts.LogDir, "go-build-shop.log"))
}

// GoBuild builds the package pkg of this repository (e.g. ./cmd/manager)
// into out, with the build's output in logPath, and returns out.
func GoBuild(ctx context.Context, pkg, out, logPath string) (string, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("opening the build log of %s: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = utils.RepoRoot()
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	closeErr := f.Close()
	if runErr != nil {
		msg, _ := os.ReadFile(logPath)
		return "", errors.Join(fmt.Errorf("building %s (go build %s): %w: %s", pkg, pkg, runErr, strings.TrimSpace(string(msg))), closeErr)
	}
	if closeErr != nil {
		return "", fmt.Errorf("closing the build log of %s: %w", pkg, closeErr)
	}
	return out, nil
}

// Shop is a client of the synthetic shop exporter's control endpoint and
// exposition.
type Shop struct {
	url string
}

// URL returns the exporter's base URL (http://127.0.0.1:PORT).
func (sh *Shop) URL() string { return sh.url }

// ShopSample is one sample of the shop's exposition: the name as exposed
// (histograms as _bucket, _sum and _count), its labels and value.
type ShopSample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Scrape reads /metrics as Prometheus would and returns every sample.
func (sh *Shop) Scrape(ctx context.Context) ([]ShopSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sh.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := apiClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping the shop: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only: nothing to lose
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping the shop: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scraping the shop: parsing the exposition: %w", err)
	}
	var out []ShopSample
	for name, fam := range families {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			out = append(out, flatten(name, fam.GetType(), m, labels)...)
		}
	}
	return out, nil
}

// flatten turns one metric of a family into its exposed samples.
func flatten(name string, typ dto.MetricType, m *dto.Metric, labels map[string]string) []ShopSample {
	with := func(k, v string) map[string]string {
		l := make(map[string]string, len(labels)+1)
		for lk, lv := range labels {
			l[lk] = lv
		}
		l[k] = v
		return l
	}
	switch typ {
	case dto.MetricType_COUNTER:
		return []ShopSample{{name, labels, m.GetCounter().GetValue()}}
	case dto.MetricType_GAUGE:
		return []ShopSample{{name, labels, m.GetGauge().GetValue()}}
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		var out []ShopSample
		for _, b := range h.GetBucket() {
			out = append(out, ShopSample{name + "_bucket", with("le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)), float64(b.GetCumulativeCount())})
		}
		out = append(out,
			ShopSample{name + "_bucket", with("le", "+Inf"), float64(h.GetSampleCount())},
			ShopSample{name + "_sum", labels, h.GetSampleSum()},
			ShopSample{name + "_count", labels, float64(h.GetSampleCount())})
		return out
	default:
		return []ShopSample{{name, labels, m.GetUntyped().GetValue()}}
	}
}

// Value returns the value of the one sample named name whose labels include
// match, from a fresh scrape.
func (sh *Shop) Value(ctx context.Context, name string, match map[string]string) (float64, error) {
	samples, err := sh.Scrape(ctx)
	if err != nil {
		return 0, err
	}
	var found []ShopSample
	for _, smp := range samples {
		if smp.Name == name && hasLabels(smp.Labels, match) {
			found = append(found, smp)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("the shop exposes %d samples %s%s, want 1", len(found), name, labelString(match))
	}
	return found[0].Value, nil
}

func hasLabels(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// control sends one request to the control endpoint.
func (sh *Shop) control(ctx context.Context, method, path string, params url.Values) error {
	u := sh.url + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return fmt.Errorf("shop %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only: nothing to lose
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("shop %s %s?%s: %s: %s", method, path, params.Encode(), resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// paramKind is the control endpoint's parameter for an incident kind.
const paramKind = "kind"

func ff(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// SetTraffic sets the requests (for support: chats) per second of job, or
// of every job when job is empty.
func (sh *Shop) SetTraffic(ctx context.Context, job string, rps float64) error {
	return sh.control(ctx, http.MethodPost, "/control/traffic", withJob(job, url.Values{"rps": {ff(rps)}}))
}

// SetBaselineErrors sets the share (0..1) of 5xx answers of a web job, or
// of every web job, when no error spike is on.
func (sh *Shop) SetBaselineErrors(ctx context.Context, job string, share float64) error {
	return sh.control(ctx, http.MethodPost, "/control/traffic", withJob(job, url.Values{"errorShare": {ff(share)}}))
}

// StartErrorSpike answers share (0..1) of a web job's requests with code
// (empty: 500), until StopIncident.
func (sh *Shop) StartErrorSpike(ctx context.Context, job string, share float64, code string) error {
	v := url.Values{paramKind: {IncidentErrors}, "share": {ff(share)}}
	if code != "" {
		v.Set("code", code)
	}
	return sh.control(ctx, http.MethodPost, "/control/incidents", withJob(job, v))
}

// StartSlowResponses makes share (0..1) of a job's requests take latency
// (0: 1.5 s for the web, 900 s for chats), until StopIncident.
func (sh *Shop) StartSlowResponses(ctx context.Context, job string, share float64, latency time.Duration) error {
	v := url.Values{paramKind: {IncidentSlow}, "share": {ff(share)}}
	if latency > 0 {
		v.Set("seconds", ff(latency.Seconds()))
	}
	return sh.control(ctx, http.MethodPost, "/control/incidents", withJob(job, v))
}

// StartProbeDown sets probe_success of the shop's home page to 0.
func (sh *Shop) StartProbeDown(ctx context.Context) error {
	return sh.control(ctx, http.MethodPost, "/control/incidents", url.Values{paramKind: {IncidentProbeDown}})
}

// StartCSATDrop sets cx_csat_score to score (0: 3.4).
func (sh *Shop) StartCSATDrop(ctx context.Context, score float64) error {
	v := url.Values{paramKind: {IncidentCSATDrop}}
	if score > 0 {
		v.Set("score", ff(score))
	}
	return sh.control(ctx, http.MethodPost, "/control/incidents", v)
}

// StopIncident ends incidents of kind (empty: errors and slow) of job
// (empty: every job); both empty ends every incident.
func (sh *Shop) StopIncident(ctx context.Context, kind, job string) error {
	v := url.Values{}
	if kind != "" {
		v.Set(paramKind, kind)
	}
	return sh.control(ctx, http.MethodDelete, "/control/incidents", withJob(job, v))
}

// State returns the simulation's state as the control endpoint shows it
// (GET /control/state), decoded from JSON.
func (sh *Shop) State(ctx context.Context) (map[string]any, error) {
	var st map[string]any
	if err := getJSON(ctx, sh.url, "/control/state", &st); err != nil {
		return nil, fmt.Errorf("asking the shop: %w", err)
	}
	return st, nil
}

func withJob(job string, v url.Values) url.Values {
	if job != "" {
		v.Set("job", job)
	}
	return v
}
