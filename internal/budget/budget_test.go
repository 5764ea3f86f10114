package budget_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/budget"
)

func sample(value float64, kv ...string) *model.Sample {
	m := model.Metric{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
	}
	return &model.Sample{Metric: m, Value: model.SampleValue(value)}
}

func TestQueryReadsRecordedSeriesOnly(t *testing.T) {
	q := budget.Query("shop")
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		t.Fatalf("the query does not parse: %v\n%s", err, q)
	}
	for _, sel := range parser.ExtractSelectors(expr) {
		var name, ns string
		for _, m := range sel {
			switch m.Name {
			case "__name__":
				name = m.Value
			case "cx_objective_namespace":
				ns = m.Value
			}
		}
		if ns != "shop" {
			t.Errorf("selector %v is not limited to the namespace", sel)
		}
		if name != "ALERTS" && name != "cx:sli|cx:error_budget_remaining|cx:burn_rate" {
			t.Errorf("selector %v reads something else than the recorded series", sel)
		}
	}
}

func TestParse(t *testing.T) {
	vec := model.Vector{
		sample(0.99931, "__name__", "cx:sli", "cx_objective", "checkout", "cx_window", "30d"),
		sample(0.3126, "__name__", "cx:error_budget_remaining", "cx_objective", "checkout"),
		sample(2.345, "__name__", "cx:burn_rate", "cx_objective", "checkout", "cx_window", "1h"),
		sample(0.5, "__name__", "cx:burn_rate", "cx_objective", "checkout", "cx_window", "5m"),
		sample(1, "__name__", "ALERTS", "cx_objective", "checkout", "severity", "ticket", "alertstate", "firing"),
		sample(1, "__name__", "ALERTS", "cx_objective", "checkout", "severity", "page", "alertstate", "firing"),
		sample(0.2, "__name__", "cx:sli", "cx_objective", "quiet", "cx_window", "28d"),
		sample(0, "__name__", "cx:error_budget_remaining", "cx_objective", "quiet"),
		sample(0, "__name__", "cx:sli", "cx_objective", "idle", "cx_window", "30d"),
	}
	vec[len(vec)-1].Value = model.SampleValue(nan())
	got, err := budget.Parse(vec)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("an objective with every series is shown rounded for people", func(t *testing.T) {
		st := got["checkout"].Status("99.9", time.Unix(0, 0))
		if st.SLI != "99.93%" || st.Remaining != "31.3%" || st.BurnRate1h != "2.3x" {
			t.Fatalf("sli %s remaining %s burn %s", st.SLI, st.Remaining, st.BurnRate1h)
		}
		if len(st.BurnRates) != 2 || st.BurnRates[0].Window != "5m" || st.BurnRates[1].Window != "1h" {
			t.Fatalf("burn rates %v, want 5m then 1h", st.BurnRates)
		}
		if len(st.Firing) != 2 || st.Firing[0] != "page" || st.Firing[1] != "ticket" {
			t.Fatalf("firing %v", st.Firing)
		}
	})

	t.Run("the SLI has one more decimal than the target", func(t *testing.T) {
		if st := got["checkout"].Status("99.95", time.Unix(0, 0)); st.SLI != "99.931%" {
			t.Fatalf("sli %s", st.SLI)
		}
	})

	t.Run("an objective without traffic (NaN) is not known", func(t *testing.T) {
		if got["idle"].Known() {
			t.Fatal("a NaN SLI counted as known")
		}
		if !got["quiet"].Known() {
			t.Fatal("a SLI of 20% is a figure, not missing")
		}
	})

	t.Run("a missing objective is not known", func(t *testing.T) {
		if got["missing"].Known() {
			t.Fatal("known without series")
		}
	})
}

func TestParseRefusesWhatTheRulesDoNotWrite(t *testing.T) {
	cases := map[string]model.Value{
		"a matrix":                  model.Matrix{},
		"a scalar":                  &model.Scalar{},
		"nothing":                   nil,
		"a series without an owner": model.Vector{sample(1, "__name__", "cx:sli")},
		"a window label that is not a window": model.Vector{
			sample(1, "__name__", "cx:burn_rate", "cx_objective", "a", "cx_window", "soon")},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := budget.Parse(v); !errors.Is(err, budget.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestChanged(t *testing.T) {
	base := &cxv1alpha1.BudgetStatus{SLI: "99.93%", Remaining: "31.3%", BurnRate1h: "2.3x"}
	later := *base
	later.ReadAt = nil
	if budget.Changed(base, &later) {
		t.Error("the same figures at another time count as a change")
	}
	later.Remaining = "31.2%"
	if !budget.Changed(base, &later) {
		t.Error("a new budget figure is not a change")
	}
	if !budget.Changed(nil, base) {
		t.Error("the first figures are not a change")
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}
