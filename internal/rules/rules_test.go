package rules_test

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/internal/slo"
	testsamples "github.com/cxops/cx-operator/test/utils/samples"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func TestGoldenRulesForEverySample(t *testing.T) {
	samples := testsamples.Load(t)
	if len(samples.Objectives) == 0 {
		t.Fatal("no sample objectives found")
	}
	for _, obj := range samples.Objectives {
		t.Run(obj.Name, func(t *testing.T) {
			o := samples.Model(t, obj)
			spec := rules.Generate(o)
			if err := rules.Validate(spec); err != nil {
				t.Fatalf("the rules of %s do not pass rulefmt: %v", obj.Name, err)
			}
			got, err := rules.RuleFile(spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := rules.ValidateFile(got); err != nil {
				t.Fatalf("the rule file of %s does not load with rulefmt.Parse: %v", obj.Name, err)
			}
			golden := filepath.Join("testdata", obj.Name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading %s (run the test with -update to write it): %v", golden, err)
			}
			if string(got) != string(want) {
				t.Errorf("the rules of %s differ from %s; if the change is intended, run go test ./internal/rules -update and review the diff", obj.Name, golden)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	samples := testsamples.Load(t)
	checkout := samples.Model(t, samples.Objective(t, "checkout-errors"))

	t.Run("the same objective gives byte-identical rules", func(t *testing.T) {
		a, _ := rules.RuleFile(rules.Generate(checkout))
		b, _ := rules.RuleFile(rules.Generate(samples.Model(t, samples.Objective(t, "checkout-errors"))))
		if string(a) != string(b) {
			t.Fatal("two generations differ")
		}
	})

	t.Run("the objective is not changed", func(t *testing.T) {
		o := samples.Model(t, samples.Objective(t, "checkout-errors"))
		untouched := samples.Model(t, samples.Objective(t, "checkout-errors"))
		_ = rules.Generate(o)
		if !reflect.DeepEqual(snapshot(o), snapshot(untouched)) {
			t.Fatal("Generate changed its input")
		}
	})

	t.Run("every alert carries the owner's routing labels", func(t *testing.T) {
		for _, r := range alertRules(rules.Generate(checkout)) {
			want := map[string]string{
				cxv1alpha1.AlertLabelObjective:          "checkout-errors",
				cxv1alpha1.AlertLabelObjectiveNamespace: testsamples.Namespace,
				cxv1alpha1.AlertLabelJourney:            "checkout",
				cxv1alpha1.AlertLabelNamespace:          testsamples.Namespace,
				"tier":                                  "revenue",
			}
			if r.Alert == rules.AlertNotice {
				want[cxv1alpha1.AlertLabelTeam] = "finance"
				want[cxv1alpha1.AlertLabelSeverity] = "notice"
				want[cxv1alpha1.AlertLabelStakeholder] = "checkout"
			} else {
				want[cxv1alpha1.AlertLabelTeam] = "checkout"
			}
			for k, v := range want {
				if r.Labels[k] != v {
					t.Errorf("%s (%s): label %s = %q, want %q", r.Alert, r.Labels["severity"], k, r.Labels[k], v)
				}
			}
			if r.Annotations["runbook_url"] != "https://runbooks.example.com/checkout/errors" {
				t.Errorf("%s: runbook_url = %q", r.Alert, r.Annotations["runbook_url"])
			}
		}
	})

	t.Run("one page, one ticket and one notice per stakeholder", func(t *testing.T) {
		count := map[string]int{}
		for _, r := range alertRules(rules.Generate(checkout)) {
			count[r.Alert+"/"+r.Labels["severity"]]++
		}
		want := map[string]int{"CXErrorBudgetBurn/page": 1, "CXErrorBudgetBurn/ticket": 1, "CXErrorBudgetBurnNotice/notice": 1}
		if !reflect.DeepEqual(count, want) {
			t.Fatalf("alerts = %v, want %v", count, want)
		}
	})

	t.Run("an objective with pages off has no page and tells stakeholders on its ticket", func(t *testing.T) {
		csat := samples.Model(t, samples.Objective(t, "post-purchase-csat"))
		var sev []string
		for _, r := range alertRules(rules.Generate(csat)) {
			sev = append(sev, r.Labels["severity"])
		}
		if !reflect.DeepEqual(sev, []string{"ticket", "notice"}) {
			t.Fatalf("severities = %v, want [ticket notice]", sev)
		}
	})

	t.Run("raw series are read over the base window only, recorded ones never over a range", func(t *testing.T) {
		p := parser.NewParser(parser.Options{})
		for _, obj := range samples.Objectives {
			o := samples.Model(t, obj)
			for _, r := range rules.Generate(o).Groups[0].Rules {
				expr, err := p.ParseExpr(r.Expr.String())
				if err != nil {
					t.Fatal(err)
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					var rng time.Duration
					var inner parser.Node
					switch n := n.(type) {
					case *parser.MatrixSelector:
						rng, inner = n.Range, n.VectorSelector
					case *parser.SubqueryExpr:
						rng, inner = n.Range, n.Expr
					default:
						return nil
					}
					if rng > 5*time.Minute {
						t.Errorf("%s: rule %s%s reads a range of %s", obj.Name, r.Record, r.Alert, rng)
					}
					for _, sel := range parser.ExtractSelectors(inner.(parser.Expr)) {
						for _, m := range sel {
							if m.Name == "__name__" && strings.HasPrefix(m.Value, "cx:") {
								t.Errorf("%s: rule %s%s reads the recorded %s over a range", obj.Name, r.Record, r.Alert, m.Value)
							}
						}
					}
					return nil
				})
			}
		}
	})

	t.Run("the summary says in plain words how fast the budget burns", func(t *testing.T) {
		page := alertRules(rules.Generate(checkout))[0]
		want := `Checkout error rate (payment API) is burning this month's error budget {{ printf "%.0f" $value }}× too fast`
		if page.Annotations["summary"] != want {
			t.Fatalf("summary = %q, want %q", page.Annotations["summary"], want)
		}
	})

	t.Run("keepFiringFor and the forecast are off unless asked for", func(t *testing.T) {
		for _, r := range alertRules(rules.Generate(checkout)) {
			if r.KeepFiringFor != nil || r.Alert == rules.AlertExhaustion {
				t.Fatalf("unexpected %s with keep_firing_for %v", r.Alert, r.KeepFiringFor)
			}
		}
		o := deepCopy(t, checkout)
		o.KeepFiringFor = 10 * 60 * 1e9
		o.BudgetForecast = true
		spec := rules.Generate(o)
		if err := rules.Validate(spec); err != nil {
			t.Fatal(err)
		}
		var forecast bool
		for _, r := range alertRules(spec) {
			if r.Alert == rules.AlertBurn && (r.KeepFiringFor == nil || *r.KeepFiringFor != "10m") {
				t.Errorf("%s %s: keep_firing_for = %v, want 10m", r.Alert, r.Labels["severity"], r.KeepFiringFor)
			}
			forecast = forecast || r.Alert == rules.AlertExhaustion
		}
		if !forecast {
			t.Error("budgetForecast did not add CXErrorBudgetExhaustion")
		}
	})
}

func alertRules(spec monitoringv1.PrometheusRuleSpec) []monitoringv1.Rule {
	var out []monitoringv1.Rule
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// snapshot makes an objective comparable with reflect.DeepEqual: parsed
// label matchers hold compiled regular expressions, which are not, so the
// selectors are compared as the PromQL they print.
func snapshot(o slo.Objective) slo.Objective {
	for _, sel := range []*slo.Selector{&o.SLI.Errors, &o.SLI.Total, &o.SLI.Metric} {
		*sel = slo.Selector{Name: sel.String()}
	}
	return o
}

func deepCopy(t *testing.T, o slo.Objective) slo.Objective {
	t.Helper()
	c := o
	c.Stakeholders = append([]slo.Team(nil), o.Stakeholders...)
	c.Page = append([]slo.BurnWindow(nil), o.Page...)
	c.Ticket = append([]slo.BurnWindow(nil), o.Ticket...)
	c.Labels = cloneMap(o.Labels)
	c.Annotations = cloneMap(o.Annotations)
	return c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
