package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/routing"
)

// TeamReconciler keeps each CXTeam's AlertmanagerConfig in the state its
// spec asks for, and counts the objectives the team owns.
type TeamReconciler struct {
	client.Client
	// Recorder emits one event per outcome.
	Recorder recorder.EventRecorder
	// Options shape the generated objects.
	Options desired.Options
	// Metrics, when set, record reconcile durations and errors.
	Metrics *Metrics
}

// +kubebuilder:rbac:groups=cx.cxops.io,resources=cxteams,verbs=get;list;watch
// +kubebuilder:rbac:groups=cx.cxops.io,resources=cxteams/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=alertmanagerconfigs,verbs=get;list;watch;create;update;patch;delete

// Reconcile applies the team's AlertmanagerConfig and patches its status
// once.
func (r *TeamReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	team := &cxv1alpha1.CXTeam{}
	if found, err := getLive(ctx, r.Client, req.NamespacedName, team); err != nil || !found {
		return ctrl.Result{}, err
	}
	before := team.DeepCopy()
	o := r.reconcileConfig(ctx, team)
	if err := r.countObjectives(ctx, team); err != nil && o.err == nil {
		o = failed(err)
	}
	return finish(ctx, r.Client, r.Recorder, r.Metrics, "CXTeam", start, team, before, o, reconcilerFields)
}

// reconcileConfig builds the team's AlertmanagerConfig and applies it.
func (r *TeamReconciler) reconcileConfig(ctx context.Context, team *cxv1alpha1.CXTeam) outcome {
	team.Status.Channels = int32(len(team.Spec.Channels))
	config, err := desired.AlertmanagerConfig(team, r.Options)
	if err != nil {
		return failed(err)
	}
	live := &monitoringv1alpha1.AlertmanagerConfig{}
	found, err := getLive(ctx, r.Client, client.ObjectKeyFromObject(config), live)
	if err != nil {
		return failed(err)
	}
	if found {
		if err := ensureOwned(live, team, "AlertmanagerConfig"); err != nil {
			return failed(err)
		}
	}
	if !found || !upToDate(live, config, normalJSON(live.Spec), normalJSON(config.Spec)) {
		if err := apply(ctx, r.Client, config); err != nil {
			return failed(err)
		}
	}
	team.Status.AlertmanagerConfig = config.Name
	message := fmt.Sprintf("AlertmanagerConfig %s routes alerts with cx_team=%s to %d channels", config.Name, team.Name, len(team.Spec.Channels))
	if unrouted := routing.Unrouted(team); len(unrouted) > 0 {
		names := make([]string, len(unrouted))
		for i, s := range unrouted {
			names[i] = string(s)
		}
		message += "; no channel receives " + strings.Join(names, ", ") + ", so those notifications are dropped"
	}
	return succeeded(message)
}

// countObjectives counts the objectives that name the team as owner.
func (r *TeamReconciler) countObjectives(ctx context.Context, team *cxv1alpha1.CXTeam) error {
	var list cxv1alpha1.CXObjectiveList
	if err := r.List(ctx, &list, client.MatchingFields{indexOwner: team.Namespace + "/" + team.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("counting the objectives of team %s/%s: %w", team.Namespace, team.Name, err)
	}
	team.Status.Objectives = int32(len(list.Items))
	return nil
}

// SetupWithManager watches the team, its AlertmanagerConfig (a hand edit or
// a deletion is repaired) and the objectives that name it as owner, whose
// number the status shows. The objective reconciler registers the index.
func (r *TeamReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("cxteam").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		For(&cxv1alpha1.CXTeam{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&monitoringv1alpha1.AlertmanagerConfig{}).
		Watches(&cxv1alpha1.CXObjective{}, handler.EnqueueRequestsFromMapFunc(ownerOf),
			builder.WithPredicates(ownerChanged{})).
		Complete(r)
}

// ownerOf maps an objective to its owner team.
func ownerOf(_ context.Context, obj client.Object) []reconcile.Request {
	o := obj.(*cxv1alpha1.CXObjective)
	ns, name, _ := strings.Cut(desired.OwnerKey(o), "/")
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}}}
}

// ownerChanged passes the events that change a team's objective count:
// creation, deletion, and an update that names another owner (the old owner
// is recounted too).
type ownerChanged struct {
	predicate.Funcs
}

func (ownerChanged) Update(e event.UpdateEvent) bool {
	return desired.OwnerKey(e.ObjectOld.(*cxv1alpha1.CXObjective)) != desired.OwnerKey(e.ObjectNew.(*cxv1alpha1.CXObjective))
}

// normalJSON is v as generic JSON, so that raw JSON fields (the child
// routes) compare by value: the API server returns them with sorted keys.
func normalJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}
