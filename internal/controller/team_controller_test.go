package controller_test

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/routing"
)

// configOf waits for the team's AlertmanagerConfig and returns it.
func configOf(team *cxv1alpha1.CXTeam) *monitoringv1alpha1.AlertmanagerConfig {
	config := &monitoringv1alpha1.AlertmanagerConfig{}
	key := client.ObjectKey{Namespace: team.Namespace, Name: routing.ConfigName(team.Name)}
	Eventually(func() error { return k8sClient.Get(ctx, key, config) }, timeout, interval).Should(Succeed())
	return config
}

// childRoutes decodes the child routes of an AlertmanagerConfig.
func childRoutes(config *monitoringv1alpha1.AlertmanagerConfig) []monitoringv1alpha1.Route {
	var out []monitoringv1alpha1.Route
	for _, raw := range config.Spec.Route.Routes {
		var r monitoringv1alpha1.Route
		Expect(json.Unmarshal(raw.Raw, &r)).To(Succeed())
		out = append(out, r)
	}
	return out
}

var _ = Describe("The CXTeam controller", func() {
	It("generates an AlertmanagerConfig that routes the team's alerts by severity to its channels", func() {
		ns := newNamespace()
		team := newTeam(ns, "checkout")
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		config := configOf(team)

		ref := metav1.GetControllerOf(config)
		Expect(ref).NotTo(BeNil())
		Expect(ref.UID).To(Equal(team.UID))
		Expect(config.Labels).To(HaveKeyWithValue("app.kubernetes.io/part-of", "cx-operator"))
		Expect(config.Spec.Route.Matchers).To(ContainElement(HaveField("Name", "cx_team")))
		Expect(config.Spec.Route.GroupBy).To(ContainElements("cx_objective", "severity"))

		receivers := map[string]monitoringv1alpha1.Receiver{}
		for _, r := range config.Spec.Receivers {
			receivers[r.Name] = r
		}
		Expect(receivers["page"].WebhookConfigs).To(HaveLen(1))
		Expect(receivers["page"].SlackConfigs).To(BeEmpty())
		Expect(receivers["ticket"].WebhookConfigs).To(HaveLen(1))
		Expect(receivers["ticket"].SlackConfigs).To(HaveLen(1))
		Expect(receivers["notice"].SlackConfigs).To(HaveLen(1))
		Expect(*receivers["page"].WebhookConfigs[0].URLSecret).To(Equal(secretKey("checkout-channels", "oncall-url")))

		bySeverity := map[string]string{}
		for _, r := range childRoutes(config) {
			bySeverity[r.Matchers[0].Value] = r.Receiver
		}
		Expect(bySeverity).To(Equal(map[string]string{"page": "page", "ticket": "ticket", "notice": "notice"}))

		Eventually(func() *metav1.Condition { return readyCondition(team) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		got := &cxv1alpha1.CXTeam{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(team), got)).To(Succeed())
		Expect(got.Status.Channels).To(Equal(int32(2)))
		Expect(got.Status.AlertmanagerConfig).To(Equal(config.Name))
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	})

	It("counts the objectives the team owns", func() {
		ns := newNamespace()
		team := newTeam(ns, "checkout")
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		Expect(k8sClient.Create(ctx, newObjective(ns, "a"))).To(Succeed())
		Expect(k8sClient.Create(ctx, newObjective(ns, "b"))).To(Succeed())
		objectives := func() int32 {
			got := &cxv1alpha1.CXTeam{}
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(team), got)).To(Succeed())
			return got.Status.Objectives
		}
		Eventually(objectives, timeout, interval).Should(Equal(int32(2)))
		Expect(k8sClient.Delete(ctx, newObjective(ns, "a"))).To(Succeed())
		Eventually(objectives, timeout, interval).Should(Equal(int32(1)))
	})

	It("reverts a hand edit of the AlertmanagerConfig and recreates a deleted one", func() {
		ns := newNamespace()
		team := newTeam(ns, "checkout")
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		config := configOf(team)
		want := config.Spec.DeepCopy()

		config.Spec.Receivers = config.Spec.Receivers[:1]
		config.Spec.Route.Routes = nil
		Expect(k8sClient.Update(ctx, config)).To(Succeed())
		start := time.Now()
		Eventually(func() monitoringv1alpha1.AlertmanagerConfigSpec { return configOf(team).Spec }, timeout, interval).Should(Equal(*want))
		GinkgoWriter.Printf("hand edit reverted in %s\n", time.Since(start))

		Expect(k8sClient.Delete(ctx, config)).To(Succeed())
		Eventually(func() bool { return configOf(team).UID != config.UID }, timeout, interval).Should(BeTrue())
	})

	It("says when no channel receives a severity", func() {
		ns := newNamespace()
		team := newTeam(ns, "quiet", func(t *cxv1alpha1.CXTeam) { t.Spec.Channels = t.Spec.Channels[1:] })
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		Eventually(func() *metav1.Condition { return readyCondition(team) }, timeout, interval).
			Should(haveReason(metav1.ConditionTrue, cxv1alpha1.ReasonSucceeded))
		Expect(readyCondition(team).Message).To(ContainSubstring("no channel receives page"))
	})

	It("deletes the AlertmanagerConfig with the team", func() {
		ns := newNamespace()
		team := newTeam(ns, "checkout")
		Expect(k8sClient.Create(ctx, team)).To(Succeed())
		config := configOf(team)
		Expect(k8sClient.Delete(ctx, team)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(config), &monitoringv1alpha1.AlertmanagerConfig{}))
		}, timeout, interval).Should(BeTrue())
	})
})
