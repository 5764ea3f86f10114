package cli

import (
	"fmt"
	"io"
	"strings"
)

// errWriter writes lines and keeps the first error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) println(parts ...string) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintln(e.w, strings.Join(parts, " "))
}

// field writes an indented "label: value" line; an empty label continues
// the field above.
func (e *errWriter) field(label, value string) {
	if label != "" {
		label += ":"
	}
	e.println(fmt.Sprintf("  %-10s %s", label, value))
}
