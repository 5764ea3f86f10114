package benchkit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/test/utils"
)

// CreateNamespaces creates namespaces, one after the other.
func CreateNamespaces(ctx context.Context, c client.Client, names ...string) error {
	for _, n := range names {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", n, err)
		}
	}
	return nil
}

// CreateAll creates build(0) to build(n-1) with `workers` creates at a
// time, and returns, for each, when its create returned: from then on it
// exists. The first failure stops the others.
func CreateAll(ctx context.Context, c client.Client, workers, n int, build func(int) client.Object) ([]time.Time, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	created := make([]time.Time, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				obj := build(i)
				if err := c.Create(ctx, obj); err != nil {
					once.Do(func() { first = fmt.Errorf("creating %s/%s: %w", obj.GetNamespace(), obj.GetName(), err) })
					cancel()
					return
				}
				created[i] = time.Now()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return created, ctx.Err()
}

// ObjectiveName is the name of the benchmarks' i-th objective.
func ObjectiveName(i int) string { return fmt.Sprintf("obj-%05d", i) }

// Objective is the i-th objective, owned by team in namespace: an error
// ratio at 99.5% over 30d, like
// config/samples/cx_v1alpha1_cxobjective_checkout_errors.yaml, on a service
// of its own, so that no two objectives share a rule.
func Objective(i int, namespace, team string) *cxv1alpha1.CXObjective {
	job := fmt.Sprintf("svc-%05d", i)
	return &cxv1alpha1.CXObjective{
		ObjectMeta: metav1.ObjectMeta{Name: ObjectiveName(i), Namespace: namespace},
		Spec: cxv1alpha1.CXObjectiveSpec{
			Journey:     "checkout",
			Touchpoint:  "payment API " + job,
			Owner:       cxv1alpha1.TeamRef{Team: team},
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
}

// Team is a team of the Bench department, on call around the clock, with
// the given channels.
func Team(name, namespace string, channels ...cxv1alpha1.Channel) *cxv1alpha1.CXTeam {
	return &cxv1alpha1.CXTeam{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: cxv1alpha1.CXTeamSpec{
			Department: "Bench",
			Channels:   channels,
			Hours:      &cxv1alpha1.Hours{Schedule: cxv1alpha1.Hours24x7},
		},
	}
}

// WebhookChannel is a webhook channel whose URL is key of Secret secret.
// The Secret need not exist: the AlertmanagerConfig refers to it, and
// prometheus-operator would resolve it.
func WebhookChannel(name, secret, key string, receive ...cxv1alpha1.Severity) cxv1alpha1.Channel {
	return cxv1alpha1.Channel{
		Name: name, Type: cxv1alpha1.ChannelWebhook, Receive: receive,
		Webhook: &cxv1alpha1.WebhookChannel{URL: corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
		}},
	}
}

// NewWatchCache is an informer cache of the benchmark's own, apart from
// the manager's, without managedFields, which the benchmarks never read.
func NewWatchCache(cfg *rest.Config) (cache.Cache, error) {
	return cache.New(cfg, cache.Options{Scheme: utils.Scheme(), DefaultTransform: cache.TransformStripManagedFields()})
}

// Watch calls seen for every object of obj's kind that c adds (old is
// nil) or updates.
func Watch[T client.Object](ctx context.Context, c cache.Cache, obj T, seen func(old, obj T)) error {
	inf, err := c.GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	var none T
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { seen(none, o.(T)) },
		UpdateFunc: func(old, o any) { seen(old.(T), o.(T)) },
	})
	return err
}

// StartCache starts c until ctx ends and waits for it to sync.
func StartCache(ctx context.Context, c cache.Cache) error {
	go func() { _ = c.Start(ctx) }()
	// It gives up only when ctx ends.
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("the cache did not sync: %w", ctx.Err())
	}
	return nil
}
