// Package controller holds the reconcilers of CXObjective and CXTeam. They
// orchestrate I/O only: what to generate comes from internal/desired, and
// every generated object is written with server-side apply under one field
// owner and watched, so that a hand edit or a deletion is repaired.
package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/cxops/cx-operator/internal/desired"
)

// Config is what the manager passes to the controllers.
type Config struct {
	// Options shape the generated objects.
	Options desired.Options
}

// Setup registers both reconcilers and the metrics with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	metrics := NewMetrics(DefaultRegistry, mgr.GetCache())
	objectives := &ObjectiveReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("cx-operator"),
		Options:  cfg.Options,
		Metrics:  metrics,
	}
	if err := objectives.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up the CXObjective controller: %w", err)
	}
	teams := &TeamReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("cx-operator"),
		Options:  cfg.Options,
		Metrics:  metrics,
	}
	if err := teams.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the CXTeam controller: %w", err)
	}
	return nil
}
