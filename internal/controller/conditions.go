package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
)

// outcome is how a reconcile ended, as the conditions say it.
type outcome struct {
	// ready is the Ready condition's status.
	ready bool
	// reason and message of the Ready condition.
	reason, message string
	// stalled: only a change to the spec (or to a conflicting object)
	// helps; the controller does not retry.
	stalled bool
	// waiting: the controller waits for another object (a team) and is
	// told when it changes; no retry either.
	waiting bool
	// err is a transient error: the reconcile is retried with back-off.
	err error
}

// succeeded is a reconcile that applied everything.
func succeeded(message string) outcome {
	return outcome{ready: true, reason: cxv1alpha1.ReasonSucceeded, message: message}
}

// failed classifies an error from one of the steps.
func failed(err error) outcome {
	var refusal *desired.Refusal
	var conflict *conflictError
	switch {
	case errors.As(err, &refusal):
		return outcome{reason: refusal.Reason, message: refusal.Message, waiting: true}
	case errors.As(err, &conflict):
		return outcome{reason: cxv1alpha1.ReasonNameConflict, message: conflict.Error(), stalled: true}
	case desired.IsInvalid(err):
		return outcome{reason: cxv1alpha1.ReasonInvalidSpec, message: "the spec cannot be turned into rules or routes: " + err.Error(), stalled: true}
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		// The API server refused a generated object: a bug, or CRDs that do
		// not match the version cx-operator was built for. Retrying will not
		// help; say so.
		return outcome{reason: cxv1alpha1.ReasonApplyFailed, message: err.Error(), stalled: true}
	default:
		return outcome{reason: cxv1alpha1.ReasonApplyFailed, message: err.Error(), err: err}
	}
}

// final says whether the outcome describes the current generation for good:
// it will not change without a change to some object.
func (o outcome) final() bool { return o.err == nil }

// setConditions writes Ready, Stalled and Reconciling, kstatus style: Ready
// always, Stalled True only when the controller gave up until the spec
// changes, Reconciling True while it will try again or waits for a team.
func setConditions(conds *[]metav1.Condition, generation int64, o outcome) {
	set := func(t string, status bool, reason, message string) {
		s := metav1.ConditionFalse
		if status {
			s = metav1.ConditionTrue
		}
		apimeta.SetStatusCondition(conds, metav1.Condition{
			Type: t, Status: s, Reason: reason, Message: message, ObservedGeneration: generation,
		})
	}
	set(cxv1alpha1.ConditionReady, o.ready, o.reason, o.message)
	stalledMessage, reconcilingMessage := "", ""
	if o.stalled {
		stalledMessage = o.message
	}
	reconciling := o.err != nil || o.waiting
	if reconciling {
		reconcilingMessage = o.message
	}
	set(cxv1alpha1.ConditionStalled, o.stalled, o.reason, stalledMessage)
	set(cxv1alpha1.ConditionReconciling, reconciling, o.reason, reconcilingMessage)
}

// conflictError says that an object of the generated name belongs to
// something else.
type conflictError struct {
	kind, namespace, name string
}

func (e *conflictError) Error() string {
	return fmt.Sprintf("%s %s/%s exists and is not managed by this object; rename or delete it", e.kind, e.namespace, e.name)
}

// statusObject is a CXObjective or a CXTeam: an object with conditions.
type statusObject interface {
	client.Object
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
	SetObservedGeneration(int64)
}

// finish records an outcome on obj in memory: the conditions, the observed
// generation when the outcome is final, the metrics and the event; then
// writes the status once, with server-side apply of the fields the
// reconciler owns (fields), unless nothing changed.
func finish(ctx context.Context, c client.Client, rec recorder.EventRecorder, m *Metrics, kind string, start time.Time,
	obj, before statusObject, o outcome, fields statusFields) (ctrl.Result, error) {
	conds := obj.GetConditions()
	setConditions(&conds, obj.GetGeneration(), o)
	obj.SetConditions(conds)
	if o.final() {
		obj.SetObservedGeneration(obj.GetGeneration())
	}
	m.observe(kind, start, o)
	emitEvent(rec, obj, before.GetConditions(), obj.GetConditions(), o)
	if !equality.Semantic.DeepEqual(before, obj) {
		if err := applyStatus(ctx, c, obj, fields); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, o.err
}

// emitEvent records an outcome on obj: a Warning for each failure (the
// recorder folds repeats), a Normal event when the Ready condition changed.
func emitEvent(rec recorder.EventRecorder, obj client.Object, before, after []metav1.Condition, o outcome) {
	if rec == nil {
		return
	}
	if !o.ready {
		rec.Eventf(obj, nil, corev1.EventTypeWarning, o.reason, "Reconcile", "%s", o.message)
		return
	}
	was := apimeta.FindStatusCondition(before, cxv1alpha1.ConditionReady)
	now := apimeta.FindStatusCondition(after, cxv1alpha1.ConditionReady)
	if was == nil || was.Status != now.Status || was.Reason != now.Reason || was.Message != now.Message {
		rec.Eventf(obj, nil, corev1.EventTypeNormal, o.reason, "Reconcile", "%s", o.message)
	}
}
