package fleet

import (
	"errors"
	"strings"
	"syscall"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// sshWaitReason says in a few words why SSH does not answer yet, for the
// progress of wait-ssh ("connection refused"), instead of the whole chain
// of Go errors (address, "dial tcp", "read tcp ...").
func sshWaitReason(err error) string {
	var dt *ssh.DialTimeoutError
	if errors.As(err, &dt) {
		return "no answer (timed out)"
	}
	msg := err.Error()
	for _, c := range []struct {
		errno syscall.Errno
		text  string
		words string
	}{
		{syscall.ECONNREFUSED, "connection refused", "connection refused"},
		{syscall.ECONNRESET, "connection reset by peer", "connection reset"},
		{syscall.EHOSTUNREACH, "no route to host", "no route to host"},
		{syscall.ENETUNREACH, "network is unreachable", "network unreachable"},
		{syscall.ETIMEDOUT, "i/o timeout", "no answer (timed out)"},
	} {
		if errors.Is(err, c.errno) || strings.Contains(msg, c.text) {
			return c.words
		}
	}
	if strings.Contains(msg, "handshake failed: EOF") {
		return "connection closed before the SSH handshake"
	}
	return firstLine(withoutServerSSH(err).Error())
}
