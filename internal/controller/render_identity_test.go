package controller_test

import (
	"fmt"
	"path/filepath"

	"github.com/google/go-cmp/cmp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/cli"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/test/utils"
	"github.com/cxops/cx-operator/test/utils/samples"
)

var _ = Describe("kubectl cx render", func() {
	It("prints exactly what the controller applied, for every sample", func() {
		ns := newNamespace()
		set, err := samples.LoadDir(filepath.Join(utils.RepoRoot(), "config", "samples"), ns)
		Expect(err).NotTo(HaveOccurred())
		for _, t := range set.Teams {
			Expect(k8sClient.Create(ctx, t)).To(Succeed())
		}
		for _, o := range set.Objectives {
			Expect(k8sClient.Create(ctx, o)).To(Succeed())
		}
		// The objects as the API server has them, with their UIDs.
		var teams cxv1alpha1.CXTeamList
		Expect(k8sClient.List(ctx, &teams, client.InNamespace(ns))).To(Succeed())
		var objectives cxv1alpha1.CXObjectiveList
		Expect(k8sClient.List(ctx, &objectives, client.InNamespace(ns))).To(Succeed())
		var teamPtrs []*cxv1alpha1.CXTeam
		for i := range teams.Items {
			teamPtrs = append(teamPtrs, &teams.Items[i])
		}
		var objPtrs []*cxv1alpha1.CXObjective
		for i := range objectives.Items {
			objPtrs = append(objPtrs, &objectives.Items[i])
		}
		rendered, err := cli.RenderTyped(teamPtrs, objPtrs, cli.RenderOptions{Options: desired.DefaultOptions()})
		Expect(err).NotTo(HaveOccurred())
		Expect(rendered).To(HaveLen(len(teamPtrs) + len(objPtrs)))

		for _, r := range rendered {
			key := client.ObjectKey{Namespace: r.GetNamespace(), Name: r.GetName()}
			var live client.Object
			switch r.GetKind() {
			case "PrometheusRule":
				live = &monitoringv1.PrometheusRule{}
			case "AlertmanagerConfig":
				live = &monitoringv1alpha1.AlertmanagerConfig{}
			default:
				Fail("render printed a " + r.GetKind())
			}
			Eventually(func() error { return k8sClient.Get(ctx, key, live) }, timeout, interval).Should(Succeed())
			if diff := cmp.Diff(appliedPart(r), appliedPart(live)); diff != "" {
				Fail(fmt.Sprintf("%s %s: the live object differs from render's (-render +live):\n%s", r.GetKind(), key, diff))
			}
		}
	})
})

// appliedPart is what server-side apply set on an object: its labels,
// owner references and spec, without what the API server adds.
func appliedPart(obj runtime.Object) map[string]any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{Object: m}
	refs := u.GetOwnerReferences()
	for i := range refs {
		refs[i] = metav1.OwnerReference{APIVersion: refs[i].APIVersion, Kind: refs[i].Kind, Name: refs[i].Name,
			UID: refs[i].UID, Controller: refs[i].Controller, BlockOwnerDeletion: refs[i].BlockOwnerDeletion}
	}
	return map[string]any{"labels": u.GetLabels(), "ownerReferences": refs, "spec": m["spec"]}
}
