package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
)

func TestLockNamesItsHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "lock")
	l, err := AcquireLock(context.Background(), path, "bbbfleet stop bbb1 --drain 45m", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(context.Background(), path, "bbbfleet start bbb2", 0)
	var lh *LockHeldError
	if !errors.As(err, &lh) || lh.Holder == nil || lh.Holder.PID != os.Getpid() || lh.Holder.Command != "bbbfleet stop bbb1 --drain 45m" {
		t.Fatalf("second lock: %v", err)
	}
	if !strings.Contains(err.Error(), "since ") {
		t.Errorf("message: %v", err)
	}
	start := time.Now()
	_, err = AcquireLock(context.Background(), path, "x", 200*time.Millisecond)
	if !errors.As(err, &lh) || time.Since(start) < 200*time.Millisecond || !strings.Contains(err.Error(), "after waiting 200ms") {
		t.Errorf("waited lock: %v after %s", err, time.Since(start))
	}
	l.Release()
	l2, err := AcquireLock(context.Background(), path, "bbbfleet start bbb2", 0)
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
	// A lock file that is a symbolic link is not followed.
	dir := t.TempDir()
	os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "lock"))
	if _, err := AcquireLock(context.Background(), filepath.Join(dir, "lock"), "x", 0); err == nil {
		t.Error("followed a symbolic link")
	}
}

func TestAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := OpenAudit(path, "bbbfleet stop bbb1 --drain 10m")
	if err != nil {
		t.Fatal(err)
	}
	sub := a.Subscriber()
	now := time.Now()
	sub(Event{Time: now, Server: "bbb1", Action: "stop", Step: StepCordon, Phase: PhaseStarted})
	sub(Event{Time: now, Server: "bbb1", Action: "stop", Step: StepDrain, Phase: PhaseProgress})
	sub(Event{Time: now, Server: "bbb1", Action: "stop", Step: StepWarn, Phase: PhaseDone, Result: "done", Duration: 1500 * time.Millisecond,
		Meetings: []MeetingRef{{ID: "m1", Name: "Mathe 7b", Participants: 23}}})
	sub(Event{Time: now, Server: "bbb1", Action: "stop", Step: StepEnd, Phase: PhaseSkipped, Result: "skipped"})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (outcomes only):\n%s", len(lines), b)
	}
	var r AuditRecord
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Step != StepWarn || r.Result != "done" || r.MeetingsAffected != 1 || r.Meetings[0] != "Mathe 7b" || r.DurationMS != 1500 ||
		r.Command != "bbbfleet stop bbb1 --drain 10m" || r.User == "" {
		t.Errorf("record: %+v", r)
	}
	// Appends, never truncates.
	a2, _ := OpenAudit(path, "x")
	a2.Write(AuditRecord{Server: "bbb2"})
	a2.Close()
	b2, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b2), string(b)) {
		t.Error("reopening truncated the log")
	}
	// Unwritable: a directory in the way, a symbolic link.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "isdir"), 0o755)
	os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "link"))
	for _, p := range []string{filepath.Join(dir, "isdir"), filepath.Join(dir, "link")} {
		var au *AuditUnwritableError
		if _, err := OpenAudit(p, "x"); !errors.As(err, &au) || au.Path != p {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestParseProbe(t *testing.T) {
	st := sim.DefaultState("bbb1")
	st.RecordingStatus = []string{"recorded/abc-123.done", "ended/abc-123.done", "published/old.done"}
	st.Units["bbb-web"] = sim.UnitInactive
	out := sim.StatusLines(st) + probeRecMark + "\n" +
		RecordingStatusDir + "/recorded/abc-123.done\n" + RecordingStatusDir + "/ended/abc-123.done\n" +
		probeRelMark + "\nBIGBLUEBUTTON_RELEASE=3.0.4\n"
	units, recs, rel, rerr := parseProbe(out)
	if rerr != nil {
		t.Errorf("recordings error: %v", rerr)
	}
	if _, _, _, rerr := parseProbe(probeRecMark + "\n" + probeRecFailed + "\n" + probeRelMark + "\n"); !errors.Is(rerr, ErrRecordingsUnreadable) {
		t.Errorf("unreadable status dirs: %v", rerr)
	}
	if len(units) != len(sim.Units30) || unitsActive(units) || unitsStopped(units) {
		t.Errorf("units: %d active=%v stopped=%v", len(units), unitsActive(units), unitsStopped(units))
	}
	if len(recs) != 2 || recs[0] != "recorded/abc-123.done" || rel != "3.0.4" {
		t.Errorf("recs %v release %q", recs, rel)
	}
}

func TestExpandMessageAndHook(t *testing.T) {
	for d, want := range map[time.Duration]string{45 * time.Minute: "45 minutes", time.Minute: "1 minute", 30 * time.Second: "30 seconds"} {
		if got := expandMessage("shuts down in {remaining}.", d); got != "shuts down in "+want+"." {
			t.Errorf("%s: %q", d, got)
		}
	}
	s := Server{Name: "bbb2", Host: "bbb2.example.org"}
	got := expandHook([]string{"hcloud", "server", "poweron", "{name}", "--host={host}"}, s)
	if strings.Join(got, " ") != "hcloud server poweron bbb2 --host=bbb2.example.org" {
		t.Errorf("%v", got)
	}
}

func TestOpErrorIs(t *testing.T) {
	cause := &MeetingsRunningError{Meetings: []MeetingRef{{Name: "A", Participants: 2}}}
	e := &OpError{Server: "bbb1", Step: StepCheck, Kind: KindRefused, Err: cause}
	var mr *MeetingsRunningError
	if !errors.Is(e, ErrRefused) || !errors.As(e, &mr) || mr != cause {
		t.Error("errors.Is/As do not reach the cause")
	}
	if errors.Is(&OpError{Kind: KindFailed, Err: context.Canceled}, ErrRefused) {
		t.Error("a failure is a refusal")
	}
	if !errors.Is(&OpError{Kind: KindFailed, Err: context.Canceled}, context.Canceled) {
		t.Error("cause not reachable")
	}
	if got := e.Error(); got != `bbb1: check: 1 meeting running (2 users): "A" (2 users)` {
		t.Errorf("%q", got)
	}
}

func FuzzParseProbe(f *testing.F) {
	f.Add(sim.StatusLines(sim.DefaultState("bbb1")) + probeRecMark + "\n" + RecordingStatusDir + "/recorded/a.done\n" + probeRelMark + "\nBIGBLUEBUTTON_RELEASE=3.0.4\n")
	f.Add(probeRelMark + "\n" + probeRecMark + "\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, out string) {
		units, recs, _, _ := parseProbe(out)
		for _, r := range recs {
			if !strings.HasSuffix(r, ".done") || strings.HasPrefix(r, "/") {
				t.Fatalf("bad recording entry %q", r)
			}
		}
		_ = unitsActive(units)
		_ = unitsStopped(units)
	})
}

func TestSSHUnreachable(t *testing.T) {
	for msg, want := range map[string]bool{
		"bbb1: ssh: 127.0.0.2:22: connection refused (is sshd running there, and is the port right?)": true,
		"bbb1: ssh: 10.0.0.1:22: TCP connect timed out after 5s":                                      true,
		"bbb1: ssh: no accepted key for root@10.0.0.1:22; tried agent":                                false,
		"bbb1: ssh: no usable key for root@10.0.0.1:22; tried default keys":                           false,
	} {
		if got := sshUnreachable(errors.New(msg)); got != want {
			t.Errorf("%q: %v", msg, got)
		}
	}
}

func TestParseResqueAndInstall(t *testing.T) {
	out := probeRecMark + "\n" + probeResqueMark + "\nqueue rap:process 2\nqueue rap:archive 0\nqueue rap:$(x) 5\n" +
		"resque-2.0.0: Processing rap:publish since 1764950000 [BigBlueButton::Resque::PublishWorker]\n" +
		probeInstMark + "\n--bbbfleet-install-current--\nunit bbbfleet-install-bbb1 /var/log/bbbfleet/install-20261205T140000Z.log\n" +
		"--bbbfleet-install-running--\nActiveState=active\nMainPID=42\n--bbbfleet-install-exit--\n" + probeRelMark + "\n"
	pending, err := parseResque(out)
	if err != nil || strings.Join(pending, "|") != "Resque queue rap:process: 2 jobs|Resque worker processing rap:publish" {
		t.Errorf("%q %v", pending, err)
	}
	if !parseInstallRunning(out) {
		t.Error("install not seen running")
	}
	for _, bad := range []string{probeResqueMark + "\n" + probeResqueMissing + "\n", probeResqueMark + "\nqueue rap:process " + probeResqueFailed + "\n", ""} {
		if _, err := parseResque(bad); !errors.Is(err, ErrResqueUnreadable) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
