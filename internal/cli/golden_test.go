package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cxops/cx-operator/test/utils"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCase is one command line whose whole output is kept in
// testdata/golden/<name>.golden: stdout, stderr and the exit code. Paths
// are relative to the repository root, where the commands run.
type goldenCase struct {
	name  string
	args  string
	stdin string
	code  int
}

func goldenCases() []goldenCase {
	return []goldenCase{
		// render
		{name: "render-samples", args: "render -f config/samples -n shop"},
		{name: "render-team-json", args: "render -f config/samples/cx_v1alpha1_cxteam_finance.yaml -o json"},
		{name: "render-rule-file", args: "render -f config/samples -n shop --format=rule-file"},
		{name: "render-selector-labels", args: "render -f config/samples/cx_v1alpha1_cxteam_growth.yaml -f config/samples/cx_v1alpha1_cxobjective_landing_page_latency.yaml " +
			"--rule-labels prometheus=main,team=growth --alertmanager-config-labels alertmanager=main"},
		{name: "render-from-cluster", args: "render -f -", stdin: "internal/cli/testdata/manifests/from-cluster.yaml"},
		{name: "render-missing-team", args: "render -f config/samples/cx_v1alpha1_cxobjective_checkout_errors.yaml -f config/samples/cx_v1alpha1_cxteam_finance.yaml", code: ExitError},

		// validate
		{name: "validate-samples", args: "validate -f config/samples -n shop"},
		{name: "validate-problems", args: "validate -f internal/cli/testdata/manifests/problems.yaml", code: ExitError},
		{name: "validate-invalid-api-cases", args: "validate -f api/v1alpha1/testdata/invalid", code: ExitError},

		// route
		{name: "route-checkout-errors", args: "route -f config/samples -n shop --objective checkout-errors"},
		{name: "route-storefront-latency", args: "route -f config/samples -n shop --objective storefront-latency"},
		{name: "route-support-on-saturday", args: "route -f config/samples -n shop --objective support-first-response --at 2026-03-07T10:00:00Z"},
		{name: "route-labels", args: "route -f config/samples -n shop --labels cx_team=growth,namespace=shop,severity=ticket,cx_objective=landing-page-latency,cx_objective_namespace=shop --at 2026-03-02T08:30:00Z"},
		{name: "route-wrong-namespace", args: "route -f config/samples -n shop --labels cx_team=checkout,namespace=default,severity=page", code: ExitError},

		// test: short histories keep these fast; the arithmetic of each
		// timeline is in the comments of internal/rules/engine_test.go.
		{name: "test-outage-checkout-errors", args: "test -f config/samples -n shop --objective checkout-errors --scenario outage --history 6h"},
		{name: "test-recovery-storefront-availability", args: "test -f config/samples -n shop --objective storefront-availability --scenario recovery --history 6h --duration 45m"},
		{name: "test-burn-storefront-latency", args: "test -f config/samples -n shop --objective storefront-latency --scenario burn=20x --history 6h --duration 1h"},
		{name: "test-lowtraffic-checkout-errors", args: "test -f config/samples -n shop --objective checkout-errors --scenario lowtraffic --history 1h --duration 3h"},

		// import
		{name: "import-openslo", args: "import openslo -f internal/cli/testdata/openslo -n shop", code: ExitError},
		{name: "import-openslo-owner", args: "import openslo -f internal/cli/testdata/openslo/latency.yaml --owner storefront"},

		// errors
		{name: "error-unreadable-file", args: "validate -f config/samples/no-such-file.yaml", code: ExitError},
		{name: "error-not-an-object", args: "render -f internal/cli/testdata/manifests/not-an-object.yaml", code: ExitError},
		{name: "error-unknown-kind", args: "validate -f internal/cli/testdata/manifests/unknown-kind.yaml", code: ExitError},
		{name: "error-skip-unknown-kinds", args: "validate -f internal/cli/testdata/manifests/unknown-kind.yaml --skip-unknown-kinds", code: ExitError},
		{name: "error-usage", args: "render -f config/samples -o xml", code: ExitUsage},
		{name: "error-unknown-command", args: "lint -f config/samples", code: ExitUsage},
		{name: "error-scenario", args: "test -f config/samples --objective checkout-errors --scenario meltdown", code: ExitUsage},
	}
}

func TestGolden(t *testing.T) {
	root := utils.RepoRoot()
	dir, err := filepath.Abs(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			got, code := runCLI(t, c.args, c.stdin)
			if code != c.code {
				t.Errorf("exit code %d, want %d\n%s", code, c.code, got)
			}
			path := filepath.Join(dir, c.name+".golden")
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading %s (run go test ./internal/cli -update): %v", path, err)
			}
			if got != string(want) {
				t.Errorf("%s differs (run go test ./internal/cli -update and review the diff):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// runCLI runs kubectl-cx in-process and returns its output in the format of
// the golden files, and the exit code.
func runCLI(t *testing.T, args, stdinFile string) (string, int) {
	t.Helper()
	var stdin bytes.Buffer
	if stdinFile != "" {
		b, err := os.ReadFile(stdinFile)
		if err != nil {
			t.Fatal(err)
		}
		stdin.Write(b)
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), strings.Fields(args), Streams{In: &stdin, Out: &stdout, ErrOut: &stderr})
	var b strings.Builder
	fmt.Fprintf(&b, "$ kubectl cx %s", args)
	if stdinFile != "" {
		fmt.Fprintf(&b, " < %s", stdinFile)
	}
	fmt.Fprintf(&b, "\n--- stdout\n%s--- stderr\n%s--- exit code %d\n", stdout.String(), stderr.String(), code)
	return b.String(), code
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
