package ssh_test

import (
	"sync/atomic"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

type countWriter struct{ n atomic.Int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// Result keeps at most MaxOutput bytes of each stream (16 MiB by
// default), while the caller's writers still get everything.
func TestMaxOutput(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	c := dial(t, config(hs, 0))

	var out countWriter
	res := run(t, c, ssh.Command{
		Script:    "head -c 100000 /dev/zero; head -c 50000 /dev/zero >&2",
		Stdout:    &out,
		MaxOutput: 1000,
	})
	if len(res.Stdout) != 1000 || !res.StdoutTruncated || len(res.Stderr) != 1000 || !res.StderrTruncated {
		t.Errorf("kept %d/%d bytes, truncated %v/%v; want 1000/1000, true/true",
			len(res.Stdout), len(res.Stderr), res.StdoutTruncated, res.StderrTruncated)
	}
	if n := out.n.Load(); n != 100000 {
		t.Errorf("streamed %d bytes, want 100000", n)
	}

	res = run(t, c, ssh.Command{Argv: []string{"echo", "short"}, MaxOutput: 6})
	if string(res.Stdout) != "short\n" || res.StdoutTruncated || res.StderrTruncated {
		t.Errorf("exactly MaxOutput: %q truncated %v", res.Stdout, res.StdoutTruncated)
	}

	const total = ssh.DefaultMaxOutput + 1<<20
	out.n.Store(0)
	res = run(t, c, ssh.Command{Argv: []string{"head", "-c", "17825792", "/dev/zero"}, Stdout: &out})
	if len(res.Stdout) != ssh.DefaultMaxOutput || !res.StdoutTruncated || res.StderrTruncated {
		t.Errorf("default: kept %d bytes, truncated %v; want %d, true", len(res.Stdout), res.StdoutTruncated, ssh.DefaultMaxOutput)
	}
	if n := out.n.Load(); n != total {
		t.Errorf("streamed %d bytes, want %d", n, total)
	}
}
