package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// layout says where the benchmark's teams and objectives live.
type layout struct {
	teams, namespaces int
}

func (l layout) teamsPerNamespace() int { return l.teams / l.namespaces }

func namespaceName(i int) string { return fmt.Sprintf("bench-%02d", i) }

func objectiveName(i int) string { return fmt.Sprintf("obj-%05d", i) }

// team returns the k-th team: namespace k / teamsPerNamespace, one webhook
// channel that receives every severity. The Secret it names need not
// exist: the AlertmanagerConfig refers to it, prometheus-operator would
// resolve it.
func (l layout) team(k int) *cxv1alpha1.CXTeam {
	name := fmt.Sprintf("team-%d", k%l.teamsPerNamespace())
	return &cxv1alpha1.CXTeam{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespaceName(k / l.teamsPerNamespace())},
		Spec: cxv1alpha1.CXTeamSpec{
			Department: "Bench",
			Channels: []cxv1alpha1.Channel{webhookChannel("oncall", name+"-channels",
				cxv1alpha1.SeverityPage, cxv1alpha1.SeverityTicket, cxv1alpha1.SeverityNotice)},
			Hours: &cxv1alpha1.Hours{Schedule: cxv1alpha1.Hours24x7},
		},
	}
}

func webhookChannel(name, secret string, receive ...cxv1alpha1.Severity) cxv1alpha1.Channel {
	return cxv1alpha1.Channel{
		Name: name, Type: cxv1alpha1.ChannelWebhook, Receive: receive,
		Webhook: &cxv1alpha1.WebhookChannel{URL: corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: name + "-url",
		}},
	}
}

// objective returns the i-th objective: owned by team i mod teams, with the
// next team of its namespace as stakeholder, an error-ratio SLI like the
// checkout-errors sample, on a service of its own.
func (l layout) objective(i int) *cxv1alpha1.CXObjective {
	owner := l.team(i % l.teams)
	per := l.teamsPerNamespace()
	stakeholder := l.team((i%l.teams)/per*per + (i%l.teams+1)%per)
	job := fmt.Sprintf("svc-%05d", i)
	o := &cxv1alpha1.CXObjective{
		ObjectMeta: metav1.ObjectMeta{Name: objectiveName(i), Namespace: owner.Namespace},
		Spec: cxv1alpha1.CXObjectiveSpec{
			Journey:     "checkout",
			Touchpoint:  "payment API " + job,
			Owner:       cxv1alpha1.TeamRef{Team: owner.Name},
			Description: "Customers who press \"Pay\" get an order confirmation, not an error.",
			SLI: cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{
				Errors: cxv1alpha1.Selector(fmt.Sprintf(`http_requests_total{job=%q,code=~"5.."}`, job)),
				Total:  cxv1alpha1.Selector(fmt.Sprintf(`http_requests_total{job=%q}`, job)),
			}},
			Target: "99.5",
			Window: "30d",
			Alerting: &cxv1alpha1.Alerting{
				Labels:     map[string]string{"tier": "revenue"},
				RunbookURL: "https://runbooks.example.com/" + job + "/errors",
			},
		},
	}
	if stakeholder.Name != owner.Name {
		o.Spec.Stakeholders = []cxv1alpha1.TeamRef{{Team: stakeholder.Name}}
	}
	return o
}

// createNamespaces creates the benchmark's namespaces.
func createNamespaces(ctx context.Context, c client.Client, names ...string) error {
	for _, n := range names {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", n, err)
		}
	}
	return nil
}

// createAll creates n objects with a bounded number of workers and records,
// for each, the time its create returned: from then on it exists.
func createAll(ctx context.Context, c client.Client, workers, n int, build func(int) client.Object) ([]time.Time, error) {
	created := make([]time.Time, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				obj := build(i)
				if err := c.Create(ctx, obj); err != nil {
					errs <- fmt.Errorf("creating %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
					cancel()
					return
				}
				created[i] = time.Now()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return created, ctx.Err()
}

// touchTeams adds a channel to every team: the team's generation changes
// and the objective controller, which watches teams, reconciles every
// objective; the rules do not depend on channels, so none may be written.
func touchTeams(ctx context.Context, c client.Client, l layout) error {
	for k := range l.teams {
		key := client.ObjectKeyFromObject(l.team(k))
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			team := &cxv1alpha1.CXTeam{}
			if err := c.Get(ctx, key, team); err != nil {
				return err
			}
			team.Spec.Channels = append(team.Spec.Channels, webhookChannel("tickets", team.Name+"-channels", cxv1alpha1.SeverityTicket))
			return c.Update(ctx, team)
		})
		if err != nil {
			return fmt.Errorf("adding a channel to team %s: %w", key, err)
		}
	}
	return nil
}
