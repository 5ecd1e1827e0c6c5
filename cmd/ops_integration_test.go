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
			f, stateDir := opFleet(t, user, withMeetings(2, 1200*time.Millisecond))
			lastEnd := f.State(t, 0).Meetings[1].EndsAt
			out, errOut, code := run(t, f.Config, "stop", "bbb1", "--drain", "20s", "--message", "Closing in {remaining}")
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
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
	out, errOut, code := run(t, f.Config, "--timeout", "1s", "stop", "bbb1", "--force")
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

// runIO is run with a context (for Ctrl-C tests).
func runCtx(t *testing.T, ctx context.Context, cfg string, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	var out, errOut bytes.Buffer
	code := Run(ctx, append([]string{"-c", cfg}, args...), ui.Test(&out, &errOut))
	return out.String(), errOut.String(), code
}
