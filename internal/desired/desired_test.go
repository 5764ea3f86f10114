package desired_test

import (
	"errors"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	samples "github.com/cxops/cx-operator/test/utils/samples"
)

func team(ns, name string, allowed ...string) *cxv1alpha1.CXTeam {
	t := &cxv1alpha1.CXTeam{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "team-uid"}}
	t.Spec.Department = "Product"
	t.Spec.AllowedNamespaces = allowed
	return t
}

func lookupIn(teams ...*cxv1alpha1.CXTeam) desired.TeamLookup {
	return func(ns, name string) (*cxv1alpha1.CXTeam, error) {
		for _, t := range teams {
			if t.Namespace == ns && t.Name == name {
				return t, nil
			}
		}
		return nil, nil
	}
}

func TestResolve(t *testing.T) {
	objective := func(owner cxv1alpha1.TeamRef, stakeholders ...cxv1alpha1.TeamRef) *cxv1alpha1.CXObjective {
		return &cxv1alpha1.CXObjective{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-errors"},
			Spec:       cxv1alpha1.CXObjectiveSpec{Owner: owner, Stakeholders: stakeholders},
		}
	}
	cases := []struct {
		name         string
		obj          *cxv1alpha1.CXObjective
		teams        []*cxv1alpha1.CXTeam
		wantReason   string
		wantOwner    string
		wantTold     int
		wantSkipped  int
		wantInReason string
	}{
		{name: "an owner in the same namespace is found", obj: objective(cxv1alpha1.TeamRef{Team: "checkout"}),
			teams: []*cxv1alpha1.CXTeam{team("shop", "checkout")}, wantOwner: "checkout"},
		{name: "a missing owner is TeamNotFound and names the team", obj: objective(cxv1alpha1.TeamRef{Team: "checkout"}),
			wantReason: cxv1alpha1.ReasonTeamNotFound, wantInReason: "shop/checkout"},
		{name: "an owner in another namespace that does not allow ours is OwnerNotPermitted",
			obj:   objective(cxv1alpha1.TeamRef{Team: "checkout", Namespace: "payments"}),
			teams: []*cxv1alpha1.CXTeam{team("payments", "checkout")}, wantReason: cxv1alpha1.ReasonOwnerNotPermitted,
			wantInReason: `"shop"`},
		{name: "an owner that allows our namespace is found",
			obj:   objective(cxv1alpha1.TeamRef{Team: "checkout", Namespace: "payments"}),
			teams: []*cxv1alpha1.CXTeam{team("payments", "checkout", "shop")}, wantOwner: "checkout"},
		{name: "an owner that allows every namespace is found",
			obj:   objective(cxv1alpha1.TeamRef{Team: "checkout", Namespace: "payments"}),
			teams: []*cxv1alpha1.CXTeam{team("payments", "checkout", "*")}, wantOwner: "checkout"},
		{name: "a missing stakeholder is skipped, the owner still resolves",
			obj:   objective(cxv1alpha1.TeamRef{Team: "checkout"}, cxv1alpha1.TeamRef{Team: "finance"}, cxv1alpha1.TeamRef{Team: "legal"}),
			teams: []*cxv1alpha1.CXTeam{team("shop", "checkout"), team("shop", "finance")}, wantOwner: "checkout", wantTold: 1, wantSkipped: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := desired.Resolve(c.obj, lookupIn(c.teams...))
			if c.wantReason != "" {
				var refusal *desired.Refusal
				if !errors.As(err, &refusal) || refusal.Reason != c.wantReason || !strings.Contains(refusal.Message, c.wantInReason) {
					t.Fatalf("got %v, want a refusal %s mentioning %s", err, c.wantReason, c.wantInReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Owner.Name != c.wantOwner || len(res.Stakeholders) != c.wantTold || len(res.Skipped) != c.wantSkipped {
				t.Fatalf("owner %s, told %d, skipped %v", res.Owner.Name, len(res.Stakeholders), res.Skipped)
			}
		})
	}

	t.Run("a lookup that fails is an error, not a refusal", func(t *testing.T) {
		_, err := desired.Resolve(objective(cxv1alpha1.TeamRef{Team: "checkout"}), func(string, string) (*cxv1alpha1.CXTeam, error) {
			return nil, errors.New("API server down")
		})
		var refusal *desired.Refusal
		if err == nil || errors.As(err, &refusal) {
			t.Fatalf("got %v", err)
		}
	})
}

// sampleRule is the PrometheusRule of a sample objective, given the UID
// "objective-uid".
func sampleRule(t *testing.T, obj *cxv1alpha1.CXObjective, lookup desired.TeamLookup) *monitoringv1.PrometheusRule {
	t.Helper()
	obj.UID = "objective-uid"
	res, err := desired.Resolve(obj, lookup)
	if err != nil {
		t.Fatal(err)
	}
	rule, err := desired.PrometheusRule(obj, res, desired.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return rule
}

func TestPrometheusRule(t *testing.T) {
	set := samples.Load(t)
	lookup := lookupIn(set.Teams...)
	for _, obj := range set.Objectives {
		t.Run(obj.Name, func(t *testing.T) {
			rule := sampleRule(t, obj, lookup)
			if rule.Name != "cx-"+obj.Name || rule.Namespace != obj.Namespace {
				t.Errorf("rule %s/%s", rule.Namespace, rule.Name)
			}
			ref := metav1.GetControllerOf(rule)
			if ref == nil || ref.UID != "objective-uid" || ref.Kind != "CXObjective" || !*ref.BlockOwnerDeletion {
				t.Errorf("owner reference %+v", ref)
			}
			if rule.Labels["app.kubernetes.io/part-of"] != "cx-operator" || rule.Labels[cxv1alpha1.LabelObjective] != obj.Name {
				t.Errorf("labels %v", rule.Labels)
			}
			payload, err := desired.Payload(rule)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := payload.Object["status"]; ok {
				t.Error("the apply payload carries a status")
			}
			if payload.GetKind() != "PrometheusRule" || payload.GetAPIVersion() != "monitoring.coreos.com/v1" {
				t.Errorf("payload kind %s %s", payload.GetAPIVersion(), payload.GetKind())
			}
		})
	}

	t.Run("an objective whose rule name would be too long is an InvalidError", func(t *testing.T) {
		obj := set.Objective(t, "checkout-errors")
		obj.Name = strings.Repeat("a", 252)
		res, err := desired.Resolve(obj, lookup)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := desired.PrometheusRule(obj, res, desired.DefaultOptions()); !desired.IsInvalid(err) {
			t.Fatalf("got %v, want an InvalidError", err)
		}
	})
}

func TestAlertmanagerConfig(t *testing.T) {
	set := samples.Load(t)
	for _, tm := range set.Teams {
		config, err := desired.AlertmanagerConfig(tm, desired.Options{ConfigLabels: map[string]string{"release": "prod"}})
		if err != nil {
			t.Fatalf("%s: %v", tm.Name, err)
		}
		if config.Name != "cx-"+tm.Name || config.Labels["release"] != "prod" || config.Labels[cxv1alpha1.LabelTeam] != tm.Name {
			t.Errorf("%s: name %s labels %v", tm.Name, config.Name, config.Labels)
		}
	}
}
