package stack

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pollInterval is how often the waits of the stack look again.
const pollInterval = 200 * time.Millisecond

// permanentError ends a poll at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// stopPolling wraps an error that no later attempt can cure.
func stopPolling(err error) error { return permanentError{err} }

// poll calls cond every interval (the first time at once) until it reports
// true, returns an error wrapped by stopPolling, or ctx ends. On the
// deadline, the error names the last reason cond gave for not being done.
func poll(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if perr, isPerm := errors.AsType[permanentError](err); isPerm {
			return perr.err
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last attempt: %v)", context.Cause(ctx), last)
			}
			return context.Cause(ctx)
		case <-ticker.C:
		}
	}
}

// Poll calls cond every interval (the first time at once) until it returns
// true or ctx ends; the error on the deadline names the last error cond
// returned. Tests use it for conditions the stack has no wait for; within
// a running stack, Stack.Poll also ends as soon as one of its processes
// dies.
func Poll(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	return poll(ctx, interval, cond)
}

// Poll is the package's Poll that also ends, with that process's exit, as
// soon as a process of the stack has exited by itself: whatever cond waits
// for may then never come (the manager died: no rule will reach
// Prometheus).
func (s *Stack) Poll(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	return poll(ctx, interval, func(ctx context.Context) (bool, error) {
		if err := s.died(); err != nil {
			return false, stopPolling(err)
		}
		return cond(ctx)
	})
}

// died returns an error naming the first process of the stack that has
// exited without being stopped, nil while all run.
func (s *Stack) died() error {
	for _, p := range s.procs {
		if p.exited() && !p.isStopping() {
			return fmt.Errorf("%s exited by itself: %s (see %s)", p.name, exitText(p.exitErr), p.logPath)
		}
	}
	return nil
}
