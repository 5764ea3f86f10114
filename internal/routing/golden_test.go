package routing

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGolden compares the spec of every sample CXTeam with
// testdata/<team>.golden.yaml. Rewrite the files with
// `go test ./internal/routing/... -update` and review the diff like code.
func TestGolden(t *testing.T) {
	samples := loadSamples(t)
	want := map[string]bool{}
	for _, s := range samples {
		golden := filepath.Join("testdata", s.team.Name+".golden.yaml")
		want[golden] = true
		t.Run(s.team.Name, func(t *testing.T) {
			got := toYAML(t, mustBuild(t, s.team))
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			expected, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading %s (run with -update to write it): %v", golden, err)
			}
			if !bytes.Equal(got, expected) {
				t.Errorf("the spec of %s differs from %s (run with -update to rewrite it):\n%s", s.file, golden, lineDiff(expected, got))
			}
		})
	}

	t.Run("every golden file belongs to a sample", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("testdata", "*.golden.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !want[f] {
				t.Errorf("%s has no sample CXTeam in %s; delete it", f, samplesDir)
			}
		}
	})
}

// lineDiff shows the lines of want and got from the first that differs.
func lineDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d\n", i+1)
	for j := i; j < len(w) && j < i+8; j++ {
		fmt.Fprintf(&b, "- %s\n", w[j])
	}
	for j := i; j < len(g) && j < i+8; j++ {
		fmt.Fprintf(&b, "+ %s\n", g[j])
	}
	return b.String()
}
