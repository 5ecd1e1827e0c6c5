package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
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

// Scalelite does not keep URLs unique: every entry with the server's URL
// is cordoned (a duplicate left enabled would still get meetings), and
// start enables them all.
func TestStopCordonsDuplicateScaleliteEntries(t *testing.T) {
	f, _ := opFleet(t, "", nil)
	if err := f.Scalelite.Sim.Update(func(s *sim.State) error {
		d := s.Scalelite.Servers[0]
		d.ID = "dup00000-0000-4000-8000-000000000001"
		s.Scalelite.Servers = append(s.Scalelite.Servers, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	states := func() []string {
		s, err := f.Scalelite.Sim.State()
		if err != nil {
			t.Fatal(err)
		}
		return []string{s.Scalelite.Servers[0].State, s.Scalelite.Servers[2].State, s.Scalelite.Servers[1].State}
	}
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "5s")
	if code != 0 || !f.State(t, 0).Stopped {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if st := states(); st[0] != sim.ScaleliteCordoned || st[1] != sim.ScaleliteCordoned || st[2] != sim.ScaleliteEnabled {
		t.Errorf("Scalelite states (bbb1, its duplicate, bbb2): %v", st)
	}
	if !strings.Contains(out, "cordoned 2 of the 2 Scalelite entries that share this URL") {
		t.Errorf("the cordon does not say it cordoned both:\n%s", out)
	}
	out, errOut, code = run(t, f.Config, "start", "bbb1")
	if code != 0 {
		t.Fatalf("start: exit %d\n%s\n%s", code, out, errOut)
	}
	if st := states(); st[0] != sim.ScaleliteEnabled || st[1] != sim.ScaleliteEnabled {
		t.Errorf("after start: %v", st)
	}
	if !strings.Contains(out, "enabled 2 of the 2 Scalelite entries") {
		t.Errorf("start does not say it enabled both:\n%s", out)
	}
}

// restart puts a server back as it was in Scalelite: one the
// administrator cordoned stays cordoned; an enabled one is enabled again.
func TestRestartKeepsScaleliteState(t *testing.T) {
	f, _ := opFleet(t, "", nil)
	if err := f.Scalelite.Sim.Update(func(s *sim.State) error {
		s.Scalelite.Servers[0].State = sim.ScaleliteCordoned
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, f.Config, "restart", "bbb1", "bbb2")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if got := scaleliteState(t, f, 0); got != sim.ScaleliteCordoned {
		t.Errorf("bbb1 (cordoned before): %s after the restart", got)
	}
	if got := scaleliteState(t, f, 1); got != sim.ScaleliteEnabled {
		t.Errorf("bbb2 (enabled before): %s after the restart", got)
	}
	if !strings.Contains(out, "left cordoned in Scalelite as it was") {
		t.Errorf("the result does not say bbb1 was left cordoned:\n%s", out)
	}
	// start still enables: that is its job.
	out, errOut, code = run(t, f.Config, "start", "bbb1")
	if code != 0 || scaleliteState(t, f, 0) != sim.ScaleliteEnabled {
		t.Fatalf("start: exit %d, state %s\n%s\n%s", code, scaleliteState(t, f, 0), out, errOut)
	}
}

// opEnv is the product's environment for f, for tests that watch the
// operation's events.
func opEnv(t *testing.T, f *testfleet.Fleet) (*fleet.Env, []fleet.Server) {
	t.Helper()
	cfg, err := fleet.Load(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := fleet.LoadSecrets(cfg.SecretsFile)
	if err != nil {
		t.Fatal(err)
	}
	env := fleet.NewEnv(cfg, secrets, fleet.RunOptions{Parallel: 4, Timeout: 10 * time.Second})
	env.SSHConfigFile = "none"
	t.Cleanup(func() { env.Close() })
	servers, err := cfg.Select([]string{"bbb1"})
	if err != nil {
		t.Fatal(err)
	}
	return env, servers
}

// A meeting created after the drain's last look is seen just before
// `bbb-conf --stop`: refused (the server stays up and cordoned), or with
// --force ended first.
func TestStopLastLookBeforeStop(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	for _, force := range []bool{false, true} {
		t.Run(map[bool]string{false: "refused", true: "force"}[force], func(t *testing.T) {
			f, _ := opFleet(t, "", withMeetings(1, 300*time.Millisecond))
			env, servers := opEnv(t, f)
			op := env.NewOperation("stop")
			created := false
			op.Subscribe(func(ev fleet.Event) {
				if ev.Step == fleet.StepDrain && ev.Phase == fleet.PhaseDone {
					// A class joins right after the drain saw none.
					f.Update(t, 0, func(s *sim.State) {
						s.Meetings = sim.GenerateMeetings(11, 1, 4, time.Now())
						created = true
					})
				}
			})
			so := fleet.StopOptions{Drain: true, DrainTimeout: 10 * time.Second, Force: force}
			plans := op.PlanStop(context.Background(), servers, so)
			outs := op.Apply(context.Background(), plans)
			if !created {
				t.Fatal("the drain did not finish: the test proves nothing")
			}
			oc := outs[0]
			st := f.State(t, 0)
			if force {
				if oc.Result != fleet.ResultDone || !st.Stopped || len(st.Meetings) != 0 {
					t.Fatalf("--force: %s %q, stopped %v, meetings %d", oc.Result, oc.Message, st.Stopped, len(st.Meetings))
				}
				return
			}
			if oc.Result != fleet.ResultRefused || st.Stopped || len(st.Meetings) != 1 {
				t.Fatalf("%s %q, stopped %v, meetings %d", oc.Result, oc.Message, st.Stopped, len(st.Meetings))
			}
			if !strings.Contains(oc.State, "cordoned") || oc.Undo != "bbbfleet start bbb1" || oc.Err.Step != fleet.StepStop {
				t.Errorf("state %q undo %q step %q", oc.State, oc.Undo, oc.Err.Step)
			}
			if got := scaleliteState(t, f, 0); got != sim.ScaleliteCordoned {
				t.Errorf("Scalelite: %s, want cordoned", got)
			}
		})
	}
}

// Ctrl-C after the power-off hook ran says the machine may be off, not
// "BBB stopped".
func TestStopPowerOffInterruptedState(t *testing.T) {
	f, _ := opFleet(t, "", nil)
	env, servers := opEnv(t, f)
	op := env.NewOperation("stop")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	op.Subscribe(func(ev fleet.Event) {
		if ev.Step == fleet.StepPowerOff && ev.Phase == fleet.PhaseStarted {
			cancel() // the hook runs to its end; the wait for SSH is cut
		}
	})
	plans := op.PlanStop(context.Background(), servers, fleet.StopOptions{Force: true, PowerOff: true})
	outs := op.Apply(ctx, plans)
	oc := outs[0]
	if oc.Result != fleet.ResultInterrupted {
		t.Fatalf("%s %q (state %q)", oc.Result, oc.Message, oc.State)
	}
	if oc.State != "power-off hook ran; the machine may be off; cordoned in Scalelite" || oc.Undo != "bbbfleet start bbb1" {
		t.Errorf("state %q", oc.State)
	}
}
