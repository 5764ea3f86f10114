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
// returned. Tests use it for conditions the stack has no wait for.
func Poll(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	return poll(ctx, interval, cond)
}
