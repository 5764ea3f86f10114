package rules_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/internal/slo"
)

// FuzzGenerate feeds objective specs through the path from a CXObjective to
// rules: building the model never panics, and whatever the model accepts
// becomes rules that Prometheus's rulefmt accepts. The seed corpus is in
// testdata/fuzz/FuzzGenerate; run more with
// go test ./internal/rules -run '^$' -fuzz FuzzGenerate -fuzztime 1m.
func FuzzGenerate(f *testing.F) {
	f.Add(uint8(0), `http_requests_total{job="checkout",code=~"5.."}`, `http_requests_total{job="checkout"}`, "99.9", "30d", "1h", "5m", "14.4", "300ms", "payment API", "Customers pay.", "revenue", "{{ $value }}")
	f.Add(uint8(1), `http_request_duration_seconds{job="api"}`, "", "99", "28d", "47m", "7m", "10", "1.5s", "{{ oops", "desc }} {{", "a{{b", "x")
	f.Add(uint8(2), `probe_success{instance="https://shop.example.com"}`, "", "99.95", "7d", "6h", "30m", "6", "", "", "", "", "")
	f.Add(uint8(3), `cx_csat_score{survey="post-purchase"}`, "", "95", "90d", "3d", "6h", "1", "4.2", "survey", "", "", "{{ bad")
	f.Add(uint8(4), `http_request_duration_seconds{job="api"}`, "", "50", "1d", "2m", "1m", "0.5", "300s", "", "", "", "")
	f.Fuzz(func(t *testing.T, kind uint8, metric, total, target, window, long, short, factor, threshold, touchpoint, description, label, annotation string) {
		var sli cxv1alpha1.SLI
		switch kind % 5 {
		case 0:
			sli.ErrorRatio = &cxv1alpha1.ErrorRatioSLI{Errors: cxv1alpha1.Selector(metric), Total: cxv1alpha1.Selector(total)}
		case 1:
			sli.Latency = &cxv1alpha1.LatencySLI{Metric: cxv1alpha1.Selector(metric), Threshold: threshold, Histogram: cxv1alpha1.HistogramClassic}
		case 2:
			sli.Availability = &cxv1alpha1.AvailabilitySLI{Metric: cxv1alpha1.Selector(metric)}
		case 3:
			sli.Score = &cxv1alpha1.ScoreSLI{Metric: cxv1alpha1.Selector(metric), Threshold: threshold, GoodWhen: cxv1alpha1.GoodBelow}
		case 4:
			sli.Latency = &cxv1alpha1.LatencySLI{Metric: cxv1alpha1.Selector(metric), Threshold: threshold, Histogram: cxv1alpha1.HistogramNative}
		}
		obj := &cxv1alpha1.CXObjective{
			ObjectMeta: metav1.ObjectMeta{Name: "fuzzed", Namespace: "shop"},
			Spec: cxv1alpha1.CXObjectiveSpec{
				Journey: "checkout", Touchpoint: touchpoint, Description: description,
				Owner: cxv1alpha1.TeamRef{Team: "checkout"}, SLI: sli, Target: target, Window: cxv1alpha1.Duration(window),
				Alerting: &cxv1alpha1.Alerting{
					PageWindows: []cxv1alpha1.BurnRateWindow{{Long: cxv1alpha1.Duration(long), Short: cxv1alpha1.Duration(short), Factor: factor}},
					Labels:      map[string]string{"tier": label},
					Annotations: map[string]string{"note": annotation},
					RunbookURL:  "https://runbooks.example.com/" + touchpoint,
				},
				Stakeholders: []cxv1alpha1.TeamRef{{Team: "finance"}},
			},
		}
		team := slo.Team{Name: "checkout", Namespace: "shop", Department: description, DisplayName: touchpoint}
		o, err := slo.FromObjective(obj, team, []slo.Team{{Name: "finance", Namespace: "shop", DisplayName: label}})
		if err != nil {
			if !slo.IsInvalid(err) {
				t.Fatalf("FromObjective failed with an error that is not an InvalidError: %v", err)
			}
			return
		}
		spec := rules.Generate(o)
		if err := rules.Validate(spec); err != nil {
			t.Fatalf("accepted objective gives rules that rulefmt refuses: %v", err)
		}
		file, err := rules.RuleFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := rules.ValidateFile(file); err != nil {
			t.Fatalf("accepted objective gives a rule file that rulefmt.Parse refuses: %v", err)
		}
	})
}
