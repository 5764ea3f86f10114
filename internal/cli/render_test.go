package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/rules"
	"github.com/cxops/cx-operator/test/utils/samples"
)

// asStored returns a sample object as an API server returns it: with a
// UID, a resource version, a creation time and a status, as unstructured.
func asStored(t *testing.T, obj runtime.Object, kind string, n int) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(cxv1alpha1.GroupVersion.String())
	u.SetKind(kind)
	u.SetUID(types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", n)))
	u.SetResourceVersion(fmt.Sprint(1000 + n))
	u.SetGeneration(1)
	u.SetCreationTimestamp(metav1.Unix(1_772_000_000, 0))
	if err := unstructured.SetNestedField(u.Object, int64(1), "status", "observedGeneration"); err != nil {
		t.Fatal(err)
	}
	return u
}

// controllerPayloads builds what the controller applies for the samples,
// with the teams resolved among them, through internal/desired alone.
func controllerPayloads(t *testing.T, set *samples.Set, o desired.Options) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	add := func(obj runtime.Object) {
		u, err := desired.Payload(obj)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		out[u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName()] = b
	}
	for _, team := range set.Teams {
		config, err := desired.AlertmanagerConfig(team, o)
		if err != nil {
			t.Fatal(err)
		}
		add(config)
	}
	lookup := func(namespace, name string) (*cxv1alpha1.CXTeam, error) {
		if team := set.Team(name); team != nil && team.Namespace == namespace {
			return team, nil
		}
		return nil, nil
	}
	for _, obj := range set.Objectives {
		res, err := desired.Resolve(obj, lookup)
		if err != nil {
			t.Fatal(err)
		}
		rule, err := desired.PrometheusRule(obj, res, o)
		if err != nil {
			t.Fatal(err)
		}
		add(rule)
	}
	return out
}

// storedSamples returns the samples as stored objects, objectives first,
// each with its UID.
func storedSamples(t *testing.T, set *samples.Set) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	n := 0
	for _, o := range set.Objectives {
		n++
		obj := o.DeepCopy()
		obj.UID = types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
		objs = append(objs, asStored(t, obj, kindObjective, n))
	}
	for _, team := range set.Teams {
		n++
		objs = append(objs, asStored(t, team.DeepCopy(), kindTeam, n))
	}
	return objs
}

// withUIDs gives the typed samples the UIDs of their stored form, so that
// the controller's payloads carry the same owner references.
func withUIDs(set *samples.Set, stored []*unstructured.Unstructured) {
	uids := map[string]types.UID{}
	for _, u := range stored {
		uids[u.GetKind()+"/"+u.GetName()] = u.GetUID()
	}
	for _, o := range set.Objectives {
		o.UID = uids[kindObjective+"/"+o.Name]
	}
	for _, team := range set.Teams {
		team.UID = uids[kindTeam+"/"+team.Name]
	}
}

func renderedPayloads(t *testing.T, objs []*unstructured.Unstructured) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, u := range objs {
		b, err := json.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		key := u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
		if _, dup := out[key]; dup {
			t.Fatalf("Render returned %s twice", key)
		}
		out[key] = b
	}
	return out
}

func TestRenderIsWhatTheControllerApplies(t *testing.T) {
	custom := desired.Options{RuleLabels: map[string]string{"prometheus": "main"}, ConfigLabels: map[string]string{}}
	for _, tt := range []struct {
		name string
		opts desired.Options
	}{
		{"with the manager's default selector labels", desired.DefaultOptions()},
		{"with the labels of --rule-labels and --alertmanager-config-labels", custom},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := samples.Load(t)
			stored := storedSamples(t, set)
			withUIDs(set, stored)
			before := make([]*unstructured.Unstructured, len(stored))
			for i, u := range stored {
				before[i] = u.DeepCopy()
			}

			got, err := Render(stored, RenderOptions{Options: tt.opts})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			want := controllerPayloads(t, set, tt.opts)
			have := renderedPayloads(t, got)
			if len(have) != len(want) {
				t.Fatalf("Render returned %d objects, the controller applies %d", len(have), len(want))
			}
			for key, w := range want {
				if string(have[key]) != string(w) {
					t.Errorf("%s differs from the controller's payload:\n got: %s\nwant: %s", key, have[key], w)
				}
			}
			if !reflect.DeepEqual(stored, before) {
				t.Error("Render changed its input")
			}
		})
	}
}

func TestRenderOrdersTeamsFirstInTheOrderGiven(t *testing.T) {
	set := samples.Load(t)
	got, err := Render(storedSamples(t, set), RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, u := range got {
		order = append(order, u.GetKind()+"/"+u.GetName())
	}
	var want []string
	for _, team := range set.Teams {
		want = append(want, "AlertmanagerConfig/cx-"+team.Name)
	}
	for _, o := range set.Objectives {
		want = append(want, "PrometheusRule/cx-"+o.Name)
	}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
}

func TestRenderWithoutUIDsLeavesOutOwnerReferences(t *testing.T) {
	set := samples.Load(t)
	var objs []*unstructured.Unstructured
	for _, u := range storedSamples(t, set) {
		u.SetUID("")
		objs = append(objs, u)
	}
	var notes []string
	got, err := Render(objs, RenderOptions{Notes: func(s string) { notes = append(notes, s) }})
	if err != nil {
		t.Fatal(err)
	}
	want := controllerPayloads(t, set, desired.DefaultOptions())
	for _, u := range got {
		if _, found, _ := unstructured.NestedSlice(u.Object, "metadata", "ownerReferences"); found {
			t.Errorf("%s/%s has ownerReferences without an owner UID", u.GetKind(), u.GetName())
		}
		// Apart from the owner reference, it is the controller's payload.
		var w map[string]any
		if err := json.Unmarshal(want[u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName()], &w); err != nil {
			t.Fatal(err)
		}
		unstructured.RemoveNestedField(w, "metadata", "ownerReferences")
		gb, _ := json.Marshal(u.Object)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("%s/%s differs from the controller's payload beyond ownerReferences", u.GetKind(), u.GetName())
		}
	}
	if len(notes) != 1 {
		t.Errorf("notes %q, want one about the missing UIDs", notes)
	}
}

func TestRenderReportsAMissingOwnerAsTheControllerDoes(t *testing.T) {
	set := samples.Load(t)
	var objs []*unstructured.Unstructured
	for _, u := range storedSamples(t, set) {
		if u.GetKind() == kindTeam && u.GetName() == "checkout" {
			continue
		}
		objs = append(objs, u)
	}
	got, err := Render(objs, RenderOptions{})
	var oe *ObjectError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v, want an *ObjectError", err)
	}
	if oe.Object != "CXObjective shop/checkout-errors" || oe.Reason != cxv1alpha1.ReasonTeamNotFound {
		t.Errorf("error for %s with reason %s, want CXObjective shop/checkout-errors with TeamNotFound", oe.Object, oe.Reason)
	}
	// Every other objective still renders; the CSAT objective names
	// checkout as a stakeholder and renders without it.
	if len(got) != len(set.Teams)-1+len(set.Objectives)-1 {
		t.Errorf("%d objects rendered, want every one but the team's and the objective's", len(got))
	}
}

func TestRenderRefusesWhatTheAPIServerRefuses(t *testing.T) {
	set := samples.Load(t)
	objs := storedSamples(t, set)
	for _, u := range objs {
		if u.GetKind() == kindObjective && u.GetName() == "storefront-latency" {
			if err := unstructured.SetNestedField(u.Object, "100", "spec", "target"); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := Render(objs, RenderOptions{})
	var oe *ObjectError
	if !errors.As(err, &oe) || oe.Reason != ReasonRejected {
		t.Fatalf("error %v, want an *ObjectError with reason %s", err, ReasonRejected)
	}
}

func TestRuleFileIsWhatPrometheusLoads(t *testing.T) {
	set := samples.Load(t)
	in := &Inputs{}
	for _, u := range storedSamples(t, set) {
		in.add(Object{Object: u}, InputOptions{})
	}
	res, err := render(context.Background(), in, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := writeRuleFiles(&out, &errOut, res, ""); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	parsed, errs := rulefmt.Parse(out.Bytes(), false, model.UTF8Validation, parser.NewParser(parser.Options{}), logger)
	if len(errs) > 0 {
		t.Fatalf("Prometheus refuses the rule file: %v", errs)
	}
	// The same groups as rules.RuleFile writes for each objective.
	var want rulefmt.RuleGroups
	for _, r := range res.objects {
		if r.rule == nil {
			continue
		}
		b, err := rules.RuleFile(r.rule.Spec)
		if err != nil {
			t.Fatal(err)
		}
		one, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), logger)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		want.Groups = append(want.Groups, one.Groups...)
	}
	if !reflect.DeepEqual(parsed.Groups, want.Groups) {
		t.Error("the rule file holds other groups than rules.RuleFile writes")
	}
}

func TestRenderTypedIsRender(t *testing.T) {
	set := samples.Load(t)
	stored := storedSamples(t, set)
	withUIDs(set, stored)
	typed, err := RenderTyped(set.Teams, set.Objectives, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := controllerPayloads(t, set, desired.DefaultOptions())
	have := renderedPayloads(t, typed)
	for key, w := range want {
		if string(have[key]) != string(w) {
			t.Errorf("%s differs from the controller's payload", key)
		}
	}
	if _, err := Render([]*unstructured.Unstructured{{Object: map[string]any{"metadata": map[string]any{"name": "x"}}}}, RenderOptions{}); err == nil {
		t.Error("an object without apiVersion and kind was accepted")
	}
}
