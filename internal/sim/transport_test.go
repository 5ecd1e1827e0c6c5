package sim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServeSSH(t *testing.T) {
	h := newTestHost(t, nil)
	hostKey, clientKey, otherKey := newSigner(t), newSigner(t), newSigner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr, stop, err := h.ServeSSH(ctx, "127.0.0.1:0", hostKey, []ssh.PublicKey{clientKey.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dial := func(user string, key ssh.Signer) (*ssh.Client, error) {
		return ssh.Dial("tcp", addr, &ssh.ClientConfig{
			User:            user,
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey()),
			Timeout:         5 * time.Second,
		})
	}
	if _, err := dial("bbbadmin", otherKey); err == nil {
		t.Fatal("unknown key accepted")
	}
	c, err := dial("bbbadmin", clientKey)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, _, st := sshtest.Exec(t, c, "bbb-conf --status")
	want := StatusLines(h.mustState(t))
	if st != 0 || out != want {
		t.Errorf("status %d:\n%s", st, out)
	}
	if _, errOut, st := sshtest.Exec(t, c, "nosuch"); st != 127 || errOut != "sh: 1: nosuch: not found\n" {
		t.Errorf("unknown: %d %q", st, errOut)
	}
	if out, _, st := sshtest.Exec(t, c, "bbb-conf --stop"); st != 1 || out != "Need to be root to run this option\n" {
		t.Errorf("non-root stop: %d %q", st, out)
	}
	if _, _, st := sshtest.Exec(t, c, "exit 42"); st != 42 {
		t.Errorf("exit 42: %d", st)
	}
	// shell and subsystem requests are refused, the connection stays usable
	s, _ := c.NewSession()
	if err := s.Shell(); err == nil {
		t.Error("shell accepted")
	}
	s.Close()
	s, _ = c.NewSession()
	if err := s.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp accepted")
	}
	s.Close()
	rc, err := dial("root", clientKey)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rs, _ := rc.NewSession()
	if out, err := rs.Output("bbb-conf --stop && systemctl is-active bbb-web"); err == nil || string(out) != "Stopping BigBlueButton\ninactive\n" {
		t.Errorf("root stop: %v %q", err, out)
	}
	if n := h.SSHSessions(); n < 7 {
		t.Errorf("sessions counted: %d", n)
	}
	stop()
	if _, err := dial("bbbadmin", clientKey); err == nil {
		t.Error("dial after stop succeeded")
	}
}

// TestBinarySameBytes runs the bbbsim helper the way sshd's ForceCommand
// does and compares it with Host.Exec in process: one emulation, two
// transports.
func TestBinarySameBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("unix only")
	}
	bin := filepath.Join(t.TempDir(), "bbbsim")
	build := exec.Command("go", "build", "-o", bin, "./bbbsim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	s := DefaultState("bbb3")
	s.Hostname = "bbb3.example.org"
	s.SudoUsers = map[string]string{"admin": SudoNoPasswd}
	s.RecordingFailures = []string{"published/x-1.fail"}
	s.Meetings = GenerateMeetings(5, 3, 12, fixedNow)
	if err := WriteState(dir, s); err != nil {
		t.Fatal(err)
	}
	inproc := NewHost(NewFileStore(dir), Options{})
	runBin := func(user, cmdline string) (string, string, int) {
		c := exec.Command(bin, "--state", dir)
		c.Env = append(os.Environ(), "SSH_ORIGINAL_COMMAND="+cmdline, "USER="+user)
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		st := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			st = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), st
	}
	for _, tc := range []struct{ user, cmd string }{
		{"bbbadmin", "bbb-conf --status"},
		{"bbbadmin", "bbb-conf --secret"},
		{"bbbadmin", "bbb-conf --version"},
		{"bbbadmin", "bbb-conf --check"},
		{"admin", "sudo -n bbb-conf --check"},
		{"bbbadmin", "sudo -n bbb-conf --stop"},
		{"bbbadmin", "cat /etc/bigbluebutton/bigbluebutton-release /proc/meminfo /proc/loadavg"},
		{"bbbadmin", "df -P -B1 / /var/bigbluebutton; free -b; nproc"},
		{"bbbadmin", "find /var/bigbluebutton/recording/status -name '*.fail'"},
		{"bbbadmin", `printf '%s\n' 'a; touch /tmp/x #'`},
		{"bbbadmin", "systemctl is-active nginx bbb-web"},
	} {
		o1, e1, s1 := runBin(tc.user, tc.cmd)
		var o2, e2 bytes.Buffer
		s2 := inproc.Exec(context.Background(), tc.cmd, tc.user, strings.NewReader(""), &o2, &e2)
		if o1 != o2.String() || e1 != e2.String() || s1 != s2 {
			t.Errorf("%s as %s differs:\nbinary  (%d) %q %q\nin-proc (%d) %q %q", tc.cmd, tc.user, s1, o1, e1, s2, o2.String(), e2.String())
		}
	}
	// state changes made through the binary are seen in process
	if _, _, st := runBin("admin", "sudo -n bbb-conf --stop"); st != 0 {
		t.Fatal(st)
	}
	if !inproc.mustState(t).Stopped {
		t.Error("stop through binary not seen")
	}
	// with FallbackToRealExec an injected command really runs
	marker := filepath.Join(t.TempDir(), "injected")
	if _, _, st := runBin("bbbadmin", "echo a; touch "+marker); st != 0 {
		t.Fatalf("touch status %d", st)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("fallback did not run touch: %v", err)
	}
	// properly quoted, it does not
	marker2 := filepath.Join(t.TempDir(), "quoted")
	runBin("bbbadmin", "printf '%s\\n' 'a; touch "+marker2+" #'")
	if _, err := os.Stat(marker2); err == nil {
		t.Error("quoted injection ran")
	}
	if _, e, st := runBin("bbbadmin", ""); st != 1 || e != "interactive shell not supported\n" {
		t.Errorf("empty command: %d %q", st, e)
	}
}
