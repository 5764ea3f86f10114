package controller

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/budget"
	"github.com/cxops/cx-operator/internal/desired"
)

// Querier is the part of the Prometheus HTTP API client the budget reader
// uses; promv1.API satisfies it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// BudgetReader reads how each objective is doing from the series its rules
// record, and writes the figures and the BudgetKnown condition into its
// status, and the team figures into each team's status. It sends one query
// per namespace with objectives per period, spread over the period, a few
// at a time, and writes a status only when a figure changed at the
// precision it is shown with. It never reads raw series.
type BudgetReader struct {
	// Client reads objectives and teams from the cache and writes status.
	Client client.Client
	// Prometheus is nil when the manager has no --prometheus-url.
	Prometheus Querier
	// Period between two reads of the same namespace.
	Period time.Duration
	// Concurrency is how many queries run at once.
	Concurrency int
	// Timeout of one query.
	Timeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NeedLeaderElection makes only the leader read and write.
func (r *BudgetReader) NeedLeaderElection() bool { return true }

// Start reads every period until ctx ends.
func (r *BudgetReader) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("budget")
	for {
		start := r.now()
		if err := r.round(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "Reading error budgets failed; retrying next period")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(start.Add(r.Period))):
		}
	}
}

func (r *BudgetReader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// round reads every namespace once, each at its place in the period, then
// updates the teams.
func (r *BudgetReader) round(ctx context.Context) error {
	// The cache's own objects, not copies: they are only read, and each
	// one that changes is copied before it is written.
	var objectives cxv1alpha1.CXObjectiveList
	if err := r.Client.List(ctx, &objectives, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing objectives: %w", err)
	}
	current := map[string]*cxv1alpha1.BudgetStatus{}
	if r.Prometheus == nil {
		// Nothing to read. The objective reconciler writes BudgetKnown itself
		// then (budgetNotConfigured): a write here would be a second status
		// write per objective. Only the teams' figures are kept up.
		for i := range objectives.Items {
			o := &objectives.Items[i]
			current[o.Namespace+"/"+o.Name] = o.Status.Budget
		}
		return r.updateTeams(ctx, objectives.Items, current)
	}
	byNamespace := map[string][]*cxv1alpha1.CXObjective{}
	for i := range objectives.Items {
		o := &objectives.Items[i]
		byNamespace[o.Namespace] = append(byNamespace[o.Namespace], o)
	}
	start := r.now()
	sem := make(chan struct{}, max(1, r.Concurrency))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for ns, objs := range byNamespace {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the namespaces over the period by a hash of their name,
			// so that each is read at the same place in every period.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(spread(ns, r.Period)))):
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			statuses, err := r.readNamespace(ctx, ns, objs)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			for k, v := range statuses {
				current[k] = v
			}
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, r.updateTeams(ctx, objectives.Items, current))...)
}

// spread places a namespace in the first three quarters of a period, at
// the fraction of it that a hash of its name gives. The hash is scaled to
// the window, not taken modulo it: a 32-bit hash in nanoseconds spans only
// 4.3 s, and names that differ in their last characters hash close together.
func spread(namespace string, period time.Duration) time.Duration {
	sum := sha256.Sum256([]byte(namespace))
	fraction := float64(binary.BigEndian.Uint64(sum[:8])) / (1 << 64)
	return time.Duration(fraction * float64(period*3/4))
}

// readNamespace queries the namespace's figures, writes those of its
// objectives that changed, and returns each objective's figures as they
// stand now, by namespace/name.
func (r *BudgetReader) readNamespace(ctx context.Context, namespace string, objs []*cxv1alpha1.CXObjective) (map[string]*cxv1alpha1.BudgetStatus, error) {
	figures, known := r.query(ctx, namespace)
	statuses := make(map[string]*cxv1alpha1.BudgetStatus, len(objs))
	var errs []error
	for _, obj := range objs {
		updated := obj.DeepCopy()
		cond := known
		if cond.Status == metav1.ConditionTrue {
			f := figures[obj.Name]
			if f.Known() {
				status := f.Status(obj.Spec.Target, r.now())
				if budget.Changed(obj.Status.Budget, status) {
					updated.Status.Budget = status
				}
			} else {
				cond = metav1.Condition{Status: metav1.ConditionFalse, Reason: cxv1alpha1.ReasonNoData,
					Message: "Prometheus has no cx:sli or cx:error_budget_remaining for this objective yet: its metrics may not exist, or its rules were not loaded"}
			}
		}
		cond.Type = cxv1alpha1.ConditionBudgetKnown
		cond.ObservedGeneration = obj.Generation
		apimeta.SetStatusCondition(&updated.Status.Conditions, cond)
		statuses[namespace+"/"+obj.Name] = updated.Status.Budget
		if equality.Semantic.DeepEqual(obj.Status, updated.Status) {
			continue
		}
		if err := applyStatus(ctx, r.Client, updated, budgetFields); err != nil {
			errs = append(errs, err)
		}
	}
	return statuses, errors.Join(errs...)
}

// budgetNotConfigured is the BudgetKnown condition of every objective while
// the manager has no Prometheus to read. The objective reconciler writes it
// with the objective's own status; the budget reader writes no objective
// then.
func budgetNotConfigured() metav1.Condition {
	return metav1.Condition{Type: cxv1alpha1.ConditionBudgetKnown, Status: metav1.ConditionFalse, Reason: cxv1alpha1.ReasonPrometheusNotConfigured,
		Message: "the manager runs without --prometheus-url, so it cannot read error budgets; rules and routes work all the same"}
}

// query sends the namespace's one query and says whether the figures can be
// trusted, as a BudgetKnown condition.
func (r *BudgetReader) query(ctx context.Context, namespace string) (map[string]*budget.Figures, metav1.Condition) {
	qctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	v, _, _, err := r.Prometheus.Query(qctx, budget.Query(namespace), r.now())
	var apiErr *promv1.Error
	if errors.As(err, &apiErr) && apiErr.Type == promv1.ErrBadResponse {
		return nil, metav1.Condition{Status: metav1.ConditionFalse, Reason: cxv1alpha1.ReasonMalformedResponse,
			Message: "Prometheus answered with something that is not a query result, the figures shown are from readAt: " + err.Error()}
	}
	if err != nil {
		return nil, metav1.Condition{Status: metav1.ConditionFalse, Reason: cxv1alpha1.ReasonPrometheusUnreachable,
			Message: "querying Prometheus failed, the figures shown are from readAt: " + err.Error()}
	}
	figures, err := budget.Parse(v)
	if err != nil {
		return nil, metav1.Condition{Status: metav1.ConditionFalse, Reason: cxv1alpha1.ReasonMalformedResponse,
			Message: "Prometheus answered with something cx-operator cannot read, the figures shown are from readAt: " + err.Error()}
	}
	return figures, metav1.Condition{Status: metav1.ConditionTrue, Reason: cxv1alpha1.ReasonBudgetRead,
		Message: "the figures are read from Prometheus every " + r.Period.String()}
}

// updateTeams writes each team's number of breaching objectives and lowest
// budget left, from its objectives' figures of this round, when they
// changed.
func (r *BudgetReader) updateTeams(ctx context.Context, objectives []cxv1alpha1.CXObjective, current map[string]*cxv1alpha1.BudgetStatus) error {
	if r.Prometheus == nil {
		return nil
	}
	type agg struct {
		breaching int32
		lowest    string
		lowestVal float64
	}
	byTeam := map[string]*agg{}
	for i := range objectives {
		o := &objectives[i]
		key := desired.OwnerKey(o)
		a := byTeam[key]
		if a == nil {
			a = &agg{}
			byTeam[key] = a
		}
		b := current[o.Namespace+"/"+o.Name]
		if b == nil {
			continue
		}
		for _, sev := range b.Firing {
			if sev == string(cxv1alpha1.SeverityPage) || sev == string(cxv1alpha1.SeverityTicket) {
				a.breaching++
				break
			}
		}
		if v, err := strconv.ParseFloat(strings.TrimSuffix(b.Remaining, "%"), 64); err == nil && (a.lowest == "" || v < a.lowestVal) {
			a.lowest, a.lowestVal = b.Remaining, v
		}
	}
	var teams cxv1alpha1.CXTeamList
	if err := r.Client.List(ctx, &teams, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing teams: %w", err)
	}
	keys := make([]string, 0, len(teams.Items))
	index := map[string]*cxv1alpha1.CXTeam{}
	for i := range teams.Items {
		t := &teams.Items[i]
		key := t.Namespace + "/" + t.Name
		keys = append(keys, key)
		index[key] = t
	}
	sort.Strings(keys)
	var errs []error
	for _, key := range keys {
		t := index[key]
		a := byTeam[key]
		if a == nil {
			a = &agg{}
		}
		updated := t.DeepCopy()
		updated.Status.Breaching = &a.breaching
		updated.Status.LowestBudgetRemaining = a.lowest
		if equality.Semantic.DeepEqual(t.Status, updated.Status) {
			continue
		}
		if err := applyStatus(ctx, r.Client, updated, budgetFields); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
