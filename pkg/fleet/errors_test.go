package fleet

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// A per-server failure is a value: the server is named once, in front;
// Detail is the message without it; the typed cause stays matchable.
func TestServerErrorNamesTheServerOnce(t *testing.T) {
	xe := &ssh.ExitError{Name: "bbb1", Status: 2, Stderr: "no space left\n"}
	cases := []struct {
		err          error
		full, detail string
	}{
		{serverErr("bbb1", "push", errors.New("/etc/x: it is not a regular file")),
			"bbb1: push: /etc/x: it is not a regular file", "push: /etc/x: it is not a regular file"},
		{serverErr("bbb1", "api", xe), "bbb1: api: remote command exited with status 2: no space left", "api: remote command exited with status 2: no space left"},
		{&ErrTimeout{Server: "bbb1", Timeout: time.Second}, "bbb1: not done within 1s (the run's timeout; raise it for long work or a slow server)",
			"not done within 1s (the run's timeout; raise it for long work or a slow server)"},
		{&ErrTimeout{Server: "bbb1", Timeout: time.Second, Limit: "deadline D"}, "bbb1: not done within 1s (deadline D; raise it for long work or a slow server)",
			"not done within 1s (deadline D; raise it for long work or a slow server)"},
		{&NotRunError{Server: "bbb3", Batch: 1, Failed: []string{"bbb1"}}, "bbb3: not run: batch 1 failed (bbb1)", "not run: batch 1 failed (bbb1)"},
		{&MissingSecretError{Server: "bbb1"}, "bbb1: no API secret: fetch the API secret of bbb1 from the server or set BBBFLEET_SECRET_BBB1",
			"no API secret: fetch the API secret of bbb1 from the server or set BBBFLEET_SECRET_BBB1"},
		{&MissingSecretError{Server: "bbb1", Remedy: "do R"}, "bbb1: no API secret: do R", "no API secret: do R"},
		{&OpError{Server: "bbb1", Step: StepStop, Err: errors.New("boom")}, "bbb1: stop: boom", "stop: boom"},
		{&SecretUnverifiedError{Server: "bbb1", Err: &bbb.HTMLPageError{Server: "bbb1"}},
			"bbb1: cannot verify the secret, so it was not saved (skip the verification to save it anyway): expected BBB XML, got an HTML page: is the API URL right?",
			"cannot verify the secret, so it was not saved (skip the verification to save it anyway): expected BBB XML, got an HTML page: is the API URL right?"},
		{errors.New("boom"), "boom", "boom"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.full {
			t.Errorf("Error() = %q, want %q", got, c.full)
		}
		if got := Detail(c.err); got != c.detail {
			t.Errorf("Detail() = %q, want %q", got, c.detail)
		}
	}
	if !errors.As(cases[1].err, new(*ssh.ExitError)) {
		t.Error("the ExitError is not reachable through the ServerError")
	}
}

// The check rows and the operations' messages ask the error for its text
// without the server (and without "ssh: " in the ssh row).
func TestReasonAndWithoutServer(t *testing.T) {
	se := &ssh.Error{Server: "bbb1", Err: fmt.Errorf("127.0.0.2:22: %w", context.Canceled)}
	if got := Reason(se); got != "127.0.0.2:22: context canceled" {
		t.Errorf("Reason = %q", got)
	}
	if got := rowMessage(se, "bbb1"); got != "127.0.0.2:22: context canceled" {
		t.Errorf("rowMessage = %q", got)
	}
	closed := &ssh.Error{Server: "bbb1", Err: ErrEnvClosed}
	if got := Reason(closed); got != ErrEnvClosed.Error() {
		t.Errorf("Reason = %q", got)
	}
	w := fmt.Errorf("bbb-conf --stop: %w", withoutServer(se))
	if got := w.Error(); got != "bbb-conf --stop: ssh: 127.0.0.2:22: context canceled" || !errors.Is(w, context.Canceled) {
		t.Errorf("wrapped = %q", got)
	}
	if got := withoutServerSSH(se).Error(); got != "127.0.0.2:22: context canceled" {
		t.Errorf("withoutServerSSH = %q", got)
	}
	if withoutServer(nil) != nil || withoutServerSSH(nil) != nil {
		t.Error("nil is not nil")
	}
	// An error that does not carry its server keeps its text.
	plain := errors.New("dial tcp: refused")
	if withoutServer(plain) != plain || Detail(plain) != "dial tcp: refused" {
		t.Error("a plain error changed")
	}
}

// Whether a server answered is asked of the error's type: a login without
// an accepted key, or a host key that could not be checked or recorded,
// is an answer (a power hook cannot help); a refused connection is none.
func TestSSHUnreachableTyped(t *testing.T) {
	noKey := errors.New("x")
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&ssh.Error{Server: "bbb1", Err: errors.New("127.0.0.2:22: connection refused")}, true},
		{&ssh.DialTimeoutError{Server: "bbb1", What: "10.0.0.1:22", Phase: "TCP connect"}, true},
		{&ssh.Error{Server: "bbb1", Err: fmt.Errorf("ssh: handshake failed: %w", &ssh.Error{Server: "bbb1", Err: fmt.Errorf("%w", ssh.ErrHostKey)})}, false},
		{&ssh.Error{Server: "bbb1", Err: fmt.Errorf("%w: %w", noKey, ssh.ErrNoKey)}, false},
	} {
		if got := sshUnreachable(c.err); got != c.want {
			t.Errorf("%v: %v", c.err, got)
		}
	}
}

// pkg/fleet names no command-line flags: cmd/ says which flags emptied
// the list of checks.
func TestNoChecksLeftNamesNoFlags(t *testing.T) {
	_, err := SelectChecks([]string{"ssh"}, []string{"ssh"})
	if !errors.Is(err, ErrNoChecksLeft) || err.Error() != "no checks left to run" {
		t.Errorf("%v", err)
	}
}

// A result's failure is a ServerError naming its server once, whatever
// the operation returned; the cause stays matchable.
func TestResultFailure(t *testing.T) {
	res := Run(context.Background(), []Server{{Name: "bbb1"}, {Name: "bbb2"}, {Name: "bbb3"}}, RunOptions{}, func(ctx context.Context, s Server) (int, error) {
		switch s.Name {
		case "bbb1":
			return 0, &ssh.ExitError{Name: "bbb1", Status: 3}
		case "bbb2":
			return 0, errors.New("boom")
		}
		return 1, nil
	})
	f := res[0].Failure()
	if f == nil || f.Error() != "bbb1: remote command exited with status 3" || f.Detail() != "remote command exited with status 3" || !errors.As(f, new(*ssh.ExitError)) {
		t.Errorf("bbb1: %v", f)
	}
	if f := res[1].Failure(); f == nil || f.Error() != "bbb2: boom" || f.Server != "bbb2" {
		t.Errorf("bbb2: %v", f)
	}
	if res[1].Err.Error() != "boom" {
		t.Errorf("Err changed: %v", res[1].Err)
	}
	if res[2].Failure() != nil {
		t.Error("bbb3 failed")
	}
}
