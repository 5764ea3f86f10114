package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
)

// Field indexes of CXObjectives in the manager's cache.
const (
	// indexOwner holds namespace/name of the objective's owner team.
	indexOwner = ".spec.owner.key"
	// indexTeams holds namespace/name of every team the objective names.
	indexTeams = ".spec.teams.keys"
)

// ObjectiveReconciler keeps each CXObjective's PrometheusRule in the state
// its spec and its teams ask for, and reports how that went in status.
type ObjectiveReconciler struct {
	client.Client
	// Recorder emits one event per outcome.
	Recorder recorder.EventRecorder
	// Options shape the generated objects.
	Options desired.Options
	// Metrics, when set, record reconcile durations and errors.
	Metrics *Metrics
	// NoPrometheus says that the manager has no Prometheus to read budgets
	// from. The reconciler then writes the BudgetKnown condition that says
	// so with the objective's own status, instead of the budget reader
	// sending a second status write per objective to say it.
	NoPrometheus bool
}

// +kubebuilder:rbac:groups=cx.cxops.io,resources=cxobjectives,verbs=get;list;watch
// +kubebuilder:rbac:groups=cx.cxops.io,resources=cxobjectives/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=cx.cxops.io,resources=cxteams,verbs=get;list;watch
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheusrules,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile applies the objective's PrometheusRule and patches its status
// once.
func (r *ObjectiveReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	obj := &cxv1alpha1.CXObjective{}
	if found, err := getLive(ctx, r.Client, req.NamespacedName, obj); err != nil || !found {
		return ctrl.Result{}, err
	}
	before := obj.DeepCopy()
	o := r.reconcileRule(ctx, obj)
	fields := reconcilerFields
	if r.NoPrometheus {
		cond := budgetNotConfigured()
		cond.ObservedGeneration = obj.Generation
		apimeta.SetStatusCondition(&obj.Status.Conditions, cond)
		fields = reconcilerFieldsWithoutBudget
	}
	return finish(ctx, r.Client, r.Recorder, r.Metrics, "CXObjective", start, obj, before, o, fields)
}

// reconcileRule runs the steps: resolve the teams, build the rule, apply it.
func (r *ObjectiveReconciler) reconcileRule(ctx context.Context, obj *cxv1alpha1.CXObjective) outcome {
	res, err := desired.Resolve(obj, r.lookupTeam(ctx))
	if err != nil {
		return failed(err)
	}
	obj.Status.Team = desired.OwnerKey(obj)
	rule, err := desired.PrometheusRule(obj, res, r.Options)
	if err != nil {
		return failed(err)
	}
	if err := r.applyRule(ctx, obj, rule); err != nil {
		return failed(err)
	}
	obj.Status.PrometheusRule = rule.Name
	message := fmt.Sprintf("PrometheusRule %s holds %d rules; alerts go to team %s", rule.Name, len(rule.Spec.Groups[0].Rules), obj.Status.Team)
	if len(res.Skipped) > 0 {
		message += "; " + strings.Join(res.Skipped, "; ")
	}
	return succeeded(message)
}

// applyRule writes the rule unless the live one already matches.
func (r *ObjectiveReconciler) applyRule(ctx context.Context, obj *cxv1alpha1.CXObjective, rule *monitoringv1.PrometheusRule) error {
	live := &monitoringv1.PrometheusRule{}
	found, err := getLive(ctx, r.Client, client.ObjectKeyFromObject(rule), live)
	if err != nil {
		return err
	}
	if found {
		if err := ensureOwned(live, obj, "PrometheusRule"); err != nil {
			return err
		}
		if upToDate(live, rule, live.GetAnnotations()[liveSpecHash], specHash(rule.Spec)) {
			return nil
		}
	}
	// Checked only before a write: a rule that equals the live one passed
	// when it was written.
	if err := desired.ValidateRule(rule); err != nil {
		return err
	}
	return apply(ctx, r.Client, rule)
}

func (r *ObjectiveReconciler) lookupTeam(ctx context.Context) desired.TeamLookup {
	return func(namespace, name string) (*cxv1alpha1.CXTeam, error) {
		team := &cxv1alpha1.CXTeam{}
		found, err := getLive(ctx, r.Client, types.NamespacedName{Namespace: namespace, Name: name}, team)
		if err != nil || !found {
			return nil, err
		}
		return team, nil
	}
}

// SetupWithManager registers the indexes and the watches: the objective,
// its PrometheusRule (a hand edit or a deletion is repaired) and the teams
// it names (a team that appears or changes reconciles its objectives).
func (r *ObjectiveReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, concurrency int) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &cxv1alpha1.CXObjective{}, indexOwner, func(o client.Object) []string {
		return []string{desired.OwnerKey(o.(*cxv1alpha1.CXObjective))}
	}); err != nil {
		return fmt.Errorf("indexing objectives by owner: %w", err)
	}
	if err := idx.IndexField(ctx, &cxv1alpha1.CXObjective{}, indexTeams, func(o client.Object) []string {
		return desired.TeamKeys(o.(*cxv1alpha1.CXObjective))
	}); err != nil {
		return fmt.Errorf("indexing objectives by team: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("cxobjective").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		For(&cxv1alpha1.CXObjective{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// The rule's creation is this reconciler's own write; its changes
		// and its deletion are what it repairs.
		Owns(&monitoringv1.PrometheusRule{}, builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(event.CreateEvent) bool { return false },
		})).
		// A team's coming and going, and the few fields of its spec that
		// objectives read; not its status, which the budget reader writes,
		// nor its channels and hours, which reach only its own routes.
		Watches(&cxv1alpha1.CXTeam{}, handler.EnqueueRequestsFromMapFunc(r.objectivesOfTeam),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
				old, okOld := e.ObjectOld.(*cxv1alpha1.CXTeam)
				updated, okNew := e.ObjectNew.(*cxv1alpha1.CXTeam)
				return !okOld || !okNew || desired.TeamChangeReachesObjectives(old, updated)
			}})).
		Complete(r)
}

// objectivesOfTeam maps a team to the objectives that name it, by index.
func (r *ObjectiveReconciler) objectivesOfTeam(ctx context.Context, team client.Object) []reconcile.Request {
	var list cxv1alpha1.CXObjectiveList
	// Only the keys are read: no copy of each objective.
	if err := r.List(ctx, &list, client.MatchingFields{indexTeams: team.GetNamespace() + "/" + team.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing the objectives of a team failed", "team", client.ObjectKeyFromObject(team))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}
