package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestMainTurnsAPanicIntoOneLine(t *testing.T) {
	defer func(orig func(Streams) *cobra.Command) { newCommand = orig }(newCommand)
	newCommand = func(s Streams) *cobra.Command {
		root := NewCommand(s)
		root.AddCommand(&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error {
			var items []string
			_ = items[len(s.ErrOut.(*bytes.Buffer).String())] // out of range: a bug a user should never see as a trace
			return nil
		}})
		return root
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"boom"}, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != ExitError {
		t.Errorf("exit code %d, want %d", code, ExitError)
	}
	msg := errOut.String()
	if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "kubectl-cx: internal error: ") || strings.Contains(msg, "goroutine") {
		t.Errorf("stderr %q, want one line without a stack trace", msg)
	}
}

func TestParseLabels(t *testing.T) {
	got, err := parseLabels(` cx_team=checkout, severity="page",cx_sli=latency|error-ratio ,`, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cx_team": "checkout", "severity": "page", "cx_sli": "latency|error-ratio"}
	if len(got) != len(want) {
		t.Fatalf("parseLabels = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := parseLabels("no-equals-sign", false); err == nil {
		t.Error("a pair without = was accepted")
	}
	if _, err := parseLabels("app.kubernetes.io/part-of=cx operator", true); err == nil {
		t.Error("a Kubernetes label value with a space was accepted")
	}
}
