package slo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// checkAnnotations parses each annotation the way Prometheus parses alert
// templates when it loads a rule file: annotations are templates, so that
// an objective can say {{ $value }}, and one that does not parse would make
// the whole rule file fail to load.
func checkAnnotations(annotations map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	data := template.AlertTemplateData(map[string]string{}, map[string]string{}, "", promql.Sample{})
	for _, k := range sortedKeys(annotations) {
		v := annotations[k]
		if bad := checkText(v, path.Key(k)); len(bad) > 0 {
			errs = append(errs, bad...)
			continue
		}
		if !HasTemplateAction(v) {
			continue
		}
		text := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}" + v
		expander := template.NewTemplateExpander(context.Background(), text, "__alert_check", data,
			model.TimeFromUnixNano(time.Now().UnixNano()), nil, nil, nil)
		if err := expander.ParseTest(); err != nil {
			errs = append(errs, field.Invalid(path.Key(k), v, "is not a valid Prometheus alert template: "+err.Error()))
		}
	}
	return errs
}

// HasTemplateAction says whether s holds a Go template action ("{{").
// Text without one is a single text node to the template parser and always
// parses, so Prometheus's template check of it (a fresh copy of its template
// functions each time, about 20 KB) can be skipped.
func HasTemplateAction(s string) bool { return strings.Contains(s, "{{") }

// checkLabels accepts label names that Prometheus accepts and values that
// are valid UTF-8.
func checkLabels(labels map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(labels) {
		if !model.LegacyValidation.IsValidLabelName(k) || strings.HasPrefix(k, "__") {
			errs = append(errs, field.Invalid(path.Key(k), k, "must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"))
		}
		errs = append(errs, checkText(labels[k], path.Key(k))...)
	}
	return errs
}

// checkText accepts free text that a Prometheus rule file can carry: valid
// UTF-8 without control characters other than tab and newline, which YAML
// cannot write.
func checkText(s string, path *field.Path) field.ErrorList {
	if !utf8.ValidString(s) {
		return field.ErrorList{field.Invalid(path, s, "must be valid UTF-8")}
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return field.ErrorList{field.Invalid(path, s, fmt.Sprintf("may not hold the control character %U", r))}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
