package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// layout places the objectives: objective i lives in namespace
// i mod namespaces, at place i / namespaces, owned by the namespace's one
// team.
type layout struct {
	objectives, namespaces int
}

func namespaceName(ns int) string { return fmt.Sprintf("budget-%03d", ns) }

// teamName is the name of each namespace's team.
const teamName = "team"

func (l layout) namespaceOf(i int) int { return i % l.namespaces }

func (l layout) position(i int) int { return i / l.namespaces }

func (l layout) objectivesIn(ns int) []int {
	var out []int
	for i := ns; i < l.objectives; i += l.namespaces {
		out = append(out, i)
	}
	return out
}

func (l layout) namespaceNames() []string {
	out := make([]string, l.namespaces)
	for ns := range out {
		out[ns] = namespaceName(ns)
	}
	return out
}

// team is namespace ns's team: one webhook channel for every severity. The
// Secret it names need not exist for the team to be Ready.
func team(ns int) *cxv1alpha1.CXTeam {
	return benchkit.Team(teamName, namespaceName(ns), benchkit.WebhookChannel("oncall", "oncall-webhook", "url",
		cxv1alpha1.SeverityPage, cxv1alpha1.SeverityTicket, cxv1alpha1.SeverityNotice))
}

// objective is objective i, in namespace i mod namespaces.
func (l layout) objective(i int) *cxv1alpha1.CXObjective {
	return benchkit.Objective(i, namespaceName(l.namespaceOf(i)), teamName)
}

// tracker follows every objective and team through a watch (an informer of
// the benchmark's own) and counts the status changes it sees: a write the
// API server counts but the tracker does not see changed nothing.
type tracker struct {
	cache cache.Cache

	mu         sync.Mutex
	objectives map[string]objectiveState
	teamsReady map[string]bool
	// objectiveChanges and teamChanges count updates whose status differs.
	objectiveChanges, teamChanges int
	// lastChange is when the last status change was seen.
	lastChange time.Time
	// changedAt are the times of every status change seen.
	changedAt []time.Time
}

// objectiveState is what the benchmark needs to know of one objective.
type objectiveState struct {
	ready, known bool
	remaining    string
}

func startTracker(ctx context.Context, cfg *rest.Config) (*tracker, error) {
	c, err := benchkit.NewWatchCache(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the tracker's cache: %w", err)
	}
	t := &tracker{cache: c, objectives: map[string]objectiveState{}, teamsReady: map[string]bool{}}
	if err := benchkit.Watch(ctx, c, &cxv1alpha1.CXObjective{}, t.objectiveSeen); err != nil {
		return nil, fmt.Errorf("watching CXObjectives: %w", err)
	}
	if err := benchkit.Watch(ctx, c, &cxv1alpha1.CXTeam{}, t.teamSeen); err != nil {
		return nil, fmt.Errorf("watching CXTeams: %w", err)
	}
	if err := benchkit.StartCache(ctx, c); err != nil {
		return nil, fmt.Errorf("starting the tracker's cache: %w", err)
	}
	return t, nil
}

func (t *tracker) objectiveSeen(old, o *cxv1alpha1.CXObjective) {
	s := objectiveState{ready: conditionTrue(o.Status.Conditions, cxv1alpha1.ConditionReady) && o.Status.ObservedGeneration == o.Generation}
	if conditionTrue(o.Status.Conditions, cxv1alpha1.ConditionBudgetKnown) && o.Status.Budget != nil {
		s.known, s.remaining = true, o.Status.Budget.Remaining
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.objectives[o.Namespace+"/"+o.Name] = s
	if old != nil && !equality.Semantic.DeepEqual(old.Status, o.Status) {
		t.objectiveChanges++
		t.lastChange = time.Now()
		t.changedAt = append(t.changedAt, t.lastChange)
	}
}

func (t *tracker) teamSeen(old, o *cxv1alpha1.CXTeam) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.teamsReady[o.Namespace+"/"+o.Name] = conditionTrue(o.Status.Conditions, cxv1alpha1.ConditionReady) &&
		o.Status.ObservedGeneration == o.Generation
	if old != nil && !equality.Semantic.DeepEqual(old.Status, o.Status) {
		t.teamChanges++
		t.lastChange = time.Now()
		t.changedAt = append(t.changedAt, t.lastChange)
	}
}

func conditionTrue(conds []metav1.Condition, t string) bool {
	c := apimeta.FindStatusCondition(conds, t)
	return c != nil && c.Status == metav1.ConditionTrue
}

// counts returns how many objectives are Ready and how many have their
// figures, and the number of status changes seen so far.
func (t *tracker) counts() (ready, known, objectiveChanges, teamChanges int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.objectives {
		if s.ready {
			ready++
		}
		if s.known {
			known++
		}
	}
	return ready, known, t.objectiveChanges, t.teamChanges
}

func (t *tracker) teamsReadyCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ok := range t.teamsReady {
		if ok {
			n++
		}
	}
	return n
}

// busiestSecond is the most status changes seen within one second in
// [from, to).
func (t *tracker) busiestSecond(from, to time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var in []time.Time
	for _, at := range t.changedAt {
		if !at.Before(from) && at.Before(to) {
			in = append(in, at)
		}
	}
	best := 0
	for i, j := 0, 0; j < len(in); j++ {
		for in[j].Sub(in[i]) >= time.Second {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

// quietSince is when the last status change was seen.
func (t *tracker) quietSince() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastChange
}

// stale counts the objectives whose budget left is not what the fake
// Prometheus says now.
func (t *tracker) stale(l layout, m *budgetModel) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for i := range l.objectives {
		if t.objectives[namespaceName(l.namespaceOf(i))+"/"+benchkit.ObjectiveName(i)].remaining != m.shown(i) {
			n++
		}
	}
	return n
}

func formatPercent(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }
