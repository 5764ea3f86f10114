package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cxops/cx-operator/internal/desired"
)

// Output formats of render.
const (
	// FormatObjects prints the PrometheusRule and AlertmanagerConfig
	// objects, as YAML or JSON.
	FormatObjects = "objects"
	// FormatRuleFile prints plain Prometheus rule files, for Prometheus
	// servers without prometheus-operator.
	FormatRuleFile = "rule-file"
)

// RenderCommand are the options of kubectl cx render.
type RenderCommand struct {
	// Input says which manifests to read.
	Input InputOptions
	// Format is FormatObjects or FormatRuleFile.
	Format string
	// Output is yaml or json, for FormatObjects.
	Output string
	// OutputDir, for FormatRuleFile, writes one rule file per objective
	// into that folder instead of one file to stdout.
	OutputDir string
	// Options are the controller's settings.
	Options desired.Options
}

// RunRender reads the manifests and writes the generated objects (or rule
// files) to stdout, and problems and notes to stderr. It returns
// ErrReported when some input could not be rendered, after printing the
// rest.
func RunRender(ctx context.Context, stdout, stderr io.Writer, o RenderCommand) error {
	switch o.Format {
	case "", FormatObjects, FormatRuleFile:
	default:
		return usagef("--format must be %s or %s, not %q", FormatObjects, FormatRuleFile, o.Format)
	}
	switch o.Output {
	case "", "yaml", "json":
	default:
		return usagef("-o must be yaml or json, not %q", o.Output)
	}
	if o.OutputDir != "" && o.Format != FormatRuleFile {
		return usagef("--output-dir writes rule files: give --format=%s", FormatRuleFile)
	}
	in, err := ReadInputs(o.Input)
	if err != nil {
		return err
	}
	notes := func(s string) { diagnose(stderr, "note: %s", s) }
	if o.Format == FormatRuleFile {
		// Rule files have no owner references to leave out.
		notes = nil
	}
	res, err := render(ctx, in, RenderOptions{Options: o.Options, Namespace: o.Input.Namespace, Notes: notes})
	if err != nil {
		return err
	}
	if o.Format == FormatRuleFile {
		err = writeRuleFiles(stdout, stderr, res, o.OutputDir)
	} else {
		err = writeObjects(stdout, res, o.Output)
	}
	if err != nil {
		return err
	}
	return reportProblems(stderr, append(append([]Problem(nil), in.Problems...), res.problems...))
}

// writeObjects writes the payloads as a YAML stream or as a JSON List.
func writeObjects(w io.Writer, res *rendering, output string) error {
	if output == "json" {
		items := make([]any, 0, len(res.objects))
		for _, r := range res.objects {
			items = append(items, r.payload.Object)
		}
		b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "    ")
		if err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	docs := make([][]byte, len(res.objects))
	errs := make([]error, len(res.objects))
	forEach(len(res.objects), func(i int) {
		docs[i], errs[i] = marshalYAML(res.objects[i].payload.Object)
	})
	for i, b := range docs {
		if errs[i] != nil {
			return fmt.Errorf("writing YAML: %w", errs[i])
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// writeRuleFiles writes the rule groups of every PrometheusRule as one
// Prometheus rule file to w, or one file per objective into dir. The groups
// are those of the payloads, so the rules are exactly the ones applied.
func writeRuleFiles(w, stderr io.Writer, res *rendering, dir string) error {
	var rs []renderedObject
	teams := 0
	for _, r := range res.objects {
		if r.rule != nil {
			rs = append(rs, r)
		} else {
			teams++
		}
	}
	if teams > 0 {
		diagnose(stderr, "note: the routing of %s is not written: it needs prometheus-operator's AlertmanagerConfig", plural(teams, "CXTeam"))
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, unwrapPathError(err))
		}
		for _, r := range rs {
			b, err := ruleFile([][]any{payloadGroups(r)}, r.from.Describe())
			if err != nil {
				return err
			}
			path := filepath.Join(dir, r.rule.Namespace+"_"+r.rule.Name+".rules.yaml")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", path, unwrapPathError(err))
			}
		}
		return nil
	}
	var parts [][]any
	seen := map[string]string{}
	var from []string
	groups := 0
	for _, r := range rs {
		for _, g := range r.rule.Spec.Groups {
			if other, dup := seen[g.Name]; dup {
				return fmt.Errorf("rule group %s of %s and of %s: one rule file cannot hold two groups of the same name; "+
					"write one file per objective with --output-dir", g.Name, other, r.from.Describe())
			}
			seen[g.Name] = r.from.Describe()
		}
		parts = append(parts, payloadGroups(r))
		groups += len(parts[len(parts)-1])
		from = append(from, r.from.Describe())
	}
	if groups == 0 {
		return nil
	}
	source := strings.Join(from, ", ")
	if len(from) > 5 {
		source = plural(len(from), "CXObjective")
	}
	b, err := ruleFile(parts, source)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// payloadGroups are the rule groups of a rendered PrometheusRule's payload.
func payloadGroups(r renderedObject) []any {
	groups, _, _ := unstructured.NestedSlice(r.payload.Object, "spec", "groups")
	return groups
}

// ruleFile writes rule groups as a Prometheus rule file: the groups (of one
// or more objectives) under a top-level groups key, as rules.RuleFile writes
// a spec and prometheus-operator hands it to Prometheus, with the fast YAML
// writer.
func ruleFile(groups [][]any, from string) ([]byte, error) {
	b, err := marshalYAMLList("groups", groups)
	if err != nil {
		return nil, fmt.Errorf("writing the rule file: %w", err)
	}
	return append([]byte("# Prometheus rule file written by kubectl cx render from "+from+".\n"), b...), nil
}
