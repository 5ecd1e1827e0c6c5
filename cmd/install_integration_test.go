package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// installFleet starts real-sshd hosts without BBB; adjust changes host i.
func installFleet(t *testing.T, n int, user string, delay time.Duration, adjust func(i int, s *sim.State)) (*testfleet.Fleet, string) {
	t.Helper()
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: n, User: user, State: func(i int, s *sim.State) {
		s.NewMachine()
		s.Machine.InstallDelay = delay
		if adjust != nil {
			adjust(i, s)
		}
	}, Defaults: "  install: {email: bbb-admin@schulen.example.org, flags: [\"-w\"]}\n",
		Extra: fmt.Sprintf("state_dir: %q\n", stateDir)})
	return f, stateDir
}

func secretsFile(t *testing.T, f *testfleet.Fleet) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(f.Config), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallFreshServer(t *testing.T) {
	for _, user := range []string{"", "bbbfleet-test"} {
		t.Run("user="+user, func(t *testing.T) {
			f, stateDir := installFleet(t, 1, user, 150*time.Millisecond, nil)
			out, errOut, code := run(t, f.Config, "install", "bbb1")
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if os.Getenv("SHOW") != "" {
				t.Logf("%s\n%s", out, errOut)
			}
			st := f.State(t, 0)
			if st.Machine.NoBBB || st.Secret == "" || st.Machine.InstallRuns != 1 {
				t.Fatalf("not installed: %+v", st.Machine)
			}
			for _, w := range []string{"bbb1\tubuntu\tok\t", "bbb1\tmemory\tok\t", "bbb1\tbbb\tok\tnot installed: fresh install",
				"follow progress: packages: Setting up bigbluebutton", "verify done", "secret done", "bbb1\tdone\t"} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			sf := secretsFile(t, f)
			if !strings.Contains(sf, st.Secret) {
				t.Errorf("the new secret is not in the secrets file:\n%s", sf)
			}
			if strings.Contains(out+errOut, st.Secret) {
				t.Error("the secret was printed")
			}
			fi, err := os.Stat(filepath.Join(filepath.Dir(f.Config), "secrets.yaml"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("secrets file mode: %v %v", fi.Mode(), err)
			}
			// load works on the new server with the captured secret.
			lout, lerr, lcode := run(t, f.Config, "load", "bbb1")
			if lcode != 0 {
				t.Fatalf("load after install: exit %d\n%s\n%s", lcode, lout, lerr)
			}
			recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
			for _, step := range []string{"run", "follow", "verify", "secret"} {
				if stepIndex(recs, "bbb1", step, "done") < 0 {
					t.Errorf("audit lacks %s done: %+v", step, recs)
				}
			}
		})
	}
}

func TestInstallPreflightBlocks(t *testing.T) {
	f, _ := installFleet(t, 3, "", 0, func(i int, s *sim.State) {
		switch i {
		case 0:
			s.Machine.Ubuntu = "20.04"
		case 1:
			s.MemTotal, s.Cores = 4<<30, 2
		}
	})
	before := stateBytes(t, f.Hosts[0].StateDir, f.Hosts[1].StateDir)
	out, errOut, code := run(t, f.Config, "install", "bbb1,bbb2")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, w := range []string{"bbb1\tubuntu\tblock\tUbuntu 20.04: jammy-300 needs Ubuntu 22.04",
		"bbb2\tmemory\tblock\t4.3 GB", "bbb2\tcores\tblock\t2: at least 4"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	after := stateBytes(t, f.Hosts[0].StateDir, f.Hosts[1].StateDir)
	for d := range before {
		if !bytes.Equal(before[d], after[d]) {
			t.Errorf("state in %s changed by a blocked install", d)
		}
	}
	if !strings.Contains(errOut, "preflight blocks the install (nothing was started)") || !strings.Contains(errOut, "hint: fix what blocks it") {
		t.Errorf("stderr:\n%s", errOut)
	}
	// A fit server next to them: --preflight-only says ok, exit 0.
	out, errOut, code = run(t, f.Config, "install", "bbb3", "--preflight-only")
	if code != 0 || strings.Contains(out, "\tblock\t") {
		t.Fatalf("preflight of a fit server: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestInstallDryRunStartsNothing(t *testing.T) {
	f, _ := installFleet(t, 1, "", 0, nil)
	before := stateBytes(t, f.Hosts[0].StateDir)
	out, errOut, code := run(t, f.Config, "install", "bbb1", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	want := "systemd-run --unit=bbbfleet-install-bbb1 -p User=root -E HOME=/root /bin/bash -c 'set -o pipefail; wget -qO- https://raw.githubusercontent.com/bigbluebutton/bbb-install/v3.0.x-release/bbb-install.sh | bash -s -- -v jammy-300 -s " + f.Hosts[0].SSH.Addr + " -e bbb-admin@schulen.example.org -w >> /var/log/bbbfleet/install-"
	if !strings.Contains(out, want) {
		t.Errorf("dry run does not show the command line %q:\n%s", want, out)
	}
	if !bytes.Equal(before[f.Hosts[0].StateDir], stateBytes(t, f.Hosts[0].StateDir)[f.Hosts[0].StateDir]) {
		t.Error("a dry run changed the server")
	}
}

func TestInstallFailingInstallerExplained(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 20*time.Millisecond, func(i int, s *sim.State) { s.Machine.InstallFault = sim.FaultMidway })
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if os.Getenv("SHOW") != "" {
		t.Logf("%s\n%s", out, errOut)
	}
	for _, w := range []string{"bbb-install: Let's Encrypt SSL request for " + f.Hosts[0].SSH.Addr + " did not succeed - exiting",
		"the installer's last", "  | Requesting a certificate for", "/var/log/bbbfleet/install-", "left: as the installer left it", "run `bbbfleet install bbb1` again"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}

func TestInstallExitZeroButUnitFailed(t *testing.T) {
	f, _ := installFleet(t, 1, "", 10*time.Millisecond, func(i int, s *sim.State) { s.Machine.InstallFault = sim.FaultUnitFailed })
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "the installer exited with status 0") || !strings.Contains(errOut, "bbb-webrtc-sfu failed") ||
		!strings.Contains(errOut, "left: installed but not working") || !strings.Contains(errOut, "hint: look at the server") {
		t.Errorf("an exit status 0 with a failed unit was not caught:\n%s\n%s", out, errOut)
	}
}

func TestInstallKilledClientThenAttach(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 400*time.Millisecond, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Ctrl-C once the installer prints.
		sshtest.Poll(20*time.Second, func() bool {
			s := f.State(t, 0)
			for p, c := range s.Machine.Files {
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
		t.Fatalf("exit %d, want 130\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "bbbfleet install --attach bbb1") {
		t.Errorf("no attach hint:\n%s", errOut)
	}
	if f.State(t, 0).Machine.NoBBB == false {
		t.Fatal("the install finished before the client was killed: the test proves nothing")
	}
	// The installer goes on without the client; a second install attaches.
	out, errOut, code = run(t, f.Config, "install", "bbb1")
	if code != 0 {
		t.Fatalf("second install: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "following it (not starting another)") || f.State(t, 0).Machine.InstallRuns != 1 {
		t.Errorf("did not attach (runs %d):\n%s", f.State(t, 0).Machine.InstallRuns, out)
	}
	// --attach afterwards reports the finished install.
	out, errOut, code = run(t, f.Config, "install", "--attach", "bbb1")
	if code != 0 || !strings.Contains(out, "the last install has ended") {
		t.Fatalf("attach: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestInstallOverRunningClassRefused(t *testing.T) {
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 1, State: withMeetings(2, 0),
		Defaults: "  install: {email: bbb-admin@schulen.example.org}\n", Extra: fmt.Sprintf("state_dir: %q\n", stateDir)})
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	st := f.State(t, 0)
	if len(st.Meetings) != 2 || st.Machine.InstallRuns != 0 {
		t.Errorf("meetings %d, installer runs %d", len(st.Meetings), st.Machine.InstallRuns)
	}
	if !strings.Contains(out, "bbb1\tbbb\tok\tBBB 3.0.4 installed: upgrade within jammy-300") || !strings.Contains(out, "bbb1\tmeetings\tblock\t2 running") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "hint: nothing was changed; install when the meetings have ended") || strings.Contains(errOut, "end them with --force") {
		t.Errorf("hint:\n%s", errOut)
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if stepIndex(recs, "bbb1", fleet.StepCheck, "refused") < 0 {
		t.Errorf("audit: %+v", recs)
	}
}

func TestInstallPreflightFaults(t *testing.T) {
	const user = "bbbfleet-test"
	f, _ := installFleet(t, 3, user, 0, func(i int, s *sim.State) {
		switch i {
		case 0:
			s.Machine.Offline = true
		case 1:
			s.SudoUsers[user] = sim.SudoPassword
		case 2:
			s.Machine.Apache2 = true
		}
	})
	out, errOut, code := run(t, f.Config, "install", "all", "--preflight-only")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, w := range []string{
		"bbb1\tscript\tblock\thttps://raw.githubusercontent.com/bigbluebutton/bbb-install/v3.0.x-release/bbb-install.sh: not reachable from the server (curl: (6) Could not resolve host: raw.githubusercontent.com)",
		"bbb2\tsudo\tblock\tsudo wants a password for bbbfleet-test: allow it NOPASSWD in sudoers, or log in as root",
		"bbb3\tports\tblock\tapache2 is installed (bbb-install.sh refuses it): remove it, or add -i to install.flags; port 80 held by apache2",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for i := range 3 {
		if f.State(t, i).Machine.InstallRuns != 0 || len(f.State(t, i).Machine.Files) != 0 {
			t.Errorf("bbb%d: something ran", i+1)
		}
	}
}

func TestInstallScriptURL404(t *testing.T) {
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 1, State: func(i int, s *sim.State) { s.NewMachine() },
		Defaults: "  install: {email: bbb-admin@schulen.example.org, script_url: \"https://mirror.schulen.example.org/bbb-install.sh\"}\n",
		Extra:    fmt.Sprintf("state_dir: %q\n", stateDir)})
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitFailed || !strings.Contains(out, "bbb1\tscript\tblock\thttps://mirror.schulen.example.org/bbb-install.sh: not found on the server (curl: (22) The requested URL returned error: 404)") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if f.State(t, 0).Machine.InstallRuns != 0 {
		t.Error("the installer ran")
	}
}

func TestInstallFullDisk(t *testing.T) {
	f, _ := installFleet(t, 1, "", 0, func(i int, s *sim.State) {
		d := s.Disks["/"]
		d.Used = d.Size - 1<<30
		s.Disks["/"] = d
	})
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "bbb1\tdisk\twarn\t1.1 GB free on /") ||
		!strings.Contains(errOut, "the installer exited with status 100: E: You don't have enough free space in /var/cache/apt/archives/.") {
		t.Errorf("output:\n%s\n%s", out, errOut)
	}
	if !f.State(t, 0).Machine.NoBBB {
		t.Error("BBB installed on a full disk")
	}
}

func TestInstallSurvivesSSHDrop(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 300*time.Millisecond, nil)
	dropped := make(chan error, 1)
	go func() {
		// While the installer prints: every connection drops; sshd is
		// back 500 ms later.
		if !sshtest.Poll(20*time.Second, func() bool { return logHas(t, f, "Reading package lists") }) {
			dropped <- fmt.Errorf("the installer never printed")
			return
		}
		f.Hosts[0].SSH.Stop()
		time.Sleep(500 * time.Millisecond)
		dropped <- f.Hosts[0].SSH.Restart()
	}()
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if err := <-dropped; err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "connection lost") || !strings.Contains(out, "Setting up bigbluebutton") {
		t.Errorf("the drop was not seen, or lines were lost:\n%s", out)
	}
	if n := strings.Count(out, "Reading package lists"); n != 1 {
		t.Errorf("a line shown %d times after the reconnect:\n%s", n, out)
	}
	out, errOut, code = run(t, f.Config, "install", "--attach", "bbb1")
	if code != 0 || !strings.Contains(out, "bbb1\tdone\t") {
		t.Fatalf("attach: exit %d\n%s\n%s", code, out, errOut)
	}
}

func logHas(t *testing.T, f *testfleet.Fleet, s string) bool {
	st := f.State(t, 0)
	for p, c := range st.Machine.Files {
		if strings.HasSuffix(p, ".log") && strings.Contains(c, s) {
			return true
		}
	}
	return false
}

func TestInstallPowerLostMidway(t *testing.T) {
	stateDir := t.TempDir()
	f := testfleet.Start(t, testfleet.Options{N: 1, PowerWatch: true, State: func(i int, s *sim.State) {
		s.NewMachine()
		s.Machine.InstallDelay = 300 * time.Millisecond
		s.Power.BootDelay = 200 * time.Millisecond
	}, Defaults: "  install: {email: bbb-admin@schulen.example.org}\n", Extra: fmt.Sprintf("state_dir: %q\n", stateDir)})
	powered := make(chan error, 1)
	go func() {
		if !sshtest.Poll(20*time.Second, func() bool { return logHas(t, f, "Reading package lists") }) {
			powered <- fmt.Errorf("the installer never printed")
			return
		}
		h := f.Hosts[0].Sim
		err := h.Update(func(s *sim.State) error { s.PowerOff(); return nil })
		time.Sleep(400 * time.Millisecond)
		powered <- errors.Join(err, h.Update(func(s *sim.State) error { s.PowerOn(time.Now()); return nil }))
	}()
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if err := <-powered; err != nil {
		t.Fatal(err)
	}
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, w := range []string{"interrupted: the installer stopped without finishing (power loss or reboot?)", "left: as the interrupted installer left it", "run `bbbfleet install bbb1` again"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if st := f.State(t, 0); !st.Machine.NoBBB {
		t.Error("installed although the power went")
	}
}

func TestInstallLockHeld(t *testing.T) {
	f, stateDir := installFleet(t, 1, "", 0, nil)
	lock, err := fleet.AcquireLock(context.Background(), filepath.Join(stateDir, "lock"), "bbbfleet stop @pool --drain 45m", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitLocked {
		t.Fatalf("exit %d, want 4\n%s\n%s", code, out, errOut)
	}
	if f.State(t, 0).Machine.InstallRuns != 0 || len(f.State(t, 0).Machine.Files) != 0 {
		t.Error("installed while the lock was held")
	}
}

func TestInstallWithoutSystemdRun(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 150*time.Millisecond, func(i int, s *sim.State) { s.Machine.NoSystemdRun = true })
	out, errOut, code := run(t, f.Config, "install", "bbb1", "--dry-run")
	if code != 0 || !strings.Contains(out, "bbb1\tdetach\twarn\tno systemd-run: setsid nohup instead") || !strings.Contains(out, "setsid nohup /bin/bash -c") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, f.Config, "install", "bbb1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	st := f.State(t, 0)
	if st.Machine.NoBBB || !strings.Contains(out, "Setting up bigbluebutton") || !strings.HasPrefix(st.Machine.Files["/var/lib/bbbfleet/install.current"], "pid ") {
		t.Errorf("not installed through the fallback:\n%s\n%v", out, st.Machine.Files)
	}
}

// The client process is killed (SIGKILL: no cleanup at all) mid-install:
// the installer runs on to the end, and --attach reports it.
func TestInstallClientProcessKilled(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 300*time.Millisecond, nil)
	bin := filepath.Join(t.TempDir(), "bbbfleet")
	build := exec.Command("go", "build", "-o", bin, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building bbbfleet: %v\n%s", err, out)
	}
	c := exec.Command(bin, "-c", f.Config, "install", "bbb1")
	c.Env = append(os.Environ(), "BBBFLEET_SSH_CONFIG=none", "SSH_AUTH_SOCK=")
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if !sshtest.Poll(20*time.Second, func() bool { return logHas(t, f, "Setting up bbb-web") }) {
		c.Process.Kill()
		c.Wait()
		t.Fatalf("the installer never printed\n%s", out.String())
	}
	c.Process.Kill()
	c.Wait()
	if !f.State(t, 0).Machine.NoBBB {
		t.Fatal("installed before the client was killed: the test proves nothing")
	}
	if !sshtest.Poll(20*time.Second, func() bool { return logHas(t, f, "bbbfleet-install-exit: 0") }) {
		t.Fatal("the install did not finish after the client was killed")
	}
	aout, aerr, code := run(t, f.Config, "install", "--attach", "bbb1")
	if code != 0 || !strings.Contains(aout, "the last install has ended") || !strings.Contains(aout, "bbb1\tdone\t") {
		t.Fatalf("attach: exit %d\n%s\n%s", code, aout, aerr)
	}
	if n := f.State(t, 0).Machine.InstallRuns; n != 1 {
		t.Errorf("installer ran %d times", n)
	}
}

// A server with BBB whose secret bbbfleet does not know yet: the meetings
// are read with the secret on the server (not saved), and protect it.
func TestInstallMeetingsSeenWithoutKnownSecret(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 1, User: "bbbfleet-test", State: withMeetings(1, 0),
		Defaults: "  install: {email: bbb-admin@schulen.example.org}\n", Extra: fmt.Sprintf("state_dir: %q\n", t.TempDir())})
	if err := os.WriteFile(filepath.Join(filepath.Dir(f.Config), "secrets.yaml"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if code != ExitRefused || !strings.Contains(out, "bbb1\tmeetings\tblock\t1 running") {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(f.Config), "secrets.yaml")); string(b) != "{}\n" {
		t.Errorf("the secret read for the meetings was saved: %q", b)
	}
}

// --register over real sshd through a non-root login: the secret goes on
// stdin through sudo -n docker exec -i, never on a command line.
func TestInstallRegisterRealSSHD(t *testing.T) {
	const user = "bbbfleet-test"
	f := testfleet.Start(t, testfleet.Options{N: 1, User: user, Scalelite: true, State: func(i int, s *sim.State) {
		s.NewMachine()
		s.Machine.InstallDelay = 10 * time.Millisecond
	}, ScaleliteState: func(s *sim.State) { s.Scalelite.Servers = nil },
		Defaults: "  install: {email: bbb-admin@schulen.example.org}\n", Extra: fmt.Sprintf("state_dir: %q\n", t.TempDir())})
	out, errOut, code := run(t, f.Config, "install", "bbb1", "--register")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	st := f.State(t, 0)
	lb, err := f.Scalelite.Sim.State()
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.Scalelite.Servers) != 1 || lb.Scalelite.Servers[0].Secret != st.Secret || lb.Scalelite.Servers[0].State != sim.ScaleliteEnabled ||
		lb.Scalelite.Servers[0].URL != strings.TrimSuffix(f.Hosts[0].APIURL, "/") {
		t.Errorf("scalelite: %+v", lb.Scalelite.Servers)
	}
	if !strings.Contains(out, "register done: added to Scalelite (id ") || strings.Contains(f.Scalelite.SSH.Log(), st.Secret) {
		t.Errorf("output:\n%s", out)
	}
}

// TestInstallConnectionDropsWhileStarting: the connection drops after
// systemd-run has started the installer but before it answered. The start
// script is not sent again (a second one would truncate the log, and
// systemd-run would answer "already loaded"): bbbfleet reads the install's
// status, finds its own install running and follows it to the end.
func TestInstallConnectionDropsWhileStarting(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 150*time.Millisecond, func(i int, s *sim.State) { s.Machine.StartDelay = 3 * time.Second })
	dropped := make(chan error, 1)
	go func() {
		real := 0
		started := func() bool {
			st := f.State(t, 0)
			u, ok := st.Machine.Transient[bbb.InstallUnit("bbb1")]
			real = u.RealPID
			return ok && u.RealPID != 0
		}
		if !sshtest.Poll(20*time.Second, started) {
			dropped <- fmt.Errorf("the installer never started")
			return
		}
		// Every connection breaks; the installer's process (re-parented
		// to init on a real server) goes on.
		f.Hosts[0].SSH.DropConnections(real)
		dropped <- nil
	}()
	out, errOut, code := run(t, f.Config, "install", "bbb1")
	if err := <-dropped; err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "the answer to the start was lost") || !strings.Contains(out, "Setting up bigbluebutton") {
		t.Errorf("the lost answer was not said, or the install not followed:\n%s", out)
	}
	if st := f.State(t, 0); st.Machine.InstallRuns != 1 || st.Machine.NoBBB {
		t.Errorf("%d installer runs (want 1), BBB missing: %v", st.Machine.InstallRuns, st.Machine.NoBBB)
	}
}

// TestInstallStartGuardRealSSHD: the start script sent again over real
// sshd while its install runs (systemd-run and the setsid fallback, whose
// guard looks at a real pid) starts nothing, exits 75 and leaves the log.
func TestInstallStartGuardRealSSHD(t *testing.T) {
	for _, noRun := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-systemd-run=%v", noRun), func(t *testing.T) {
			f, _ := installFleet(t, 1, "bbbfleet-test", 300*time.Millisecond, func(i int, s *sim.State) { s.Machine.NoSystemdRun = noRun })
			cfg, err := fleet.Load(f.Config)
			if err != nil {
				t.Fatal(err)
			}
			in := cfg.Servers[0].Install
			args := bbb.InstallArgs(in.Series, in.Hostname, in.Email, in.Args)
			log := "/var/log/bbbfleet/install-20260101T000000Z.log"
			script := bbb.InstallStartScript(bbb.InstallUnit("bbb1"), in.ScriptURL, args, log)
			start := []string{"exec", "bbb1", "--sudo", "-n", "--", "sh", "-c", script}
			if out, errOut, code := run(t, f.Config, start...); code != 0 {
				t.Fatalf("first start: exit %d\n%s\n%s", code, out, errOut)
			}
			if !sshtest.Poll(20*time.Second, func() bool { return logHas(t, f, "Reading package lists") }) {
				t.Fatal("the installer never printed")
			}
			out, errOut, code := run(t, f.Config, start...)
			if code == 0 || !strings.Contains(out+errOut, "an install runs already on this server") || !strings.Contains(out+errOut, "75") {
				t.Fatalf("second start while running: exit %d\n%s\n%s", code, out, errOut)
			}
			if !logHas(t, f, "Reading package lists") {
				t.Fatal("the second start truncated the running installer's log")
			}
			if !sshtest.Poll(20*time.Second, func() bool { return logHas(t, f, bbb.InstallExitMark) }) {
				t.Fatal("the install did not end")
			}
			if n := f.State(t, 0).Machine.InstallRuns; n != 1 {
				t.Errorf("%d installer runs, want 1", n)
			}
		})
	}
}

// TestInstallCtrlCWhileStarting: Ctrl-C while systemd-run starts the
// installer does not cut the start off: it finishes, and the outcome says
// the installer goes on (not "untouched"), with the attach hint.
func TestInstallCtrlCWhileStarting(t *testing.T) {
	f, _ := installFleet(t, 1, "bbbfleet-test", 150*time.Millisecond, func(i int, s *sim.State) { s.Machine.StartDelay = 2 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		sshtest.Poll(20*time.Second, func() bool {
			u, ok := f.State(t, 0).Machine.Transient[bbb.InstallUnit("bbb1")]
			return ok && u.PID != 0
		})
		cancel()
	}()
	out, errOut, code := runCtx(t, ctx, f.Config, "install", "bbb1")
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "letting the installer's start finish") || !strings.Contains(out, "interrupted after the installer had started") ||
		strings.Contains(out+errOut, "untouched") || !strings.Contains(errOut, "bbbfleet install --attach bbb1") {
		t.Errorf("the start was cut off, or the state is wrong:\n%s\n%s", out, errOut)
	}
	out, errOut, code = run(t, f.Config, "install", "--attach", "bbb1")
	if code != 0 || f.State(t, 0).Machine.InstallRuns != 1 {
		t.Fatalf("attach: exit %d, %d runs\n%s\n%s", code, f.State(t, 0).Machine.InstallRuns, out, errOut)
	}
}
