package cli

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cxops/cx-operator/test/utils"
)

// invalidDir holds the manifests that the API tests prove the API server
// rejects, each with a first line "# expect: <part of the message>".
var invalidDir = filepath.Join(utils.RepoRoot(), "api", "v1alpha1", "testdata", "invalid")

func expectLine(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(line, "# expect: ") {
		t.Fatalf("%s: the first line is not # expect: ...", file)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "# expect: "))
}

func validateFiles(t *testing.T, namespace string, files ...string) []Problem {
	t.Helper()
	in, err := ReadInputs(InputOptions{Files: files, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Validate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return problems
}

func TestValidateFindsEveryCaseTheAPIServerRejects(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(invalidDir, "*.yaml"))
	if err != nil || len(files) < 15 {
		t.Fatalf("found %d invalid cases in %s (%v)", len(files), invalidDir, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			expect := expectLine(t, file)
			problems := validateFiles(t, "", file)
			found := false
			var lines []string
			for _, p := range problems {
				lines = append(lines, p.String())
				if p.Severity == SeverityError && strings.Contains(p.String(), expect) {
					found = true
				}
				if !strings.HasPrefix(p.String(), file+": document 1 (") {
					t.Errorf("the problem does not say file, document and object: %s", p)
				}
			}
			if !found {
				t.Errorf("no error contains %q; the problems:\n%s", expect, strings.Join(lines, "\n"))
			}
		})
	}
}

func TestValidateAcceptsEverySample(t *testing.T) {
	for _, ns := range []string{"", "shop"} {
		problems := validateFiles(t, ns, filepath.Join(utils.RepoRoot(), "config", "samples"))
		for _, p := range problems {
			t.Errorf("namespace %q: %s", ns, p)
		}
	}
}

func TestValidateReportsWhatTheControllerWould(t *testing.T) {
	problems := validateFiles(t, "", filepath.Join("testdata", "manifests", "problems.yaml"))
	want := []struct {
		object, field, text string
		severity            Severity
	}{
		{"CXObjective shop/refunds-errors", "spec.owner", "OwnerNotPermitted", SeverityError},
		{"CXObjective shop/refunds-errors", "spec.sli.errorRatio.errors", "InvalidSpec", SeverityError},
		{"CXObjective shop/refunds-errors", "spec.sli.errorRatio.total", "does not parse as PromQL", SeverityError},
		{"CXObjective billing/invoice-latency", "spec.stakeholders[0]", "is not told", SeverityWarning},
		{"CXObjective billing/invoice-latency", "spec.sli.latency.metric", "without _bucket", SeverityError},
		{"CXObjective billing/invoice-latency", "spec.alerting.pageWindows[1].long", "also the long window of spec.alerting.pageWindows[0]", SeverityError},
		{"CXObjective billing/invoice-latency", "spec.alerting.annotations[summary]", "alert template", SeverityError},
		{"CXObjective billing/payouts-errors", "spec.alerting.runbook", "unknown field", SeverityError},
		{"CXObjective billing/payouts-errors", "metadata.name", "Duplicate value", SeverityError},
		{"CXTeam billing/payments", "spec.channels", "no channel receives ticket", SeverityWarning},
	}
	for _, w := range want {
		found := false
		for _, p := range problems {
			found = found || (p.Object == w.object && p.Field == w.field && p.Severity == w.severity && strings.Contains(p.Message, w.text))
		}
		if !found {
			t.Errorf("no %s on %s %s containing %q", w.severity, w.object, w.field, w.text)
		}
	}
	if len(problems) != len(want) {
		for _, p := range problems {
			t.Log(p)
		}
		t.Errorf("%d problems, want %d", len(problems), len(want))
	}
}
