package controller_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// newNamespace creates a namespace of its own for one spec.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cx-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, ns) })
	return ns.Name
}

// edit changes an object as a person does with kubectl edit: read, change,
// write, and again from the start if the manager wrote its status in between.
func edit[T client.Object](obj T, change func(T)) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change(obj)
		return k8sClient.Update(ctx, obj)
	})).To(Succeed())
}

// objectiveOption changes an objective built by newObjective.
type objectiveOption func(*cxv1alpha1.CXObjective)

// newObjective is a 99.9% checkout error-ratio objective owned by team
// "checkout" in its own namespace.
func newObjective(ns, name string, opts ...objectiveOption) *cxv1alpha1.CXObjective {
	o := &cxv1alpha1.CXObjective{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: cxv1alpha1.CXObjectiveSpec{
			Journey:    "checkout",
			Touchpoint: "payment API",
			Owner:      cxv1alpha1.TeamRef{Team: "checkout"},
			SLI: cxv1alpha1.SLI{ErrorRatio: &cxv1alpha1.ErrorRatioSLI{
				Errors: `http_requests_total{job="checkout",code=~"5.."}`,
				Total:  `http_requests_total{job="checkout"}`,
			}},
			Target: "99.9",
			Window: "30d",
		},
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func ownedBy(team, namespace string) objectiveOption {
	return func(o *cxv1alpha1.CXObjective) { o.Spec.Owner = cxv1alpha1.TeamRef{Team: team, Namespace: namespace} }
}

func withStakeholders(refs ...cxv1alpha1.TeamRef) objectiveOption {
	return func(o *cxv1alpha1.CXObjective) { o.Spec.Stakeholders = refs }
}

// teamOption changes a team built by newTeam.
type teamOption func(*cxv1alpha1.CXTeam)

// newTeam is a 24x7 team with one webhook channel that receives pages and
// tickets and one Slack channel for tickets and notices.
func newTeam(ns, name string, opts ...teamOption) *cxv1alpha1.CXTeam {
	t := &cxv1alpha1.CXTeam{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: cxv1alpha1.CXTeamSpec{
			Department: "Product",
			Channels: []cxv1alpha1.Channel{
				{
					Name: "oncall", Type: cxv1alpha1.ChannelWebhook,
					Receive: []cxv1alpha1.Severity{cxv1alpha1.SeverityPage, cxv1alpha1.SeverityTicket},
					Webhook: &cxv1alpha1.WebhookChannel{URL: secretKey(name+"-channels", "oncall-url")},
				},
				{
					Name: "slack", Type: cxv1alpha1.ChannelSlack,
					Receive: []cxv1alpha1.Severity{cxv1alpha1.SeverityTicket, cxv1alpha1.SeverityNotice},
					Slack:   &cxv1alpha1.SlackChannel{APIURL: secretKey(name+"-channels", "slack-url")},
				},
			},
		},
	}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

func secretKey(name, key string) corev1.SecretKeySelector {
	return corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}
}

// readyCondition returns the Ready condition of a CXObjective or CXTeam, as
// the API server has it now, or nil.
func readyCondition(obj client.Object) *metav1.Condition {
	return condition(obj, cxv1alpha1.ConditionReady)
}

func condition(obj client.Object, conditionType string) *metav1.Condition {
	fresh := obj.DeepCopyObject().(client.Object)
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
		return nil
	}
	switch o := fresh.(type) {
	case *cxv1alpha1.CXObjective:
		return apimeta.FindStatusCondition(o.Status.Conditions, conditionType)
	case *cxv1alpha1.CXTeam:
		return apimeta.FindStatusCondition(o.Status.Conditions, conditionType)
	}
	return nil
}

// haveReason matches a condition with that status and reason.
func haveReason(status metav1.ConditionStatus, reason string) OmegaMatcher {
	return And(Not(BeNil()), HaveField("Status", status), HaveField("Reason", reason))
}
