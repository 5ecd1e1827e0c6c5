package fleet

import (
	"fmt"
	"net"
	"testing"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

func TestSSHWaitReason(t *testing.T) {
	// A real refused connect: a port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, dialErr := net.Dial("tcp", addr)
	if dialErr == nil {
		t.Skip("the port answered")
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		// As pkg/ssh words it (the cause formatted with %v: no chain).
		{&ssh.Error{Server: "bbb1", Err: fmt.Errorf("%s: connect: %v", addr, dialErr)}, "connection refused"},
		{&ssh.Error{Server: "bbb1", Err: fmt.Errorf("%s: %w", addr, dialErr)}, "connection refused"},
		{&ssh.Error{Server: "bbb1", Err: fmt.Errorf("%s: ssh: handshake failed: read tcp 127.0.0.1:34400->%s: read: connection reset by peer", addr, addr)}, "connection reset"},
		{&ssh.Error{Server: "bbb1", Err: fmt.Errorf("%s: ssh: handshake failed: EOF", addr)}, "connection closed before the SSH handshake"},
		{&ssh.DialTimeoutError{Server: "bbb1", What: addr, Phase: "TCP connect"}, "no answer (timed out)"},
		{&ssh.Error{Server: "bbb1", Err: fmt.Errorf("%s: something else\nsecond line", addr)}, addr + ": something else"},
	} {
		if got := sshWaitReason(c.err); got != c.want {
			t.Errorf("sshWaitReason(%q) = %q, want %q", c.err, got, c.want)
		}
	}
}
