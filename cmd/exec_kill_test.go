package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

// uniqueSecs returns a sleep duration that names this test's remote
// processes.
func uniqueSecs() string {
	n := time.Now().UnixNano()
	return fmt.Sprintf("%d.%03d", 40+n%50, n%1000)
}

// noneLeft fails t when processes "sleep secs" still run 5s from now, and
// kills them (they are this test's own).
func noneLeft(t *testing.T, secs, when string) {
	t.Helper()
	gone := sshtest.Poll(5*time.Second, func() bool { return len(sshtest.Processes("sleep", secs)) == 0 })
	if left := sshtest.Processes("sleep", secs); !gone {
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL) // ours: started by this test
		}
		t.Errorf("remote processes still running 5s after %s: %v", when, left)
	}
}

// A process tree (a shell and its child) outlives neither --timeout nor
// Ctrl-C, for a root login, a non-root login and a non-root login through
// sudo, and the output that arrived before the deadline is kept.
func TestExecTimeoutEndsRemoteTreeKeepsOutput(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root: creates a user and a sudoers rule")
	}
	const user = "bbbfleet-test"
	sshtest.EnsureUser(t, user)
	sshtest.AllowSudo(t, user, true)
	for _, tc := range []struct {
		name, user string
		sudo       bool
	}{{"sudo", user, true}, {"user", user, false}, {"root", "root", false}, {"root-sudo", "root", true}} {
		t.Run(tc.name, func(t *testing.T) {
			_, cfg := plainFleet(t, 2, tc.user)
			secs := uniqueSecs()
			args := []string{"--timeout", "2s", "-o", "json", "exec", "all"}
			if tc.sudo {
				args = append(args, "--sudo")
			}
			args = append(args, "--", "sh", "-c", "echo start; sleep 1; echo mid; sleep "+secs+"; echo end")
			start := time.Now()
			out, errOut, code := run(t, cfg, args...)
			if code != ExitFailed {
				t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
			}
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("took %v with --timeout 2s", d)
			}
			var res []execJSON
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, r := range res {
				if r.OK || r.Stdout != "start\nmid\n" || !strings.Contains(r.Error, "not done within 2s") {
					t.Errorf("%s: ok %v stdout %q error %q, want the output before the deadline and a timeout", r.Server, r.OK, r.Stdout, r.Error)
				}
			}
			noneLeft(t, secs, "--timeout")
		})
	}
}

// Ctrl-C ends a remote process tree run through sudo by a non-root login.
func TestExecCtrlCEndsSudoTree(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root: creates a user and a sudoers rule")
	}
	const user = "bbbfleet-test"
	sshtest.EnsureUser(t, user)
	sshtest.AllowSudo(t, user, true)
	_, cfg := plainFleet(t, 2, user)
	secs := uniqueSecs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, out, errOut := runAsync(t, ctx, cfg, "exec", "all", "--sudo", "--", "sh", "-c", "echo start; sleep "+secs+"; echo end")
	if !sshtest.Poll(10*time.Second, func() bool { return len(sshtest.Processes("sleep", secs)) == 2 }) {
		t.Fatalf("remote sleeps: %v, want 2", sshtest.Processes("sleep", secs))
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitInterrupted {
			t.Errorf("exit %d\n%s%s", code, out, errOut)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("exec did not return within 5s of Ctrl-C")
	}
	noneLeft(t, secs, "Ctrl-C")
}
