package cli

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cxops/cx-operator/internal/slo"
)

func mustSelector(t *testing.T, s string) slo.Selector {
	t.Helper()
	sel, err := slo.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// matchesSelector says whether a series is one that the selector selects.
func matchesSelector(sel slo.Selector, l labels.Labels) bool {
	if l.Get("__name__") != sel.Name {
		return false
	}
	for _, m := range sel.Matchers {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

func TestSeriesFor(t *testing.T) {
	tests := []struct {
		name, sel, avoid string
		want             string
	}{
		{"equality matchers give their values", `http_requests_total{job="checkout"}`, "", `{__name__="http_requests_total", job="checkout"}`},
		{"a regular expression gets a string it matches", `http_requests_total{code=~"5.."}`, "", `{__name__="http_requests_total", code="500"}`},
		{"an alternation takes its first branch", `probe_success{instance=~"https://(shop|www)\\.example\\.com"}`, "", `{__name__="probe_success", instance="https://shop.example.com"}`},
		{"a negative matcher takes an ordinary value", `http_requests_total{code!~"5.."}`, "", `{__name__="http_requests_total", code="200"}`},
		{"a label that must be absent is left out", `up{job="api",env=""}`, "", `{__name__="up", job="api"}`},
		{"good events match total and not errors", `http_requests_total{job="checkout"}`, `http_requests_total{job="checkout",code=~"5.."}`,
			`{__name__="http_requests_total", code="200", job="checkout"}`},
		{"an exclusion by inequality", `payouts_total`, `payouts_total{outcome="failed"}`, `{__name__="payouts_total", outcome="200"}`},
		{"another metric name needs no exclusion", `requests_total{job="a"}`, `errors_total{job="a"}`, `{__name__="requests_total", job="a"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := mustSelector(t, tt.sel)
			var avoid *slo.Selector
			if tt.avoid != "" {
				a := mustSelector(t, tt.avoid)
				avoid = &a
			}
			got, err := seriesFor(sel, avoid)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("seriesFor = %s, want %s", got, tt.want)
			}
			if !matchesSelector(sel, got) {
				t.Errorf("%s does not match %s", got, sel)
			}
			if avoid != nil && matchesSelector(*avoid, got) {
				t.Errorf("%s matches %s, which it must not", got, avoid)
			}
		})
	}
}

func TestSeriesForRefusesContradictions(t *testing.T) {
	for _, tt := range []struct{ name, sel, avoid string }{
		{"matchers that no value meets", `x{a="1",a="2"}`, ""},
		{"total that errors always match", `x{job="a"}`, `x{job="a"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var avoid *slo.Selector
			if tt.avoid != "" {
				a := mustSelector(t, tt.avoid)
				avoid = &a
			}
			if got, err := seriesFor(mustSelector(t, tt.sel), avoid); err == nil {
				t.Errorf("seriesFor = %s, want an error", got)
			}
		})
	}
}

func TestRegexSamplesMatch(t *testing.T) {
	for _, expr := range []string{"5..", "4[0-9]{2}|5[0-9]{2}", "(GET|POST)", "[a-z]+-[0-9]+", ".*error.*", "foo(bar)?baz", "\\d{3}"} {
		samples := regexSamples(expr)
		if len(samples) == 0 {
			t.Errorf("%s: no sample", expr)
		}
		m := labels.MustNewMatcher(labels.MatchRegexp, "l", expr)
		for _, s := range samples {
			if !m.Matches(s) {
				t.Errorf("%s: the sample %q does not match", expr, s)
			}
		}
	}
}
