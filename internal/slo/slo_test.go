package slo_test

import (
	"math"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/slo"
)

const day = 24 * time.Hour

func TestScaledDefaults(t *testing.T) {
	cases := []struct {
		name       string
		window     time.Duration
		wantPage   []slo.BurnWindow
		wantTicket []slo.BurnWindow
	}{
		{
			name:   "a 30-day window keeps the SRE workbook's windows",
			window: 30 * day,
			wantPage: []slo.BurnWindow{
				{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
				{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
			},
			wantTicket: []slo.BurnWindow{
				{Long: day, Short: 2 * time.Hour, Factor: 3},
				{Long: 3 * day, Short: 6 * time.Hour, Factor: 1},
			},
		},
		{
			name:   "a 28-day window scales them by 28/30, rounded to 5 minutes",
			window: 28 * day,
			wantPage: []slo.BurnWindow{
				{Long: 55 * time.Minute, Short: 5 * time.Minute, Factor: 14.4},
				{Long: 5*time.Hour + 35*time.Minute, Short: 30 * time.Minute, Factor: 6},
			},
			wantTicket: []slo.BurnWindow{
				{Long: 22*time.Hour + 25*time.Minute, Short: time.Hour + 50*time.Minute, Factor: 3},
				{Long: 67*time.Hour + 10*time.Minute, Short: 5*time.Hour + 35*time.Minute, Factor: 1},
			},
		},
		{
			name:   "a 1-day window rounds the shortest windows to the minute",
			window: day,
			wantPage: []slo.BurnWindow{
				{Long: 2 * time.Minute, Short: time.Minute, Factor: 14.4},
				{Long: 10 * time.Minute, Short: time.Minute, Factor: 6},
			},
			wantTicket: []slo.BurnWindow{
				{Long: 50 * time.Minute, Short: 4 * time.Minute, Factor: 3},
				{Long: 2*time.Hour + 25*time.Minute, Short: 10 * time.Minute, Factor: 1},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, ticket := slo.ScaledDefaults(c.window)
			if !equalWindows(page, c.wantPage) || !equalWindows(ticket, c.wantTicket) {
				t.Fatalf("got page %v ticket %v, want page %v ticket %v", page, ticket, c.wantPage, c.wantTicket)
			}
		})
	}
}

func equalWindows(a, b []slo.BurnWindow) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPlan(t *testing.T) {
	cases := []struct {
		name   string
		window cxv1alpha1.Duration
		// alerting overrides the default windows when set.
		alerting *cxv1alpha1.Alerting
	}{
		{name: "the default 30-day objective", window: "30d"},
		{name: "a 28-day objective with scaled windows", window: "28d"},
		{name: "a 90-day objective", window: "90d"},
		{name: "a 1-day objective", window: "1d"},
		{name: "a 30-day objective that only pages", window: "30d", alerting: &cxv1alpha1.Alerting{Ticket: ptr(false)}},
		{name: "a 30-day objective with odd windows", window: "30d", alerting: &cxv1alpha1.Alerting{
			PageWindows:   []cxv1alpha1.BurnRateWindow{{Long: "47m", Short: "7m", Factor: "10"}},
			TicketWindows: []cxv1alpha1.BurnRateWindow{{Long: "29h", Short: "173m", Factor: "2"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := model(t, c.window, c.alerting)
			plans := o.Plan()
			if !plans[0].Base() || plans[0].Window != o.BaseWindow() {
				t.Fatalf("the first window is %v, want the base window %s read from raw series", plans[0], o.BaseWindow())
			}
			if o.BaseWindow() > slo.DefaultBaseWindow {
				t.Errorf("base window %s is longer than %s", o.BaseWindow(), slo.DefaultBaseWindow)
			}
			recorded := map[time.Duration]bool{}
			for i, p := range plans {
				if i > 0 && p.Window <= plans[i-1].Window {
					t.Errorf("windows are not ascending: %s after %s", p.Window, plans[i-1].Window)
				}
				if len(p.Terms) > slo.MaxTerms {
					t.Errorf("window %s adds %d terms, more than %d", p.Window, len(p.Terms), slo.MaxTerms)
				}
				var covered time.Duration
				for j, term := range p.Terms {
					if !recorded[term.Chunk] {
						t.Errorf("window %s reads %s before it is recorded", p.Window, term.Chunk)
					}
					if term.Offset != covered {
						t.Errorf("window %s: term %d starts at %s, want %s: the terms must follow each other without gap", p.Window, j, term.Offset, covered)
					}
					if term.Weight > term.Chunk || term.Weight <= 0 {
						t.Errorf("window %s: term %d weighs %s for a %s chunk", p.Window, j, term.Weight, term.Chunk)
					}
					covered += term.Weight
				}
				if !p.Base() && covered != p.Window {
					t.Errorf("window %s: the terms cover %s", p.Window, covered)
				}
				recorded[p.Window] = true
			}
			for _, w := range append(o.StateWindows(), o.Window) {
				if !recorded[w] {
					t.Errorf("window %s is needed but not recorded", w)
				}
			}
		})
	}
}

func TestFromObjective(t *testing.T) {
	t.Run("the budget is exact in decimal", func(t *testing.T) {
		o := model(t, "30d", nil)
		if o.Budget != 0.001 || o.Target != 0.999 {
			t.Fatalf("target %v budget %v, want 0.999 and 0.001", o.Target, o.Budget)
		}
	})

	t.Run("the low-traffic guard has its documented defaults and can be changed", func(t *testing.T) {
		o := model(t, "30d", nil)
		if o.PageGuard.MinBadEventsPerHour != 20 || o.TicketGuard.MinBadEventsPerHour != 1 || o.PageGuard.MinShortWindowBadEvents != 3 {
			t.Fatalf("defaults: page %+v ticket %+v", o.PageGuard, o.TicketGuard)
		}
		o = model(t, "30d", &cxv1alpha1.Alerting{LowTraffic: &cxv1alpha1.LowTraffic{PageMinBadEventsPerHour: ptr(int32(0))}})
		if o.PageGuard.MinBadEventsPerHour != 0 {
			t.Fatalf("pageMinBadEventsPerHour 0 did not turn the guard off: %+v", o.PageGuard)
		}
	})

	invalid := []struct {
		name  string
		sli   cxv1alpha1.SLI
		field string
	}{
		{
			name:  "a selector that does not parse names its field",
			sli:   cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{Errors: `http_requests_total{code=~"5..`, Total: "http_requests_total"}},
			field: "spec.sli.errorRatio.errors",
		},
		{
			name:  "a range vector instead of a selector is refused",
			sli:   cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{Errors: "errors_total", Total: "requests_total[5m]"}},
			field: "spec.sli.errorRatio.total",
		},
		{
			name:  "a histogram given by its _bucket series is refused",
			sli:   cxv1alpha1.SLI{Latency: &cxv1alpha1.LatencySLI{Metric: `latency_seconds_bucket{job="api"}`, Threshold: "300ms"}},
			field: "spec.sli.latency.metric",
		},
		{
			name:  "a selector without a metric name is refused",
			sli:   cxv1alpha1.SLI{Availability: &cxv1alpha1.AvailabilitySLI{Metric: `{job="blackbox"}`}},
			field: "spec.sli.availability.metric",
		},
		{
			name:  "a regular expression on __name__ is refused",
			sli:   cxv1alpha1.SLI{Score: &cxv1alpha1.ScoreSLI{Metric: `{__name__=~"csat.*"}`, Threshold: "4", GoodWhen: cxv1alpha1.GoodAbove}},
			field: "spec.sli.score.metric",
		},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			obj := objectiveWith(c.sli, "30d", nil)
			_, err := slo.FromObjective(obj, owner(), nil)
			if !slo.IsInvalid(err) {
				t.Fatalf("got %v, want an InvalidError", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("the error %q does not name %s", err, c.field)
			}
		})
	}

	badAlerting := []struct {
		name     string
		alerting cxv1alpha1.Alerting
		field    string
		says     string
	}{
		{
			name:     "an annotation that is not a valid alert template names its key",
			alerting: cxv1alpha1.Alerting{Annotations: map[string]string{"summary": "fine", "impact": "{{ .Value "}},
			field:    "spec.alerting.annotations[impact]",
			says:     "not a valid Prometheus alert template",
		},
		{
			name:     "an annotation with a control character is refused before it is parsed",
			alerting: cxv1alpha1.Alerting{Annotations: map[string]string{"impact": "bell\a"}},
			field:    "spec.alerting.annotations[impact]",
			says:     "control character U+0007",
		},
		{
			name:     "a label name Prometheus does not accept is refused",
			alerting: cxv1alpha1.Alerting{Labels: map[string]string{"tier-1": "yes"}},
			field:    "spec.alerting.labels[tier-1]",
			says:     "must be a Prometheus label name",
		},
		{
			name:     "a label name reserved by Prometheus is refused",
			alerting: cxv1alpha1.Alerting{Labels: map[string]string{"__tier": "1"}},
			field:    "spec.alerting.labels[__tier]",
			says:     "must be a Prometheus label name",
		},
		{
			name:     "a label value that is not UTF-8 is refused",
			alerting: cxv1alpha1.Alerting{Labels: map[string]string{"tier": "\xff"}},
			field:    "spec.alerting.labels[tier]",
			says:     "valid UTF-8",
		},
		{
			name:     "a runbook URL with a control character is refused",
			alerting: cxv1alpha1.Alerting{RunbookURL: "https://runbooks.example.com/\x00"},
			field:    "spec.alerting.runbookURL",
			says:     "control character U+0000",
		},
	}
	for _, c := range badAlerting {
		t.Run(c.name, func(t *testing.T) {
			_, err := slo.FromObjective(objectiveWith(errorRatio(), "30d", &c.alerting), owner(), nil)
			if !slo.IsInvalid(err) || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want an InvalidError on %s that says %q", err, c.field, c.says)
			}
		})
	}

	t.Run("annotations may use the alert's value and labels", func(t *testing.T) {
		alerting := cxv1alpha1.Alerting{Annotations: map[string]string{"impact": "{{ $labels.cx_team }} burns at {{ $value | humanize }}"}}
		if _, err := slo.FromObjective(objectiveWith(errorRatio(), "30d", &alerting), owner(), nil); err != nil {
			t.Fatalf("a template with $labels and $value: %v", err)
		}
	})

	t.Run("two pairs of a severity with the same long window are refused", func(t *testing.T) {
		// 1h and 60m are the same window: their latches would be one series.
		obj := objectiveWith(errorRatio(), "30d", &cxv1alpha1.Alerting{PageWindows: []cxv1alpha1.BurnRateWindow{
			{Long: "1h", Short: "5m", Factor: "14.4"}, {Long: "60m", Short: "10m", Factor: "10"},
		}})
		_, err := slo.FromObjective(obj, owner(), nil)
		if !slo.IsInvalid(err) || !strings.Contains(err.Error(), "spec.alerting.pageWindows[1].long") || !strings.Contains(err.Error(), "pageWindows[0]") {
			t.Fatalf("got %v, want an InvalidError on spec.alerting.pageWindows[1].long that names pageWindows[0]", err)
		}
		// The same long window for a page and a ticket is fine: the
		// latches differ by severity.
		obj = objectiveWith(errorRatio(), "30d", &cxv1alpha1.Alerting{
			PageWindows:   []cxv1alpha1.BurnRateWindow{{Long: "6h", Short: "30m", Factor: "6"}},
			TicketWindows: []cxv1alpha1.BurnRateWindow{{Long: "6h", Short: "30m", Factor: "3"}},
		})
		if _, err := slo.FromObjective(obj, owner(), nil); err != nil {
			t.Fatalf("a page and a ticket pair with the same windows: %v", err)
		}
	})

	t.Run("the input is not changed", func(t *testing.T) {
		obj := objectiveWith(errorRatio(), "30d", &cxv1alpha1.Alerting{Labels: map[string]string{"tier": "1"}})
		before := obj.DeepCopy()
		o, err := slo.FromObjective(obj, owner(), nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Labels["tier"] = "changed"
		if obj.Spec.Alerting.Labels["tier"] != "1" || obj.Spec.Target != before.Spec.Target {
			t.Fatal("the model shares its labels with the API object")
		}
	})
}

func TestDurations(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"28d", 28 * day}, {"4w", 28 * day}} {
		got, err := slo.ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "5", "0m", "-1h", "1.5h", "5s", "h"} {
		if _, err := slo.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted it", bad)
		}
	}
	for d, want := range map[time.Duration]string{
		30 * day: "30d", 5*time.Hour + 36*time.Minute: "5h36m", 5 * time.Minute: "5m", 67*time.Hour + 10*time.Minute: "2d19h10m",
	} {
		if got := slo.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestWindowLabelsReadBackWhatFormatDurationWrites(t *testing.T) {
	for _, d := range []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 5*time.Hour + 36*time.Minute, day, 3 * day, 67*time.Hour + 10*time.Minute, 30 * day, 90 * day} {
		label := slo.FormatDuration(d)
		got, err := slo.ParseWindowLabel(label)
		if err != nil || got != d {
			t.Errorf("ParseWindowLabel(%q) = %v, %v; want %v", label, got, err, d)
		}
	}
	for _, bad := range []string{"", "5", "m", "5x", "5s", "-1h", "0m", "1.5h", "h5m"} {
		if _, err := slo.ParseWindowLabel(bad); err == nil {
			t.Errorf("ParseWindowLabel(%q) accepted it", bad)
		}
	}
}

func TestDescribeWindow(t *testing.T) {
	for _, c := range []struct {
		window time.Duration
		want   string
	}{
		{30 * day, "this month's"},
		{7 * day, "this week's"},
		{day, "today's"},
		{28 * day, "this 28-day window's"},
		{36 * time.Hour, "this 1d12h window's"},
	} {
		if got := slo.DescribeWindow(c.window); got != c.want {
			t.Errorf("DescribeWindow(%s) = %q, want %q", c.window, got, c.want)
		}
	}
}

func TestFormatFloatReadsBackExactly(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.001, "0.001"}, {14.4, "14.4"}, {1e-7, "0.0000001"}, {99.95, "99.95"}, {3, "3"},
		{math.Inf(1), "+Inf"}, {math.NaN(), "NaN"},
	} {
		if got := slo.FormatFloat(c.in); got != c.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func owner() slo.Team {
	return slo.Team{Name: "checkout", Namespace: "shop", Department: "Product", DisplayName: "checkout"}
}

func errorRatio() cxv1alpha1.SLI {
	return cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{
		Errors: `http_requests_total{job="checkout",code=~"5.."}`, Total: `http_requests_total{job="checkout"}`,
	}}
}

func objectiveWith(sli cxv1alpha1.SLI, window cxv1alpha1.Duration, alerting *cxv1alpha1.Alerting) *cxv1alpha1.CXObjective {
	return &cxv1alpha1.CXObjective{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout-errors", Namespace: "shop"},
		Spec: cxv1alpha1.CXObjectiveSpec{
			Journey: "checkout", Owner: cxv1alpha1.TeamRef{Team: "checkout"},
			SLI: sli, Target: "99.9", Window: window, Alerting: alerting,
		},
	}
}

func model(t *testing.T, window cxv1alpha1.Duration, alerting *cxv1alpha1.Alerting) slo.Objective {
	t.Helper()
	o, err := slo.FromObjective(objectiveWith(errorRatio(), window, alerting), owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
