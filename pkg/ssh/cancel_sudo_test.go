package ssh_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// Through sudo under a non-root login, a cancelled command's whole process
// tree ends: sshd's SIGTERM reaches only sudo, which relays it to the
// shell alone, whose child would run on orphaned. The output so far is
// returned, and the connection stays usable.
func TestCancelSudoKillsProcessTree(t *testing.T) {
	requireRoot(t)
	hs := sshtest.Start(t, 1, sshtest.Options{})
	sshtest.EnsureUser(t, hs.NonRootUser)
	sshtest.AllowSudo(t, hs.NonRootUser, true)
	cfg := config(hs, 0)
	cfg.User = hs.NonRootUser
	c := dial(t, cfg)
	run(t, c, ssh.Command{Argv: []string{"true"}, Sudo: true}) // warm up
	goroutinesBefore := runtime.NumGoroutine()

	child := []string{"sleep", uniqueSecs("1234.8")}
	for _, cmd := range []ssh.Command{
		{Script: "echo start; " + ssh.Quote(child) + "; echo end", Sudo: true},
		{Argv: []string{"sh", "-c", "echo start; " + ssh.Quote(child) + "; echo end"}, Sudo: true},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		type ret struct {
			res *ssh.Result
			err error
		}
		done := make(chan ret, 1)
		go func() {
			res, err := c.Run(ctx, cmd)
			done <- ret{res, err}
		}()
		if !sshtest.Poll(5*time.Second, func() bool { return len(sshtest.Processes(child...)) == 1 }) {
			cancel()
			t.Fatalf("%v did not start", child)
		}
		start := time.Now()
		cancel()
		select {
		case r := <-done:
			if !errors.Is(r.err, context.Canceled) || string(r.res.Stdout) != "start\n" {
				t.Errorf("err = %v, stdout %q; want Canceled and the output so far", r.err, r.res.Stdout)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Run returned %v after the cancel", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after the cancel")
		}
		noneLeft(t, child...)
	}
	sshtest.GoroutinesBackTo(t, goroutinesBefore)
	if res := run(t, c, ssh.Command{Argv: []string{"id", "-un"}, Sudo: true}); string(res.Stdout) != "root\n" {
		t.Errorf("after the cancel: %q", res.Stdout)
	}
}
