package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

// BBB 2.6+ keeps recording work in Resque once rap-starter has taken the
// .done file: a queued rap: job with empty status directories is pending
// work (reference §5).
func TestStopWaitsForResqueJobs(t *testing.T) {
	queued := func(doneIn time.Duration, working bool) func(i int, s *sim.State) {
		return func(i int, s *sim.State) {
			if i != 0 {
				return
			}
			s.ResqueQueues = map[string]int{"rap:archive": 0, "rap:process": 1, "webhooks": 3}
			if working {
				s.ResqueQueues = map[string]int{"rap:archive": 0}
				s.ResqueWorking = []string{"rap:publish"}
			}
			if doneIn > 0 {
				s.RecordingsDoneAt = time.Now().Add(doneIn)
			}
		}
	}
	for _, user := range []string{"", "bbbfleet-test"} {
		t.Run("queued/"+user, func(t *testing.T) {
			f, _ := opFleet(t, user, queued(1500*time.Millisecond, false))
			out, errOut, code := run(t, f.Config, "stop", "bbb1")
			if code != ExitRefused || f.State(t, 0).Stopped {
				t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, "Resque queue rap:process: 1 job") || strings.Contains(errOut, "webhooks") {
				t.Errorf("refusal does not name the queued job:\n%s", errOut)
			}
			out, errOut, code = run(t, f.Config, "stop", "bbb1", "--drain", "20s")
			if code != 0 || !f.State(t, 0).Stopped {
				t.Fatalf("--drain: exit %d\n%s\n%s", code, out, errOut)
			}
			if st := f.State(t, 0); st.ResqueQueues["rap:process"] != 0 {
				t.Errorf("stopped with a queued job left: %v", st.ResqueQueues)
			}
		})
	}
	t.Run("working", func(t *testing.T) {
		f, _ := opFleet(t, "", queued(0, true))
		out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "300ms")
		if code != ExitRefused || f.State(t, 0).Stopped {
			t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "Resque worker processing rap:publish") {
			t.Errorf("refusal does not name the worker:\n%s", errOut)
		}
		out, errOut, code = run(t, f.Config, "stop", "bbb1", "--force")
		if code != 0 || !f.State(t, 0).Stopped {
			t.Fatalf("--force: exit %d\n%s\n%s", code, out, errOut)
		}
	})
}

// Without a readable Resque the pending work is unknown: refused unless
// --force.
func TestStopResqueUnreadable(t *testing.T) {
	f, _ := opFleet(t, "", func(i int, s *sim.State) { s.RedisDown = i == 0 })
	out, errOut, code := run(t, f.Config, "stop", "bbb1")
	if code != ExitRefused || f.State(t, 0).Stopped {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "cannot see its recording processing") || !strings.Contains(errOut, "Resque") {
		t.Errorf("stderr:\n%s", errOut)
	}
	out, errOut, code = run(t, f.Config, "stop", "bbb1", "--force")
	if code != 0 || !f.State(t, 0).Stopped {
		t.Fatalf("--force: exit %d\n%s\n%s", code, out, errOut)
	}
}

// An install left running by an interrupted `install` refuses start and
// stop (exit 3, the attach hint), and changes nothing.
func TestOpsRefuseDuringInstall(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 500*time.Millisecond, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		sshtest.Poll(20*time.Second, func() bool {
			for p, c := range f.State(t, 0).Machine.Files {
				if strings.HasSuffix(p, ".log") && strings.Contains(c, "Setting up") {
					return true
				}
			}
			return false
		})
		cancel()
	}()
	out, errOut, code := runCtx(t, ctx, f.Config, "install", "bbb1")
	if code != ExitInterrupted {
		t.Fatalf("install: exit %d, want 130\n%s\n%s", code, out, errOut)
	}
	for _, args := range [][]string{{"start", "bbb1"}, {"stop", "bbb1", "--force"}, {"restart", "bbb1", "--force"}} {
		before := f.State(t, 0)
		out, errOut, code := run(t, f.Config, args...)
		if code != ExitRefused {
			t.Fatalf("%v: exit %d, want 3\n%s\n%s", args, code, out, errOut)
		}
		if !strings.Contains(errOut, "install is still running") || !strings.Contains(errOut, "bbbfleet install --attach bbb1") {
			t.Errorf("%v: no reason or attach hint:\n%s", args, errOut)
		}
		if after := f.State(t, 0); after.Stopped != before.Stopped || after.Machine.InstallRuns != 1 {
			t.Errorf("%v changed the server", args)
		}
	}
	if !f.State(t, 0).Machine.NoBBB {
		t.Fatal("the install finished before the operations ran: the test proves nothing")
	}
}
