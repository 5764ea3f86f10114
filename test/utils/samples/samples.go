// Package samples reads the manifests in config/samples into typed objects,
// and builds the models of the objectives with their teams resolved the way
// the controller resolves them, for the tests of the pure packages.
package samples

import (
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/slo"
	"github.com/cxops/cx-operator/test/utils"
)

// Namespace is the namespace the samples are given, as `make demo` does.
const Namespace = "shop"

// Set is every CXTeam and CXObjective of config/samples, in file order.
type Set struct {
	// Teams and Objectives of the samples, in the namespace Namespace.
	Teams      []*cxv1alpha1.CXTeam
	Objectives []*cxv1alpha1.CXObjective
}

// Load reads config/samples; it fails the test on any error.
func Load(t testing.TB) *Set {
	t.Helper()
	set, err := LoadDir(filepath.Join(utils.RepoRoot(), "config", "samples"), Namespace)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// LoadDir reads the CXTeams and CXObjectives of a folder of manifests and
// puts those without a namespace into namespace.
func LoadDir(dir, namespace string) (*Set, error) {
	docs, err := utils.ReadManifests(dir)
	if err != nil {
		return nil, err
	}
	set := &Set{}
	for _, d := range docs {
		var target any
		switch d.Object.GetKind() {
		case "CXTeam":
			team := &cxv1alpha1.CXTeam{}
			set.Teams = append(set.Teams, team)
			target = team
		case "CXObjective":
			obj := &cxv1alpha1.CXObjective{}
			set.Objectives = append(set.Objectives, obj)
			target = obj
		default:
			continue
		}
		if d.Object.GetNamespace() == "" {
			d.Object.SetNamespace(namespace)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object.Object, target); err != nil {
			return nil, err
		}
	}
	for _, o := range set.Objectives {
		// The API server's defaults, which the samples leave out.
		if o.Spec.Window == "" {
			o.Spec.Window = "30d"
		}
		if l := o.Spec.SLI.Latency; l != nil && l.Histogram == "" {
			l.Histogram = cxv1alpha1.HistogramClassic
		}
	}
	return set, nil
}

// Objective returns the sample objective of that name.
func (s *Set) Objective(t testing.TB, name string) *cxv1alpha1.CXObjective {
	t.Helper()
	for _, o := range s.Objectives {
		if o.Name == name {
			return o.DeepCopy()
		}
	}
	t.Fatalf("no sample objective %q", name)
	return nil
}

// Team returns the sample team of that name, or nil.
func (s *Set) Team(name string) *cxv1alpha1.CXTeam {
	for _, t := range s.Teams {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Model builds the model of a sample objective with its owner and
// stakeholder teams taken from the samples.
func (s *Set) Model(t testing.TB, obj *cxv1alpha1.CXObjective) slo.Objective {
	t.Helper()
	team := func(ref cxv1alpha1.TeamRef) slo.Team {
		ct := s.Team(ref.Team)
		if ct == nil {
			t.Fatalf("%s names team %q, which is not among the samples", obj.Name, ref.Team)
		}
		return slo.TeamFrom(ct)
	}
	stakeholders := make([]slo.Team, 0, len(obj.Spec.Stakeholders))
	for _, ref := range obj.Spec.Stakeholders {
		stakeholders = append(stakeholders, team(ref))
	}
	o, err := slo.FromObjective(obj, team(obj.Spec.Owner), stakeholders)
	if err != nil {
		t.Fatalf("%s: %v", obj.Name, err)
	}
	return o
}
