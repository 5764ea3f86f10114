package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// decode reads one document of an OpenSLO file and indexes SLIs, alert
// policies and alert conditions by name.
func (im *importer) decode(obj Object) *osloDoc {
	u := obj.Object
	d := &osloDoc{obj: obj, kind: u.GetKind(), meta: osloMeta{Name: u.GetName()}}
	if u.GetAPIVersion() != OpenSLOVersion {
		im.fail(d, "apiVersion", "%q is not OpenSLO v1: import reads apiVersion %s", u.GetAPIVersion(), OpenSLOVersion)
		return nil
	}
	im.decodeInto(d, "metadata", u.Object["metadata"], &d.meta)
	var spec any
	switch d.kind {
	case osloKindSLO:
		spec = &osloSLOSpec{}
	case osloKindSLI:
		spec = &osloSLISpec{}
	case osloKindAlertPolicy:
		spec = &osloAlertPolicy{}
	case osloKindAlertCondition:
		spec = &osloAlertCondition{}
	case "Service", "DataSource", "AlertNotificationTarget":
		im.warn(d, "", "not mapped: %s", map[string]string{
			"Service":                 "a CXObjective names its journey, taken from the SLO's spec.service",
			"DataSource":              "the selectors of a CXObjective are read by the Prometheus that loads its rules",
			"AlertNotificationTarget": "alerts reach the channels of the owner CXTeam",
		}[d.kind])
		return nil
	default:
		im.fail(d, "kind", "unknown OpenSLO kind %q", d.kind)
		return nil
	}
	im.decodeInto(d, specField, u.Object[specField], spec)
	d.spec = spec
	switch d.kind {
	case osloKindSLI:
		im.slis[d.meta.Name] = d
	case osloKindAlertPolicy:
		im.policies[d.meta.Name] = d
	case osloKindAlertCondition:
		im.conds[d.meta.Name] = d
	}
	return d
}

// decodeInto decodes raw into target and warns about each field that the
// OpenSLO types here do not know.
func (im *importer) decodeInto(d *osloDoc, path string, raw, target any) {
	if raw == nil {
		return
	}
	b, err := json.Marshal(raw)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		err = dec.Decode(target)
	}
	if err != nil {
		im.fail(d, path, "does not decode: %v", err)
		return
	}
	back, err := json.Marshal(target)
	if err != nil {
		return
	}
	var known any
	_ = json.Unmarshal(back, &known)
	var rawAny any
	_ = json.Unmarshal(b, &rawAny)
	for _, p := range unknownPaths(path, rawAny, known) {
		im.warn(d, p, "not mapped: not a field of OpenSLO v1 that import knows")
	}
}

// unknownPaths lists the paths of raw that known (the same document decoded
// and written back) lacks; empty values are not reported.
func unknownPaths(path string, raw, known any) []string {
	var out []string
	switch r := raw.(type) {
	case map[string]any:
		k, _ := known.(map[string]any)
		keys := make([]string, 0, len(r))
		for key := range r {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			child := path + "." + key
			kv, ok := k[key]
			if !ok {
				if !isEmpty(r[key]) {
					out = append(out, child)
				}
				continue
			}
			if isFreeForm(child) {
				continue
			}
			out = append(out, unknownPaths(child, r[key], kv)...)
		}
	case []any:
		k, _ := known.([]any)
		for i, item := range r {
			var kv any
			if i < len(k) {
				kv = k[i]
			}
			out = append(out, unknownPaths(fmt.Sprintf("%s[%d]", path, i), item, kv)...)
		}
	}
	return out
}

// isFreeForm says whether a path holds data of the source's own shape: the
// spec of a metric source, labels, annotations.
func isFreeForm(path string) bool {
	return strings.HasSuffix(path, "metricSource.spec") || strings.HasSuffix(path, ".labels") ||
		strings.HasSuffix(path, ".annotations") || strings.HasSuffix(path, "timeSliceWindow")
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
