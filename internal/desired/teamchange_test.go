package desired_test

import (
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	samples "github.com/cxops/cx-operator/test/utils/samples"
)

// The fields of CXTeamSpec that the reconcile of an objective reads, and
// those it does not. A field added to CXTeamSpec fails
// TestEveryTeamFieldIsSortedForObjectives until it is put in one of them
// (and TeamChangeReachesObjectives follows).
var (
	teamFieldsObjectivesRead   = []string{"Department", "DisplayName", "AllowedNamespaces"}
	teamFieldsObjectivesIgnore = []string{"Channels", "Hours", "Notifications"}
)

func TestEveryTeamFieldIsSortedForObjectives(t *testing.T) {
	typ := reflect.TypeFor[cxv1alpha1.CXTeamSpec]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if !slices.Contains(teamFieldsObjectivesRead, name) && !slices.Contains(teamFieldsObjectivesIgnore, name) {
			t.Errorf("CXTeamSpec.%s: say whether objectives read it (teamFieldsObjectivesRead) or not, and update TeamChangeReachesObjectives", name)
		}
	}
}

func TestTeamChangeReachesObjectives(t *testing.T) {
	set := samples.Load(t)
	base := set.Team("checkout")
	tests := []struct {
		name   string
		change func(*cxv1alpha1.CXTeamSpec)
		want   bool
	}{
		{"no change does not", func(*cxv1alpha1.CXTeamSpec) {}, false},
		{"a new channel does not", func(s *cxv1alpha1.CXTeamSpec) {
			s.Channels = append(s.Channels, cxv1alpha1.Channel{Name: "extra", Type: cxv1alpha1.ChannelWebhook, Receive: []cxv1alpha1.Severity{cxv1alpha1.SeverityTicket}})
		}, false},
		{"a channel that also takes pages does not", func(s *cxv1alpha1.CXTeamSpec) {
			s.Channels[len(s.Channels)-1].Receive = append(s.Channels[len(s.Channels)-1].Receive, cxv1alpha1.SeverityPage)
		}, false},
		{"business hours do not", func(s *cxv1alpha1.CXTeamSpec) {
			s.Hours = &cxv1alpha1.Hours{Schedule: cxv1alpha1.HoursBusiness, Start: "08:00", End: "18:00"}
		}, false},
		{"the notification policy does not", func(s *cxv1alpha1.CXTeamSpec) {
			s.Notifications = &cxv1alpha1.NotificationPolicy{}
		}, false},
		{"the department does", func(s *cxv1alpha1.CXTeamSpec) { s.Department = "Payments" }, true},
		{"the display name does", func(s *cxv1alpha1.CXTeamSpec) { s.DisplayName = base.Spec.DisplayName + " and payments" }, true},
		{"a namespace the team allows does", func(s *cxv1alpha1.CXTeamSpec) {
			s.AllowedNamespaces = append(s.AllowedNamespaces, "payments")
		}, true},
	}
	lookup := lookupIn(set.Teams...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := base.DeepCopy()
			tt.change(&changed.Spec)
			if got := desired.TeamChangeReachesObjectives(base, changed); got != tt.want {
				t.Fatalf("TeamChangeReachesObjectives = %v, want %v", got, tt.want)
			}
			if tt.want {
				return
			}
			// What it says does not reach objectives does not change
			// the rule of any objective the team owns.
			for _, obj := range set.Objectives {
				if obj.Spec.Owner.Team != base.Name {
					continue
				}
				before := sampleRule(t, obj.DeepCopy(), lookup)
				after := sampleRule(t, obj.DeepCopy(), func(ns, name string) (*cxv1alpha1.CXTeam, error) {
					if ns == changed.Namespace && name == changed.Name {
						return changed, nil
					}
					return lookup(ns, name)
				})
				if !equality.Semantic.DeepEqual(before, after) {
					t.Errorf("the rule of %s changed", obj.Name)
				}
			}
		})
	}
}
