package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// observer watches PrometheusRules (metadata only) and CXObjectives and
// records, for each benchmark objective, when its rule first appeared and
// when it was first Ready for its current generation. It also counts the
// watch events that show a real write: a rule or an objective whose
// resourceVersion changed.
type observer struct {
	n int

	mu        sync.Mutex
	ruleAt    []time.Time
	readyAt   []time.Time
	rules     int
	ready     int
	ruleAdds  int
	ruleMods  int
	objMods   int
	objStatus int
	objBudget int
}

// watchCounts are the observer's event counters at one moment.
type watchCounts struct {
	ruleAdds, ruleMods, objMods, objStatus int
	// objBudget are the status changes that changed only the BudgetKnown
	// condition: the budget reader's, not the reconciler's.
	objBudget int
}

func (w watchCounts) sub(b watchCounts) watchCounts {
	return watchCounts{w.ruleAdds - b.ruleAdds, w.ruleMods - b.ruleMods, w.objMods - b.objMods, w.objStatus - b.objStatus,
		w.objBudget - b.objBudget}
}

// startObserver starts the informers and waits for them to sync.
func startObserver(ctx context.Context, cfg *rest.Config, n int) (*observer, error) {
	c, err := benchkit.NewWatchCache(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the observer's cache: %w", err)
	}
	o := &observer{n: n, ruleAt: make([]time.Time, n), readyAt: make([]time.Time, n)}
	rules := &metav1.PartialObjectMetadata{}
	rules.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PrometheusRuleKind))
	if err := benchkit.Watch(ctx, c, rules, func(old, r *metav1.PartialObjectMetadata) {
		if old == nil {
			o.ruleAdded(r)
		} else {
			o.ruleUpdated(old, r)
		}
	}); err != nil {
		return nil, fmt.Errorf("watching PrometheusRules: %w", err)
	}
	if err := benchkit.Watch(ctx, c, &cxv1alpha1.CXObjective{}, o.objectiveSeen); err != nil {
		return nil, fmt.Errorf("watching CXObjectives: %w", err)
	}
	if err := benchkit.StartCache(ctx, c); err != nil {
		return nil, fmt.Errorf("starting the observer's cache: %w", err)
	}
	return o, nil
}

// index returns the benchmark index of an objective's name, or -1.
func (o *observer) index(objective string) int {
	s, ok := strings.CutPrefix(objective, "obj-")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= o.n {
		return -1
	}
	return i
}

func (o *observer) ruleAdded(r *metav1.PartialObjectMetadata) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ruleAdds++
	objective, ok := strings.CutPrefix(r.Name, "cx-")
	if !ok {
		return
	}
	if i := o.index(objective); i >= 0 && o.ruleAt[i].IsZero() {
		o.ruleAt[i] = now
		o.rules++
	}
}

func (o *observer) ruleUpdated(old, r *metav1.PartialObjectMetadata) {
	if old.ResourceVersion == r.ResourceVersion {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ruleMods++
}

func (o *observer) objectiveSeen(old, obj *cxv1alpha1.CXObjective) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if old != nil && old.ResourceVersion != obj.ResourceVersion {
		o.objMods++
		if old.Generation == obj.Generation {
			o.objStatus++
			if onlyBudgetChanged(old, obj) {
				o.objBudget++
			}
		}
	}
	i := o.index(obj.Name)
	if i < 0 || !o.readyAt[i].IsZero() || !isReady(obj) {
		return
	}
	o.readyAt[i] = now
	o.ready++
}

// onlyBudgetChanged says whether the status changed in the BudgetKnown
// condition or the budget figures only.
func onlyBudgetChanged(old, obj *cxv1alpha1.CXObjective) bool {
	strip := func(o *cxv1alpha1.CXObjective) cxv1alpha1.CXObjectiveStatus {
		s := *o.Status.DeepCopy()
		s.Budget = nil
		apimeta.RemoveStatusCondition(&s.Conditions, cxv1alpha1.ConditionBudgetKnown)
		return s
	}
	return equality.Semantic.DeepEqual(strip(old), strip(obj))
}

// isReady says whether an objective is Ready for its current generation.
func isReady(obj *cxv1alpha1.CXObjective) bool {
	c := apimeta.FindStatusCondition(obj.Status.Conditions, cxv1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.Generation &&
		obj.Status.ObservedGeneration == obj.Generation
}

// progress returns how many rules appeared and objectives are Ready.
func (o *observer) progress() (rules, ready int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rules, o.ready
}

func (o *observer) counts() watchCounts {
	o.mu.Lock()
	defer o.mu.Unlock()
	return watchCounts{o.ruleAdds, o.ruleMods, o.objMods, o.objStatus, o.objBudget}
}

// times returns copies of the first-seen times.
func (o *observer) times() (ruleAt, readyAt []time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]time.Time(nil), o.ruleAt...), append([]time.Time(nil), o.readyAt...)
}

// waitAll waits until every objective has its rule and is Ready, printing
// progress every few seconds.
func (o *observer) waitAll(ctx context.Context, timeout time.Duration, start time.Time) error {
	deadline := time.Now().Add(timeout)
	lastPrint := time.Now()
	for {
		rules, ready := o.progress()
		if rules == o.n && ready == o.n {
			return nil
		}
		if time.Since(lastPrint) >= 5*time.Second {
			lastPrint = time.Now()
			fmt.Printf("  %6.1fs: %d rules, %d Ready of %d\n", time.Since(start).Seconds(), rules, ready, o.n)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s only %d rules and %d Ready objectives of %d", timeout, rules, ready, o.n)
		}
		if err := benchkit.Sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}
