// Package controller holds the reconcilers of CXObjective and CXTeam. They
// orchestrate I/O only: what to generate comes from internal/desired, and
// every generated object is written with server-side apply under one field
// owner and watched, so that a hand edit or a deletion is repaired.
package controller

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/cxops/cx-operator/internal/desired"
)

// Config is what the manager passes to the controllers.
type Config struct {
	// Options shape the generated objects.
	Options desired.Options
	// Concurrency is how many objectives, and how many teams, are
	// reconciled at once. 0 means DefaultConcurrency.
	Concurrency int
	// Prometheus is where error budgets are read; nil when not configured.
	Prometheus Querier
	// BudgetPeriod is how often each objective's figures are read.
	BudgetPeriod time.Duration
	// BudgetConcurrency is how many queries run at once.
	BudgetConcurrency int
}

// DefaultBudgetPeriod is how often error budgets are read by default.
const DefaultBudgetPeriod = time.Minute

// DefaultConcurrency is the default number of parallel reconciles per kind:
// a reconcile mostly waits for the API server.
const DefaultConcurrency = 8

// Setup registers both reconcilers and the metrics with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	metrics := NewMetrics(DefaultRegistry, mgr.GetCache())
	objectives := &ObjectiveReconciler{
		Client:       mgr.GetClient(),
		Recorder:     mgr.GetEventRecorder("cx-operator"),
		Options:      cfg.Options,
		Metrics:      metrics,
		NoPrometheus: cfg.Prometheus == nil,
	}
	concurrency := cfg.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	if err := objectives.SetupWithManager(ctx, mgr, concurrency); err != nil {
		return fmt.Errorf("setting up the CXObjective controller: %w", err)
	}
	teams := &TeamReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("cx-operator"),
		Options:  cfg.Options,
		Metrics:  metrics,
	}
	if err := teams.SetupWithManager(mgr, concurrency); err != nil {
		return fmt.Errorf("setting up the CXTeam controller: %w", err)
	}
	period := cfg.BudgetPeriod
	if period <= 0 {
		period = DefaultBudgetPeriod
	}
	reader := &BudgetReader{
		Client:      mgr.GetClient(),
		Prometheus:  cfg.Prometheus,
		Period:      period,
		Concurrency: max(1, cfg.BudgetConcurrency),
		Timeout:     min(period/2, 30*time.Second),
	}
	if err := mgr.Add(reader); err != nil {
		return fmt.Errorf("adding the budget reader: %w", err)
	}
	return nil
}
