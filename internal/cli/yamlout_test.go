package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cxops/cx-operator/test/utils/samples"
)

// readsBack fails unless the fast writer's YAML decodes, with the library
// the rest of Kubernetes uses, to the value it was written from.
func readsBack(t *testing.T, v map[string]any) {
	t.Helper()
	out, err := marshalYAML(v)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("the YAML does not parse: %v\n%s", err, out)
	}
	want, _ := json.Marshal(v)
	got, _ := json.Marshal(back)
	if string(got) != string(want) {
		t.Errorf("the YAML reads back differently:\n got: %s\nwant: %s\nYAML:\n%s", got, want, out)
	}
}

func TestFastYAMLReadsBackEveryRenderedSample(t *testing.T) {
	set := samples.Load(t)
	objs, err := Render(storedSamples(t, set), RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		readsBack(t, u.Object)
	}
}

func TestFastYAMLReadsBackAwkwardStrings(t *testing.T) {
	awkward := []string{
		"", " lead", "trail ", "yes", "No", "ON", "off", "y", "n", "null", "Null", "~", "true", "False",
		"1", "-1", "1.5", "1e3", "0x1F", "0o17", "1_000", "12:30", "190:20:30", "2026-01-01", ".5", ".inf", "-.inf", ".NaN",
		"5m", "300ms", "1h30m", "99.9", "a: b", "a:b", "a:", "a #b", "a#b", "#x", "-x", "- x", "-", "?", "? x", ":", ": x",
		"'quoted'", "it's", `"dq"`, `back\slash`, "{{ $value }}", "[a]", "a,b", "{a: 1}", "&anchor", "*alias", "!tag", "|", ">",
		"%x", "@x", "`x", "=", "=~", "!=", "<<", "multi\nline", "multi\nline\n", "multi\n\n", "\nleading newline", "\n  indented first",
		"line1\n  indented\n", "trailing space \nx", "x\n  \ny", "tab\tin", "\ttab", "x\r\ny", "nel\u0085x", "bom\ufeffx", "emoji 🎉",
		"del\x7f", "bell\a", "ends with colon:", "sum(rate(x{a=\"b\"}[5m])) > 0", "cx:bad_events:rate", "https://example.com/a?b=c#d",
	}
	for _, s := range awkward {
		readsBack(t, map[string]any{"value": s, s + "key": "x", "list": []any{s, map[string]any{"k": s}}})
	}
}

func TestFastYAMLWritesNesting(t *testing.T) {
	readsBack(t, map[string]any{
		"empty map": map[string]any{}, "empty list": []any{}, "null": nil, "bool": true, "int": int64(-3), "float": 2.5,
		"lists of lists": []any{[]any{"a", []any{"b"}}, []any{}, map[string]any{}},
		"maps in lists":  []any{map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": "d"}}}, "e": "f"}},
	})
}

func TestFastYAMLFallsBackOnInvalidUTF8(t *testing.T) {
	out, err := marshalYAML(map[string]any{"bad": "\xff\xfe"})
	if err != nil || !strings.Contains(string(out), "bad:") {
		t.Errorf("marshalYAML = %q, %v", out, err)
	}
}

func TestFastYAMLListIsTheWholeDocument(t *testing.T) {
	group := func(name string) any {
		return map[string]any{"name": name, "rules": []any{map[string]any{"record": "a:b", "expr": "sum(x)\n/ 2", "labels": map[string]any{"k": "yes"}}}}
	}
	cases := map[string][][]any{
		"parts of several items":                {{group("a"), group("b")}, {group("c")}, {}, {group("d")}},
		"one part":                              {{group("a")}},
		"nothing":                               {{}, nil},
		"text the writer leaves to the library": {{map[string]any{"name": "\xff"}}},
	}
	for name, parts := range cases {
		t.Run(name, func(t *testing.T) {
			var all []any
			for _, p := range parts {
				all = append(all, p...)
			}
			want, err := marshalYAML(map[string]any{"groups": all})
			if err != nil {
				t.Fatal(err)
			}
			got, err := marshalYAMLList("groups", parts)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}
