package sim

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

func newMachineHost(t *testing.T, fn func(s *State)) *Host {
	t.Helper()
	s := DefaultState("new1")
	s.Hostname = "new1.schule.example.org"
	s.NewMachine()
	s.Machine.InstallDelay = 30 * time.Millisecond
	if fn != nil {
		fn(&s)
	}
	return NewHost(NewMemStore(s), Options{})
}

func irun(t *testing.T, h *Host, user, cmdline string, stdin string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := h.Exec(ctx, cmdline, user, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), st
}

func waitInstall(t *testing.T, h *Host) bbb.InstallStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _, _ := irun(t, h, "root", bbb.InstallStatusScript, "")
		st := bbb.ParseInstallStatus(out)
		if st.Known && !st.Running {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("install did not end")
	return bbb.InstallStatus{}
}

func TestSimMachineWithoutBBB(t *testing.T) {
	h := newMachineHost(t, nil)
	if _, e, st := irun(t, h, "root", "bbb-conf --status", ""); st != 127 || !strings.Contains(e, "not found") {
		t.Fatalf("bbb-conf on a machine without BBB: %d %q", st, e)
	}
	out, _, _ := irun(t, h, "root", bbb.PreflightScript, "new1.schule.example.org\n"+bbb.Series["jammy-300"].ScriptURL+"\n")
	f := bbb.ParsePreflight(out)
	if !f.Complete || f.OSVersion != "22.04" || f.Arch != "x86_64" || f.Cores != 8 || f.MemKB == 0 || !f.DiskKnown ||
		!f.IPv6Global || f.Apache2 || f.BBBRelease != "" || f.Sudo != "root" || !f.SystemdRun || len(f.Resolved) != 1 || f.URLStatus != 0 {
		t.Fatalf("preflight facts: %+v\n%s", f, out)
	}
	out, _, _ = irun(t, h, "root", bbb.PreflightScript, "x\nhttps://example.org/nothing.sh\n")
	if f := bbb.ParsePreflight(out); f.URLStatus != 22 || len(f.Resolved) != 0 {
		t.Fatalf("unknown URL: %+v", f)
	}
}

func TestSimInstallDetachedToTheEnd(t *testing.T) {
	h := newMachineHost(t, nil)
	se := bbb.Series["jammy-300"]
	args := bbb.InstallArgs("jammy-300", "new1.schule.example.org", "admin@schule.example.org", []string{"-w"})
	log := "/var/log/bbbfleet/install-20260101T000000Z.log"
	_, e, st := irun(t, h, "root", bbb.InstallStartScript(bbb.InstallUnit("new1"), se.ScriptURL, args, log), "")
	if st != 0 || !strings.Contains(e, "Running as unit: bbbfleet-install-new1.service") {
		t.Fatalf("start: %d %q", st, e)
	}
	out, _, _ := irun(t, h, "root", bbb.InstallStatusScript, "")
	if s := bbb.ParseInstallStatus(out); !s.Running || s.MainPID == 0 || s.Log != log {
		t.Fatalf("status while running: %+v\n%s", s, out)
	}
	// Following the log ends when the installer does.
	s0 := bbb.ParseInstallStatus(out)
	fol, _, st := irun(t, h, "root", bbb.InstallFollowScript(log, 0, s0.MainPID), "")
	if st != 0 || !strings.Contains(fol, "Setting up bigbluebutton") || !strings.Contains(fol, bbb.InstallExitMark+"0") {
		t.Fatalf("follow: %d\n%s", st, fol)
	}
	fin := waitInstall(t, h)
	if !fin.Ended || fin.ExitStatus != 0 {
		t.Fatalf("end: %+v", fin)
	}
	s, _ := h.State()
	if s.Machine.NoBBB || s.Secret == "" || s.Release != "3.0.19" || !unitsAllActive(s) {
		t.Fatalf("after the install: %+v", s)
	}
	chk, _, _ := irun(t, h, "root", "bbb-conf --check", "")
	if p, found := bbb.CheckProblems(chk); !found || len(p) != 0 {
		t.Fatalf("check: %v %v", found, p)
	}
}

func unitsAllActive(s State) bool {
	for _, v := range s.Units {
		if v != UnitActive {
			return false
		}
	}
	return len(s.Units) > 0
}

func TestSimInstallerOwnChecksAndFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fn     func(s *State)
		args   []string
		status int
		want   string
	}{
		{"placeholder host", nil, []string{"-v", "jammy-300", "-s", "bbb.example.com"}, 1, "bbb-install: You must specify a valid hostname (not the hostname given in the docs)."},
		{"arm", func(s *State) { s.Machine.Arch = "aarch64" }, []string{"-v", "jammy-300"}, 1, "bbb-install: You must run this command on a 64-bit server."},
		{"small", func(s *State) { s.MemTotal = 2 << 30 }, []string{"-v", "jammy-300"}, 1, "Your server should have (at least) 4 GB of memory."},
		{"apache2", func(s *State) { s.Machine.Apache2 = true }, []string{"-v", "jammy-300"}, 1, "You must uninstall the Apache2 server first"},
		{"midway", func(s *State) { s.Machine.InstallFault = FaultMidway }, []string{"-v", "jammy-300", "-s", "h.example.org", "-e", "a@b.org"}, 1, "bbb-install: Let's Encrypt SSL request for h.example.org did not succeed - exiting"},
		{"disk", func(s *State) { d := s.Disks["/"]; d.Used = d.Size - 1<<20; s.Disks["/"] = d }, []string{"-v", "jammy-300"}, 100, "E: You don't have enough free space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newMachineHost(t, tc.fn)
			cmd := "wget -qO- " + bbb.Series["jammy-300"].ScriptURL + " | bash -s -- " + strings.Join(tc.args, " ")
			out, e, st := irun(t, h, "root", "set -o pipefail; "+cmd, "")
			if st != tc.status || !strings.Contains(out+e, tc.want) {
				t.Fatalf("status %d, output:\n%s%s", st, out, e)
			}
		})
	}
	h := newMachineHost(t, nil)
	if _, _, st := irun(t, h, "root", "set -o pipefail; wget -qO- https://example.org/x.sh | bash -s -- -v jammy-300", ""); st != 8 {
		t.Fatalf("404 through the pipe: status %d, want wget's 8", st)
	}
}

// TestSimInstallStartTwice: the start script sent a second time (a retry
// after a dropped connection) while the install runs starts nothing,
// leaves the log alone and exits bbb.InstallLiveStatus; once the install
// has ended it starts again. (The fallback's guard, kill -0 on the pid,
// needs real processes: the in-memory host has none.)
func TestSimInstallStartTwice(t *testing.T) {
	for _, noRun := range []bool{false} {
		t.Run(fmt.Sprintf("no-systemd-run=%v", noRun), func(t *testing.T) {
			h := newMachineHost(t, func(s *State) { s.Machine.InstallDelay = 100 * time.Millisecond; s.Machine.NoSystemdRun = noRun })
			se := bbb.Series["jammy-300"]
			args := bbb.InstallArgs("jammy-300", "new1.schule.example.org", "admin@schule.example.org", []string{"-w"})
			log := "/var/log/bbbfleet/install-20260101T000000Z.log"
			script := bbb.InstallStartScript(bbb.InstallUnit("new1"), se.ScriptURL, args, log)
			if _, e, st := irun(t, h, "root", script, ""); st != 0 {
				t.Fatalf("start: %d %q", st, e)
			}
			if !pollSim(func() bool { s, _ := h.State(); return strings.Contains(s.Machine.Files[log], "Reading package lists") }) {
				t.Fatal("the installer never printed")
			}
			_, e, st := irun(t, h, "root", script, "")
			if st != bbb.InstallLiveStatus || !strings.Contains(e, "an install runs already on this server (log "+log+")") {
				t.Fatalf("second start while running: %d %q", st, e)
			}
			s, _ := h.State()
			if !strings.Contains(s.Machine.Files[log], "Reading package lists") {
				t.Fatalf("the second start truncated the running installer's log:\n%q", s.Machine.Files[log])
			}
			fin := waitInstall(t, h)
			if !fin.Ended || fin.ExitStatus != 0 {
				t.Fatalf("end: %+v", fin)
			}
			s, _ = h.State()
			if s.Machine.InstallRuns != 1 {
				t.Fatalf("%d installers ran, want 1", s.Machine.InstallRuns)
			}
			if _, e, st := irun(t, h, "root", script, ""); st != 0 {
				t.Fatalf("start after the end: %d %q", st, e)
			}
			waitInstall(t, h)
		})
	}
}

func pollSim(cond func() bool) bool {
	for i := 0; i < 400; i++ {
		if cond() {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return cond()
}
