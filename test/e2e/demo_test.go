//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cxops/cx-operator/test/utils"
)

// TestDemo runs `make demo`'s program to the end of its story (DEMO_EXIT=1),
// so that the README's main command cannot rot.
func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./hack/demo")
	cmd.Dir = utils.RepoRoot()
	cmd.Env = append(os.Environ(), "DEMO_EXIT=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	scanner := bufio.NewScanner(out)
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	err = cmd.Wait()
	output := strings.Join(lines, "\n")
	if err != nil {
		t.Fatalf("the demo failed after %s: %v\n%s", time.Since(start).Round(time.Second), err, output)
	}
	for _, want := range []string{
		"Every team and objective is Ready",
		"The checkout team's channel got a page",
		"Checkout error rate (payment API) is burning this month's error budget",
		"Finance, a stakeholder, was told (severity notice",
		"RESOLVED",
		"got nothing about checkout",
		"The stack keeps running",
		"Stopping every process the demo started",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("the demo's story lacks %q", want)
		}
	}
	// Library noise between the lines of the story, such as
	// controller-runtime's "log.SetLogger(...) was never called".
	if strings.Contains(output, "[controller-runtime]") {
		t.Errorf("the demo's story has controller-runtime's own output in it")
	}
	t.Logf("the demo ran in %s:\n%s", time.Since(start).Round(time.Second), output)
}
