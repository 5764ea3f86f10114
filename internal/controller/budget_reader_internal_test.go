package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

func TestWithoutPrometheusTheBudgetIsUnknownAndSaysWhy(t *testing.T) {
	r := &BudgetReader{Period: time.Minute, Timeout: time.Second}
	figures, cond := r.query(context.Background(), "shop")
	if figures != nil || cond.Status != metav1.ConditionFalse || cond.Reason != cxv1alpha1.ReasonPrometheusNotConfigured {
		t.Fatalf("got %v %+v", figures, cond)
	}
}

func TestSpreadPlacesEachNamespaceAtTheSamePlaceOfThePeriod(t *testing.T) {
	seen := map[time.Duration]bool{}
	for _, ns := range []string{"shop", "support", "growth", "finance", "platform"} {
		a, b := spread(ns, time.Minute), spread(ns, time.Minute)
		if a != b || a < 0 || a >= 45*time.Second {
			t.Fatalf("%s: %s then %s", ns, a, b)
		}
		seen[a] = true
	}
	if len(seen) < 4 {
		t.Fatalf("five namespaces land on %d places", len(seen))
	}
}
