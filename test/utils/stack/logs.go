package stack

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Entry is one line of the harness's timeline.
type Entry struct {
	// Elapsed is the time since Start was called.
	Elapsed time.Duration
	// Message is what happened.
	Message string
}

func (e Entry) String() string {
	return fmt.Sprintf("[%8.3fs] %s", e.Elapsed.Seconds(), e.Message)
}

// Logf adds a line to the timeline: to harness.log in LogDir, to
// Options.Logf if set, and to what Timeline returns; each line starts with
// the time elapsed since Start.
func (s *Stack) Logf(format string, args ...any) {
	e := Entry{Elapsed: time.Since(s.started), Message: fmt.Sprintf(format, args...)}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.timeline = append(s.timeline, e)
	if s.harnessLog != nil {
		// The timeline in memory stays complete even when the file cannot
		// be written; DumpLogs shows it from there.
		_, _ = fmt.Fprintln(s.harnessLog, e.String())
	}
	if s.opts.Logf != nil && !s.logClosed {
		s.opts.Logf("%s", e.String())
	}
}

// Step logs the start of a step and returns a function that logs its end
// and returns the time it took, for timing the phases of a test:
//
//	done := st.Step("rule group loaded")
//	... wait ...
//	took := done()
func (s *Stack) Step(name string) func() time.Duration {
	start := time.Now()
	s.Logf("step %q started", name)
	return func() time.Duration {
		took := time.Since(start)
		s.Logf("step %q done in %s", name, took.Round(time.Millisecond))
		return took
	}
}

// Timeline returns a copy of every line logged with Logf so far.
func (s *Stack) Timeline() []Entry {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return slices.Clone(s.timeline)
}

// dumpLines is how many lines of each log DumpLogs shows.
const dumpLines = 40

// DumpLogs writes the tail of the timeline and of every log in LogDir to w,
// harness first, for the message of a failed test. It works after Stop too,
// as long as LogDir exists.
func (s *Stack) DumpLogs(w io.Writer) {
	var b strings.Builder
	line := func(format string, args ...any) { b.WriteString(fmt.Sprintf(format, args...) + "\n") }
	tl := s.Timeline()
	line("=== timeline (last %d of %d lines)", min(dumpLines, len(tl)), len(tl))
	for _, e := range tl[max(0, len(tl)-dumpLines):] {
		line("%s", e)
	}
	entries, err := os.ReadDir(s.opts.LogDir)
	if err != nil {
		line("=== cannot list the logs: %v", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".log") || e.Name() == harnessLogName {
			continue
		}
		path := filepath.Join(s.opts.LogDir, e.Name())
		lines, total, err := tail(path, dumpLines)
		if err != nil {
			line("=== %s: %v", path, err)
			continue
		}
		line("=== %s (last %d of %d lines)", path, len(lines), total)
		for _, l := range lines {
			line("%s", l)
		}
	}
	// Best effort by design: this writes a failure message, and a writer
	// that fails has nowhere to report to.
	_, _ = io.WriteString(w, b.String())
}

// tail returns the last n lines of a file and how many it has.
func tail(path string, n int) ([]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	ring := make([]string, 0, n)
	total := 0
	for sc.Scan() {
		total++
		if len(ring) == n {
			ring = ring[1:]
		}
		ring = append(ring, sc.Text())
	}
	return ring, total, sc.Err()
}
