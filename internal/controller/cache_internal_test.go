package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

func TestStripUnreadKeepsWhatTheControllersRead(t *testing.T) {
	applied := func() *cxv1alpha1.CXObjective {
		return &cxv1alpha1.CXObjective{
			ObjectMeta: metav1.ObjectMeta{
				Name: "checkout-errors", Namespace: "shop", Labels: map[string]string{"app": "shop"},
				Annotations: map[string]string{
					corev1.LastAppliedConfigAnnotation: `{"apiVersion":"cx.cxops.io/v1alpha1","kind":"CXObjective"}`,
					"cx.cxops.io/note":                 "kept",
				},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply"}},
			},
			Spec: cxv1alpha1.CXObjectiveSpec{Target: "99.9"},
		}
	}
	cases := []struct {
		name string
		in   any
		want func(t *testing.T, out any)
	}{
		{"an object applied by kubectl loses the last-applied copy and the managed fields, and keeps the rest", applied(), func(t *testing.T, out any) {
			o := out.(*cxv1alpha1.CXObjective)
			if _, ok := o.Annotations[corev1.LastAppliedConfigAnnotation]; ok || o.ManagedFields != nil {
				t.Errorf("annotations %v, managed fields %v: want neither the last-applied copy nor managed fields", o.Annotations, o.ManagedFields)
			}
			if o.Annotations["cx.cxops.io/note"] != "kept" || o.Labels["app"] != "shop" || o.Spec.Target != "99.9" {
				t.Errorf("lost what the controllers read: %+v", o.ObjectMeta)
			}
		}},
		{"an object without annotations stays without", &cxv1alpha1.CXTeam{ObjectMeta: metav1.ObjectMeta{Name: "checkout"}}, func(t *testing.T, out any) {
			if a := out.(*cxv1alpha1.CXTeam).Annotations; a != nil {
				t.Errorf("annotations %v, want none", a)
			}
		}},
		{"a tombstone of a deleted object passes as it is", cache.DeletedFinalStateUnknown{Key: "shop/checkout-errors", Obj: applied()}, func(t *testing.T, out any) {
			if _, ok := out.(cache.DeletedFinalStateUnknown); !ok {
				t.Errorf("got %T, want the tombstone", out)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := stripUnread(c.in)
			if err != nil {
				t.Fatal(err)
			}
			c.want(t, out)
		})
	}
}
