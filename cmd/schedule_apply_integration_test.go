package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// The schedule of the apply tests, in UTC: bbb1 and bbb2 (@pool) are
// shut down at 22:00 with a drain and powered off, and started at 06:00;
// bbb3 is in no rule and must never be touched.
func applySchedule(drain string, power bool) string {
	return fmt.Sprintf(`timezone: UTC
schedules:
  - {name: warm-up,  cron: "0 6 * * *",  action: start, targets: ["@pool"], power: %v}
  - {name: shutdown, cron: "0 22 * * *", action: stop,  targets: ["@pool"], power: %v, drain: %s, message: "Closing in {remaining}"}
`, power, power, drain)
}

const (
	atNight   = "2026-12-07 23:00" // desired: pool down
	atMorning = "2026-12-08 07:00" // desired: pool up
)

// applyFleet starts bbb1..bbb3 (bbb1, bbb2 in @pool) behind Scalelite,
// with power hooks that also append to a marker file.
func applyFleet(t *testing.T, user, sched string, state func(i int, s *sim.State)) (f *testfleet.Fleet, stateDir, marker string) {
	t.Helper()
	stateDir = t.TempDir()
	f = testfleet.Start(t, testfleet.Options{N: 3, User: user, Scalelite: true, Power: true, State: state,
		SSHTimeout: "2s", APITimeout: "2s",
		Tags: func(i int) []string {
			if i < 2 {
				return []string{"pool"}
			}
			return []string{"core"}
		},
		Defaults: "  drain: {poll: 50ms, timeout: 5s}\n",
		Extra:    fmt.Sprintf("state_dir: %q\n", stateDir) + sched})
	marker = filepath.Join(t.TempDir(), "power-hook-calls")
	b, err := os.ReadFile(f.PowerScript)
	if err != nil {
		t.Fatal(err)
	}
	script := strings.Replace(string(b), "\n", fmt.Sprintf("\necho \"$@\" >> %q\n", marker), 1)
	if err := os.WriteFile(f.PowerScript, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return f, stateDir, marker
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestScheduleApplyDrainsThenStops: at night, bbb1 runs two lessons: it is
// cordoned, warned, drained until the lessons end by themselves (none is
// ended), stopped and powered off; bbb2 (empty) is stopped and powered
// off; bbb3 (no rule) is never touched.
func TestScheduleApplyDrainsThenStops(t *testing.T) {
	for _, user := range []string{"", "bbbfleet-test"} {
		t.Run("user="+user, func(t *testing.T) {
			f, stateDir, marker := applyFleet(t, user, applySchedule("20s", true), withMeetings(2, 0))
			bbb3 := stateBytes(t, f.Hosts[2].StateDir)
			go func() {
				sshtest.Poll(20*time.Second, func() bool { return scaleliteState(t, f, 0) == sim.ScaleliteCordoned })
				now := time.Now()
				f.Hosts[0].Sim.Update(func(s *sim.State) error {
					for i := range s.Meetings {
						s.Meetings[i].EndsAt = now.Add(300*time.Millisecond + time.Duration(i)*200*time.Millisecond)
					}
					return nil
				})
			}()
			out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atNight)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			for i := 0; i < 2; i++ {
				st := f.State(t, i)
				if !st.Power.Off || !st.Stopped {
					t.Errorf("bbb%d: off=%v stopped=%v, want stopped and powered off", i+1, st.Power.Off, st.Stopped)
				}
			}
			if !bytes.Equal(stateBytes(t, f.Hosts[2].StateDir)[f.Hosts[2].StateDir], bbb3[f.Hosts[2].StateDir]) {
				t.Error("bbb3 (no rule) was changed")
			}
			recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
			cordon, warn, drain, stop, off := stepIndex(recs, "bbb1", "cordon", "done"), stepIndex(recs, "bbb1", "warn", "done"),
				stepIndex(recs, "bbb1", "drain", "done"), stepIndex(recs, "bbb1", "stop", "done"), stepIndex(recs, "bbb1", "power-off", "done")
			if !(cordon >= 0 && cordon < warn && warn < drain && drain < stop && stop < off) {
				t.Fatalf("audit order cordon=%d warn=%d drain=%d stop=%d power-off=%d\n%+v", cordon, warn, drain, stop, off, recs)
			}
			if stepIndex(recs, "bbb1", "end", "done") >= 0 {
				t.Error("a meeting was ended")
			}
			for _, r := range recs {
				if r.Server == "bbb3" {
					t.Errorf("audit line for bbb3: %+v", r)
				}
				if !strings.Contains(r.Command, "schedule apply") {
					t.Errorf("audit command %q", r.Command)
				}
			}
			if b, _ := os.ReadFile(marker); !strings.Contains(string(b), "bbb1 off") || !strings.Contains(string(b), "bbb2 off") {
				t.Errorf("power hooks called: %q", b)
			}
			if !strings.Contains(out, "bbb1\tdone\t") || !strings.Contains(errOut, "2 changed") || !strings.Contains(errOut, "not touched (no rule decides them): bbb3") {
				t.Errorf("output:\n%s\n%s", out, errOut)
			}
			if !strings.Contains(out, " bbb1 drain progress: ") {
				t.Errorf("no timestamped event lines:\n%s", out)
			}
		})
	}
}

// TestScheduleApplyDeadlineStaysUp: the lessons outlast the rule's drain:
// the server stays up and cordoned, nothing is ended, exit 3.
func TestScheduleApplyDeadlineStaysUp(t *testing.T) {
	f, _, marker := applyFleet(t, "", applySchedule("500ms", true), withMeetings(2, 0))
	out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atNight, "bbb1")
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	st := f.State(t, 0)
	if st.Stopped || st.Power.Off || len(st.Meetings) != 2 {
		t.Errorf("bbb1 stopped=%v off=%v meetings=%d, want up with its 2 meetings", st.Stopped, st.Power.Off, len(st.Meetings))
	}
	if got := scaleliteState(t, f, 0); got != sim.ScaleliteCordoned {
		t.Errorf("scalelite %q, want cordoned", got)
	}
	if fileExists(marker) {
		t.Error("a power hook ran")
	}
	if !strings.Contains(errOut, "drain deadline (500ms) passed") || !strings.Contains(out, "bbb1\trefused\t") {
		t.Errorf("output:\n%s\n%s", out, errOut)
	}
	if f.State(t, 1).Stopped {
		t.Error("bbb2 was not asked for (TARGETS bbb1) but was stopped")
	}
}

// TestScheduleApplyIdempotent: every server is in its desired state (the
// pool powered off at night, bbb3 up and in no rule): apply reads, changes
// nothing, calls no hook, writes no audit line, and says so; a second run
// in the morning brings the pool back, and a third changes nothing again.
func TestScheduleApplyIdempotent(t *testing.T) {
	f, stateDir, marker := applyFleet(t, "bbbfleet-test", applySchedule("5s", true), func(i int, s *sim.State) {
		if i < 2 {
			s.PowerOff()
		}
		s.Power.BootDelay = 200 * time.Millisecond
	})
	audit := filepath.Join(stateDir, "audit.log")
	before := stateBytes(t, allStateDirs(f)...)
	for range 2 {
		out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atNight)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "nothing to do: every server the schedule decides (2) is in its desired state; nothing was changed") {
			t.Errorf("does not say nothing was done:\n%s\n%s", out, errOut)
		}
		if !strings.Contains(out, "bbb1\tunchanged\t") || strings.Contains(out, "bbb3") {
			t.Errorf("result table:\n%s", out)
		}
	}
	after := stateBytes(t, allStateDirs(f)...)
	for d := range before {
		if !bytes.Equal(before[d], after[d]) {
			t.Errorf("state in %s changed", d)
		}
	}
	if fileExists(marker) {
		t.Error("a power hook ran")
	}
	if b, err := os.ReadFile(audit); err == nil && len(b) > 0 {
		t.Errorf("audit lines written for nothing:\n%s", b)
	}

	// Morning: the pool is powered on and started.
	out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atMorning)
	if code != 0 {
		t.Fatalf("morning: exit %d\n%s\n%s", code, out, errOut)
	}
	for i := 0; i < 2; i++ {
		if st := f.State(t, i); st.Power.Off || st.Stopped {
			t.Errorf("bbb%d after the morning apply: off=%v stopped=%v", i+1, st.Power.Off, st.Stopped)
		}
	}
	if b, _ := os.ReadFile(marker); !strings.Contains(string(b), "bbb1 on") {
		t.Errorf("power.on hook not called: %q", b)
	}
	n := len(auditLines(t, audit))
	before = stateBytes(t, allStateDirs(f)...)
	out, errOut, code = run(t, f.Config, "schedule", "apply", "--at", atMorning)
	if code != 0 || !strings.Contains(errOut, "nothing to do") {
		t.Fatalf("second morning apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if m := len(auditLines(t, audit)); m != n {
		t.Errorf("audit grew from %d to %d lines on an apply that changed nothing", n, m)
	}
	after = stateBytes(t, allStateDirs(f)...)
	for d := range before {
		if !bytes.Equal(before[d], after[d]) {
			t.Errorf("state in %s changed by the second morning apply", d)
		}
	}
}

// TestScheduleApplyMissedFiring: the admin machine was off over the
// 22:00 firing: the next apply, hours later, converges (stops the pool).
func TestScheduleApplyMissedFiring(t *testing.T) {
	f, _, _ := applyFleet(t, "", applySchedule("5s", false), nil)
	// 21:00: up, as the warm-up wants.
	out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", "2026-12-07 21:00")
	if code != 0 || !strings.Contains(errOut, "nothing to do") {
		t.Fatalf("21:00: exit %d\n%s\n%s", code, out, errOut)
	}
	// The machine is off until 05:00: the 22:00 firing was missed.
	out, errOut, code = run(t, f.Config, "-o", "json", "schedule", "apply", "--at", "2026-12-08 05:00")
	if code != 0 {
		t.Fatalf("05:00: exit %d\n%s\n%s", code, out, errOut)
	}
	// JSON lines: events, a result per decided server, the summary.
	types := map[string]int{}
	var last map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		types[m["type"].(string)]++
		last = m
	}
	if types["event"] == 0 || types["result"] != 2 || types["summary"] != 1 || last["type"] != "summary" ||
		last["changed"] != 2.0 || fmt.Sprint(last["untouched"]) != "[bbb3]" {
		t.Errorf("JSON lines %v, last %v\n%s", types, last, out)
	}
	for i := 0; i < 2; i++ {
		if st := f.State(t, i); !st.Stopped || st.Power.Off {
			t.Errorf("bbb%d: stopped=%v off=%v, want stopped (power: false: not powered off)", i+1, st.Stopped, st.Power.Off)
		}
	}
	if f.State(t, 2).Stopped {
		t.Error("bbb3 stopped")
	}
}

// TestScheduleApplyUnreachable: bbb2 does not answer and its rule has no
// power hook to explain it: bbb1 is still reconciled; exit 1.
func TestScheduleApplyUnreachable(t *testing.T) {
	f, stateDir, _ := applyFleet(t, "", applySchedule("5s", false), func(i int, s *sim.State) {
		if i == 1 {
			s.PowerOff()
		}
	})
	out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atNight)
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !f.State(t, 0).Stopped {
		t.Error("bbb1 not stopped")
	}
	if !strings.Contains(out, "bbb2\tfailed\t") || !strings.Contains(out, "bbb1\tdone\t") {
		t.Errorf("results:\n%s", out)
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb2", "check", "failed") < 0 || stepIndex(recs, "bbb1", "stop", "done") < 0 {
		t.Errorf("audit: %+v", recs)
	}
}

// TestScheduleApplyDryRunTouchesNothing: --dry-run reads and plans: no
// state changes, no lock or audit file, no hook.
func TestScheduleApplyDryRunTouchesNothing(t *testing.T) {
	f, stateDir, marker := applyFleet(t, "", applySchedule("5s", true), withMeetings(2, 0))
	before := stateBytes(t, allStateDirs(f)...)
	out, errOut, code := run(t, f.Config, "--dry-run", "schedule", "apply", "--at", atNight)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	after := stateBytes(t, allStateDirs(f)...)
	for d := range before {
		if !bytes.Equal(before[d], after[d]) {
			t.Errorf("state in %s changed by a dry run", d)
		}
	}
	if fileExists(marker) || fileExists(filepath.Join(stateDir, "audit.log")) {
		t.Error("a hook ran or the audit log was written")
	}
	for _, w := range []string{"bbb1\tdown\tup\tstop + power-off\t", "bbb1: stop (BBB ", "2 running", "3. drain", "6. power-off",
		"bbb2\tdown\tup\tstop + power-off\t"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(errOut, "dry run: apply would change 2 servers; not touched (no rule decides them): bbb3") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

// TestScheduleApplyLockHeld: a second apply while the first drains exits
// 4 naming the first; the first finishes.
func TestScheduleApplyLockHeld(t *testing.T) {
	f, _, _ := applyFleet(t, "", applySchedule("20s", false), withMeetings(1, 0))
	done := make(chan string, 1)
	go func() {
		out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atNight)
		done <- fmt.Sprintf("%d\n%s\n%s", code, out, errOut)
	}()
	if !sshtest.Poll(20*time.Second, func() bool { return scaleliteState(t, f, 0) == sim.ScaleliteCordoned }) {
		t.Fatal("first apply did not cordon bbb1")
	}
	out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atNight)
	if code != ExitLocked || !strings.Contains(errOut, "schedule apply --at") {
		t.Errorf("second apply: exit %d, want 4 naming the first\n%s\n%s", code, out, errOut)
	}
	f.Update(t, 0, func(s *sim.State) {
		for i := range s.Meetings {
			s.Meetings[i].EndsAt = time.Now().Add(200 * time.Millisecond)
		}
	})
	if r := <-done; !strings.HasPrefix(r, "0\n") {
		t.Errorf("first apply: %s", r)
	}
}

// TestScheduleApplyRestartOnce: a restart rule restarts a server whose BBB
// started before the firing, and not again once it has started after it.
func TestScheduleApplyRestartOnce(t *testing.T) {
	// The rule fired at most 30 minutes ago; keep clear of the next firing.
	if m := time.Now().Minute() % 30; m == 29 {
		time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute + time.Second)))
	}
	f, stateDir, _ := applyFleet(t, "bbbfleet-test", `schedules:
  - {name: refresh, cron: "*/30 * * * *", action: restart, targets: [bbb1]}
`, nil)
	out, errOut, code := run(t, f.Config, "schedule", "apply")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb1", "stop", "done") < 0 || stepIndex(recs, "bbb1", "start", "done") < 0 {
		t.Fatalf("bbb1 not restarted: %+v", recs)
	}
	out, errOut, code = run(t, f.Config, "schedule", "apply")
	if code != 0 || !strings.Contains(errOut, "nothing to do") || !strings.Contains(out, "after the firing at") {
		t.Errorf("second apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if m := len(auditLines(t, filepath.Join(stateDir, "audit.log"))); m != len(recs) {
		t.Errorf("the second apply wrote %d audit lines", m-len(recs))
	}
}

// TestStopPowerOffUnreachableWithHook: stop --power-off on a machine that
// is off already (neither SSH nor the API answers, a power.off hook is
// configured) is done, not a failure, and runs no hook.
func TestStopPowerOffUnreachableWithHook(t *testing.T) {
	f, _, marker := applyFleet(t, "", "", func(i int, s *sim.State) {
		if i == 0 {
			s.PowerOff()
		}
	})
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--power-off")
	if code != 0 || !strings.Contains(out, "powered off already") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if fileExists(marker) {
		t.Error("the power hook ran")
	}
	// Without --power-off it still fails: the server cannot be stopped.
	_, _, code = run(t, f.Config, "stop", "bbb1")
	if code != ExitFailed {
		t.Errorf("stop without --power-off: exit %d, want 1", code)
	}
}

// startBBBByHand is what an administrator's bbb-conf --start leaves.
func startBBBByHand(s *sim.State) {
	s.Stopped = false
	for u := range s.Units {
		s.Units[u] = sim.UnitActive
	}
}

// syncBuf is a buffer written by a daemon and read by the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestScheduleRunDaemon: schedule run applies at start, re-applies (a
// server started by hand is stopped again), keeps running on a SIGHUP with
// a broken config (logging file:line), loads a good one on the next
// SIGHUP, and returns 0 when its context ends (SIGTERM).
func TestScheduleRunDaemon(t *testing.T) {
	// bbb1 should be down whenever the test runs.
	f := testfleet.Start(t, testfleet.Options{N: 2, SSHTimeout: "2s", APITimeout: "2s",
		Extra: fmt.Sprintf("state_dir: %q\n", t.TempDir()) + everyMinute})
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	out, errOut := &syncBuf{}, &syncBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"-c", f.Config, "schedule", "run", "--reapply", "300ms"}, ui.Test(out, errOut))
	}()
	stopped := func() bool { return f.State(t, 0).Stopped }
	if !sshtest.Poll(20*time.Second, stopped) {
		t.Fatalf("bbb1 not stopped by the daemon\n%s\n%s", out, errOut)
	}
	if f.State(t, 1).Stopped {
		t.Error("bbb2 (should be up) was stopped")
	}
	// A manual start is undone by the next re-apply.
	f.Update(t, 0, func(s *sim.State) { startBBBByHand(s) })
	if !sshtest.Poll(20*time.Second, stopped) {
		t.Fatalf("the re-apply did not stop bbb1 again\n%s", out)
	}
	// A broken config on SIGHUP: logged with file:line, the old one runs on.
	good, err := os.ReadFile(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "action: stop", "action: halt", 1)
	if err := os.WriteFile(f.Config, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(broken[:strings.Index(broken, "action: halt")], "\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s:%d:", f.Config, line)
	if !sshtest.Poll(10*time.Second, func() bool { return strings.Contains(out.String(), want) }) {
		t.Fatalf("no reload error with %q\n%s", want, out)
	}
	if !strings.Contains(out.String(), "the old config keeps running") {
		t.Errorf("log:\n%s", out)
	}
	n := strings.Count(out.String(), " apply (")
	if !sshtest.Poll(10*time.Second, func() bool { return strings.Count(out.String(), " apply (") > n+1 }) {
		t.Fatalf("no apply after the failed reload\n%s", out)
	}
	f.Update(t, 0, func(s *sim.State) { startBBBByHand(s) })
	if !sshtest.Poll(20*time.Second, stopped) {
		t.Fatalf("the old config does not run on after a failed reload\n%s", out)
	}
	// A good config again: loaded.
	if err := os.WriteFile(f.Config, good, 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	if !sshtest.Poll(10*time.Second, func() bool { return strings.Contains(out.String(), "reload: config "+f.Config+" loaded") }) {
		t.Fatalf("good config not reloaded\n%s", out)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0\n%s", code, errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("schedule run did not stop")
	}
	if !strings.Contains(out.String(), "schedule run: stopping") {
		t.Errorf("log:\n%s", out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if _, err := time.Parse(time.RFC3339, strings.Fields(l)[0]); err != nil && !strings.HasPrefix(l, "  ") {
			t.Errorf("log line without a timestamp: %q", l)
		}
	}
}

// TestScheduleRunJSON: with -o json every line the daemon writes is a JSON
// object: its own log lines, apply's events, results and summaries.
func TestScheduleRunJSON(t *testing.T) {
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 2, SSHTimeout: "2s", APITimeout: "2s",
		Extra: fmt.Sprintf("state_dir: %q\n", stateDir) + everyMinute})
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	out, errOut := &syncBuf{}, &syncBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"-c", f.Config, "-o", "json", "schedule", "run", "--reapply", "200ms"}, ui.Test(out, errOut))
	}()
	if !sshtest.Poll(20*time.Second, func() bool { return strings.Count(out.String(), `"type":"summary"`) >= 2 }) {
		t.Fatalf("no two applies\n%s\n%s", out, errOut)
	}
	// Between applies the daemon does not hold the fleet lock: a manual
	// run gets it.
	lock, err := fleet.AcquireLock(context.Background(), filepath.Join(stateDir, "lock"), "bbbfleet stop bbb2", 5*time.Second)
	if err != nil {
		t.Fatalf("the lock is held between applies: %v", err)
	}
	lock.Release()
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	types := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		types[fmt.Sprint(m["type"])]++
	}
	if types["log"] == 0 || types["event"] == 0 || types["result"] < 2 || types["summary"] < 2 {
		t.Errorf("line types %v\n%s", types, out)
	}
}

// TestScheduleApplyPowersOffStopped: at night a pool server whose BBB is
// stopped but whose machine runs is powered off (power: true), without a
// stop; the power.off hook runs once.
func TestScheduleApplyPowersOffStopped(t *testing.T) {
	f, stateDir, marker := applyFleet(t, "", applySchedule("5s", true), func(i int, s *sim.State) {
		if i == 1 {
			s.PowerOff()
		}
	})
	stopBBB(t, f, 0)
	out, errOut, code := run(t, f.Config, "schedule", "apply", "--at", atNight)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !f.State(t, 0).Power.Off {
		t.Error("bbb1 not powered off")
	}
	if b, _ := os.ReadFile(marker); string(b) != "bbb1 off\n" {
		t.Errorf("power hooks called: %q, want bbb1 off once", b)
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb1", "power-off", "done") < 0 || stepIndex(recs, "bbb1", "stop", "done") >= 0 {
		t.Errorf("audit: %+v", recs)
	}
	if !strings.Contains(out, "bbb2\tunchanged\t") {
		t.Errorf("bbb2 (off already) not unchanged:\n%s", out)
	}
}
