package routing

import (
	"encoding/json"
	"os"
	"regexp"
	"sync"
	"testing"
	"text/template"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"
)

// alertmanagerConfigCRD is prometheus-operator's CRD, as installed by the
// envtest suites and the end-to-end test.
const alertmanagerConfigCRD = "../../test/crds/prometheus-operator-v0.93.1/monitoring.coreos.com_alertmanagerconfigs.yaml"

var schemas struct {
	once        sync.Once
	spec, route *spec.Schema
	err         error
}

// loadSchemas returns the OpenAPI schemas of an AlertmanagerConfig's spec
// and of its route. The API server checks only the top route against the
// route schema (child routes are opaque JSON to it); prometheus-operator
// decodes child routes into the same type, so the tests check them too.
func loadSchemas(t *testing.T) (specSchema, routeSchema *spec.Schema) {
	t.Helper()
	schemas.once.Do(func() {
		b, err := os.ReadFile(alertmanagerConfigCRD)
		if err != nil {
			schemas.err = err
			return
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if schemas.err = yaml.Unmarshal(b, &crd); schemas.err != nil {
			return
		}
		for _, v := range crd.Spec.Versions {
			if v.Name != monitoringv1alpha1.Version || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			props := v.Schema.OpenAPIV3Schema.Properties["spec"]
			schemas.spec, schemas.err = toSchema(props)
			if schemas.err == nil {
				schemas.route, schemas.err = toSchema(props.Properties["route"])
			}
			return
		}
		schemas.err = os.ErrNotExist
	})
	if schemas.err != nil {
		t.Fatalf("reading the v1alpha1 schema of %s: %v", alertmanagerConfigCRD, schemas.err)
	}
	return schemas.spec, schemas.route
}

func toSchema(p apiextensionsv1.JSONSchemaProps) (*spec.Schema, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	s := &spec.Schema{}
	return s, json.Unmarshal(b, s)
}

// againstSchema validates a value, as JSON, against a schema.
func againstSchema(t *testing.T, what string, s *spec.Schema, v any) {
	t.Helper()
	if err := schemaError(s, v); err != nil {
		t.Errorf("%s does not pass the AlertmanagerConfig CRD schema: %v", what, err)
	}
}

func schemaError(s *spec.Schema, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return err
	}
	return validate.AgainstSchema(s, data, strfmt.Default)
}

// TestSchemaCheck shows that the schema check of checkAccepted rejects what
// the CRD rejects, so that passing it means something.
func TestSchemaCheck(t *testing.T) {
	specSchema, routeSchema := loadSchemas(t)
	valid := mustBuild(t, busyTeam())
	tests := []struct {
		name   string
		schema *spec.Schema
		value  func() any
		passes bool
	}{
		{"a generated spec passes", specSchema, func() any { return valid }, true},
		{"a weekday the CRD does not know fails", specSchema, func() any {
			s := valid.DeepCopy()
			s.MuteTimeIntervals[0].TimeIntervals[0].Weekdays = []monitoringv1alpha1.WeekdayRange{"funday"}
			return s
		}, false},
		{"a time of day past 24:00 fails", specSchema, func() any {
			s := valid.DeepCopy()
			s.MuteTimeIntervals[0].TimeIntervals[0].Times[0].EndTime = "24:30"
			return s
		}, false},
		{"an empty slack channel fails", specSchema, func() any {
			s := valid.DeepCopy()
			for i := range s.Receivers {
				for j := range s.Receivers[i].SlackConfigs {
					s.Receivers[i].SlackConfigs[j].Channel = ptrTo("")
				}
			}
			return s
		}, false},
		{"an unknown match type fails", specSchema, func() any {
			s := valid.DeepCopy()
			s.Route.Matchers[0].MatchType = "=="
			return s
		}, false},
		{"a child route that repeats every '1 hour' fails the route schema", routeSchema, func() any {
			return monitoringv1alpha1.Route{Receiver: "page", RepeatInterval: ptrTo(monitoringv1.NonEmptyDuration("1 hour"))}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := schemaError(tt.schema, tt.value()); (err == nil) != tt.passes {
				t.Errorf("passes: %v, want %v (%v)", err == nil, tt.passes, err)
			}
		})
	}
}

// checkAccepted fails unless prometheus-operator v0.93.1 would accept the
// spec: it passes the CRD schema (patterns, enums, minimum lengths), and
// it holds what prometheus-operator checks before it writes Alertmanager's
// configuration: known receivers and time intervals, valid matchers, child
// routes that decode strictly, integrations with what they require.
func checkAccepted(t *testing.T, s monitoringv1alpha1.AlertmanagerConfigSpec) {
	t.Helper()
	specSchema, routeSchema := loadSchemas(t)
	againstSchema(t, "the spec", specSchema, s)

	receivers := map[string]bool{}
	for _, r := range s.Receivers {
		if receivers[r.Name] {
			t.Errorf("receiver %q appears twice", r.Name)
		}
		receivers[r.Name] = true
		if r.Name != DefaultReceiver && integrationCount(r) == 0 {
			t.Errorf("receiver %q has no integrations", r.Name)
		}
		checkIntegrations(t, r)
	}
	intervals := map[string]bool{}
	for _, mti := range s.MuteTimeIntervals {
		if err := mti.Validate(); err != nil {
			t.Errorf("time interval %q: %v", mti.Name, err)
		}
		// prometheus-operator names a time interval while converting its
		// entries, so one without entries would lose its name.
		if len(mti.TimeIntervals) == 0 {
			t.Errorf("time interval %q has no entries", mti.Name)
		}
		intervals[mti.Name] = true
	}
	if s.Route == nil || s.Route.Receiver == "" {
		t.Fatalf("the top route must exist and name a receiver: %+v", s.Route)
	}
	checkRoute(t, "the top route", *s.Route, routeSchema, receivers, intervals)
	for i, rule := range s.InhibitRules {
		checkMatchers(t, "inhibit rule source", rule.SourceMatch)
		checkMatchers(t, "inhibit rule target", rule.TargetMatch)
		if len(rule.SourceMatch) == 0 || len(rule.TargetMatch) == 0 {
			t.Errorf("inhibit rule %d lacks source or target matchers", i)
		}
	}
}

func checkRoute(t *testing.T, what string, r monitoringv1alpha1.Route, schema *spec.Schema, receivers, intervals map[string]bool) {
	t.Helper()
	againstSchema(t, what, schema, r)
	if r.Receiver != "" && !receivers[r.Receiver] {
		t.Errorf("%s names the unknown receiver %q", what, r.Receiver)
	}
	seen := map[string]bool{}
	for _, l := range r.GroupBy {
		if seen[l] {
			t.Errorf("%s groups by %q twice", what, l)
		}
		seen[l] = true
	}
	for _, name := range append(append([]string(nil), r.ActiveTimeIntervals...), r.MuteTimeIntervals...) {
		if !intervals[name] {
			t.Errorf("%s names the unknown time interval %q", what, name)
		}
	}
	checkMatchers(t, what, r.Matchers)
	children, err := r.ChildRoutes()
	if err != nil {
		t.Errorf("%s: child routes do not decode: %v", what, err)
	}
	for _, c := range children {
		checkRoute(t, "the route to "+c.Receiver, c, schema, receivers, intervals)
	}
}

func checkMatchers(t *testing.T, what string, ms []monitoringv1alpha1.Matcher) {
	t.Helper()
	for _, m := range ms {
		if m.MatchType == "" {
			t.Errorf("%s: matcher %s has no match type", what, m.Name)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", what, err)
		}
		if m.MatchType == monitoringv1alpha1.MatchRegexp || m.MatchType == monitoringv1alpha1.MatchNotRegexp {
			if _, err := regexp.Compile("^(?:" + m.Value + ")$"); err != nil {
				t.Errorf("%s: matcher %s: %v", what, m, err)
			}
		}
	}
}

// checkIntegrations checks what prometheus-operator requires of each
// integration beyond the schema.
func checkIntegrations(t *testing.T, r monitoringv1alpha1.Receiver) {
	t.Helper()
	for _, c := range r.SlackConfigs {
		if c.APIURL == nil {
			t.Errorf("receiver %s: a slack integration without apiURL", r.Name)
		}
		for _, text := range []*string{c.Title, c.Text, c.Footer} {
			if text == nil {
				continue
			}
			if _, err := template.New("").Option("missingkey=zero").Parse(*text); err != nil {
				t.Errorf("receiver %s: a slack template does not parse: %v", r.Name, err)
			}
		}
	}
	for _, c := range r.WebhookConfigs {
		if c.URLSecret == nil && c.URL == nil {
			t.Errorf("receiver %s: a webhook integration without url", r.Name)
		}
	}
	for _, c := range r.PagerDutyConfigs {
		if c.RoutingKey == nil && c.ServiceKey == nil {
			t.Errorf("receiver %s: a pagerduty integration without routingKey", r.Name)
		}
	}
	for _, c := range r.EmailConfigs {
		if c.To == nil || *c.To == "" {
			t.Errorf("receiver %s: an email integration without to", r.Name)
		}
	}
}

// labels is the label set of an alert.
type labels map[string]string

// alert returns the labels of a page of objective checkout-errors of team
// checkout, changed by pairs of name and value.
func alert(pairs ...string) labels {
	l := labels{
		"cx_team": "checkout", "namespace": "shop", "severity": "page",
		"cx_objective": "checkout-errors", "cx_objective_namespace": "shop",
		"cx_journey": "checkout", "cx_sli": "error-ratio", "alertname": "CXErrorBudgetBurn",
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		l[pairs[i]] = pairs[i+1]
	}
	return l
}

// routeOf returns the receiver that Alertmanager picks for an alert in the
// team's namespace (see RouteOf): "" when the top route does not match. The
// chosen route is returned too.
func routeOf(t *testing.T, s monitoringv1alpha1.AlertmanagerConfigSpec, l labels) (string, monitoringv1alpha1.Route) {
	t.Helper()
	r, err := RouteOf(s, Labels(l))
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		return "", monitoringv1alpha1.Route{}
	}
	return r.Receiver, *r
}

// inhibits says whether a firing source alert silences the target alert
// under the spec's inhibition rules (see Inhibits).
func inhibits(t *testing.T, s monitoringv1alpha1.AlertmanagerConfigSpec, source, target labels) bool {
	t.Helper()
	ok, err := Inhibits(s, Labels(source), Labels(target))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// activeAt says whether a route with these active time intervals sends at
// instant at (see ActiveAt).
func activeAt(t *testing.T, s monitoringv1alpha1.AlertmanagerConfigSpec, names []string, at time.Time) bool {
	t.Helper()
	ok, err := ActiveAt(s, names, at)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// utc returns an instant in the week of Monday 2 March 2026, UTC.
func utc(day time.Weekday, hhmm string) time.Time {
	clock, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	sunday := time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)
	if sunday.Weekday() != time.Sunday {
		panic("1 March 2026 is a Sunday")
	}
	return sunday.AddDate(0, 0, int(day)).Add(time.Duration(clock.Hour())*time.Hour + time.Duration(clock.Minute())*time.Minute)
}
