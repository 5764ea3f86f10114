package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/desired"
	"github.com/cxops/cx-operator/internal/routing"
)

// ValidateCommand are the options of kubectl cx validate.
type ValidateCommand struct {
	// Input says which manifests to read.
	Input InputOptions
}

// Validate returns every problem that the API server or the controller
// would report for the manifests, in the order of the documents:
//
//   - documents that are not Kubernetes objects, or of an unknown kind;
//   - for each CXObjective and CXTeam, what the API server would refuse on
//     create, with the embedded CRDs: unknown fields, metadata, the OpenAPI
//     schema, list types and the CRD's CEL rules, with the API server's
//     messages;
//   - for the objects it would accept, what the controller would report:
//     an owner team that is missing among the manifests or does not allow
//     the objective's namespace (its Ready reason and message), a spec that
//     cannot become rules or routes (InvalidSpec, per field), and, as
//     warnings, stakeholders that are not told and severities that no
//     channel of a team receives;
//   - two documents for the same object.
func Validate(ctx context.Context, in *Inputs) ([]Problem, error) {
	problems := append([]Problem(nil), in.Problems...)
	set := &resolvedSet{byKey: map[string]*cxv1alpha1.CXTeam{}}
	checked := map[string]Source{}
	var objectives []typedObjective
	var teams []typedTeam
	rejectedTeams := map[string]Source{}
	var all []Object
	all = append(append(all, in.Teams...), in.Objectives...)
	for _, o := range all {
		problems = append(problems, duplicateFields(o)...)
		key := o.Object.GetKind() + " " + o.Object.GetNamespace() + "/" + o.Object.GetName()
		if first, dup := checked[key]; dup && o.Object.GetName() != "" {
			problems = append(problems, Problem{Source: o.Source, Object: o.Describe(), Severity: SeverityError, Field: "metadata.name",
				Message: "Duplicate value: the same object is also in " + first.String() + "; the one applied last wins"})
		}
		checked[key] = o.Source
		adm, err := admitObject(ctx, o.Object)
		if err != nil {
			return nil, err
		}
		problems = append(problems, admissionProblems(o, adm)...)
		if len(adm.Errors) > 0 {
			// The API server refuses it: the controller never sees it.
			// (Unknown fields alone would only be dropped under
			// --validate=false, so the controller's checks still run.)
			if o.Object.GetKind() == kindTeam {
				rejectedTeams[o.Object.GetNamespace()+"/"+o.Object.GetName()] = o.Source
			}
			continue
		}
		switch o.Object.GetKind() {
		case kindTeam:
			team := &cxv1alpha1.CXTeam{}
			if err := fromUnstructured(adm.Object, team); err != nil {
				problems = append(problems, Problem{Source: o.Source, Object: o.Describe(), Severity: SeverityError, Message: err.Error()})
				continue
			}
			set.byKey[team.Namespace+"/"+team.Name] = team
			teams = append(teams, typedTeam{from: o, team: team})
			problems = append(problems, teamProblems(o, team)...)
		case kindObjective:
			obj := &cxv1alpha1.CXObjective{}
			if err := fromUnstructured(adm.Object, obj); err != nil {
				problems = append(problems, Problem{Source: o.Source, Object: o.Describe(), Severity: SeverityError, Message: err.Error()})
				continue
			}
			objectives = append(objectives, typedObjective{from: o, obj: obj})
		}
	}
	// Objectives last: their teams are every team of the manifests.
	received := map[string]map[string][]string{}
	for _, o := range objectives {
		ps, rule := objectiveProblems(o, set, rejectedTeams)
		problems = append(problems, ps...)
		if rule == nil {
			continue
		}
		for _, g := range rule.Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				key := r.Labels[cxv1alpha1.AlertLabelNamespace] + "/" + r.Labels[cxv1alpha1.AlertLabelTeam]
				sev := r.Labels[cxv1alpha1.AlertLabelSeverity]
				if received[key] == nil {
					received[key] = map[string][]string{}
				}
				if from := o.from.Describe(); !slices.Contains(received[key][sev], from) {
					received[key][sev] = append(received[key][sev], from)
				}
			}
		}
	}
	for _, t := range teams {
		problems = append(problems, unroutedProblems(t, received[t.team.Namespace+"/"+t.team.Name])...)
	}
	return sortProblems(problems), nil
}

// unroutedProblems warns about each severity that no channel of the team
// receives while objectives among the manifests raise alerts of it for the
// team: those alerts reach the team's route and are dropped.
func unroutedProblems(t typedTeam, received map[string][]string) []Problem {
	var out []Problem
	for _, s := range routing.Unrouted(t.team) {
		if from := received[string(s)]; len(from) > 0 {
			out = append(out, Problem{Source: t.from.Source, Object: t.from.Describe(), Severity: SeverityWarning, Field: "spec.channels",
				Message: fmt.Sprintf("no channel receives %s, so the %s alerts of %s for this team are dropped", s, s, strings.Join(from, ", "))})
		}
	}
	return out
}

// admissionProblems turns the API server's errors into problems.
func admissionProblems(o Object, adm admission) []Problem {
	var out []Problem
	for _, fe := range adm.all() {
		out = append(out, Problem{Source: o.Source, Object: o.Describe(), Severity: SeverityError, Field: fe.Field, Message: errorBody(fe)})
	}
	if adm.CELSkipped {
		out = append(out, Problem{Source: o.Source, Object: o.Describe(), Severity: SeverityWarning, Message: celSkippedMessage})
	}
	return out
}

// errorBody is the API server's message without the field path.
func errorBody(fe *field.Error) string {
	if _, omit := fe.BadValue.(field.OmitValueType); omit && fe.Type == field.ErrorTypeNotSupported && fe.Detail != "" {
		return fe.Detail
	}
	return fe.ErrorBody()
}

// teamProblems are what the team controller would report as errors.
func teamProblems(o Object, team *cxv1alpha1.CXTeam) []Problem {
	if _, err := desired.AlertmanagerConfig(team, desired.DefaultOptions()); err != nil {
		_, ps := controllerProblems(o, err)
		return ps
	}
	return nil
}

// objectiveProblems are what the objective controller would report, and
// the rule it would apply when it can build one.
func objectiveProblems(o typedObjective, set *resolvedSet, rejectedTeams map[string]Source) ([]Problem, *monitoringv1.PrometheusRule) {
	res, err := desired.Resolve(o.obj, set.lookup)
	if err != nil {
		_, ps := controllerProblems(o.from, err)
		if src, ok := rejectedTeams[desired.OwnerKey(o.obj)]; ok {
			for i := range ps {
				ps[i].Message += " (the CXTeam is in " + src.String() + ", which the API server would refuse)"
			}
		}
		// The rest of the spec can be checked all the same, with a
		// stand-in for the owner, so that one run shows every problem.
		ns, name, _ := strings.Cut(desired.OwnerKey(o.obj), "/")
		standIn := &cxv1alpha1.CXTeam{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		if _, err := desired.PrometheusRule(o.obj, desired.Resolution{Owner: standIn}, desired.DefaultOptions()); err != nil {
			_, more := controllerProblems(o.from, err)
			ps = append(ps, more...)
		}
		return ps, nil
	}
	var out []Problem
	for _, skipped := range res.Skipped {
		f := "spec.stakeholders"
		for i, s := range o.obj.Spec.Stakeholders {
			ns := s.Namespace
			if ns == "" {
				ns = o.obj.Namespace
			}
			if strings.Contains(skipped, " "+ns+"/"+s.Team+" ") {
				f = fmt.Sprintf("spec.stakeholders[%d]", i)
				break
			}
		}
		out = append(out, Problem{Source: o.from.Source, Object: o.from.Describe(), Severity: SeverityWarning, Field: f,
			Message: skipped + "; the stakeholder is not told"})
	}
	rule, err := desired.PrometheusRule(o.obj, res, desired.DefaultOptions())
	if err == nil {
		err = desired.ValidateRule(rule)
	}
	if err != nil {
		_, ps := controllerProblems(o.from, err)
		return append(out, ps...), nil
	}
	return out, rule
}

// duplicateFields reports a mapping key written twice, which the API server
// refuses under kubectl's default --validate=strict.
func duplicateFields(o Object) []Problem {
	if o.Raw == nil {
		return nil
	}
	if _, err := yaml.YAMLToJSONStrict(o.Raw); err != nil && strings.Contains(err.Error(), "already set in map") {
		return []Problem{{Source: o.Source, Object: o.Describe(), Severity: SeverityError,
			Message: "a field is written twice (the API server rejects it with kubectl's default --validate=strict): " + yamlMessage(err)}}
	}
	return nil
}

// sortProblems orders problems by file and document, keeping the order of
// the checks within a document.
func sortProblems(ps []Problem) []Problem {
	out := append([]Problem(nil), ps...)
	less := func(a, b Source) bool {
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Doc != b.Doc {
			return a.Doc < b.Doc
		}
		return a.Item < b.Item
	}
	// A stable insertion sort: the lists are short.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j].Source, out[j-1].Source); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// RunValidate reads the manifests, writes one line per problem to stdout
// and a summary to stderr, and returns ErrReported when there is an error.
func RunValidate(ctx context.Context, stdout, stderr io.Writer, o ValidateCommand) error {
	in, err := ReadInputs(o.Input)
	if err != nil {
		return err
	}
	problems, err := Validate(ctx, in)
	if err != nil {
		return err
	}
	hasErrors, err := writeProblems(stdout, problems)
	if err != nil {
		return err
	}
	errs, warnings := 0, 0
	for _, p := range problems {
		if p.Severity == SeverityError {
			errs++
		} else {
			warnings++
		}
	}
	objects := len(in.Objectives) + len(in.Teams)
	diagnose(stderr, "validated %s (%s, %s): %s, %s", plural(objects, "object"),
		plural(len(in.Teams), "CXTeam"), plural(len(in.Objectives), "CXObjective"), plural(errs, "error"), plural(warnings, "warning"))
	if hasErrors {
		return ErrReported
	}
	return nil
}
