package simfleet_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
)

// sameState is what both transports serve: a server with the demo's
// planted problem and a morning's meetings.
func sameState() sim.State {
	s := sim.DefaultState("bbb4")
	s.Hostname = "bbb4.school.example"
	s.Secret = "0123456789abcdef0123456789abcdef01234567"
	s.Units[simfleet.ProblemUnit] = sim.UnitFailed
	s.Release, s.Build = simfleet.ProblemRelease, 893
	s.RecordingFailures = []string{"processed/abc-1773130201337-presentation.fail", "sanity/def-1773130209999.fail"}
	s.RecordingStatus = []string{"recorded/abc-1773130201337.done", "archived/abc-1773130201337.done"}
	s.Meetings = simfleet.NewModel(1, 1).MeetingsAt(simfleet.DefaultStart, 0)[0]
	return s
}

type answer struct {
	stdout, stderr string
	status         int
}

func sshRun(t *testing.T, c *ssh.Client, cmd string) answer {
	t.Helper()
	stdout, stderr, status := sshtest.Exec(t, c, cmd)
	return answer{stdout, stderr, status}
}

func dial(t *testing.T, addr, user string, key ssh.Signer, knownHostsFile string) *ssh.Client {
	t.Helper()
	hk, err := knownhosts.New(knownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: hk, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("dial %s as %s: %v", addr, user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSameAnswersAsRealSSHD proves one emulation, two transports: the
// in-process SSH server of the demo fleet answers every command exactly as
// the bbbsim stand-in behind a real OpenSSH sshd does, byte for byte, with
// the same exit status.
func TestSameAnswersAsRealSSHD(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real sshd")
	}
	real := testfleet.Start(t, testfleet.Options{N: 1, State: func(i int, s *sim.State) { *s = sameState() }})
	demo, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true,
		State: func(i int, s *sim.State) { *s = sameState() }})
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	// The demo points bbb-web's serverURL at its own API listener; compare
	// with the same serverURL on both sides.
	if err := demo.Hosts[0].Sim.Update(func(s *sim.State) error { s.ServerURL = ""; return nil }); err != nil {
		t.Fatal(err)
	}

	users := []string{real.SSH.User}
	if sshtest.IsRoot() {
		sshtest.EnsureUser(t, real.SSH.NonRootUser)
		users = append(users, real.SSH.NonRootUser)
	}
	cmds := []string{
		"bbb-conf --status",
		"bbb-conf --secret",
		"bbb-conf --version",
		"bbb-conf --check",
		"systemctl is-active nginx bbb-web " + simfleet.ProblemUnit + " bbb-html5",
		"systemctl is-active --quiet " + simfleet.ProblemUnit,
		"systemctl status bbb-web",
		"cat /etc/bigbluebutton/bigbluebutton-release",
		"cat /etc/hostname /proc/loadavg /proc/meminfo",
		"cat /etc/bigbluebutton/no-such-file",
		"df -P", "df -P -B1 / /var/bigbluebutton",
		"free -b", "free -m",
		"nproc",
		"hostname",
		"id -un", "whoami",
		"ls /var/bigbluebutton/recording/status",
		"ls /var/bigbluebutton/recording/status/processed /var/bigbluebutton/recording/status/sanity",
		"ls -1 /var/bigbluebutton/recording/status/*/",
		"find /var/bigbluebutton/recording/status -name '*.fail'",
		"bbb-conf --status | grep -c active",
		`printf '%s\n' 'a; touch /tmp/x #'`,
		"nosuchcommand --flag",
		"bbb-conff --status",
		"exit 42",
		`sh -c 'bbb-conf --status | grep -c active; exit 4'`,
		"echo 'cat /etc/bigbluebutton/bigbluebutton-release' | sh",
		"sudo -n bbb-conf --check",
		"sudo -n bbb-conf --secret",
		"sudo -n systemctl restart nosuch",
		"sudo -n nosuchcommand",
		"sudo -n -- cat /etc/bigbluebutton/bigbluebutton-release",
		"if true; then echo 'unbalanced",
	}
	checked := 0
	for _, user := range users {
		rc := dial(t, real.SSH.Hosts[0].HostPort(), user, real.SSH.ClientSigner, real.SSH.KnownHostsFile)
		dc := dial(t, demo.Hosts[0].SSHAddr, user, demo.ClientSigner, demo.KnownHosts)
		for _, cmd := range cmds {
			want := sshRun(t, rc, cmd)
			got := sshRun(t, dc, cmd)
			if got != want {
				t.Errorf("%s as %s:\nsshd+bbbsim (%d) stdout %q\n  stderr %q\nin-process  (%d) stdout %q\n  stderr %q",
					cmd, user, want.status, want.stdout, want.stderr, got.status, got.stdout, got.stderr)
			}
			checked++
		}
	}
	// Sanity: the answers are the real thing, not two empty strings.
	a := sshRun(t, dial(t, demo.Hosts[0].SSHAddr, users[0], demo.ClientSigner, demo.KnownHosts), "bbb-conf --status; nosuchcommand")
	if a.status != 127 || !bytes.Contains([]byte(a.stdout), []byte("[✘ - failed]")) || a.stderr != "sh: 1: nosuchcommand: not found\n" {
		t.Errorf("in-process answer: %+v", a)
	}
	t.Logf("%d command lines compared over %d users", checked, len(users))
	if _, err := os.Stat(demo.Key); err != nil {
		t.Fatal(err)
	}
}
