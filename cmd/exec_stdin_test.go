package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// runIO runs bbbfleet in-process with the given IO (stdin, TTY flags).
func runIO(t *testing.T, cfg string, o *ui.IO, args ...string) int {
	t.Helper()
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	return Run(context.Background(), append([]string{"-c", cfg}, args...), o)
}

// runStdin is run with stdin.
func runStdin(t *testing.T, cfg string, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := ui.Test(&out, &errOut)
	o.In = stdin
	code := runIO(t, cfg, o, args...)
	return out.String(), errOut.String(), code
}

// Piped stdin reaches the command on every server, through sudo as well
// as for a root login: a fleet-wide tee writes the 12 bytes everywhere.
func TestExecSendsStdinToEveryServer(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root: creates a user and a sudoers rule")
	}
	const user = "bbbfleet-test"
	sshtest.EnsureUser(t, user)
	sshtest.AllowSudo(t, user, true)
	for _, login := range []string{user, "root"} {
		t.Run(login, func(t *testing.T) {
			_, cfg := plainFleet(t, 2, login)
			dir := t.TempDir()
			file := filepath.Join(dir, "x.conf")
			// Both hosts are this machine: each appends, so the file
			// holds what each tee received, one after the other.
			out, errOut, code := runStdin(t, cfg, strings.NewReader("important=1\n"),
				"exec", "-o", "json", "h1,h2", "--sudo", "--", "tee", "-a", file)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			b, err := os.ReadFile(file)
			if err != nil || string(b) != "important=1\nimportant=1\n" {
				t.Errorf("%s holds %q (%v), want the 12 bytes from each of the 2 servers", file, b, err)
			}
			var res []execJSON
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err, out)
			}
			for _, r := range res {
				if r.Stdout != "important=1\n" {
					t.Errorf("%s: tee printed %q, want the 12 bytes", r.Server, r.Stdout)
				}
			}
			if st, err := os.Stat(file); err == nil {
				if uid := fileUID(st); uid != 0 {
					t.Errorf("%s owned by uid %d, want root (sudo)", file, uid)
				}
			}
		})
	}
}

// --no-stdin (-n) sends nothing and leaves stdin unread; a terminal is
// never read; too much stdin is an error before anything runs.
func TestExecStdinOptions(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2})
	for _, flag := range []string{"-n", "--no-stdin"} {
		in := strings.NewReader("secret input\n")
		out, errOut, code := runStdin(t, f.Config, in, "exec", "-o", "json", "all", flag, "--", "sh", "-c", "cat; echo end")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", flag, code, out, errOut)
		}
		if strings.Contains(out, "secret") || strings.Count(out, `"stdout": "end\n"`) != 2 {
			t.Errorf("%s: the command read stdin:\n%s", flag, out)
		}
		if in.Len() != len("secret input\n") {
			t.Errorf("%s: stdin was read", flag)
		}
	}

	var outB, errB bytes.Buffer
	o := ui.Test(&outB, &errB)
	in := strings.NewReader("typed\n")
	o.In, o.InTTY = in, true
	if code := runIO(t, f.Config, o, "exec", "all", "--", "sh", "-c", "cat; echo end"); code != 0 || strings.Contains(outB.String(), "typed") || in.Len() == 0 {
		t.Errorf("a terminal's input was read or sent: exit %d\n%s%s", code, outB.String(), errB.String())
	}

	// Over the bound: exit 2, nothing run, the limit named.
	before := f.Hosts[0].SSH.Connections()
	big := io.LimitReader(zeros{}, maxExecStdin+1)
	out, errOut, code := runStdin(t, f.Config, big, "exec", "all", "--", "cat")
	if code != ExitUsage || !strings.Contains(errOut, "more than 64 MiB") || !strings.Contains(errOut, "--no-stdin") {
		t.Errorf("exit %d, want 2 naming the limit\n%s%s", code, out, errOut)
	}
	if n := f.Hosts[0].SSH.Connections(); n != before {
		t.Errorf("%d new connections after refusing stdin", n-before)
	}
	// Exactly the bound is sent (here: the byte count that arrived).
	out, errOut, code = runStdin(t, f.Config, io.LimitReader(zeros{}, maxExecStdin), "exec", "-o", "json", "bbb1", "--", "sh", "-c", "wc -c")
	if code != 0 || !strings.Contains(out, `"stdout": "67108864\n"`) {
		t.Errorf("64 MiB of stdin: exit %d\n%.500s%s", code, out, errOut)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe to read while a run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A stdin that stays open is announced (exec waits for its end before it
// runs anything), and what arrives by then is sent.
func TestExecSaysItWaitsForStdin(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 1})
	r, w := io.Pipe()
	var out, errOut syncBuffer
	o := ui.Test(&out, &errOut)
	o.In = r
	done := make(chan int, 1)
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	go func() {
		done <- Run(context.Background(), []string{"-c", f.Config, "exec", "-o", "json", "all", "--", "cat"}, o)
	}()
	if !sshtest.Poll(10*time.Second, func() bool { return strings.Contains(errOut.String(), "reading stdin to send to the servers") }) {
		t.Fatalf("no notice: %q", errOut.String())
	}
	if n := f.Hosts[0].SSH.Connections(); n != 0 {
		t.Errorf("%d connections before stdin ended", n)
	}
	io.WriteString(w, "late\n")
	w.Close()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(out.String(), `"stdout": "late\n"`) {
			t.Errorf("exit %d\n%s%s", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("exec did not finish after stdin ended")
	}
}
