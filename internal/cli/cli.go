// Package cli is `kubectl cx`, the kubectl plugin of cx-operator, as library
// code: each subcommand is a function that takes its options and writers
// and returns an error, and cmd/kubectl-cx only wires them to cobra. None of
// them needs a cluster:
//
//   - render prints the PrometheusRules and AlertmanagerConfigs that the
//     controller would apply for the CXObjectives and CXTeams given, through
//     the controller's own code path (internal/desired);
//   - validate reports what the API server (schema and CEL rules of the
//     embedded CRDs, evaluated by the apiextensions-apiserver libraries) and
//     the controller would refuse;
//   - route simulates which team, receiver and channels an alert reaches;
//   - test runs the generated rules in the Prometheus rules engine on
//     synthetic series and prints when alerts fire and resolve;
//   - import openslo turns OpenSLO v1 documents into CXObjectives.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes of kubectl-cx.
const (
	// ExitOK: the command did what it was asked and found no error.
	ExitOK = 0
	// ExitError: the command failed, or found errors (validate, render).
	ExitError = 1
	// ExitUsage: the command line was wrong.
	ExitUsage = 2
)

// UsageError is a wrong command line: an unknown flag, a missing argument,
// a value out of range. kubectl-cx exits with ExitUsage.
type UsageError struct {
	// Err says what is wrong.
	Err error
}

// Error says what is wrong with the command line.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ErrReported says that the command found problems and has already written
// each of them out, one per line; only the exit code is left to give.
var ErrReported = errors.New("problems were reported")

// Severity of a reported problem.
type Severity string

// Severities of problems.
const (
	// SeverityError makes the command exit with ExitError.
	SeverityError Severity = "error"
	// SeverityWarning is printed and does not change the exit code.
	SeverityWarning Severity = "warning"
)

// Problem is one thing wrong with one document, in the words of the API
// server or the controller.
type Problem struct {
	// Source is the document.
	Source Source
	// Object names the object, "Kind namespace/name", when it has one.
	Object string
	// Field is the field path, e.g. spec.sli.errorRatio.total; empty for
	// the document as a whole.
	Field string
	// Message says what is wrong.
	Message string
	// Severity is error or warning.
	Severity Severity
}

// String writes the problem as one line:
// FILE: document N (Kind namespace/name): FIELD: message.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Source.String())
	if p.Object != "" {
		b.WriteString(" (" + p.Object + ")")
	}
	b.WriteString(": ")
	if p.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(oneLine(p.Message))
	return b.String()
}

// oneLine folds a message onto one line, so that each problem is one line
// of output that grep and CI logs keep together.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)), " ")
}

// diagnose writes one line of diagnostics (an error, a warning, a note) to
// stderr, prefixed with the program's name. A failing stderr is not
// reported: there is nowhere left to report it.
func diagnose(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, "kubectl-cx: "+format+"\n", args...)
}

// writeProblems writes one line per problem and says whether any is an
// error.
func writeProblems(w io.Writer, ps []Problem) (hasErrors bool, err error) {
	for _, p := range ps {
		if _, err := fmt.Fprintln(w, p.String()); err != nil {
			return hasErrors, fmt.Errorf("writing the report: %w", err)
		}
		hasErrors = hasErrors || p.Severity == SeverityError
	}
	return hasErrors, nil
}

// plural writes "1 error" or "2 errors".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
