package controller

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// labelReason is the label of the reconcile metrics with the Ready reason.
const labelReason = "reason"

// Metrics are the controller's own metrics, next to controller-runtime's on
// the manager's metrics endpoint.
type Metrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// NewMetrics registers the reconcile metrics and the collector that counts
// objectives and teams by their Ready condition, read from the cache at
// scrape time.
func NewMetrics(reg prometheus.Registerer, cache client.Reader) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cx_operator_reconcile_duration_seconds",
			Help:    "How long a reconcile of a CXObjective or CXTeam took, by kind and outcome (the Ready reason).",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5},
		}, []string{"kind", labelReason}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cx_operator_reconcile_errors_total",
			Help: "Reconciles that ended in an error and were retried, by kind and reason.",
		}, []string{"kind", labelReason}),
	}
	reg.MustRegister(m.duration, m.errors, &conditionCollector{cache: cache})
	return m
}

// DefaultRegistry is controller-runtime's registry, served by the manager.
var DefaultRegistry prometheus.Registerer = metrics.Registry

func (m *Metrics) observe(kind string, start time.Time, o outcome) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(kind, o.reason).Observe(time.Since(start).Seconds())
	if o.err != nil {
		m.errors.WithLabelValues(kind, o.reason).Inc()
	}
}

var (
	objectivesDesc = prometheus.NewDesc("cx_operator_objectives",
		"CXObjectives by the status and reason of their Ready condition.", []string{"ready", labelReason}, nil)
	teamsDesc = prometheus.NewDesc("cx_operator_teams",
		"CXTeams by the status and reason of their Ready condition.", []string{"ready", labelReason}, nil)
)

// conditionCollector counts objectives and teams by Ready condition.
type conditionCollector struct {
	cache client.Reader
}

func (c *conditionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- objectivesDesc
	ch <- teamsDesc
}

func (c *conditionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The lists are only read: the cache's own objects, not copies, which
	// at 10,000 objectives would be megabytes of garbage per scrape.
	var objectives cxv1alpha1.CXObjectiveList
	if err := c.cache.List(ctx, &objectives, client.UnsafeDisableDeepCopy); err == nil {
		counts := map[[2]string]int{}
		for i := range objectives.Items {
			counts[readyKey(objectives.Items[i].Status.Conditions)]++
		}
		emit(ch, objectivesDesc, counts)
	}
	var teams cxv1alpha1.CXTeamList
	if err := c.cache.List(ctx, &teams, client.UnsafeDisableDeepCopy); err == nil {
		counts := map[[2]string]int{}
		for i := range teams.Items {
			counts[readyKey(teams.Items[i].Status.Conditions)]++
		}
		emit(ch, teamsDesc, counts)
	}
}

func readyKey(conds []metav1.Condition) [2]string {
	c := apimeta.FindStatusCondition(conds, cxv1alpha1.ConditionReady)
	if c == nil {
		return [2]string{string(metav1.ConditionUnknown), ""}
	}
	return [2]string{string(c.Status), c.Reason}
}

func emit(ch chan<- prometheus.Metric, desc *prometheus.Desc, counts map[[2]string]int) {
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
