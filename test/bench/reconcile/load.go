package main

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/test/bench/internal/benchkit"
)

// layout says where the benchmark's teams and objectives live.
type layout struct {
	teams, namespaces int
	// lastApplied adds kubectl's last-applied annotation to objectives.
	lastApplied bool
}

func (l layout) teamsPerNamespace() int { return l.teams / l.namespaces }

func namespaceName(i int) string { return fmt.Sprintf("bench-%02d", i) }

// team returns the k-th team: namespace k / teamsPerNamespace, one webhook
// channel that receives every severity.
func (l layout) team(k int) *cxv1alpha1.CXTeam {
	name := fmt.Sprintf("team-%d", k%l.teamsPerNamespace())
	return benchkit.Team(name, namespaceName(k/l.teamsPerNamespace()),
		benchkit.WebhookChannel("oncall", name+"-channels", "oncall-url",
			cxv1alpha1.SeverityPage, cxv1alpha1.SeverityTicket, cxv1alpha1.SeverityNotice))
}

// objective returns the i-th objective: owned by team i mod teams, with the
// next team of its namespace as stakeholder.
func (l layout) objective(i int) *cxv1alpha1.CXObjective {
	owner := l.team(i % l.teams)
	per := l.teamsPerNamespace()
	stakeholder := l.team((i%l.teams)/per*per + (i%l.teams+1)%per)
	o := benchkit.Objective(i, owner.Namespace, owner.Name)
	if stakeholder.Name != owner.Name {
		o.Spec.Stakeholders = []cxv1alpha1.TeamRef{{Team: stakeholder.Name}}
	}
	if l.lastApplied {
		o.SetGroupVersionKind(cxv1alpha1.GroupVersion.WithKind("CXObjective"))
		manifest, err := json.Marshal(o)
		if err != nil {
			panic(err) // a CXObjective always marshals
		}
		o.SetAnnotations(map[string]string{corev1.LastAppliedConfigAnnotation: string(manifest)})
	}
	return o
}

// touchTeams adds a channel to every team: the team controller writes a
// new receiver into each AlertmanagerConfig; the rules do not depend on
// channels, so none may be written (and the objective controller, which
// watches only the team fields objectives read, need not run at all).
func touchTeams(ctx context.Context, c client.Client, l layout) error {
	for k := range l.teams {
		key := client.ObjectKeyFromObject(l.team(k))
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			team := &cxv1alpha1.CXTeam{}
			if err := c.Get(ctx, key, team); err != nil {
				return err
			}
			team.Spec.Channels = append(team.Spec.Channels,
				benchkit.WebhookChannel("tickets", team.Name+"-channels", "tickets-url", cxv1alpha1.SeverityTicket))
			return c.Update(ctx, team)
		})
		if err != nil {
			return fmt.Errorf("adding a channel to team %s: %w", key, err)
		}
	}
	return nil
}
