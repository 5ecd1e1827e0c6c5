package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// opFleet starts a real-sshd fleet with a Scalelite host and power hooks,
// a fast drain poll and its own state directory.
func opFleet(t *testing.T, user string, state func(i int, s *sim.State)) (*testfleet.Fleet, string) {
	t.Helper()
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 2, User: user, Scalelite: true, Power: true, State: state,
		Defaults: "  drain: {poll: 50ms, timeout: 5s}\n",
		Extra:    fmt.Sprintf("state_dir: %q\n", stateDir)})
	return f, stateDir
}

func withMeetings(n int, endsIn time.Duration) func(i int, s *sim.State) {
	return func(i int, s *sim.State) {
		if i != 0 {
			return
		}
		now := time.Now()
		s.Meetings = sim.GenerateMeetings(7, n, 3*n, now)
		if endsIn > 0 {
			for j := range s.Meetings {
				s.Meetings[j].EndsAt = now.Add(endsIn + time.Duration(j)*100*time.Millisecond)
			}
		}
	}
}

// auditLines reads the audit log as records, failing on a line that is
// not valid JSON or lacks a field.
func auditLines(t *testing.T, path string) []fleet.AuditRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []fleet.AuditRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("audit line is not JSON: %v\n%s", err, sc.Text())
		}
		for _, k := range []string{"time", "user", "command", "server", "step", "result", "meetings_affected", "duration_ms"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("audit line lacks %q: %s", k, sc.Text())
			}
		}
		var r fleet.AuditRecord
		json.Unmarshal(sc.Bytes(), &r)
		out = append(out, r)
	}
	return out
}

func stepIndex(recs []fleet.AuditRecord, server, step, result string) int {
	for i, r := range recs {
		if r.Server == server && r.Step == step && r.Result == result {
			return i
		}
	}
	return -1
}

func stateBytes(t *testing.T, dirs ...string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, sim.StateFile))
		if err != nil {
			t.Fatal(err)
		}
		m[d] = b
	}
	return m
}

func allStateDirs(f *testfleet.Fleet) []string {
	var ds []string
	for _, h := range f.Hosts {
		ds = append(ds, h.StateDir)
	}
	return append(ds, f.Scalelite.StateDir)
}

func scaleliteState(t *testing.T, f *testfleet.Fleet, i int) string {
	t.Helper()
	s, err := f.Scalelite.Sim.State()
	if err != nil {
		t.Fatal(err)
	}
	return s.Scalelite.Servers[i].State
}

func TestStopRefusedChangesNothing(t *testing.T) {
	f, _ := opFleet(t, "", withMeetings(3, 0))
	before := stateBytes(t, allStateDirs(f)...)
	out, errOut, code := run(t, f.Config, "stop", "bbb1")
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	after := stateBytes(t, allStateDirs(f)...)
	for d := range before {
		if !bytes.Equal(before[d], after[d]) {
			t.Errorf("state in %s changed by a refused stop", d)
		}
	}
	st := f.State(t, 0)
	if len(st.Meetings) != 3 {
		t.Errorf("meetings: %d, want 3 (none ended)", len(st.Meetings))
	}
	if !strings.Contains(errOut, "3 meetings running") || !strings.Contains(errOut, "  meeting ") || !strings.Contains(errOut, "--drain") {
		t.Errorf("refusal does not list the meetings and the way on:\n%s", errOut)
	}
	if !strings.Contains(out, "bbb1\trefused\t") {
		t.Errorf("no refused row:\n%s", out)
	}
}

func TestStopDrainEmptiesThenStops(t *testing.T) {
	for _, user := range []string{"", "bbbfleet-test"} {
		t.Run("user="+user, func(t *testing.T) {
			f, stateDir := opFleet(t, user, withMeetings(2, 0))
			// The lessons end one after another once the drain runs.
			ended := make(chan time.Time, 1)
			go func() {
				sshtest.Poll(20*time.Second, func() bool { return scaleliteState(t, f, 0) == sim.ScaleliteCordoned })
				now := time.Now()
				f.Hosts[0].Sim.Update(func(s *sim.State) error {
					for i := range s.Meetings {
						s.Meetings[i].EndsAt = now.Add(400*time.Millisecond + time.Duration(i)*300*time.Millisecond)
					}
					return nil
				})
				ended <- now.Add(400*time.Millisecond + 300*time.Millisecond)
			}()
			out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "20s", "--message", "Closing in {remaining}")
			lastEnd := <-ended
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if os.Getenv("SHOWOUT") != "" {
				t.Log(out, errOut)
			}
			st := f.State(t, 0)
			if !st.Stopped || st.Units["bbb-web"] != sim.UnitInactive {
				t.Errorf("bbb1 not stopped: stopped=%v bbb-web=%s", st.Stopped, st.Units["bbb-web"])
			}
			if got := scaleliteState(t, f, 0); got != sim.ScaleliteCordoned {
				t.Errorf("scalelite state %q, want cordoned", got)
			}
			if got := scaleliteState(t, f, 1); got != sim.ScaleliteEnabled {
				t.Errorf("bbb2's scalelite state %q, want enabled (untouched)", got)
			}
			if f.State(t, 1).Stopped {
				t.Error("bbb2 was stopped")
			}
			recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
			cordon, warn, stop := stepIndex(recs, "bbb1", "cordon", "done"), stepIndex(recs, "bbb1", "warn", "done"), stepIndex(recs, "bbb1", "stop", "done")
			if cordon < 0 || stop < 0 || warn < 0 || !(cordon < warn && warn < stop) {
				t.Fatalf("audit order cordon=%d warn=%d stop=%d, want cordon < warn < stop\n%+v", cordon, warn, stop, recs)
			}
			if recs[warn].MeetingsAffected != 2 {
				t.Errorf("warn affected %d meetings, want 2", recs[warn].MeetingsAffected)
			}
			// The stop began only after the last meeting ended.
			stopStart := recs[stop].Time.Add(-time.Duration(recs[stop].DurationMS) * time.Millisecond)
			if stopStart.Before(lastEnd) {
				t.Errorf("stop started at %s, before the last meeting ended at %s", stopStart, lastEnd)
			}
			if !strings.Contains(out, " drain progress: 2 meetings") && !strings.Contains(out, " drain progress: 1 meeting") {
				t.Errorf("no drain progress lines on the pipe:\n%s", out)
			}
		})
	}
}

func TestStopDrainDeadlineStaysCordoned(t *testing.T) {
	f, stateDir := opFleet(t, "", withMeetings(2, 0))
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "400ms")
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	st := f.State(t, 0)
	if st.Stopped || len(st.Meetings) != 2 {
		t.Errorf("bbb1 stopped=%v meetings=%d, want running with 2", st.Stopped, len(st.Meetings))
	}
	if got := scaleliteState(t, f, 0); got != sim.ScaleliteCordoned {
		t.Errorf("scalelite state %q, want cordoned", got)
	}
	for _, w := range []string{"drain deadline (400ms) passed", "cordoned in Scalelite", "bbbfleet start bbb1"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb1", "drain", "refused") < 0 || stepIndex(recs, "bbb1", "stop", "done") >= 0 {
		t.Errorf("audit: %+v", recs)
	}
	// start re-enables it.
	out, errOut, code = run(t, f.Config, "start", "bbb1")
	if code != 0 {
		t.Fatalf("start: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := scaleliteState(t, f, 0); got != sim.ScaleliteEnabled {
		t.Errorf("after start: scalelite state %q, want enabled", got)
	}
}

func TestStopForceEndsThenStops(t *testing.T) {
	f, stateDir := opFleet(t, "", func(i int, s *sim.State) {
		withMeetings(3, 0)(i, s)
		s.EndDelay = 300 * time.Millisecond
	})
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "200ms", "--force")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	st := f.State(t, 0)
	if !st.Stopped || len(st.Meetings) != 0 {
		t.Errorf("stopped=%v meetings=%d", st.Stopped, len(st.Meetings))
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	end, stop := stepIndex(recs, "bbb1", "end", "done"), stepIndex(recs, "bbb1", "stop", "done")
	if end < 0 || stop < end {
		t.Fatalf("audit: end=%d stop=%d\n%+v", end, stop, recs)
	}
	if recs[end].MeetingsAffected == 0 {
		t.Errorf("end affected no meetings: %+v", recs[end])
	}
}

func TestStopEndIgnoredFails(t *testing.T) {
	f, _ := opFleet(t, "", func(i int, s *sim.State) {
		withMeetings(1, 0)(i, s)
		s.EndIgnored = true
	})
	out, errOut, code := run(t, f.Config, "--timeout", "3s", "stop", "bbb1", "--force")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if f.State(t, 0).Stopped {
		t.Error("stopped although a meeting did not end")
	}
	if !strings.Contains(errOut, "did not end within") || !strings.Contains(errOut, "not stopped") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestStopPowerOffThenStart(t *testing.T) {
	for _, user := range []string{"", "bbbfleet-test"} {
		t.Run("user="+user, func(t *testing.T) {
			f, _ := opFleet(t, user, func(i int, s *sim.State) {
				s.Power.BootDelay = 300 * time.Millisecond
				s.StartDelay = 200 * time.Millisecond
			})
			out, errOut, code := run(t, f.Config, "stop", "bbb1", "--power-off")
			if code != 0 {
				t.Fatalf("stop: exit %d\n%s\n%s", code, out, errOut)
			}
			if !f.State(t, 0).Power.Off {
				t.Fatal("bbb1 is not powered off")
			}
			if !sshtest.Poll(3*time.Second, f.Hosts[0].SSH.Stopped) {
				t.Fatal("bbb1's sshd still runs")
			}
			out, errOut, code = run(t, f.Config, "start", "bbb1")
			if code != 0 {
				t.Fatalf("start: exit %d\n%s\n%s", code, out, errOut)
			}
			if os.Getenv("SHOWOUT") != "" {
				t.Log(out, errOut)
			}
			st := f.State(t, 0)
			if st.Power.Off || st.Stopped || st.Units["bbb-web"] != sim.UnitActive {
				t.Errorf("after start: off=%v stopped=%v bbb-web=%s", st.Power.Off, st.Stopped, st.Units["bbb-web"])
			}
			if got := scaleliteState(t, f, 0); got != sim.ScaleliteEnabled {
				t.Errorf("scalelite state %q, want enabled", got)
			}
			if !strings.Contains(out, "to ready") {
				t.Errorf("no time to ready:\n%s", out)
			}
			// Already running and enabled: nothing done.
			out, errOut, code = run(t, f.Config, "start", "bbb1")
			if code != 0 || !strings.Contains(out, "already running and enabled: nothing done") {
				t.Errorf("second start: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}

func TestOpLockHeld(t *testing.T) {
	f, stateDir := opFleet(t, "", nil)
	lock, err := fleet.AcquireLock(context.Background(), filepath.Join(stateDir, "lock"), "bbbfleet stop @pool --drain 45m", 0)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, f.Config, "stop", "bbb1")
	if code != ExitLocked {
		t.Fatalf("exit %d, want 4\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, fmt.Sprintf("pid %d (bbbfleet stop @pool --drain 45m) since ", os.Getpid())) {
		t.Errorf("the holder is not named:\n%s", errOut)
	}
	if f.State(t, 0).Stopped {
		t.Error("stopped while the lock was held")
	}
	go func() { time.Sleep(300 * time.Millisecond); lock.Release() }()
	out, errOut, code = run(t, f.Config, "stop", "bbb1", "--wait-lock", "10s")
	if code != 0 {
		t.Fatalf("with --wait-lock: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestOpAuditUnwritable(t *testing.T) {
	dir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 1, Extra: fmt.Sprintf("audit_log: %q\nstate_dir: %q\n", filepath.Join(dir, "link"), dir)})
	os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "link"))
	out, errOut, code := run(t, f.Config, "stop", "bbb1")
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, filepath.Join(dir, "link")) || !strings.Contains(errOut, "nothing was changed") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if f.State(t, 0).Stopped {
		t.Error("stopped without an audit log")
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("the audit log followed a symbolic link")
	}
}

func TestOpDryRunTouchesNothing(t *testing.T) {
	f, stateDir := opFleet(t, "", withMeetings(2, 0))
	before := stateBytes(t, allStateDirs(f)...)
	for _, args := range [][]string{
		{"stop", "all", "--drain", "1s", "--force", "--power-off", "--dry-run"},
		{"start", "all", "--dry-run"},
		{"restart", "all", "--drain", "default", "--dry-run"},
		{"-o", "json", "stop", "all", "--dry-run"},
	} {
		out, errOut, code := run(t, f.Config, args...)
		if code != 0 && code != ExitRefused {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		if args[0] == "stop" && (!strings.Contains(out, "cordon") || !strings.Contains(out, "2 running")) {
			t.Errorf("%v: plan lacks steps or meetings:\n%s", args, out)
		}
	}
	after := stateBytes(t, allStateDirs(f)...)
	for d := range before {
		if !bytes.Equal(before[d], after[d]) {
			t.Errorf("--dry-run changed %s:\n%s\n---\n%s", d, before[d], after[d])
		}
	}
	if _, err := os.Stat(filepath.Join(stateDir, "audit.log")); err == nil {
		t.Error("a dry run wrote the audit log")
	}
}

// runCtx is run with a context of the test's own (for Ctrl-C tests).
func runCtx(t *testing.T, ctx context.Context, cfg string, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	var out, errOut bytes.Buffer
	code := Run(ctx, append([]string{"-c", cfg}, args...), ui.Test(&out, &errOut))
	return out.String(), errOut.String(), code
}

func TestStartPowerHookFaults(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, hook, timeout string
		want                []string
		code                int
	}{
		// A hook that cannot run here is a config problem found while
		// planning (exit 2, nothing changed).
		{"missing", filepath.Join(dir, "no-such-hook"), "5s", []string{"no-such-hook: no such program"}, ExitUsage},
		{"not-executable", script("noexec.sh", "exit 0", 0o644), "5s", []string{"noexec.sh is not executable"}, ExitUsage},
		{"non-zero", script("fails.sh", "echo 'hcloud: server not found (not_found)' >&2; exit 3", 0o755), "5s",
			[]string{"exited with status 3", "stderr: hcloud: server not found (not_found)"}, ExitFailed},
		{"hanging", script("hangs.sh", "echo 'waiting for action' >&2; sleep 30", 0o755), "500ms",
			[]string{"did not finish within power.timeout (500ms); it was killed", "stderr: waiting for action"}, ExitFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := testfleet.Start(t, testfleet.Options{N: 1, SSHTimeout: "2s", PowerWatch: true,
				Defaults: fmt.Sprintf("  power: {on: [%q, \"{name}\"], timeout: %s}\n", c.hook, c.timeout),
				Extra:    fmt.Sprintf("state_dir: %q\n", t.TempDir()),
				State:    func(i int, s *sim.State) { s.PowerOff() }})
			start := time.Now()
			out, errOut, code := run(t, f.Config, "start", "bbb1", "--wait", "5s")
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if !strings.Contains(errOut, "power.on") {
				t.Errorf("stderr does not name the hook:\n%s", errOut)
			}
			if !f.State(t, 0).Power.Off {
				t.Error("the server did not stay as it was (off)")
			}
			t.Logf("%s: %s", c.name, time.Since(start))
		})
	}
}

func TestStopScaleliteUnreachableRefuses(t *testing.T) {
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 1, Scalelite: true,
		ScaleliteState: func(s *sim.State) { s.Scalelite.Container = "scalelite-other" },
		Extra:          fmt.Sprintf("state_dir: %q\n", stateDir)})
	out, errOut, code := run(t, f.Config, "stop", "bbb1")
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if f.State(t, 0).Stopped {
		t.Error("stopped although Scalelite may still send meetings")
	}
	for _, w := range []string{"Scalelite could not be asked", "No such container: scalelite-api", "--skip-scalelite"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	// Taken out of Scalelite by hand: --skip-scalelite stops it.
	out, errOut, code = run(t, f.Config, "stop", "bbb1", "--skip-scalelite")
	if code != 0 || !f.State(t, 0).Stopped {
		t.Fatalf("--skip-scalelite: exit %d\n%s\n%s", code, out, errOut)
	}
	// start starts it, and says that it could not be enabled.
	out, errOut, code = run(t, f.Config, "start", "bbb1")
	if code != ExitFailed || f.State(t, 0).Stopped {
		t.Fatalf("start: exit %d, want 1 with the server running\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "the server runs but could not be enabled in Scalelite") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestStopServerMissingFromScalelite(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2, Scalelite: true,
		ScaleliteState: func(s *sim.State) { s.Scalelite.Servers = s.Scalelite.Servers[1:] },
		Extra:          fmt.Sprintf("state_dir: %q\n", t.TempDir())})
	out, errOut, code := run(t, f.Config, "stop", "bbb1")
	if code != 0 || !f.State(t, 0).Stopped {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "cordon skipped: not registered in Scalelite") {
		t.Errorf("no note:\n%s", out)
	}
	out, _, _ = run(t, f.Config, "stop", "bbb2", "--dry-run")
	if !strings.Contains(out, "scalelite: enabled, online") {
		t.Errorf("dry run does not show bbb2's Scalelite state:\n%s", out)
	}
}

func TestStopDrainSurvivesSSHDrop(t *testing.T) {
	// No power watcher here: the test itself drops the connections.
	f := testfleet.Start(t, testfleet.Options{N: 1, Scalelite: true, State: withMeetings(2, 0),
		Defaults: "  drain: {poll: 50ms}\n", Extra: fmt.Sprintf("state_dir: %q\n", t.TempDir())})
	dropped := make(chan error, 1)
	go func() {
		// Once the drain runs (the server is cordoned), every SSH
		// connection to bbb1 drops and sshd comes back 200 ms later.
		if !sshtest.Poll(10*time.Second, func() bool { return scaleliteState(t, f, 0) == sim.ScaleliteCordoned }) {
			dropped <- fmt.Errorf("never cordoned")
			return
		}
		time.Sleep(150 * time.Millisecond)
		f.Hosts[0].SSH.Stop()
		time.Sleep(200 * time.Millisecond)
		err := f.Hosts[0].SSH.Restart()
		// The class ends after the drop.
		f.Update(t, 0, func(s *sim.State) {
			for i := range s.Meetings {
				s.Meetings[i].EndsAt = time.Now().Add(500 * time.Millisecond)
			}
		})
		dropped <- err
	}()
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "20s")
	if err := <-dropped; err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !f.State(t, 0).Stopped || scaleliteState(t, f, 0) != sim.ScaleliteCordoned {
		t.Errorf("not stopped and cordoned after the drop\n%s", out)
	}
	if !strings.Contains(out, "(retrying)") {
		t.Errorf("the drop was not seen during the drain:\n%s", out)
	}
}

func TestStopInterruptedDrain(t *testing.T) {
	f, stateDir := opFleet(t, "", withMeetings(2, 0))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Ctrl-C during the drain: once bbb1 is cordoned.
		sshtest.Poll(20*time.Second, func() bool { return scaleliteState(t, f, 0) == sim.ScaleliteCordoned })
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	out, errOut, code := runCtx(t, ctx, f.Config, "stop", "bbb1", "--drain", "1m")
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, out, errOut)
	}
	st := f.State(t, 0)
	if st.Stopped || len(st.Meetings) != 2 {
		t.Errorf("stopped=%v meetings=%d after Ctrl-C", st.Stopped, len(st.Meetings))
	}
	if scaleliteState(t, f, 0) != sim.ScaleliteCordoned {
		t.Error("not cordoned")
	}
	for _, w := range []string{"interrupted", "left: running, cordoned in Scalelite", "bbbfleet start bbb1"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb1", "drain", "interrupted") < 0 {
		t.Errorf("audit: %+v", recs)
	}
}

func TestOpConcurrentRunsExit4(t *testing.T) {
	f, stateDir := opFleet(t, "", withMeetings(1, 0))
	done := make(chan int)
	go func() {
		_, _, code := run(t, f.Config, "stop", "bbb1", "--drain", "20s")
		done <- code
	}()
	// Once the first run holds the lock (its holder line is written)...
	if !sshtest.Poll(20*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(stateDir, "lock"))
		return strings.Contains(string(b), "stop bbb1 --drain 20s")
	}) {
		t.Fatal("the first run never took the lock")
	}
	out, errOut, code := run(t, f.Config, "stop", "bbb2")
	if code != ExitLocked || !strings.Contains(errOut, "(bbbfleet -c ") || !strings.Contains(errOut, "stop bbb1 --drain 20s) since") {
		t.Errorf("second run: exit %d, want 4\n%s\n%s", code, out, errOut)
	}
	if f.State(t, 1).Stopped {
		t.Error("the second run stopped bbb2")
	}
	// ... and the first one's class ends.
	f.Update(t, 0, func(s *sim.State) {
		for i := range s.Meetings {
			s.Meetings[i].EndsAt = time.Now().Add(200 * time.Millisecond)
		}
	})
	if c := <-done; c != 0 {
		t.Errorf("first run: exit %d", c)
	}
}

func TestStop27EndWithPasswordNoWarning(t *testing.T) {
	f, stateDir := opFleet(t, "", func(i int, s *sim.State) {
		s.Release = "2.7.12"
		withMeetings(2, 0)(i, s)
	})
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "200ms", "--force")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "warn skipped: BBB 2.7.12 has no sendChatMessage: no warning could be sent") {
		t.Errorf("no 2.7 note:\n%s", out)
	}
	if st := f.State(t, 0); !st.Stopped || len(st.Meetings) != 0 {
		t.Errorf("stopped=%v meetings=%d", st.Stopped, len(st.Meetings))
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb1", "end", "done") < 0 {
		t.Errorf("audit: %+v", recs)
	}
}

func TestStopEndRejected(t *testing.T) {
	f, _ := opFleet(t, "", func(i int, s *sim.State) {
		withMeetings(1, 0)(i, s)
		s.EndRejected = true
	})
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--force")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if st := f.State(t, 0); st.Stopped || len(st.Meetings) != 1 {
		t.Errorf("stopped=%v meetings=%d", st.Stopped, len(st.Meetings))
	}
	if !strings.Contains(errOut, "was rejected") || !strings.Contains(errOut, "invalidPassword") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestRestartRollsAndStopsAtFirstFailure(t *testing.T) {
	f, stateDir := opFleet(t, "", nil)
	out, errOut, code := run(t, f.Config, "restart", "all", "--drain", "2s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	en1, co2 := stepIndex(recs, "bbb1", "enable", "done"), stepIndex(recs, "bbb2", "cordon", "done")
	if en1 < 0 || co2 < 0 || en1 > co2 {
		t.Errorf("not rolling: bbb1 enable=%d bbb2 cordon=%d\n%+v", en1, co2, recs)
	}
	for i := range f.Hosts {
		if st := f.State(t, i); st.Stopped || st.Units["bbb-web"] != sim.UnitActive {
			t.Errorf("bbb%d not running after restart", i+1)
		}
		if scaleliteState(t, f, i) != sim.ScaleliteEnabled {
			t.Errorf("bbb%d not enabled after restart", i+1)
		}
	}
	// A failing first server: the rest is untouched.
	f.Update(t, 0, func(s *sim.State) { s.Meetings = sim.GenerateMeetings(3, 1, 2, time.Now()) })
	before := stateBytes(t, f.Hosts[1].StateDir)
	out, errOut, code = run(t, f.Config, "restart", "all")
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "bbb2\tnot-started\t") {
		t.Errorf("bbb2 not reported as not started:\n%s", out)
	}
	if !bytes.Equal(before[f.Hosts[1].StateDir], stateBytes(t, f.Hosts[1].StateDir)[f.Hosts[1].StateDir]) {
		t.Error("bbb2 was touched")
	}
}

func TestScaleliteVisibleInServersAndCheck(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 4, Scalelite: true, ScaleliteState: func(s *sim.State) {
		s.Scalelite.Servers[0].State = sim.ScaleliteCordoned
		s.Scalelite.Servers[1].Online = false
		s.Scalelite.Servers = s.Scalelite.Servers[:3] // bbb4 is not registered
	}})
	out, errOut, code := run(t, f.Config, "servers")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, w := range []string{"\tSECRET\tSCALELITE\n", "\tcordoned, online\n", "\tenabled, offline\n", "\tenabled, online\n", "\tmissing\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("servers lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "secret-bbb1") {
		t.Error("the secret Scalelite prints leaked")
	}
	out, errOut, code = run(t, f.Config, "check", "--only", "scalelite", "-o", "json")
	if code != 1 {
		t.Fatalf("check: exit %d, want 1 (WARNING)\n%s\n%s", code, out, errOut)
	}
	for _, w := range []string{"cordoned, online", "enabled, offline", "not registered in Scalelite"} {
		if !strings.Contains(out, w) {
			t.Errorf("check lacks %q:\n%s", w, out)
		}
	}
	// Without scalelite: in the config the check is not offered.
	g := testfleet.Start(t, testfleet.Options{N: 1})
	if out, errOut, code := run(t, g.Config, "check", "--only", "scalelite"); code != 3 && code != 2 {
		t.Errorf("check --only scalelite without Scalelite: exit %d\n%s\n%s", code, out, errOut)
	}
}

// bbb-web not answering: stop refuses (its meetings cannot be seen);
// --force stops without looking.
func TestStopAPIDown(t *testing.T) {
	f, _ := opFleet(t, "", func(i int, s *sim.State) {
		if i == 0 {
			s.Units["bbb-web"] = sim.UnitFailed // nginx answers 502
		}
	})
	out, errOut, code := run(t, f.Config, "--timeout", "2s", "stop", "bbb1")
	if code != ExitRefused || f.State(t, 0).Stopped {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "cannot see its meetings") || !strings.Contains(errOut, "--force") {
		t.Errorf("stderr:\n%s", errOut)
	}
	out, errOut, code = run(t, f.Config, "--timeout", "2s", "stop", "bbb1", "--force")
	if code != 0 || !f.State(t, 0).Stopped {
		t.Fatalf("--force: exit %d\n%s\n%s", code, out, errOut)
	}
}

// A wrong secret is reported at once, not after --wait.
func TestStartWrongSecretFailsFast(t *testing.T) {
	f, _ := opFleet(t, "", nil)
	f.Update(t, 0, func(s *sim.State) { s.Secret = "rotated-by-someone" })
	out, errOut, code := run(t, f.Config, "start", "bbb1", "--wait", "10m")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "not ready within --wait") {
		t.Errorf("it waited for the secret to fix itself:\n%s", errOut)
	}
	if !strings.Contains(errOut, "rejects the secret") || !strings.Contains(errOut, "bbbfleet secret fetch bbb1") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

// Recording processing pending (recorded/*.done, ended/*.done) protects a
// server like a meeting: refused without --drain, waited for with it,
// refused at the deadline unless --force.
func TestStopWaitsForRecordings(t *testing.T) {
	pending := func(doneIn time.Duration) func(i int, s *sim.State) {
		return func(i int, s *sim.State) {
			if i != 0 {
				return
			}
			s.RecordingStatus = []string{"recorded/abc-1773130201337.done", "ended/abc-1773130201337.done", "processed/old-1.done"}
			if doneIn > 0 {
				s.RecordingsDoneAt = time.Now().Add(doneIn)
			}
		}
	}
	t.Run("refused-then-drained", func(t *testing.T) {
		f, _ := opFleet(t, "", pending(1500*time.Millisecond))
		out, errOut, code := run(t, f.Config, "stop", "bbb1")
		if code != ExitRefused || f.State(t, 0).Stopped {
			t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "recording work pending: recorded/abc-1773130201337.done") {
			t.Errorf("stderr:\n%s", errOut)
		}
		out, errOut, code = run(t, f.Config, "stop", "bbb1", "--drain", "20s")
		if code != 0 || !f.State(t, 0).Stopped {
			t.Fatalf("--drain: exit %d\n%s\n%s", code, out, errOut)
		}
		if st := f.State(t, 0); len(st.RecordingStatus) != 1 {
			t.Errorf("stopped with recording work left: %v", st.RecordingStatus)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		f, _ := opFleet(t, "", pending(0))
		out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "300ms")
		if code != ExitRefused || f.State(t, 0).Stopped {
			t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
		}
		out, errOut, code = run(t, f.Config, "stop", "bbb1", "--drain", "300ms", "--force")
		if code != 0 || !f.State(t, 0).Stopped {
			t.Fatalf("--force: exit %d\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(out, "bbb-record --rebuild") {
			t.Errorf("no recovery hint:\n%s", out)
		}
	})
}

// A login that cannot read the recording status cannot rule out pending
// processing: refused unless --force.
func TestStopRecordingStatusUnreadable(t *testing.T) {
	f, _ := opFleet(t, "bbbfleet-test", func(i int, s *sim.State) { s.RecordingsPrivate = true })
	out, errOut, code := run(t, f.Config, "stop", "bbb1")
	if code != ExitRefused || f.State(t, 0).Stopped {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "cannot see its recording processing") {
		t.Errorf("stderr:\n%s", errOut)
	}
	out, errOut, code = run(t, f.Config, "stop", "bbb1", "--force")
	if code != 0 || !f.State(t, 0).Stopped {
		t.Fatalf("--force: exit %d\n%s\n%s", code, out, errOut)
	}
}
