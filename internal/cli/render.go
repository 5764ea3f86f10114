package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/routing"
	"github.com/cxops/cx-operator/internal/slo"
)

// RenderOptions shape what Render returns.
type RenderOptions struct {
	// Options are the controller's settings, as given to the manager with
	// --rule-labels and --alertmanager-config-labels. A nil label map means
	// desired.DefaultSelectorLabels, as in the manager; an empty one, none.
	Options desired.Options
	// Namespace is given to objects without metadata.namespace, as kubectl
	// apply would; "default" when empty.
	Namespace string
	// Notes, when set, receives one sentence for each thing worth telling
	// that is not an error: stakeholders that are not told, objects without
	// a UID.
	Notes func(string)
}

// ObjectError says why the objects of one CXObjective or CXTeam could not
// be rendered, in the controller's terms.
type ObjectError struct {
	// Object is "Kind namespace/name".
	Object string
	// Reason is the reason the controller would set on Ready=False:
	// TeamNotFound, OwnerNotPermitted or InvalidSpec; Rejected when the
	// API server would not even accept the object.
	Reason string
	// Err is the cause.
	Err error
}

// ReasonRejected is the reason of an ObjectError for an object that the API
// server would refuse (schema or CEL rules): the controller never sees it.
const ReasonRejected = "Rejected"

// Error names the object, the reason and the cause in one line.
func (e *ObjectError) Error() string {
	return e.Object + ": " + e.Reason + ": " + oneLine(e.Err.Error())
}

// Unwrap returns the cause.
func (e *ObjectError) Unwrap() error { return e.Err }

// Render returns the objects that the controller applies for the
// CXObjectives and CXTeams among objs: for each CXTeam its
// AlertmanagerConfig, then for each CXObjective its PrometheusRule, in the
// order given, each exactly desired.Payload of what the controller builds
// (desired.AlertmanagerConfig and desired.PrometheusRule, with the teams
// resolved by desired.Resolve among the CXTeams given), which is what it
// sends with server-side apply. Objects of other kinds are ignored.
//
// Each object is first admitted as the API server would admit it (schema
// defaults applied, schema and CEL rules checked); objects read from an API
// server come out unchanged. When an input has no metadata.uid (a file),
// the owner reference's UID would be empty, which no API server accepts:
// Render then leaves ownerReferences out of that object's output and says
// so through opts.Notes. With UIDs, as for objects read from an API
// server, the output is exactly the controller's payload.
//
// An input that cannot be rendered (its owner team is missing, its spec
// cannot become rules) does not stop the others: Render returns every
// object it could render and an error that joins one *ObjectError per
// input that failed.
//
// Every object must carry apiVersion and kind, as the dynamic client and
// kubectl get -o yaml give them; RenderTyped takes typed objects, which a
// controller-runtime client returns without them.
func Render(objs []*unstructured.Unstructured, opts RenderOptions) ([]*unstructured.Unstructured, error) {
	var in Inputs
	for i, u := range objs {
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("object %d (%s) has no apiVersion or kind: set them, or use RenderTyped", i, u.GetName())
		}
		obj := Object{Object: u.DeepCopy()}
		in.add(obj, InputOptions{Namespace: opts.Namespace, SkipUnknownKinds: true})
	}
	res, err := render(context.Background(), &in, opts)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(res.objects))
	for _, r := range res.objects {
		out = append(out, r.payload)
	}
	var errs []error
	for _, f := range res.failures {
		errs = append(errs, f)
	}
	return out, errors.Join(errs...)
}

// RenderTyped is Render for typed CXTeams and CXObjectives, such as a
// controller-runtime client reads them from the API server (with UIDs, and
// without apiVersion and kind, which it sets).
func RenderTyped(teams []*cxv1alpha1.CXTeam, objectives []*cxv1alpha1.CXObjective, opts RenderOptions) ([]*unstructured.Unstructured, error) {
	objs := make([]*unstructured.Unstructured, 0, len(teams)+len(objectives))
	add := func(obj runtime.Object, kind string) error {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return fmt.Errorf("converting a %s: %w", kind, err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetAPIVersion(cxv1alpha1.GroupVersion.String())
		u.SetKind(kind)
		objs = append(objs, u)
		return nil
	}
	for _, t := range teams {
		if err := add(t, kindTeam); err != nil {
			return nil, err
		}
	}
	for _, o := range objectives {
		if err := add(o, kindObjective); err != nil {
			return nil, err
		}
	}
	return Render(objs, opts)
}

// renderedObject is one generated object.
type renderedObject struct {
	// from is the input it was generated from.
	from Object
	// payload is what the controller applies.
	payload *unstructured.Unstructured
	// rule is set for a PrometheusRule.
	rule *monitoringv1.PrometheusRule
	// noUID says that the input had no UID, so ownerReferences are left out.
	noUID bool
}

// rendering is the outcome of rendering a set of inputs.
type rendering struct {
	objects []renderedObject
	// failures, one per input that could not be rendered, with its
	// problems for people.
	failures []*ObjectError
	problems []Problem
}

// resolvedSet is a set of inputs admitted and typed, with the controller's
// team lookup over its teams; render, validate, route and test build it.
type resolvedSet struct {
	objectives []typedObjective
	teams      []typedTeam
	byKey      map[string]*cxv1alpha1.CXTeam
}

type typedObjective struct {
	from Object
	obj  *cxv1alpha1.CXObjective
}

type typedTeam struct {
	from Object
	team *cxv1alpha1.CXTeam
}

// lookup finds a team among the set, as the controller finds it in the
// cluster.
func (s *resolvedSet) lookup(namespace, name string) (*cxv1alpha1.CXTeam, error) {
	return s.byKey[namespace+"/"+name], nil
}

// resolveInputs admits each input and types it. An input the API server
// would refuse is left out (the controller never sees it) and reported with
// every error; so are the inputs that do not decode. Inputs are admitted in
// parallel; the set keeps their order.
func resolveInputs(ctx context.Context, in *Inputs) (*resolvedSet, []*ObjectError, []Problem, error) {
	type outcome struct {
		obj     runtime.Object
		failure *ObjectError
		problem *Problem
		err     error
	}
	admit := func(objs []Object, newTarget func() runtime.Object) []outcome {
		out := make([]outcome, len(objs))
		forEach(len(objs), func(i int) {
			o := objs[i]
			adm, err := admitObject(ctx, o.Object)
			switch {
			case err != nil:
				out[i].err = err
			case adm.refused():
				all := adm.all()
				out[i].failure = &ObjectError{Object: o.Describe(), Reason: ReasonRejected, Err: all.ToAggregate()}
				out[i].problem = &Problem{Source: o.Source, Object: o.Describe(), Severity: SeverityError,
					Message: fmt.Sprintf("the API server would refuse it (%s, the first: %s: %s); kubectl cx validate lists every problem",
						plural(len(all), "error"), all[0].Field, errorBody(all[0]))}
			default:
				target := newTarget()
				if err := fromUnstructured(adm.Object, target); err != nil {
					out[i].failure = &ObjectError{Object: o.Describe(), Reason: ReasonRejected, Err: err}
					out[i].problem = &Problem{Source: o.Source, Object: o.Describe(), Severity: SeverityError, Message: err.Error()}
				} else {
					out[i].obj = target
				}
			}
		})
		return out
	}
	set := &resolvedSet{byKey: map[string]*cxv1alpha1.CXTeam{}}
	var failures []*ObjectError
	var problems []Problem
	collect := func(objs []Object, outcomes []outcome, keep func(Object, runtime.Object)) error {
		for i, oc := range outcomes {
			switch {
			case oc.err != nil:
				return oc.err
			case oc.failure != nil:
				failures = append(failures, oc.failure)
				problems = append(problems, *oc.problem)
			default:
				keep(objs[i], oc.obj)
			}
		}
		return nil
	}
	teams := admit(in.Teams, func() runtime.Object { return &cxv1alpha1.CXTeam{} })
	if err := collect(in.Teams, teams, func(o Object, obj runtime.Object) {
		team := obj.(*cxv1alpha1.CXTeam)
		set.teams = append(set.teams, typedTeam{from: o, team: team})
		set.byKey[team.Namespace+"/"+team.Name] = team
	}); err != nil {
		return nil, nil, nil, err
	}
	objectives := admit(in.Objectives, func() runtime.Object { return &cxv1alpha1.CXObjective{} })
	if err := collect(in.Objectives, objectives, func(o Object, obj runtime.Object) {
		set.objectives = append(set.objectives, typedObjective{from: o, obj: obj.(*cxv1alpha1.CXObjective)})
	}); err != nil {
		return nil, nil, nil, err
	}
	return set, failures, problems, nil
}

// built is the outcome of building the generated object of one input.
type built struct {
	object *renderedObject
	// err is why the controller could not build it.
	err error
	// skipped are the stakeholders that are not told.
	skipped []string
	// fatal is an error of kubectl cx itself.
	fatal error
}

// render builds every object it can, the teams' first, in parallel; the
// output keeps the order of the input.
func render(ctx context.Context, in *Inputs, opts RenderOptions) (*rendering, error) {
	set, failures, problems, err := resolveInputs(ctx, in)
	if err != nil {
		return nil, err
	}
	res := &rendering{failures: failures, problems: problems}
	dopts := renderDesiredOptions(opts.Options)
	payload := func(from Object, owner metav1.Object, obj runtime.Object, rule *monitoringv1.PrometheusRule) built {
		u, err := desired.Payload(obj)
		if err != nil {
			return built{fatal: err}
		}
		if owner.GetUID() == "" {
			unstructured.RemoveNestedField(u.Object, "metadata", "ownerReferences")
		}
		return built{object: &renderedObject{from: from, payload: u, rule: rule, noUID: owner.GetUID() == ""}}
	}
	teams := make([]built, len(set.teams))
	forEach(len(set.teams), func(i int) {
		t := set.teams[i]
		config, err := desired.AlertmanagerConfig(t.team, dopts)
		if err != nil {
			teams[i] = built{err: err}
			return
		}
		teams[i] = payload(t.from, t.team, config, nil)
	})
	objectives := make([]built, len(set.objectives))
	forEach(len(set.objectives), func(i int) {
		o := set.objectives[i]
		resolution, err := desired.Resolve(o.obj, set.lookup)
		if err != nil {
			objectives[i] = built{err: err}
			return
		}
		rule, err := desired.PrometheusRule(o.obj, resolution, dopts)
		if err != nil {
			objectives[i] = built{err: err}
			return
		}
		objectives[i] = payload(o.from, o.obj, rule, rule)
		objectives[i].skipped = resolution.Skipped
	})
	missingUID := 0
	for i, b := range append(teams, objectives...) {
		from := func() Object {
			if i < len(teams) {
				return set.teams[i].from
			}
			return set.objectives[i-len(teams)].from
		}()
		switch {
		case b.fatal != nil:
			return nil, b.fatal
		case b.err != nil:
			res.fail(from, b.err)
		default:
			res.objects = append(res.objects, *b.object)
			if b.object.noUID {
				missingUID++
			}
			for _, s := range b.skipped {
				note(opts, from.Describe()+": "+s+"; it is not told")
			}
		}
	}
	if missingUID > 0 {
		note(opts, fmt.Sprintf("%s without metadata.uid (read from files): printed without ownerReferences, "+
			"which the controller points at the live objects", plural(missingUID, "generated object")))
	}
	return res, nil
}

func note(opts RenderOptions, s string) {
	if opts.Notes != nil {
		opts.Notes(s)
	}
}

// renderDesiredOptions fills in the manager's defaults for nil label maps.
func renderDesiredOptions(o desired.Options) desired.Options {
	if o.RuleLabels == nil {
		o.RuleLabels = maps.Clone(desired.DefaultSelectorLabels)
	}
	if o.ConfigLabels == nil {
		o.ConfigLabels = maps.Clone(desired.DefaultSelectorLabels)
	}
	return o
}

// fail records why an input could not be rendered.
func (r *rendering) fail(from Object, err error) {
	reason, ps := controllerProblems(from, err)
	r.failures = append(r.failures, &ObjectError{Object: from.Describe(), Reason: reason, Err: err})
	r.problems = append(r.problems, ps...)
}

// controllerProblems turns an error of the controller's code path into the
// reason the controller would set and one problem per field.
func controllerProblems(from Object, err error) (string, []Problem) {
	p := Problem{Source: from.Source, Object: from.Describe(), Severity: SeverityError}
	var refusal *desired.Refusal
	if errors.As(err, &refusal) {
		p.Field = "spec.owner"
		p.Message = refusal.Reason + ": " + refusal.Message
		return refusal.Reason, []Problem{p}
	}
	if !desired.IsInvalid(err) {
		p.Message = err.Error()
		return cxv1alpha1.ReasonInvalidSpec, []Problem{p}
	}
	var out []Problem
	for _, fe := range fieldErrors(err) {
		q := p
		q.Field = fe.Field
		q.Message = cxv1alpha1.ReasonInvalidSpec + ": " + fe.ErrorBody()
		out = append(out, q)
	}
	if len(out) == 0 {
		p.Message = cxv1alpha1.ReasonInvalidSpec + ": " + err.Error()
		out = append(out, p)
	}
	return cxv1alpha1.ReasonInvalidSpec, out
}

// fieldErrors returns the field errors of the invalid-spec errors of
// internal/desired, internal/slo and internal/routing.
func fieldErrors(err error) field.ErrorList {
	var de *desired.InvalidError
	var se *slo.InvalidError
	var re *routing.InvalidError
	switch {
	case errors.As(err, &de):
		return de.Errors
	case errors.As(err, &se):
		return se.Errors
	case errors.As(err, &re):
		return re.Errors
	}
	return nil
}
