package ssh

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The server's name is a field of every per-server error: Error() puts it
// in front, Detail() leaves it out, and the cause stays matchable.
func TestErrorsCarryTheServerAsAField(t *testing.T) {
	cases := []struct {
		err          error
		full, detail string
	}{
		{errorf("bbb1", "%s: %w", "127.0.0.2:22", context.Canceled),
			"bbb1: ssh: 127.0.0.2:22: context canceled", "ssh: 127.0.0.2:22: context canceled"},
		{&DialTimeoutError{Server: "bbb1", What: "10.0.0.1:22", Phase: "TCP connect", Elapsed: 5 * time.Second, Limit: "ssh.timeout 5s"},
			"bbb1: ssh: 10.0.0.1:22: TCP connect timed out after 5s (ssh.timeout 5s)", "ssh: 10.0.0.1:22: TCP connect timed out after 5s (ssh.timeout 5s)"},
		{&ExitError{Name: "bbb1", Status: 3, Stderr: "no such unit\n"},
			"bbb1: remote command exited with status 3: no such unit", "remote command exited with status 3: no such unit"},
		{&sudoPasswordError{name: "bbb3", user: "admin", exit: &ExitError{Name: "bbb3", Status: 1}},
			"bbb3: sudo on bbb3 wants a password; allow passwordless sudo for admin (NOPASSWD) or connect as root",
			"sudo on bbb3 wants a password; allow passwordless sudo for admin (NOPASSWD) or connect as root"},
		{&HostKeyError{Name: "bbb1", msg: "host key changed"}, "bbb1: ssh: host key changed", "ssh: host key changed"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.full {
			t.Errorf("Error() = %q, want %q", got, c.full)
		}
		d, ok := c.err.(Detailer)
		if !ok {
			t.Errorf("%T is no Detailer", c.err)
			continue
		}
		if got := d.Detail(); got != c.detail {
			t.Errorf("Detail() = %q, want %q", got, c.detail)
		}
	}
	if err := cases[0].err; !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not match context.Canceled", err)
	}
	if !errors.Is(cases[3].err, ErrSudoPassword) {
		t.Error("the sudo error does not match ErrSudoPassword")
	}
}

// A shared jump host's failure is reported by each server that dialled
// through it under its own name, by setting the field, not editing text.
func TestWithServerRenames(t *testing.T) {
	for _, err := range []error{
		errorf("bbb1", "jump host %s: %s", "jump:22", "refused"),
		&DialTimeoutError{Server: "bbb1", What: "jump host jump:22", Phase: "TCP connect", Limit: "x"},
		&HostKeyError{Name: "bbb1", msg: "host key changed"},
	} {
		got := withServer(err, "bbb2")
		d := got.(Detailer)
		if got.Error() != "bbb2: "+d.Detail() || err.(Detailer).Detail() != d.Detail() {
			t.Errorf("withServer(%q) = %q", err, got)
		}
		if err.Error()[:6] != "bbb1: " {
			t.Errorf("the original changed: %q", err)
		}
	}
}
