package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func importCorpus(t *testing.T, o ImportCommand) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = RunImportOpenSLO(context.Background(), &out, &errOut, o)
	return out.String(), errOut.String(), err
}

func TestImportOpenSLOWritesValidObjectives(t *testing.T) {
	out, _, _ := importCorpus(t, ImportCommand{Files: []string{filepath.Join("testdata", "openslo")}})
	objs, problems := parseManifests("import", []byte(out))
	if len(problems) > 0 {
		t.Fatalf("the output does not read back: %v", problems)
	}
	names := map[string]bool{}
	for _, o := range objs {
		names[o.Object.GetName()] = true
		o.Object.SetNamespace("default")
		adm, err := admitObject(context.Background(), o.Object)
		if err != nil {
			t.Fatal(err)
		}
		for _, fe := range adm.all() {
			t.Errorf("%s: the API server would refuse it: %v", o.Describe(), fe)
		}
	}
	for _, want := range []string{"checkout-errors", "storefront-latency", "post-purchase-csat",
		"search-availability-monthly", "search-availability-strict"} {
		if !names[want] {
			t.Errorf("no CXObjective %s among %v", want, names)
		}
	}
	for _, unmapped := range []string{"raw-ratio", "datadog-latency", "old-version", "no-owner"} {
		if names[unmapped] {
			t.Errorf("%s cannot map, yet a CXObjective was written", unmapped)
		}
	}
}

func TestImportOpenSLOWarnsAboutWhatDoesNotMap(t *testing.T) {
	_, stderr, err := importCorpus(t, ImportCommand{Files: []string{filepath.Join("testdata", "openslo")}})
	if err == nil {
		t.Error("SLOs that cannot map did not fail the import")
	}
	for _, want := range []string{
		"(Service checkout): warning: not mapped",
		"(SLO checkout-errors): warning: spec.alertPolicies[0].spec.notificationTargets: not mapped",
		"(SLO checkout-errors): warning: spec.alertPolicies[0].spec.conditions[0].spec.condition.alertAfter: not mapped",
		"(AlertCondition slow-burn): warning: spec.condition.op: gte becomes gt",
		"(SLO post-purchase-csat): warning: spec.timeWindow[0].calendar: not mapped",
		"(SLO post-purchase-csat): warning: spec.objectives[0].timeSliceTarget: not mapped",
		"(SLO search-availability): warning: spec.priority: not mapped",
		"(SLO raw-ratio): spec.indicator.spec.ratioMetric.raw: cannot map",
		"(SLO datadog-latency): spec.indicator.spec.ratioMetric.total.metricSource.type: cannot map",
		"(SLO no-owner): metadata.labels: no owner team",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no line with %q in:\n%s", want, stderr)
		}
	}
}

func TestImportOpenSLOMapsBurnRateConditionsToWindowPairs(t *testing.T) {
	out, _, _ := importCorpus(t, ImportCommand{Files: []string{filepath.Join("testdata", "openslo", "checkout.yaml")}})
	for _, want := range []string{
		"pageWindows:\n    - factor: \"14.4\"\n      long: 1h\n      short: 5m",
		"ticketWindows:\n    - factor: \"3\"\n      long: 1d\n      short: 2h",
		`errors: http_requests_total{code=~"5..",job="checkout"}`,
		`target: "99.5"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func TestImportOpenSLOOwnerFlagWins(t *testing.T) {
	out, stderr, err := importCorpus(t, ImportCommand{Files: []string{filepath.Join("testdata", "openslo", "csat.yaml")}, Owner: "support"})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Contains(out, "customer-support") || !strings.Contains(out, "team: support") {
		t.Errorf("--owner did not set the owner:\n%s", out)
	}
	if !strings.Contains(stderr, `the label names owner "Customer Support"; --owner "support" wins`) {
		t.Errorf("no warning that --owner overrides the label:\n%s", stderr)
	}
}

func TestTargetIsExact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"0.999", "99.9"}, {"0.9995", "99.95"}, {"0.95", "95"}, {"0.1", "10"},
	} {
		im := &importer{}
		n := jsonNumber(tt.in)
		got, ok := im.target(&osloDoc{}, osloObjective{Target: &n}, "spec.objectives[0]")
		if !ok || got != tt.want {
			t.Errorf("target %s = %q (%v), want %q", tt.in, got, ok, tt.want)
		}
	}
}

func jsonNumber(s string) json.Number { return json.Number(s) }
