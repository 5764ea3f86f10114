package main

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/internal/slo"
)

// objective is one of the three objectives of ../shared/anchors/README.md:
// our CXObjective for it, and the base name of Sloth's and Pyrra's files.
type objective struct {
	// key is the base name of the anchor files, e.g. checkout for
	// sloth/checkout.rules.yaml.
	key string
	// obj is our CXObjective with the anchors' selectors, target and window.
	obj *cxv1alpha1.CXObjective
	// owner is the resolved owning team.
	owner slo.Team
	// outage says in words what the detection scenario does.
	outage string
}

// The owning teams, each in its namespace of the same name, as in Pyrra's
// files; the raw series carry them as their namespace label too.
const (
	teamPayments = "payments"
	teamPlatform = "platform"
	teamWeb      = "web"
)

// objectives are the anchors' three objectives as CXObjectives: the same
// selectors, targets and windows, with default alerting (the SRE workbook's
// windows, as Sloth uses).
func objectives() []objective {
	cx := func(key, name, team, journey, target, outage string, sli cxv1alpha1.SLI) objective {
		return objective{
			key: key,
			obj: &cxv1alpha1.CXObjective{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: team},
				Spec: cxv1alpha1.CXObjectiveSpec{
					Journey: journey,
					Owner:   cxv1alpha1.TeamRef{Team: team},
					SLI:     sli,
					Target:  target,
					Window:  window30d,
				},
			},
			owner:  slo.Team{Name: team, Namespace: team},
			outage: outage,
		}
	}
	return []objective{
		cx("checkout", "checkout-error-rate", teamPayments, "checkout", "99.5", "every checkout request answered 5xx",
			cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{
				Errors: `http_requests_total{job="checkout",code=~"5.."}`,
				Total:  `http_requests_total{job="checkout"}`,
			}}),
		cx("api-latency", "api-latency-300ms", teamPlatform, "api", "99", "every API request slower than 300 ms",
			cxv1alpha1.SLI{Latency: &cxv1alpha1.LatencySLI{
				Metric:    `http_request_duration_seconds{job="api"}`,
				Threshold: "300ms",
				Histogram: cxv1alpha1.HistogramClassic,
			}}),
		cx("storefront-availability", "storefront-probe-availability", teamWeb, "storefront", "99.9", "every probe of https://shop.example.com fails",
			cxv1alpha1.SLI{Availability: &cxv1alpha1.AvailabilitySLI{
				Metric: `probe_success{job="blackbox",instance="https://shop.example.com"}`,
			}}),
	}
}

// ourRuleFile writes our generated rules for a modelled objective as a
// Prometheus rule file, as prometheus-operator hands it to Prometheus.
func ourRuleFile(model slo.Objective) ([]byte, error) {
	file, err := rules.RuleFile(rules.Generate(model))
	if err != nil {
		return nil, fmt.Errorf("writing the rules of objective %s: %w", model.Name, err)
	}
	return file, nil
}

// tool is a generator of SLO rules whose output is measured.
type tool struct {
	// name is how tables call it: ours, Sloth, Pyrra.
	name string
	// isPage says whether an alert (labels with alertname) is the tool's
	// page: the alert that wakes someone up.
	isPage func(labels.Labels) bool
	// page describes that alert for the report.
	page string
}

var (
	ours = tool{
		name: "ours",
		isPage: func(l labels.Labels) bool {
			return l.Get(labels.AlertName) == rules.AlertBurn && l.Get(cxv1alpha1.AlertLabelSeverity) == string(slo.SeverityPage)
		},
		page: rules.AlertBurn + `{severity="page"}`,
	}
	sloth = tool{
		name:   "Sloth",
		isPage: func(l labels.Labels) bool { return l.Get("sloth_severity") == "page" },
		page:   `<alerting.name>{sloth_severity="page"}`,
	}
	pyrra = tool{
		name: "Pyrra",
		isPage: func(l labels.Labels) bool {
			// SLOMetricAbsent is critical too, but it says that a metric is
			// missing, not that the budget burns.
			return l.Get(labels.AlertName) == "ErrorBudgetBurn" && l.Get("severity") == "critical"
		},
		page: `ErrorBudgetBurn{severity="critical"}`,
	}
	tools = []tool{ours, sloth, pyrra}
)
