package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
	"github.com/cxops/cx-operator/internal/slo"
)

// This file maps OpenSLO v1 (https://openslo.com) onto CXObjectives: kind
// SLO with its SLI (inline, or by name among the files given) and its
// alert policies (inline, or by name), as far as the two models agree, and
// a warning for every field that does not map.

// OpenSLOVersion is the only OpenSLO apiVersion that import reads.
const OpenSLOVersion = "openslo/v1"

// OpenSLO kinds and comparison operators.
const (
	osloKindSLO            = "SLO"
	osloKindSLI            = "SLI"
	osloKindAlertPolicy    = "AlertPolicy"
	osloKindAlertCondition = "AlertCondition"

	// specField is the spec of an OpenSLO document, in field paths.
	specField = "spec"

	opLT  = "lt"
	opLTE = "lte"
	opGT  = "gt"
	opGTE = "gte"
)

// ImportCommand are the options of kubectl cx import openslo.
type ImportCommand struct {
	// Files are the OpenSLO files or folders, or Stdin.
	Files []string
	// Recursive descends into subfolders.
	Recursive bool
	// Owner is the owner team of every objective, overriding the owner
	// metadata label of the SLOs.
	Owner string
	// Namespace, when set, is written into every objective.
	Namespace string
	// Stdin is read for the file Stdin.
	Stdin io.Reader
}

// importer maps one set of OpenSLO files.
type importer struct {
	o        ImportCommand
	problems []Problem
	slis     map[string]*osloDoc
	policies map[string]*osloDoc
	conds    map[string]*osloDoc
}

func (im *importer) warn(d *osloDoc, path, format string, args ...any) {
	im.problems = append(im.problems, Problem{Source: d.obj.Source, Object: d.kind + " " + d.meta.Name, Field: path,
		Severity: SeverityWarning, Message: fmt.Sprintf(format, args...)})
}

func (im *importer) fail(d *osloDoc, path, format string, args ...any) {
	im.problems = append(im.problems, Problem{Source: d.obj.Source, Object: d.kind + " " + d.meta.Name, Field: path,
		Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
}

// RunImportOpenSLO reads OpenSLO v1 files and writes a CXObjective manifest
// for each SLO that maps to stdout, and a warning for each field that does
// not map (and an error for each SLO that cannot map at all) to stderr.
func RunImportOpenSLO(ctx context.Context, stdout, stderr io.Writer, o ImportCommand) error {
	if o.Owner != "" {
		if msgs := validation.IsDNS1123Label(o.Owner); len(msgs) > 0 {
			return usagef("--owner %q is not a CXTeam name: %s", o.Owner, strings.Join(msgs, "; "))
		}
	}
	if len(o.Files) == 0 {
		return usagef("give the OpenSLO files with -f FILE or -f DIR (or -f - for standard input)")
	}
	im := &importer{o: o, slis: map[string]*osloDoc{}, policies: map[string]*osloDoc{}, conds: map[string]*osloDoc{}}
	slos, err := im.read()
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	n := 0
	for _, d := range slos {
		for _, obj := range im.mapSLO(d) {
			u, ok := im.admitted(ctx, d, obj)
			if !ok {
				continue
			}
			b, err := yaml.Marshal(u.Object)
			if err != nil {
				return fmt.Errorf("writing YAML: %w", err)
			}
			if n > 0 {
				doc.WriteString("---\n")
			}
			n++
			fmt.Fprintf(&doc, "# Imported from OpenSLO SLO %s (%s) by kubectl cx import openslo.\n", d.meta.Name, d.obj.Source)
			doc.Write(b)
		}
	}
	if _, err := stdout.Write(doc.Bytes()); err != nil {
		return fmt.Errorf("writing the manifests: %w", err)
	}
	return im.report(stderr)
}

// read decodes every document of the files and returns the SLOs.
func (im *importer) read() ([]*osloDoc, error) {
	files, err := expandFiles(im.o.Files, im.o.Recursive)
	if err != nil {
		return nil, err
	}
	var slos []*osloDoc
	for _, f := range files {
		data, err := readFile(f, im.o.Stdin)
		if err != nil {
			return nil, err
		}
		objs, problems := parseManifests(displayName(f), data)
		im.problems = append(im.problems, problems...)
		for _, obj := range objs {
			if d := im.decode(obj); d != nil && d.kind == osloKindSLO {
				slos = append(slos, d)
			}
		}
	}
	return slos, nil
}

// report writes each problem once, in document order, and returns
// ErrReported when one is an error.
func (im *importer) report(stderr io.Writer) error {
	failed := false
	seen := map[string]bool{}
	for _, p := range sortProblems(im.problems) {
		line := p.String()
		if seen[line] {
			continue
		}
		seen[line] = true
		diagnose(stderr, "%s", line)
		failed = failed || p.Severity == SeverityError
	}
	if failed {
		return ErrReported
	}
	return nil
}

// mapSLO turns one SLO into one CXObjective per objective that maps.
func (im *importer) mapSLO(d *osloDoc) []*cxv1alpha1.CXObjective {
	spec := d.spec.(*osloSLOSpec)
	if len(spec.Objectives) == 0 {
		im.fail(d, "spec.objectives", "Required value: an SLO needs at least one objective")
		return nil
	}
	base, ok := im.baseObjective(d, spec)
	if !ok {
		return nil
	}
	var out []*cxv1alpha1.CXObjective
	for i, objective := range spec.Objectives {
		path := fmt.Sprintf("spec.objectives[%d]", i)
		obj := base.DeepCopy()
		if len(spec.Objectives) > 1 {
			suffix := dnsLabel(objective.DisplayName)
			if suffix == "" {
				suffix = strconv.Itoa(i + 1)
			}
			obj.Name = base.Name + "-" + suffix
		}
		if im.mapObjective(d, spec, objective, path, obj) {
			out = append(out, obj)
		}
	}
	return out
}

// baseObjective maps what the objectives of an SLO share: names, owner,
// window and alerting.
func (im *importer) baseObjective(d *osloDoc, spec *osloSLOSpec) (*cxv1alpha1.CXObjective, bool) {
	obj := &cxv1alpha1.CXObjective{
		TypeMeta:   metav1.TypeMeta{APIVersion: cxv1alpha1.GroupVersion.String(), Kind: kindObjective},
		ObjectMeta: metav1.ObjectMeta{Name: d.meta.Name, Namespace: im.o.Namespace},
	}
	if d.meta.DisplayName != "" {
		im.warn(d, "metadata.displayName", "not mapped: alert summaries name an objective by its journey and touchpoint")
	}
	if len(d.meta.Annotations) > 0 {
		im.warn(d, "metadata.annotations", "not mapped: a CXObjective's alert annotations are spec.alerting.annotations, which are alert templates")
	}
	obj.Spec.Description = strings.TrimSpace(spec.Description)
	if len(obj.Spec.Description) > 1024 {
		obj.Spec.Description = obj.Spec.Description[:1024]
		im.warn(d, "spec.description", "cut to the 1024 characters a CXObjective's description holds")
	}
	obj.Spec.Journey = dnsLabel(spec.Service)
	switch {
	case spec.Service == "":
		obj.Spec.Journey = dnsLabel(d.meta.Name)
		im.warn(d, "spec.service", "not set: the journey is the SLO's name, %q", obj.Spec.Journey)
	case obj.Spec.Journey != spec.Service:
		im.warn(d, "spec.service", "%q becomes the journey %q (lower-case letters, digits and dashes)", spec.Service, obj.Spec.Journey)
	}
	owner, ok := im.owner(d)
	if !ok {
		return nil, false
	}
	obj.Spec.Owner = cxv1alpha1.TeamRef{Team: owner}
	window, ok := im.window(d, spec.TimeWindow)
	if !ok {
		return nil, false
	}
	obj.Spec.Window = window
	obj.Spec.Alerting = im.alerting(d, spec.AlertPolicies)
	return obj, true
}

// ownerLabels are the metadata labels that name the owner team, in order.
var ownerLabels = []string{"owner", "team", "cx-team", "cx_team"}

func (im *importer) owner(d *osloDoc) (string, bool) {
	var fromLabel string
	for _, key := range ownerLabels {
		if v := labelValue(d.meta.Labels[key]); v != "" {
			fromLabel = v
			break
		}
	}
	switch {
	case im.o.Owner != "":
		if fromLabel != "" && fromLabel != im.o.Owner {
			im.warn(d, "metadata.labels", "the label names owner %q; --owner %q wins", fromLabel, im.o.Owner)
		}
		return im.o.Owner, true
	case fromLabel == "":
		im.fail(d, "metadata.labels", "no owner team: give --owner TEAM, or a metadata label owner or team")
		return "", false
	}
	team := dnsLabel(fromLabel)
	if team != fromLabel {
		im.warn(d, "metadata.labels", "owner %q becomes the CXTeam name %q", fromLabel, team)
	}
	return team, team != ""
}

// labelValue reads an OpenSLO label: a string, or a list of strings (the
// first one).
func labelValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		if len(x) > 0 {
			s, _ := x[0].(string)
			return s
		}
	}
	return ""
}

// osloDurationRE is OpenSLO's duration shorthand.
var osloDurationRE = regexp.MustCompile(`^([1-9][0-9]*)(s|m|h|d|w|M|Q|Y)$`)

func (im *importer) window(d *osloDoc, tws []osloTimeWindow) (cxv1alpha1.Duration, bool) {
	if len(tws) == 0 {
		im.warn(d, "spec.timeWindow", "not set: the window is the CXObjective's default, 30d")
		return "", true
	}
	if len(tws) > 1 {
		im.warn(d, "spec.timeWindow", "%d windows: only the first is mapped, a CXObjective has one", len(tws))
	}
	tw := tws[0]
	if tw.Calendar != nil || (tw.IsRolling != nil && !*tw.IsRolling) {
		im.warn(d, "spec.timeWindow[0].calendar", "not mapped: a CXObjective's window is rolling, not calendar-aligned; %s is used as a rolling window", tw.Duration)
	}
	m := osloDurationRE.FindStringSubmatch(tw.Duration)
	if m == nil {
		im.fail(d, "spec.timeWindow[0].duration", "%q is not an OpenSLO duration such as 28d or 4w", tw.Duration)
		return "", false
	}
	n, _ := strconv.Atoi(m[1])
	unit := m[2]
	switch unit {
	case "M":
		im.warn(d, "spec.timeWindow[0].duration", "%s: a month is taken as 30 days", tw.Duration)
		n, unit = n*30, "d"
	case "Q":
		im.warn(d, "spec.timeWindow[0].duration", "%s: a quarter is taken as 90 days", tw.Duration)
		n, unit = n*90, "d"
	case "Y":
		n, unit = n*365, "d"
	case "s":
		im.fail(d, "spec.timeWindow[0].duration", "%s: a CXObjective's window is between 1d and 90d", tw.Duration)
		return "", false
	}
	w := cxv1alpha1.Duration(fmt.Sprintf("%d%s", n, unit))
	dur, err := slo.ParseDuration(string(w))
	if err != nil || dur < 24*time.Hour || dur > 90*24*time.Hour {
		im.fail(d, "spec.timeWindow[0].duration", "%s: a CXObjective's window is between 1d and 90d", tw.Duration)
		return "", false
	}
	return w, true
}

// mapObjective maps one objective of an SLO, with its SLI, onto obj.
func (im *importer) mapObjective(d *osloDoc, spec *osloSLOSpec, o osloObjective, path string, obj *cxv1alpha1.CXObjective) bool {
	target, ok := im.target(d, o, path)
	if !ok {
		return false
	}
	obj.Spec.Target = target
	if o.DisplayName != "" && len(spec.Objectives) == 1 {
		im.warn(d, path+".displayName", "not mapped: an objective has no name of its own in a CXObjective")
	}
	if o.CompositeWeight != nil {
		im.warn(d, path+".compositeWeight", "not mapped: CXObjectives are not composite")
	}
	sli, sliDoc, sliPath := im.indicator(d, spec, o, path)
	if sli == nil {
		return false
	}
	switch spec.BudgetingMethod {
	case "", "Occurrences":
	case "Timeslices", "RatioTimeslices":
		if sli.RatioMetric != nil {
			im.warn(d, "spec.budgetingMethod", "%s: not mapped: an error-ratio CXObjective counts events (Occurrences), not time slices", spec.BudgetingMethod)
		}
		if o.TimeSliceTarget != nil || o.TimeSliceWindow != nil {
			im.warn(d, path+".timeSliceTarget", "not mapped: a score CXObjective samples the gauge at each rule evaluation, not in time slices")
		}
	default:
		im.warn(d, "spec.budgetingMethod", "not mapped: unknown budgeting method %q", spec.BudgetingMethod)
	}
	var mapped bool
	switch {
	case sli.RatioMetric != nil && sli.ThresholdMetric != nil:
		im.fail(sliDoc, sliPath, "an SLI sets either ratioMetric or thresholdMetric")
	case sli.RatioMetric != nil:
		mapped = im.ratioSLI(sliDoc, sli.RatioMetric, sliPath+".ratioMetric", obj)
	case sli.ThresholdMetric != nil:
		mapped = im.thresholdSLI(sliDoc, sli.ThresholdMetric, sliPath+".thresholdMetric", d, o, path, obj)
	default:
		im.fail(sliDoc, sliPath, "Required value: an SLI needs a ratioMetric or a thresholdMetric")
	}
	return mapped
}

// target maps target (a fraction) or targetPercent onto the percentage
// text of a CXObjective, exactly, in decimal.
func (im *importer) target(d *osloDoc, o osloObjective, path string) (string, bool) {
	var r *big.Rat
	var ok bool
	switch {
	case o.Target != nil && o.TargetPercent != nil:
		im.fail(d, path, "sets both target and targetPercent")
		return "", false
	case o.Target != nil:
		r, ok = new(big.Rat).SetString(o.Target.String())
		if ok {
			r.Mul(r, big.NewRat(100, 1))
		}
	case o.TargetPercent != nil:
		r, ok = new(big.Rat).SetString(o.TargetPercent.String())
	default:
		im.fail(d, path+".target", "Required value: an objective needs target or targetPercent")
		return "", false
	}
	if !ok || r.Sign() <= 0 || r.Cmp(big.NewRat(100, 1)) >= 0 {
		im.fail(d, path+".target", "must be a share strictly between 0 and 1 (or a percentage between 0 and 100)")
		return "", false
	}
	text := strings.TrimRight(strings.TrimRight(r.FloatString(6), "0"), ".")
	if back, _ := new(big.Rat).SetString(text); back.Cmp(r) != 0 {
		im.warn(d, path+".target", "rounded to %s%%: a CXObjective's target has at most 6 decimals", text)
	}
	return text, true
}

// decimalText writes a positive number with at most decimals decimals.
func decimalText(n *json.Number, decimals int) (string, bool) {
	if n == nil {
		return "", false
	}
	r, ok := new(big.Rat).SetString(n.String())
	if !ok || r.Sign() <= 0 {
		return "", false
	}
	text := strings.TrimRight(strings.TrimRight(r.FloatString(decimals), "0"), ".")
	back, _ := new(big.Rat).SetString(text)
	return text, back.Cmp(r) == 0
}

// dnsLabel turns free text into a DNS label: lower case, dashes for
// everything else, at most 63 characters.
func dnsLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	return out
}

// admitted checks a mapped objective the way the API server would, and
// returns it as the manifest to write.
func (im *importer) admitted(ctx context.Context, d *osloDoc, obj *cxv1alpha1.CXObjective) (*unstructured.Unstructured, bool) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		im.fail(d, "", "writing the CXObjective: %v", err)
		return nil, false
	}
	u := &unstructured.Unstructured{Object: m}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	check := u.DeepCopy()
	if check.GetNamespace() == "" {
		check.SetNamespace("default")
	}
	adm, err := admitObject(ctx, check)
	if err != nil {
		im.fail(d, "", "%v", err)
		return nil, false
	}
	for _, fe := range adm.all() {
		im.fail(d, "", "the CXObjective %s would be refused: %s: %s", obj.Name, fe.Field, errorBody(fe))
	}
	return u, !adm.refused()
}
