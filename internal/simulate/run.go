package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Source returns the raw samples of every series at a time since the start
// of a run, as a scrape of all targets would.
type Source func(at time.Duration) []Sample

// Run describes a simulated stretch of time.
type Run struct {
	// Start is the wall-clock time of the first scrape.
	Start time.Time
	// Duration is how long the run lasts.
	Duration time.Duration
	// Scrape is the scrape interval; Eval the rule evaluation interval.
	// One must be a multiple of the other.
	Scrape, Eval time.Duration
	// Source gives the raw samples.
	Source Source
	// Observe, when set, is called after every evaluation.
	Observe func(at time.Duration, e *Engine)
}

// Episode is one stretch of time during which an alert instance fired.
type Episode struct {
	// Alert is the alert's name.
	Alert string
	// Labels are the alert instance's labels.
	Labels labels.Labels
	// Summary and Description are the expanded annotations when it
	// started firing.
	Summary, Description string
	// Start is when it started firing, since the start of the run.
	Start time.Duration
	// End is when it stopped firing; -1 while it still fires at the end.
	End time.Duration
}

// Timeline is what happened in a run.
type Timeline struct {
	// Episodes in the order they started.
	Episodes []Episode
	// Errors are the rule evaluation errors, each rule's first one.
	Errors []error
	// Evaluations is the number of evaluation cycles.
	Evaluations int
}

// Firing returns the episodes of alerts whose label name has that value,
// e.g. Firing("severity", "page").
func (t *Timeline) Firing(name, value string) []Episode {
	var out []Episode
	for _, ep := range t.Episodes {
		if ep.Labels.Get(name) == value {
			out = append(out, ep)
		}
	}
	return out
}

// Run scrapes the source and evaluates the rules from r.Start for
// r.Duration, and records when each alert instance fires and resolves.
func (e *Engine) Run(ctx context.Context, r Run) (*Timeline, error) {
	if r.Scrape <= 0 || r.Eval <= 0 || (r.Scrape%r.Eval != 0 && r.Eval%r.Scrape != 0) {
		return nil, fmt.Errorf("scrape (%s) and evaluation (%s) intervals must be positive and one a multiple of the other", r.Scrape, r.Eval)
	}
	step := min(r.Scrape, r.Eval)
	tl := &Timeline{}
	open := map[uint64]int{}
	failed := map[string]bool{}
	for at := time.Duration(0); at <= r.Duration; at += step {
		if err := ctx.Err(); err != nil {
			return tl, err
		}
		ts := r.Start.Add(at)
		if at%r.Scrape == 0 {
			if err := e.Append(ts, r.Source(at)); err != nil {
				return tl, err
			}
		}
		if at%r.Eval != 0 {
			continue
		}
		for _, err := range e.Eval(ctx, ts) {
			if key := err.Error(); !failed[key] {
				failed[key] = true
				tl.Errors = append(tl.Errors, err)
			}
		}
		tl.Evaluations++
		tl.record(at, e.Alerts(), open)
		if r.Observe != nil {
			r.Observe(at, e)
		}
	}
	return tl, nil
}

func (tl *Timeline) record(at time.Duration, alerts []Alert, open map[uint64]int) {
	seen := map[uint64]bool{}
	for _, a := range alerts {
		if !a.Firing {
			continue
		}
		h := a.Labels.Hash()
		seen[h] = true
		if _, ok := open[h]; !ok {
			open[h] = len(tl.Episodes)
			tl.Episodes = append(tl.Episodes, Episode{
				Alert: a.Name, Labels: a.Labels, Summary: a.Annotations.Get("summary"),
				Description: a.Annotations.Get("description"), Start: at, End: -1,
			})
		}
	}
	for h, i := range open {
		if !seen[h] {
			tl.Episodes[i].End = at
			delete(open, h)
		}
	}
}
