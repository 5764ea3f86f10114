package controller

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// Two writers share the status of objectives and teams: the reconcilers
// (conditions Ready, Stalled, Reconciling and what they generated) and the
// budget reader (condition BudgetKnown and the figures from Prometheus).
// Each applies only its own fields under its own field manager, so that
// neither undoes the other's write; conditions are a map-list keyed by type.
const (
	// statusOwnerReconciler is the field manager of the reconcilers' status.
	statusOwnerReconciler = "cx-operator"
	// statusOwnerBudget is the field manager of the budget reader's status.
	statusOwnerBudget = "cx-operator-budget"
)

// statusFields says which part of a status a writer owns.
type statusFields struct {
	owner string
	// conditions are the condition types it owns.
	conditions []string
	// fields are the status fields other than conditions it owns; nil
	// means every field except those the other writer owns.
	fields []string
	// skip are the fields it never writes.
	skip []string
}

var (
	reconcilerFields = statusFields{
		owner:      statusOwnerReconciler,
		conditions: []string{cxv1alpha1.ConditionReady, cxv1alpha1.ConditionStalled, cxv1alpha1.ConditionReconciling},
		skip:       []string{"budget", "breaching", "lowestBudgetRemaining"},
	}
	// reconcilerFieldsWithoutBudget are the objective reconciler's fields
	// while the manager has no Prometheus: its own and the BudgetKnown
	// condition, which cannot change then.
	reconcilerFieldsWithoutBudget = statusFields{
		owner:      statusOwnerReconciler,
		conditions: append(slices.Clone(reconcilerFields.conditions), cxv1alpha1.ConditionBudgetKnown),
		skip:       reconcilerFields.skip,
	}
	budgetFields = statusFields{
		owner:      statusOwnerBudget,
		conditions: []string{cxv1alpha1.ConditionBudgetKnown},
		fields:     []string{"budget", "breaching", "lowestBudgetRemaining"},
	}
)

// applyStatus writes the fields of obj's status that f owns with
// server-side apply.
func applyStatus(ctx context.Context, c client.Client, obj client.Object, f statusFields) error {
	u, err := statusPayload(obj, f)
	if err != nil {
		return err
	}
	if err := c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(f.owner), client.ForceOwnership); err != nil {
		return fmt.Errorf("writing the status of %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// statusPayload is the apply configuration of the part of obj's status that
// f owns.
func statusPayload(obj client.Object, f statusFields) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T for a status apply: %w", obj, err)
	}
	full, _, _ := unstructured.NestedMap(m, "status")
	status := map[string]any{}
	for k, v := range full {
		switch {
		case k == "conditions" || slices.Contains(f.skip, k):
		case f.fields == nil || slices.Contains(f.fields, k):
			status[k] = v
		}
	}
	conds, _, _ := unstructured.NestedSlice(full, "conditions")
	owned := make([]any, 0, len(f.conditions))
	for _, c := range conds {
		if t, _ := c.(map[string]any)["type"].(string); slices.Contains(f.conditions, t) {
			owned = append(owned, c)
		}
	}
	status["conditions"] = owned
	u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	u.SetAPIVersion(cxv1alpha1.GroupVersion.String())
	u.SetKind(obj.GetObjectKind().GroupVersionKind().Kind)
	if u.GetKind() == "" {
		switch obj.(type) {
		case *cxv1alpha1.CXObjective:
			u.SetKind("CXObjective")
		case *cxv1alpha1.CXTeam:
			u.SetKind("CXTeam")
		}
	}
	u.SetName(obj.GetName())
	u.SetNamespace(obj.GetNamespace())
	return u, nil
}
