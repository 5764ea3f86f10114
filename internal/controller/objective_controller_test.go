package controller_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
)

// ruleOf waits for the objective's PrometheusRule and returns it.
func ruleOf(obj *cxv1alpha1.CXObjective) *monitoringv1.PrometheusRule {
	rule := &monitoringv1.PrometheusRule{}
	key := client.ObjectKey{Namespace: obj.Namespace, Name: desired.RuleName(obj.Name)}
	Eventually(func() error { return k8sClient.Get(ctx, key, rule) }, timeout, interval).Should(Succeed())
	return rule
}

var _ = Describe("The CXObjective controller", func() {
	It("generates a PrometheusRule owned by the objective, with the selector labels, and reports Ready", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())

		rule := ruleOf(obj)
		Expect(rule.Labels).To(HaveKeyWithValue("app.kubernetes.io/part-of", "cx-operator"))
		Expect(rule.Labels).To(HaveKeyWithValue(cxv1alpha1.LabelObjective, "checkout-errors"))
		ref := metav1.GetControllerOf(rule)
		Expect(ref).NotTo(BeNil())
		Expect(ref.Kind).To(Equal("CXObjective"))
		Expect(ref.UID).To(Equal(obj.UID))
		Expect(rule.Spec.Groups).To(HaveLen(1))
		var page *monitoringv1.Rule
		for i, r := range rule.Spec.Groups[0].Rules {
			if r.Alert == "CXErrorBudgetBurn" && r.Labels["severity"] == "page" {
				page = &rule.Spec.Groups[0].Rules[i]
			}
		}
		Expect(page).NotTo(BeNil())
		Expect(page.Labels).To(HaveKeyWithValue("cx_team", "checkout"))
		Expect(page.Labels).To(HaveKeyWithValue("namespace", ns))

		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		got := &cxv1alpha1.CXObjective{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(got.Status.PrometheusRule).To(Equal(rule.Name))
		Expect(got.Status.Team).To(Equal(ns + "/checkout"))
		Expect(condition(obj, cxv1alpha1.ConditionStalled)).To(HaveField("Status", metav1.ConditionFalse))
		Expect(condition(obj, cxv1alpha1.ConditionReconciling)).To(HaveField("Status", metav1.ConditionFalse))
	})

	It("works with client-side kubectl apply, whose last-applied copy its cache drops but never the object", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		kubectlApply := func(target string) {
			GinkgoHelper()
			obj := newObjective(ns, "checkout-errors")
			obj.Spec.Target = target
			obj.SetGroupVersionKind(cxv1alpha1.GroupVersion.WithKind("CXObjective"))
			manifest, err := yaml.Marshal(obj)
			Expect(err).NotTo(HaveOccurred())
			cmd := exec.Command(testEnv.BinaryAssetsDirectory+"/kubectl", "--kubeconfig", kubeconfigPath, "apply", "-f", "-")
			cmd.Stdin = bytes.NewReader(manifest)
			out, err := cmd.CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
		}
		kubectlApply("99.9")
		obj := newObjective(ns, "checkout-errors")
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))

		// The second apply merges with the last-applied copy on the server.
		kubectlApply("99.5")
		Eventually(func(g Gomega) {
			got := &cxv1alpha1.CXObjective{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
			g.Expect(got.Annotations).To(HaveKeyWithValue(corev1.LastAppliedConfigAnnotation, ContainSubstring(`"target":"99.5"`)))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(readyCondition(obj)).To(HaveField("Status", metav1.ConditionTrue))
		}, timeout, interval).Should(Succeed())
	})

	It("lets kubectl wait for Ready, and observedGeneration follows a change of the spec", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		kubectl := testEnv.BinaryAssetsDirectory + "/kubectl"
		out, err := exec.Command(kubectl, "--kubeconfig", kubeconfigPath, "-n", ns, "wait",
			"--for=condition=Ready", "cxo/checkout-errors", "--timeout=30s").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("condition met"))

		edit(obj, func(o *cxv1alpha1.CXObjective) {
			o.Spec.Target = "99.5"
		})
		Eventually(func(g Gomega) {
			got := &cxv1alpha1.CXObjective{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
			g.Expect(got.Generation).To(BeNumerically(">", 1))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(readyCondition(obj)).To(HaveField("ObservedGeneration", got.Generation))
		}, timeout, interval).Should(Succeed())
		// The new budget, 0.5%, divides every burn rate.
		Eventually(func() string {
			for _, r := range ruleOf(obj).Spec.Groups[0].Rules {
				if r.Record == "cx:burn_rate" {
					return r.Expr.String()
				}
			}
			return ""
		}, timeout, interval).Should(HaveSuffix("/ 0.005"))
	})

	It("reverts a hand edit of the generated rule and recreates a deleted one", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		rule := ruleOf(obj)
		want := rule.Spec.DeepCopy()

		rule.Spec.Groups[0].Rules[0].Expr = intstr.FromString("vector(42)")
		Expect(k8sClient.Update(ctx, rule)).To(Succeed())
		start := time.Now()
		Eventually(func() monitoringv1.PrometheusRuleSpec { return ruleOf(obj).Spec }, timeout, interval).Should(Equal(*want))
		GinkgoWriter.Printf("hand edit reverted in %s\n", time.Since(start))

		Expect(k8sClient.Delete(ctx, rule)).To(Succeed())
		start = time.Now()
		Eventually(func() types.UID { return ruleOf(obj).UID }, timeout, interval).ShouldNot(Equal(rule.UID))
		GinkgoWriter.Printf("deleted rule recreated in %s\n", time.Since(start))
	})

	It("waits for a missing owner team and reconciles as soon as it appears", func() {
		ns := newNamespace()
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonTeamNotFound))
		Expect(readyCondition(obj).Message).To(ContainSubstring(ns + "/checkout"))
		Expect(condition(obj, cxv1alpha1.ConditionStalled)).To(HaveField("Status", metav1.ConditionFalse))
		Expect(condition(obj, cxv1alpha1.ConditionReconciling)).To(HaveField("Status", metav1.ConditionTrue))

		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		start := time.Now()
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		GinkgoWriter.Printf("ready %s after the team appeared\n", time.Since(start))
		ruleOf(obj)
	})

	It("refuses an owner team in another namespace until that team allows the objective's namespace", func() {
		teamNS, objNS := newNamespace(), newNamespace()
		team := newTeam(teamNS, "checkout")
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		obj := newObjective(objNS, "checkout-errors", ownedBy("checkout", teamNS))
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonOwnerNotPermitted))
		Expect(readyCondition(obj).Message).To(ContainSubstring("allowedNamespaces"))
		Consistently(func() bool {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: objNS, Name: desired.RuleName(obj.Name)}, &monitoringv1.PrometheusRule{})
			return apierrors.IsNotFound(err)
		}, time.Second, interval).Should(BeTrue())

		edit(team, func(t *cxv1alpha1.CXTeam) {
			t.Spec.AllowedNamespaces = []string{objNS}
		})
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		rule := ruleOf(obj)
		for _, r := range rule.Spec.Groups[0].Rules {
			if r.Alert == "CXErrorBudgetBurn" {
				Expect(r.Labels).To(HaveKeyWithValue("namespace", teamNS), "alerts carry the team's namespace so its AlertmanagerConfig matches")
			}
		}
	})

	It("keeps the last good rule and stalls on PromQL that does not parse, without retrying", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		good := ruleOf(obj)
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))

		edit(obj, func(o *cxv1alpha1.CXObjective) {
			o.Spec.SLI.ErrorRatio.Errors = `http_requests_total{job="checkout",code=~"5.."`
		})
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonInvalidSpec))
		Expect(readyCondition(obj).Message).To(ContainSubstring("spec.sli.errorRatio.errors"))
		Expect(condition(obj, cxv1alpha1.ConditionStalled)).To(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonInvalidSpec))

		// No retry storm: the reconciles for this objective stop, and the
		// rule stays as it was.
		before := warnings(obj)
		Consistently(func() int { return warnings(obj) }, 3*time.Second, 200*time.Millisecond).Should(Equal(before))
		now := ruleOf(obj)
		Expect(now.ResourceVersion).To(Equal(good.ResourceVersion))
		Expect(now.Spec).To(Equal(good.Spec))
	})

	It("writes nothing when a team change leaves the rule as it is", func() {
		ns := newNamespace()
		team := newTeam(ns, "checkout")
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		version := ruleOf(obj).ResourceVersion

		// A new channel changes routing, not the rules.
		edit(team, func(t *cxv1alpha1.CXTeam) {
			t.Spec.Channels[1].Receive = append(t.Spec.Channels[1].Receive, cxv1alpha1.SeverityPage)
		})
		Consistently(func() string { return ruleOf(obj).ResourceVersion }, 2*time.Second, interval).Should(Equal(version))

		// The department is on the alerts: the rule changes.
		edit(team, func(t *cxv1alpha1.CXTeam) {
			t.Spec.Department = "Payments"
		})
		Eventually(func() string { return ruleOf(obj).ResourceVersion }, timeout, interval).ShouldNot(Equal(version))
	})

	It("tells stakeholders that exist and says which ones it cannot tell", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		Expect(k8sClient.Create(ctx, newTeam(ns, "finance"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors", withStakeholders(cxv1alpha1.TeamRef{Team: "finance"}, cxv1alpha1.TeamRef{Team: "legal"}))
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		Expect(readyCondition(obj).Message).To(ContainSubstring(ns + "/legal does not exist"))
		var notices []string
		for _, r := range ruleOf(obj).Spec.Groups[0].Rules {
			if r.Alert == "CXErrorBudgetBurnNotice" {
				notices = append(notices, r.Labels["cx_team"])
			}
		}
		Expect(notices).To(ConsistOf("finance"))
	})

	It("deletes the generated rule with the objective", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, newTeam(ns, "checkout"))).To(Succeed())
		obj := newObjective(ns, "checkout-errors")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		rule := ruleOf(obj)
		Expect(k8sClient.Delete(ctx, obj)).To(Succeed())
		start := time.Now()
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(rule), &monitoringv1.PrometheusRule{}))
		}, timeout, interval).Should(BeTrue())
		GinkgoWriter.Printf("rule garbage-collected %s after the objective was deleted\n", time.Since(start))
	})

	It("never needs to read secrets: the manager's role cannot", func() {
		for _, verb := range []string{"get", "list", "watch"} {
			review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               managerUser,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: "secrets"},
			}}
			Expect(k8sClient.Create(ctx, review)).To(Succeed())
			Expect(review.Status.Allowed).To(BeFalse(), "the manager may %s secrets", verb)
		}
	})

	It("exports objectives by condition and reconcile durations on the metrics endpoint", func() {
		ns := newNamespace()
		obj := newObjective(ns, "orphan")
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		Eventually(func() *metav1.Condition { return readyCondition(obj) }, timeout, interval).
			Should(haveReason(metav1.ConditionFalse, cxv1alpha1.ReasonTeamNotFound))
		Eventually(func() string { return scrapeMetrics() }, timeout, interval).Should(And(
			MatchRegexp(`cx_operator_objectives\{ready="False",reason="TeamNotFound"\} [1-9]`),
			MatchRegexp(`cx_operator_objectives\{ready="True",reason="Succeeded"\} [1-9]`),
			ContainSubstring(`cx_operator_reconcile_duration_seconds_count{kind="CXObjective"`),
			ContainSubstring(`controller_runtime_reconcile_total{controller="cxobjective"`),
		))
	})
})

// warnings counts the Warning events about an object (events.k8s.io/v1,
// where a repeated event grows its series instead of adding an event).
func warnings(obj client.Object) int {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Name == obj.GetName() && e.Type == corev1.EventTypeWarning {
			n++
			if e.Series != nil {
				n += int(e.Series.Count)
			}
		}
	}
	return n
}

func scrapeMetrics() string {
	resp, err := http.Get(fmt.Sprintf("http://%s/metrics", metricsAddr))
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
