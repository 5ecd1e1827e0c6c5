package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// expandHook fills {name} and {host} in a power hook's argv.
func expandHook(argv []string, s Server) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		a = strings.ReplaceAll(a, "{name}", s.Name)
		out[i] = strings.ReplaceAll(a, "{host}", s.Host)
	}
	return out
}

// HookError is a power hook that could not run or failed.
type HookError struct {
	Hook    string // power.on, power.off
	Argv    []string
	Err     error
	Stderr  string // what it printed on stderr (the end of it)
	Timeout time.Duration
}

func (e *HookError) Error() string {
	msg := fmt.Sprintf("%s hook %s: %v", e.Hook, ssh.Quote(e.Argv), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += "\nstderr: " + s
	}
	return msg
}

func (e *HookError) Unwrap() error { return e.Err }

// maxHookOutput bounds what is kept of a hook's stderr.
const maxHookOutput = 8 << 10

type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > maxHookOutput {
		t.b = t.b[len(t.b)-maxHookOutput:]
	}
	return len(p), nil
}

// runHook runs a power hook on this machine, bounded by power.timeout; a
// hook that outlives it is killed with its process group.
func (o *Operation) runHook(ctx context.Context, s Server, which string, argv []string) error {
	if len(argv) == 0 {
		return &HookError{Hook: which, Err: fmt.Errorf("no %s hook is configured (set power: {%s: [...]} for %s)", which, strings.TrimPrefix(which, "power."), s.Name)}
	}
	args := expandHook(argv, s)
	he := &HookError{Hook: which, Argv: args, Timeout: s.Power.Timeout.D()}
	path, err := exec.LookPath(args[0])
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrPermission):
			he.Err = fmt.Errorf("%s is not executable", args[0])
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, exec.ErrNotFound):
			he.Err = fmt.Errorf("%s: no such program (on PATH or at that path)", args[0])
		default:
			he.Err = err
		}
		return he
	}
	timeout := s.Power.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultPowerTimeout
	}
	// Ctrl-C does not cut a hook off half-way (a provider's API call in
	// flight): it runs to its end, bounded by power.timeout.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, path, args[1:]...)
	cmd.Args[0] = args[0]
	var stderr, stdout tailBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	he.Stderr = string(bytes.ToValidUTF8(stderr.b, []byte("?")))
	if err == nil {
		return nil
	}
	switch {
	case hctx.Err() == context.DeadlineExceeded:
		he.Err = fmt.Errorf("did not finish within power.timeout (%s); it was killed", timeout)
	case errors.Is(err, fs.ErrPermission):
		he.Err = fmt.Errorf("%s is not executable", args[0])
	default:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				he.Err = fmt.Errorf("killed by signal %s", st.Signal())
			} else {
				he.Err = fmt.Errorf("exited with status %d", ee.ExitCode())
			}
		} else {
			he.Err = err
		}
	}
	return he
}

func (o *Operation) runPowerOff(ctx context.Context, r *serverRun) error {
	s := r.s
	timeout := s.Power.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultPowerTimeout
	}
	how := ""
	if len(s.Power.Off) > 0 {
		if err := o.runHook(ctx, s, "power.off", s.Power.Off); err != nil {
			return err
		}
		how = "power.off hook ran"
		r.powerHookRan = true
	} else {
		pctx, cancel := context.WithTimeout(ctx, o.callTimeout())
		_, err := o.Env.Remote(pctx, s, ssh.Command{Argv: []string{"poweroff"}, Sudo: true})
		cancel()
		var ee *ssh.ExitError
		if errors.As(err, &ee) && ee.Status > 0 || errors.Is(err, ssh.ErrSudoPassword) {
			return fmt.Errorf("sudo poweroff: %w", withoutServer(err))
		}
		r.powerHookRan = true // it may have run even when interrupted
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Any other error is the connection going down with the machine.
		how = "sudo poweroff ran"
	}
	// Confirm: SSH no longer answers.
	deadline := time.Now().Add(timeout)
	for {
		err := o.sshAnswers(ctx, s, 2*time.Second)
		if err != nil && ctx.Err() == nil {
			r.poweredOff, r.stopped = true, true
			r.done(how+"; SSH no longer answers", nil, nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s, but SSH still answers after power.timeout (%s)", how, timeout)
		}
		r.progress(how+"; waiting for SSH to stop answering", nil, nil)
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
