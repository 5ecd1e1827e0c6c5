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
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
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
			// The case with --timeout 2s; 4s leaves room for a
			// slow sudo on a loaded machine before "mid".
			args := []string{"--timeout", "4s", "-o", "json", "exec", "all"}
			if tc.sudo {
				args = append(args, "--sudo")
			}
			args = append(args, "--", "sh", "-c", "echo start; sleep 1; echo mid; sleep "+secs+"; echo end")
			start := time.Now()
			out, errOut, code := run(t, cfg, args...)
			if code != ExitFailed {
				t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v with --timeout 4s", d)
			}
			var res []execJSON
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, r := range res {
				if r.OK || r.Stdout != "start\nmid\n" || !strings.Contains(r.Error, "not done within 4s") {
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
	time.Sleep(200 * time.Millisecond) // "start" is on its way
	cancel()
	select {
	case code := <-done:
		if code != ExitInterrupted {
			t.Errorf("exit %d\n%s%s", code, out, errOut)
		}
		// What arrived before Ctrl-C is shown.
		hd, b := headers(out.String()), blocks(out.String())
		if len(hd) != 2 || !strings.HasPrefix(hd[0], "── h1 (interrupted, ") || b["h1"] != "start\n" || b["h2"] != "start\n" {
			t.Errorf("output after Ctrl-C:\n%s", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("exec did not return within 5s of Ctrl-C")
	}
	noneLeft(t, secs, "Ctrl-C")
}

// Behind a ForceCommand (the test fleet's bbbsim, which runs what it does
// not emulate for real), for a root login and a non-root one with and
// without sudo, a timed-out command ends with everything it started; its
// output so far is kept.
func TestExecTimeoutEndsForceCommandTree(t *testing.T) {
	const user = "bbbfleet-test"
	sshtest.EnsureUser(t, user)
	for _, login := range []string{user, "root"} {
		if login == "root" && !sshtest.IsRoot() {
			continue
		}
		t.Run(login, func(t *testing.T) { testForceCommandTree(t, login) })
	}
}

func testForceCommandTree(t *testing.T, login string) {
	opts := testfleet.Options{N: 2}
	if login != "root" {
		opts.User = login
	}
	f := testfleet.Start(t, opts)
	if _, _, code := run(t, f.Config, "exec", "all", "--", "true"); code != 0 {
		t.Fatal("warm-up failed")
	}
	before := []int{f.Hosts[0].SSH.Children(), f.Hosts[1].SSH.Children()}
	secs := uniqueSecs()
	// env is not emulated: a real sleep runs, a child of bbbsim.
	for _, sudo := range []bool{true, false} {
		args := []string{"--timeout", "4s", "-o", "json", "exec", "all"}
		if sudo {
			args = append(args, "--sudo")
		}
		args = append(args, "--", "sh", "-c", "echo start; sleep 1; echo mid; env sleep "+secs+"; echo end")
		out, errOut, code := run(t, f.Config, args...)
		if code != ExitFailed {
			t.Errorf("sudo=%v: exit %d, want 1\n%s%s", sudo, code, out, errOut)
		}
		var res []execJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, r := range res {
			if r.Stdout != "start\nmid\n" || r.Status != "timed_out" {
				t.Errorf("sudo=%v: %s: status %s stdout %q", sudo, r.Server, r.Status, r.Stdout)
			}
		}
		noneLeft(t, secs, "--timeout behind ForceCommand")
		if !sshtest.Poll(5*time.Second, func() bool {
			return f.Hosts[0].SSH.Children() <= before[0] && f.Hosts[1].SSH.Children() <= before[1]
		}) {
			t.Errorf("sudo=%v: sshd children %d %d, before %d %d", sudo, f.Hosts[0].SSH.Children(), f.Hosts[1].SSH.Children(), before[0], before[1])
		}
	}
}
