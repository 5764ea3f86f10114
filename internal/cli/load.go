package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	cxv1alpha1 "github.com/cxops/cx-operator/api/v1alpha1"
)

// Kinds that kubectl cx reads.
const (
	kindObjective = "CXObjective"
	kindTeam      = "CXTeam"
	kindSecret    = "Secret"
	kindList      = "List"
)

// Stdin is the file name that reads standard input, as with kubectl -f -.
const Stdin = "-"

// Source says where a document was read: a file, the position of the
// document in it (from 1, counting only documents that hold something),
// and the position in the items of a List (from 1; 0 outside a List).
type Source struct {
	// File is the path as given on the command line, or <stdin>.
	File string
	// Doc is the document's position in the file, from 1.
	Doc int
	// Item is the position in a List's items, from 1, or 0.
	Item int
}

// String writes "FILE: document N" or "FILE: document N, item M".
func (s Source) String() string {
	if s.Doc == 0 {
		return s.File
	}
	out := fmt.Sprintf("%s: document %d", s.File, s.Doc)
	if s.Item > 0 {
		out += fmt.Sprintf(", item %d", s.Item)
	}
	return out
}

// Object is a Kubernetes object read from a manifest.
type Object struct {
	// Source is where it was read.
	Source Source
	// Object is the object as written.
	Object *unstructured.Unstructured
	// Raw is the document as written, for the checks that need the text
	// (duplicate fields); nil for the items of a List.
	Raw []byte
}

// Describe names the object as "Kind namespace/name" (or "Kind name").
func (o Object) Describe() string { return describe(o.Object) }

func describe(u *unstructured.Unstructured) string {
	name := u.GetName()
	if name == "" {
		name = "<no name>"
	}
	if ns := u.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return u.GetKind() + " " + name
}

// InputOptions say which manifests to read.
type InputOptions struct {
	// Files are files or folders, or Stdin; a folder contributes its .yaml,
	// .yml and .json files in name order, except kustomization files.
	Files []string
	// Recursive descends into the subfolders of folders.
	Recursive bool
	// Namespace is given to objects without metadata.namespace, as kubectl
	// apply would; "default" when empty.
	Namespace string
	// SkipUnknownKinds turns objects of kinds other than CXObjective,
	// CXTeam and Secret into warnings instead of errors.
	SkipUnknownKinds bool
	// Stdin is read for the file Stdin; os.Stdin when nil.
	Stdin io.Reader
}

// namespace returns the namespace for objects without one.
func (o InputOptions) namespace() string {
	if o.Namespace == "" {
		return "default"
	}
	return o.Namespace
}

// Inputs are the manifests read.
type Inputs struct {
	// Objectives and Teams, in the order read, with the namespace filled in.
	Objectives, Teams []Object
	// Problems are documents that are not Kubernetes objects, or of kinds
	// kubectl cx does not read.
	Problems []Problem
	// Secrets counts the Secrets that were skipped: they are never read
	// further, never printed.
	Secrets int
}

// ReadInputs reads the manifests of the files and folders in o. It returns
// an error only when a file or folder cannot be read at all; documents that
// are not objects, or not of a known kind, are Problems.
func ReadInputs(o InputOptions) (*Inputs, error) {
	if len(o.Files) == 0 {
		return nil, usagef("give the manifests with -f FILE or -f DIR (or -f - for standard input)")
	}
	files, err := expandFiles(o.Files, o.Recursive)
	if err != nil {
		return nil, err
	}
	in := &Inputs{}
	for _, f := range files {
		data, err := readFile(f, o.Stdin)
		if err != nil {
			return nil, err
		}
		objs, problems := parseManifests(displayName(f), data)
		in.Problems = append(in.Problems, problems...)
		for _, obj := range objs {
			in.add(obj, o)
		}
	}
	return in, nil
}

func displayName(f string) string {
	if f == Stdin {
		return "<stdin>"
	}
	return f
}

// add sorts one object by kind.
func (in *Inputs) add(obj Object, o InputOptions) {
	gvk := obj.Object.GroupVersionKind()
	switch {
	case gvk.Group == cxv1alpha1.GroupVersion.Group && gvk.Version == cxv1alpha1.GroupVersion.Version &&
		(gvk.Kind == kindObjective || gvk.Kind == kindTeam):
		if obj.Object.GetNamespace() == "" {
			obj.Object.SetNamespace(o.namespace())
		}
		if gvk.Kind == kindObjective {
			in.Objectives = append(in.Objectives, obj)
		} else {
			in.Teams = append(in.Teams, obj)
		}
	case gvk.Group == cxv1alpha1.GroupVersion.Group:
		in.Problems = append(in.Problems, Problem{Source: obj.Source, Object: obj.Describe(), Severity: SeverityError,
			Message: fmt.Sprintf("unknown kind %s of %s: kubectl cx reads CXObjective and CXTeam of %s",
				gvk.Kind, gvk.GroupVersion(), cxv1alpha1.GroupVersion)})
	case gvk.Group == "" && gvk.Version == "v1" && gvk.Kind == kindSecret:
		// Secrets hold the channels' URLs and keys; they are never read.
		in.Secrets++
	default:
		sev := SeverityError
		msg := fmt.Sprintf("unknown kind %s: kubectl cx reads CXObjective and CXTeam of %s and skips Secrets; "+
			"pass --skip-unknown-kinds to skip other kinds", kindOf(gvk), cxv1alpha1.GroupVersion)
		if o.SkipUnknownKinds {
			sev = SeverityWarning
			msg = fmt.Sprintf("skipped: kubectl cx does not read %s", kindOf(gvk))
		}
		in.Problems = append(in.Problems, Problem{Source: obj.Source, Object: obj.Describe(), Severity: sev, Message: msg})
	}
}

func kindOf(gvk schema.GroupVersionKind) string {
	return gvk.Kind + " (" + gvk.GroupVersion().String() + ")"
}

// expandFiles turns folders into their manifest files.
func expandFiles(paths []string, recursive bool) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == Stdin {
			out = append(out, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, unwrapPathError(err))
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		found, err := manifestFiles(p, recursive)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("reading %s: the folder holds no .yaml, .yml or .json files", p)
		}
		out = append(out, found...)
	}
	return out, nil
}

// manifestFiles lists the manifests of a folder in name order, skipping
// kustomization files (they are not Kubernetes objects).
func manifestFiles(dir string, recursive bool) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		switch strings.ToLower(filepath.Ext(name)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		if base := strings.TrimSuffix(name, filepath.Ext(name)); base == "kustomization" || base == "Kustomization" {
			return nil
		}
		out = append(out, path)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, unwrapPathError(err))
	}
	sort.Strings(out)
	return out, nil
}

// unwrapPathError drops the path of an *fs.PathError, which the message
// around it already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func readFile(f string, stdin io.Reader) ([]byte, error) {
	if f == Stdin {
		if stdin == nil {
			stdin = os.Stdin
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f, unwrapPathError(err))
	}
	return data, nil
}

// parseManifests splits a file into its YAML (or JSON) documents and
// decodes each into an object. The items of a List become objects of their
// own.
func parseManifests(file string, data []byte) ([]Object, []Problem) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []Object
	var problems []Problem
	doc := 0
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, problems
		}
		if err != nil {
			problems = append(problems, Problem{Source: Source{File: file, Doc: doc + 1}, Severity: SeverityError,
				Message: "cannot be read as YAML: " + err.Error()})
			return objs, problems
		}
		var content any
		if err := utilyaml.Unmarshal(raw, &content); err != nil {
			doc++
			problems = append(problems, Problem{Source: Source{File: file, Doc: doc}, Severity: SeverityError,
				Message: "not valid YAML: " + yamlMessage(err)})
			continue
		}
		if content == nil {
			// Only comments, or an empty document between two ---.
			continue
		}
		doc++
		src := Source{File: file, Doc: doc}
		m, ok := content.(map[string]any)
		if !ok {
			problems = append(problems, Problem{Source: src, Severity: SeverityError,
				Message: fmt.Sprintf("not a Kubernetes object (a YAML %s, not a mapping with apiVersion and kind)", yamlKind(content))})
			continue
		}
		obj, problem := toObject(src, m)
		if problem != nil {
			problems = append(problems, *problem)
			continue
		}
		if obj.GetKind() == kindList && strings.HasSuffix(obj.GetAPIVersion(), "v1") {
			items, ps := listItems(src, obj)
			objs = append(objs, items...)
			problems = append(problems, ps...)
			continue
		}
		objs = append(objs, Object{Source: src, Object: obj, Raw: raw})
	}
}

func toObject(src Source, m map[string]any) (*unstructured.Unstructured, *Problem) {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if apiVersion == "" || kind == "" {
		return nil, &Problem{Source: src, Severity: SeverityError, Message: "not a Kubernetes object (no apiVersion/kind)"}
	}
	if _, err := schema.ParseGroupVersion(apiVersion); err != nil {
		return nil, &Problem{Source: src, Severity: SeverityError, Field: "apiVersion",
			Message: fmt.Sprintf("%q is not group/version: %v", apiVersion, err)}
	}
	if md, ok := m["metadata"]; ok && md != nil {
		if _, ok := md.(map[string]any); !ok {
			return nil, &Problem{Source: src, Severity: SeverityError, Field: "metadata",
				Message: fmt.Sprintf("must be a mapping, not a YAML %s", yamlKind(md))}
		}
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// listItems returns the items of a v1 List, such as kubectl get -o yaml
// writes.
func listItems(src Source, list *unstructured.Unstructured) ([]Object, []Problem) {
	raw, _ := list.Object["items"].([]any)
	var objs []Object
	var problems []Problem
	for i, item := range raw {
		s := src
		s.Item = i + 1
		m, ok := item.(map[string]any)
		if !ok {
			problems = append(problems, Problem{Source: s, Severity: SeverityError,
				Message: fmt.Sprintf("not a Kubernetes object (a YAML %s, not a mapping with apiVersion and kind)", yamlKind(item))})
			continue
		}
		obj, problem := toObject(s, m)
		if problem != nil {
			problems = append(problems, *problem)
			continue
		}
		objs = append(objs, Object{Source: s, Object: obj})
	}
	return objs, problems
}

func yamlKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case map[string]any:
		return "mapping"
	default:
		return "scalar"
	}
}

// yamlMessage keeps the useful part of a YAML decoding error.
func yamlMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"error converting YAML to JSON: ", "yaml: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	return msg
}
