package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// Result is the outcome of one operation on one server.
type Result[T any] struct {
	Server   Server
	Value    T
	Err      error
	Duration time.Duration
}

// RunOptions bound a fleet-wide operation.
type RunOptions struct {
	// Parallel is how many servers are worked on at once (default 16).
	Parallel int
	// Timeout bounds each server's operation (0: only the parent context).
	Timeout time.Duration
	// TimeoutName is how messages name Timeout (ErrTimeout.Limit): a
	// front end says it its own way (the command line sets it with a
	// flag); "" is RunTimeoutWords.
	TimeoutName string
}

// RunTimeoutWords is how messages name RunOptions.Timeout when the front
// end gave it no name of its own.
const RunTimeoutWords = "the run's timeout"

// ErrTimeout is returned for a server whose operation outlived its deadline.
type ErrTimeout struct {
	Server  string
	Timeout time.Duration
	// Limit names the limit that hit, Timeout, as the run's options name
	// it (RunOptions.TimeoutName; "" is RunTimeoutWords).
	Limit string
	// Login is set when the deadline passed during the SSH login: the
	// command never started, and the message says so.
	Login *ssh.DialTimeoutError
}

func (e *ErrTimeout) Error() string { return e.Server + ": " + e.Detail() }

// Detail is the message without the server's name in front.
func (e *ErrTimeout) Detail() string {
	limit := e.Limit
	if limit == "" {
		limit = RunTimeoutWords
	}
	if e.Login != nil {
		return fmt.Sprintf("SSH login to %s not done within %s (%s; %s timed out, the command did not start)", e.Login.What, e.Timeout, limit, e.Login.Phase)
	}
	return fmt.Sprintf("not done within %s (%s; raise it for long work or a slow server)", e.Timeout, limit)
}

// deadlinePassed reports whether ctx's deadline has passed, also when an
// operation with the same deadline noticed it before ctx's own timer did.
func deadlinePassed(ctx context.Context) bool {
	if ctx.Err() == context.DeadlineExceeded {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// Run applies fn to every server with at most opts.Parallel at once and
// returns the results in the servers' order, whatever order they finish in.
// Each call gets its own deadline; a call that ignores its context is
// abandoned when the deadline passes, so one hanging server never delays
// the others or the whole run by more than the timeout. When ctx is
// cancelled (Ctrl-C), servers not yet started are not started and their
// results carry ctx.Err().
func Run[T any](ctx context.Context, servers []Server, opts RunOptions, fn func(ctx context.Context, s Server) (T, error)) []Result[T] {
	return RunRolling(ctx, servers, opts, Rollout{}, fn, nil)
}

// Rollout makes a run roll through the fleet batch after batch, as
// Ansible's serial: does.
type Rollout struct {
	// Batch is how many servers are worked on per batch; a batch starts
	// when the one before it has finished. 0 means one batch of all.
	Batch int
	// StopOnError ends the rollout after the first batch in which a server
	// failed: the later servers are not run, their results carry a
	// *NotRunError.
	StopOnError bool
}

// NotRunError is the result of a server a rollout did not run because an
// earlier batch had a failure (Rollout.StopOnError).
type NotRunError struct {
	Server string
	// Batch is the (1-based) batch that failed; Failed names its failed
	// servers.
	Batch  int
	Failed []string
}

func (e *NotRunError) Error() string { return e.Server + ": " + e.Detail() }

// Detail is the message without the server's name in front.
func (e *NotRunError) Detail() string {
	return fmt.Sprintf("not run: batch %d failed (%s)", e.Batch, strings.Join(e.Failed, ", "))
}

// RunRolling is Run in batches (see Rollout; within a batch at most
// opts.Parallel at once). each, when set, is called once per server, with
// its index in servers, as soon as its result is known (from several
// goroutines at once: it must be safe for that), including servers not
// started because ctx was cancelled or an earlier batch failed.
func RunRolling[T any](ctx context.Context, servers []Server, opts RunOptions, roll Rollout, fn func(ctx context.Context, s Server) (T, error), each func(i int, r Result[T])) []Result[T] {
	par := opts.Parallel
	if par < 1 {
		par = 16
	}
	batch := roll.Batch
	if batch < 1 || batch > len(servers) {
		batch = len(servers)
	}
	results := make([]Result[T], len(servers))
	done := func(i int) {
		if each != nil {
			each(i, results[i])
		}
	}
	sem := make(chan struct{}, par)
	var stop *NotRunError
	for b := 0; b*batch < len(servers); b++ {
		lo, hi := b*batch, min((b+1)*batch, len(servers))
		var wg sync.WaitGroup
		for i := lo; i < hi; i++ {
			s := servers[i]
			results[i].Server = s
			if stop != nil {
				e := *stop
				e.Server = s.Name
				results[i].Err = &e
				done(i)
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].Err = ctx.Err()
				done(i)
				continue
			}
			if ctx.Err() != nil { // both were ready: cancellation wins
				<-sem
				results[i].Err = ctx.Err()
				done(i)
				continue
			}
			wg.Add(1)
			go func(i int, s Server) {
				defer wg.Done()
				defer func() { <-sem }()
				results[i] = runOne(ctx, s, opts, fn)
				done(i)
			}(i, s)
		}
		wg.Wait()
		if roll.StopOnError && stop == nil {
			var failed []string
			for i := lo; i < hi; i++ {
				if results[i].Err != nil {
					failed = append(failed, servers[i].Name)
				}
			}
			if len(failed) > 0 {
				stop = &NotRunError{Batch: b + 1, Failed: failed}
			}
		}
	}
	return results
}

// How long runOne waits for an operation to return after its deadline
// passed, and after the whole run was cancelled.
const (
	timeoutGrace = 100 * time.Millisecond
	cancelGrace  = 2 * time.Second
)

func runOne[T any](parent context.Context, s Server, opts RunOptions, fn func(context.Context, Server) (T, error)) (res Result[T]) {
	timeout := opts.Timeout
	res.Server = s
	start := time.Now()
	ctx, cancel := parent, context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(parent, timeout)
	}
	defer cancel()
	type out struct {
		v   T
		err error
	}
	done := make(chan out, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- out{err: &ServerError{Server: s.Name, Step: "internal error", Err: fmt.Errorf("%v", r)}}
			}
		}()
		v, err := fn(ctx, s)
		done <- out{v, err}
	}()
	select {
	case o := <-done:
		res.Value, res.Err = o.v, o.err
		if res.Err != nil && deadlinePassed(ctx) && parent.Err() == nil {
			te := &ErrTimeout{Server: s.Name, Timeout: timeout, Limit: opts.TimeoutName}
			errors.As(res.Err, &te.Login)
			res.Err = te
		}
	case <-ctx.Done():
		// Give the operation a moment to notice its context and return
		// its own (more precise) error, then abandon it. On Ctrl-C the
		// run is about to end and close its connections: wait longer, so
		// that the operation's cleanup (signalling the remote command)
		// happens before that.
		grace := timeoutGrace
		if parent.Err() != nil {
			grace = cancelGrace
		}
		t := time.NewTimer(grace)
		select {
		case o := <-done:
			res.Value, res.Err = o.v, o.err
		case <-t.C:
			res.Err = ctx.Err()
		}
		t.Stop()
		if parent.Err() != nil {
			res.Err = parent.Err()
		} else if res.Err == nil || ctx.Err() == context.DeadlineExceeded {
			te := &ErrTimeout{Server: s.Name, Timeout: timeout, Limit: opts.TimeoutName}
			if res.Err != nil {
				errors.As(res.Err, &te.Login)
			}
			res.Err = te
		}
	}
	res.Duration = time.Since(start)
	return res
}
