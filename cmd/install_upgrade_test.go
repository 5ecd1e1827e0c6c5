package cmd

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// upgradeFleet: one server running BBB 3.0.4 (an upgrade within
// jammy-300), enabled in Scalelite, through a non-root login.
func upgradeFleet(t *testing.T, adjust func(i int, s *sim.State)) (*testfleet.Fleet, string) {
	t.Helper()
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 1, User: "bbbfleet-test", Scalelite: true, State: func(i int, s *sim.State) {
		s.Machine.InstallDelay = 150 * time.Millisecond
		if adjust != nil {
			adjust(i, s)
		}
	}, Defaults: "  install: {email: bbb-admin@schulen.example.org}\n", Extra: fmt.Sprintf("state_dir: %q\n", stateDir)})
	return f, stateDir
}

// TestInstallUpgradeCordonsThenEnables: an upgrade of a server that runs
// BBB is cordoned in Scalelite while the installer runs (it restarts BBB)
// and enabled again after verify, as it was before.
func TestInstallUpgradeCordonsThenEnables(t *testing.T) {
	f, _ := upgradeFleet(t, nil)
	if st := scaleliteState(t, f, 0); st != sim.ScaleliteEnabled {
		t.Fatalf("scalelite before: %s", st)
	}
	out, errOut, code := run(t, f.Config, "install", "bbb1", "--dry-run")
	if code != 0 || !strings.Contains(out, "cordon") || !strings.Contains(out, "servers:cordon") || !strings.Contains(out, "recheck") || !strings.Contains(out, "servers:enable") {
		t.Fatalf("dry run without the cordon, recheck and enable steps: exit %d\n%s\n%s", code, out, errOut)
	}
	during := make(chan string, 1)
	go func() {
		if !sshtest.Poll(20*time.Second, func() bool { return logHas(t, f, "Reading package lists") }) {
			during <- "the installer never printed"
			return
		}
		during <- scaleliteState(t, f, 0)
	}()
	out, errOut, code = run(t, f.Config, "install", "bbb1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if st := <-during; st != sim.ScaleliteCordoned {
		t.Errorf("Scalelite state while the installer ran: %s, want cordoned\n%s", st, out)
	}
	if st := scaleliteState(t, f, 0); st != sim.ScaleliteEnabled {
		t.Errorf("Scalelite state after the install: %s, want enabled\n%s", st, out)
	}
	for _, w := range []string{"bbb1 cordon done: cordoned in Scalelite", "bbb1 recheck done: no meetings, no recording work pending", "bbb1 enable done: enabled in Scalelite"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q:\n%s", w, out)
		}
	}
}

// TestInstallUpgradeRecheckRefuses: recording work pending (not seen by
// the plan's meeting look) is found by the look right before the start:
// refused, exit 3, the installer never started, the server left cordoned
// with the undo named.
func TestInstallUpgradeRecheckRefuses(t *testing.T) {
	f, stateDir := upgradeFleet(t, func(i int, s *sim.State) {
		s.RecordingStatus = []string{"recorded/abc-1773130201337.done", "ended/abc-1773130201337.done"}
	})
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if st := f.State(t, 0); st.Machine.InstallRuns != 0 {
		t.Errorf("the installer ran %d times", st.Machine.InstallRuns)
	}
	if st := scaleliteState(t, f, 0); st != sim.ScaleliteCordoned {
		t.Errorf("Scalelite: %s, want cordoned", st)
	}
	if !strings.Contains(out, "recording processing pending") || !strings.Contains(out+errOut, "bbbfleet start bbb1") {
		t.Errorf("the refusal does not name the recordings or the undo:\n%s\n%s", out, errOut)
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb1", fleet.StepCordon, "done") < 0 || stepIndex(recs, "bbb1", fleet.StepRecheck, "refused") < 0 {
		t.Errorf("audit: %+v", recs)
	}
	// --force installs over it, and enables it again.
	out, errOut, code = run(t, f.Config, "install", "bbb1", "--force")
	if code != 0 {
		t.Fatalf("--force: exit %d\n%s\n%s", code, out, errOut)
	}
	// It was cordoned before this run: left as it was.
	if st := scaleliteState(t, f, 0); st != sim.ScaleliteCordoned || !strings.Contains(out, "left as it was (cordoned in Scalelite before the install)") {
		t.Errorf("Scalelite after --force: %s\n%s", st, out)
	}
}

// TestInstallUpgradeScaleliteDown: Scalelite does not answer while BBB
// runs: refused (exit 3) as stop is; --skip-scalelite installs.
func TestInstallUpgradeScaleliteDown(t *testing.T) {
	f, _ := upgradeFleet(t, nil)
	f.Scalelite.SSH.Stop()
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitRefused || !strings.Contains(out+errOut, "Scalelite could not be asked") || !strings.Contains(errOut, "--skip-scalelite") {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if st := f.State(t, 0); st.Machine.InstallRuns != 0 {
		t.Errorf("the installer ran %d times", st.Machine.InstallRuns)
	}
	out, errOut, code = run(t, f.Config, "install", "bbb1", "--skip-scalelite")
	if code != 0 {
		t.Fatalf("--skip-scalelite: exit %d\n%s\n%s", code, out, errOut)
	}
}
