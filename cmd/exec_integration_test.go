package cmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// The hosts run bbbsim as ForceCommand; commands it does not emulate (sh)
// run for real with sshd's environment, so a script can tell which host it
// is on from $SSH_CONNECTION ("client-ip client-port server-ip server-port").
const whoami = `set -- $SSH_CONNECTION; `

func randHex(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// headers returns the "── NAME (STATUS, ...)" header lines in order.
func headers(out string) []string {
	var hs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "── ") {
			hs = append(hs, l)
		}
	}
	return hs
}

// blocks splits grouped output into each server's block, by name.
func blocks(out string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "── ") {
			name = strings.Fields(l)[1]
			continue
		}
		m[name] += l
	}
	return m
}

func TestExecGroupedOutputInConfigOrder(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	// bbb1 answers last, yet comes first.
	script := whoami + fmt.Sprintf(`[ "$3" = %s ] && sleep 1; echo "out from $3"; echo "err from $3" >&2`, f.Hosts[0].SSH.Addr)
	out, errOut, code := run(t, f.Config, "exec", "all", "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	hs := headers(out)
	if len(hs) != 3 {
		t.Fatalf("%d headers, want 3:\n%s", len(hs), out)
	}
	re := regexp.MustCompile(`^── (bbb\d) \(ok, \d+(\.\d+)?m?s\)$`)
	for i, h := range hs {
		m := re.FindStringSubmatch(h)
		if m == nil || m[1] != fmt.Sprintf("bbb%d", i+1) {
			t.Errorf("header %d = %q, want bbb%d (ok, DURATION)", i, h, i+1)
		}
	}
	b := blocks(out)
	for i, h := range f.Hosts {
		want := fmt.Sprintf("out from %s\nerr from %s\n", h.SSH.Addr, h.SSH.Addr)
		if b[h.Name] != want {
			t.Errorf("%s block = %q, want %q", h.Name, b[h.Name], want)
		}
		_ = i
	}
	if errOut != "" {
		t.Errorf("stderr: %q", errOut)
	}
}

func TestExecStreamPrefixesWholeLines(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	// Each line is written in three pieces, so a writer that did not
	// buffer up to the newline would interleave servers mid-line.
	const lines = 150
	script := whoami + fmt.Sprintf(`i=0; while [ $i -lt %d ]; do printf "%%s-" "$3"; printf "%%d-" $i; printf "%%s\n" "$3"; i=$((i+1)); done; printf "last-$3"`, lines)
	out, errOut, code := run(t, f.Config, "exec", "all", "--stream", "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	addr := map[string]string{}
	for _, h := range f.Hosts {
		addr[h.Name] = h.SSH.Addr
	}
	re := regexp.MustCompile(`^(bbb\d) \| (.*)$`)
	next := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line without a server prefix: %q", l)
		}
		a := addr[m[1]]
		want := fmt.Sprintf("%s-%d-%s", a, next[m[1]], a)
		if next[m[1]] == lines {
			want = "last-" + a // the last, unterminated line is flushed with a newline
		}
		if m[2] != want {
			t.Fatalf("%s: line %q, want %q (lines mixed?)", m[1], m[2], want)
		}
		next[m[1]]++
	}
	for _, h := range f.Hosts {
		if next[h.Name] != lines+1 {
			t.Errorf("%s: %d lines, want %d", h.Name, next[h.Name], lines+1)
		}
	}
	if strings.Contains(out, "── ") {
		t.Errorf("--stream printed grouped headers:\n%s", out)
	}
}

func TestExecJSONAndExitStatus(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	failing := f.Hosts[1].SSH.Addr
	script := whoami + fmt.Sprintf(`echo "out $3"; echo "err $3" >&2; [ "$3" = %s ] && exit 3; exit 0`, failing)
	out, errOut, code := run(t, f.Config, "exec", "-o", "json", "all", "--", "sh", "-c", script)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	var res []map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	for i, r := range res {
		h := f.Hosts[i]
		for _, k := range []string{"server", "ok", "exit_status", "stdout", "stderr", "duration_ms"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%s: no %q field in %v", h.Name, k, r)
			}
		}
		if r["server"] != h.Name {
			t.Errorf("result %d is %v, want %s (config order)", i, r["server"], h.Name)
		}
		if r["stdout"] != "out "+h.SSH.Addr+"\n" || r["stderr"] != "err "+h.SSH.Addr+"\n" {
			t.Errorf("%s: stdout %q stderr %q", h.Name, r["stdout"], r["stderr"])
		}
		if d, ok := r["duration_ms"].(float64); !ok || d <= 0 || d > 30000 {
			t.Errorf("%s: duration_ms %v", h.Name, r["duration_ms"])
		}
		if i == 1 {
			if r["ok"] != false || r["exit_status"] != 3.0 {
				t.Errorf("%s: ok %v exit_status %v, want false 3", h.Name, r["ok"], r["exit_status"])
			}
			if e, _ := r["error"].(string); !strings.Contains(e, "bbb2") || !strings.Contains(e, "status 3") {
				t.Errorf("%s: error %q", h.Name, e)
			}
		} else {
			if r["ok"] != true || r["exit_status"] != 0.0 {
				t.Errorf("%s: ok %v exit_status %v, want true 0", h.Name, r["ok"], r["exit_status"])
			}
			if _, ok := r["error"]; ok {
				t.Errorf("%s: error field on success: %v", h.Name, r["error"])
			}
		}
	}

	// All succeed: exit 0, in JSON and grouped output alike.
	for _, args := range [][]string{{"exec", "-o", "json", "all", "--", "true"}, {"exec", "all", "--", "true"}} {
		out, errOut, code := run(t, f.Config, args...)
		if code != 0 {
			t.Errorf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	// Grouped output of the failure: its header says so, stderr counts.
	out, errOut, code = run(t, f.Config, "exec", "all", "--", "sh", "-c", script)
	if code != 1 || !strings.Contains(out, "── bbb2 (exit 3, ") || !strings.Contains(errOut, "1 of 3 servers failed") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestExecSudoAsNonRootStopsBBB(t *testing.T) {
	const user = "bbbfleet-test"
	f := testfleet.Start(t, testfleet.Options{N: 2, User: user})
	// Without --sudo the simulated bbb-conf refuses a non-root user.
	out, errOut, code := run(t, f.Config, "exec", "all", "--", "bbb-conf", "--stop")
	if code != 1 || !strings.Contains(out, "Need to be root") {
		t.Errorf("without --sudo: exit %d\n%s\n%s", code, out, errOut)
	}
	for i := range f.Hosts {
		if f.State(t, i).Stopped {
			t.Fatalf("%s stopped without sudo", f.Hosts[i].Name)
		}
	}
	out, errOut, code = run(t, f.Config, "-v", "exec", "all", "--sudo", "--", "bbb-conf", "--stop")
	if code != 0 {
		t.Fatalf("--sudo: exit %d\n%s\n%s", code, out, errOut)
	}
	for i, h := range f.Hosts {
		if !f.State(t, i).Stopped {
			t.Errorf("%s not stopped after exec --sudo bbb-conf --stop", h.Name)
		}
		if !strings.Contains(errOut, h.Name+" $ sudo -n -- bbb-conf --stop\n") {
			t.Errorf("-v did not show %s's sudo command line:\n%s", h.Name, errOut)
		}
	}
}

func TestExecSudoWantsPassword(t *testing.T) {
	const user = "bbbfleet-test"
	f := testfleet.Start(t, testfleet.Options{N: 3, User: user, State: func(i int, s *sim.State) {
		if i == 1 {
			s.SudoUsers[user] = sim.SudoPassword
		}
	}})
	out, errOut, code := run(t, f.Config, "exec", "all", "--sudo", "--", "bbb-conf", "--stop")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	want := "bbb2: sudo on bbb2 wants a password; allow passwordless sudo for " + user
	if !strings.Contains(blocks(out)["bbb2"], want) {
		t.Errorf("bbb2's block lacks %q:\n%s", want, out)
	}
	for i, stopped := range []bool{true, false, true} {
		if f.State(t, i).Stopped != stopped {
			t.Errorf("%s stopped=%v, want %v", f.Hosts[i].Name, !stopped, stopped)
		}
	}
	out, _, _ = run(t, f.Config, "exec", "-o", "json", "bbb2", "--sudo", "--", "bbb-conf", "--stop")
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || !strings.Contains(res[0].Error, want) {
		t.Errorf("json: %v %s", err, out)
	}
}

func TestExecDryRunTouchesNothing(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2, User: "bbbfleet-test"})
	out, errOut, code := run(t, f.Config, "exec", "--dry-run", "all", "--sudo", "--", "bbb-conf", "--stop")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, h := range f.Hosts {
		want := fmt.Sprintf("would run on %s (bbbfleet-test@%s): sudo -n -- bbb-conf --stop\n", h.Name, h.SSH.HostPort())
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	for i, h := range f.Hosts {
		if f.State(t, i).Stopped {
			t.Errorf("%s stopped by a dry run", h.Name)
		}
		if n := h.SSH.Connections(); n != 0 {
			t.Errorf("%s: %d connections during a dry run", h.Name, n)
		}
	}
}

func TestExecVerboseShowsCommandLines(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2})
	out, errOut, code := run(t, f.Config, "-v", "exec", "all", "--", "echo", "a b", "$HOME")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, h := range f.Hosts {
		if want := h.Name + ` $ echo 'a b' '$HOME'` + "\n"; !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out, " $ echo") {
		t.Errorf("command lines on stdout:\n%s", out)
	}
	if c := strings.Count(out, "a b $HOME\n"); c != 2 {
		t.Errorf("output %q", out)
	}
}

func TestExecArgumentArrivesLiterally(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2})
	marker := filepath.Join(os.TempDir(), "pwned-"+randHex(t))
	t.Cleanup(func() { os.Remove(marker) })
	arg := "x'; touch " + marker + " #"

	// Control: on these hosts a touch that reaches a shell really runs.
	control := marker + "-control"
	t.Cleanup(func() { os.Remove(control) })
	if _, _, code := run(t, f.Config, "exec", "bbb1", "--", "sh", "-c", "touch "+control); code != 0 {
		t.Fatalf("control touch: exit %d", code)
	}
	if _, err := os.Stat(control); err != nil {
		t.Fatalf("control: an unquoted touch did not run, so this test proves nothing: %v", err)
	}

	out, errOut, code := run(t, f.Config, "exec", "-o", "json", "all", "--", "sh", "-c", `printf "[%s]\n" "$#" "$@"`, "sh", arg, "two words")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	want := "[2]\n[" + arg + "]\n[two words]\n"
	for _, r := range res {
		if r.Stdout != want {
			t.Errorf("%s: stdout %q, want %q", r.Server, r.Stdout, want)
		}
	}
	// And through bbbsim's own shell (echo is emulated there).
	out, _, code = run(t, f.Config, "exec", "all", "--", "echo", arg)
	if code != 0 || strings.Count(out, arg+"\n") != 2 {
		t.Errorf("echo: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("%s exists: the argument was run as a command (%v)", marker, err)
	}
}

func TestExecTwentyHostsOneConnectionEach(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 20})
	start := time.Now()
	out, errOut, code := run(t, f.Config, "exec", "-o", "json", "all", "--", "hostname")
	elapsed := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 20 {
		t.Fatalf("%d results", len(res))
	}
	for i, h := range f.Hosts {
		if res[i].Server != h.Name || !res[i].OK || res[i].Stdout != h.SSH.Addr+"\n" {
			t.Errorf("result %d: %+v, want %s answering %s", i, res[i], h.Name, h.SSH.Addr)
		}
		if n := h.SSH.Accepted(); n != 1 {
			t.Errorf("%s: %d logins for one run, want 1", h.Name, n)
		}
	}
	t.Logf("20 hosts in %v", elapsed)
}

func TestExecPausedHostTimesOutOthersAnswer(t *testing.T) {
	// The config's ssh timeout is 5s; --timeout is left at its default.
	f := testfleet.Start(t, testfleet.Options{N: 4})
	f.Hosts[1].SSH.Pause() // TCP accepted by the kernel, no SSH banner
	defer f.Hosts[1].SSH.Resume()
	start := time.Now()
	out, errOut, code := run(t, f.Config, "exec", "-o", "json", "all", "--", "hostname")
	elapsed := time.Since(start)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if elapsed > 20*time.Second {
		t.Errorf("run took %v with a 5s ssh timeout", elapsed)
	}
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for i, h := range f.Hosts {
		r := res[i]
		if r.Server != h.Name {
			t.Errorf("result %d is %s, want %s", i, r.Server, h.Name)
		}
		if i == 1 {
			if r.OK || !strings.Contains(r.Error, "bbb2") || !strings.Contains(r.Error, "timed out") {
				t.Errorf("paused host: %+v", r)
			}
			continue
		}
		if !r.OK || r.Stdout != h.SSH.Addr+"\n" {
			t.Errorf("%s: %+v", h.Name, r)
		}
		if r.DurationMS > 4000 {
			t.Errorf("%s took %.0f ms: the paused host delayed it", h.Name, r.DurationMS)
		}
	}
}

func TestExecStoppedHostConnectionRefused(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	f.Hosts[2].SSH.Stop()
	out, errOut, code := run(t, f.Config, "exec", "all", "--", "hostname")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	hs := headers(out)
	if len(hs) != 3 || !strings.HasPrefix(hs[0], "── bbb1 (ok") || !strings.HasPrefix(hs[1], "── bbb2 (ok") || !strings.HasPrefix(hs[2], "── bbb3 (failed") {
		t.Errorf("headers %q", hs)
	}
	b := blocks(out)
	if !strings.Contains(b["bbb3"], "error: bbb3: ssh: "+f.Hosts[2].SSH.HostPort()+": connection refused") {
		t.Errorf("bbb3 block: %q", b["bbb3"])
	}
	for _, h := range f.Hosts[:2] {
		if b[h.Name] != h.SSH.Addr+"\n" {
			t.Errorf("%s block: %q", h.Name, b[h.Name])
		}
	}
	if !strings.Contains(errOut, "1 of 3 servers failed") {
		t.Errorf("stderr: %q", errOut)
	}
}

func TestExecRefusesWithoutTargetsOrCommand(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 1})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"exec", "--", "bbb-conf", "--stop"}, "needs explicit targets"},
		{[]string{"exec", "--sudo", "--", "true"}, "needs explicit targets"},
		{[]string{"exec", "all"}, "no command given"},
		{[]string{"exec", "all", "--"}, "no command given"},
		{[]string{"exec", "nosuch", "--", "true"}, "nosuch"},
	} {
		out, errOut, code := run(t, f.Config, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s\n%s", tc.args, code, tc.want, out, errOut)
		}
	}
	if n := f.Hosts[0].SSH.Connections(); n != 0 {
		t.Errorf("%d connections for refused commands", n)
	}
}

// runAsync runs bbbfleet with ctx in the background.
func runAsync(t *testing.T, ctx context.Context, cfg string, args ...string) (<-chan int, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, append([]string{"-c", cfg}, args...), ui.Test(&out, &errOut)) }()
	return done, &out, &errOut
}

func TestExecCtrlCCancelsEverything(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	if _, _, code := run(t, f.Config, "exec", "all", "--", "true"); code != 0 {
		t.Fatal("warm-up failed")
	}
	children := func() (n []int) {
		for _, h := range f.Hosts {
			n = append(n, h.SSH.Children())
		}
		return n
	}
	before := children()
	goroutines := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, out, errOut := runAsync(t, ctx, f.Config, "exec", "all", "--", "sleep", "30")
	running := sshtest.Poll(10*time.Second, func() bool {
		for i, n := range children() {
			if n <= before[i] {
				return false
			}
		}
		return true
	})
	if !running {
		t.Fatalf("sleep 30 did not start on every host: children %v, before %v", children(), before)
	}
	start := time.Now()
	cancel() // what Ctrl-C does through Main's signal context
	var code int
	select {
	case code = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("exec did not return within 5s of Ctrl-C")
	}
	if code != ExitInterrupted {
		t.Errorf("exit %d, want %d\n%s\n%s", code, ExitInterrupted, out, errOut)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("returned %v after Ctrl-C", d)
	}
	if !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("stderr %q", errOut)
	}
	if !sshtest.Poll(5*time.Second, func() bool {
		for i, n := range children() {
			if n > before[i] {
				return false
			}
		}
		return true
	}) {
		t.Errorf("remote commands still running 5s after Ctrl-C: sshd children %v, before %v", children(), before)
	}
	sshtest.GoroutinesBackTo(t, goroutines)
}

// plainFleet starts n sshd hosts without ForceCommand (real shells) and
// writes a bbbfleet config logging in as user.
func plainFleet(t *testing.T, n int, user string) (*sshtest.Hosts, string) {
	t.Helper()
	hs := sshtest.Start(t, n, sshtest.Options{NonRootUser: user})
	var b strings.Builder
	// state_dir: the fleet lock and the audit log of a changing command
	// (push) stay in the test's directory.
	fmt.Fprintf(&b, "state_dir: %q\ndefaults:\n  ssh: {user: %s, identity_file: %q, known_hosts: %q, timeout: 5s}\nservers:\n", filepath.Join(hs.Dir, "state"), user, hs.ClientKeyFile, hs.KnownHostsFile)
	for i, h := range hs.Hosts {
		fmt.Fprintf(&b, "  - name: h%d\n    host: %s\n    ssh: {port: %d}\n    api: {url: \"http://%s/bigbluebutton/\"}\n", i+1, h.Addr, h.Port, h.Addr)
	}
	cfg := filepath.Join(hs.Dir, "fleet.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return hs, cfg
}

// On hosts with real shells, Ctrl-C kills the remote process itself for a
// non-root login, with and without sudo (the SSH layer signals the
// session), and for a root login, where OpenSSH refuses session signals
// and the SSH layer's cleanup session kills the connection's sessions.
func TestExecCtrlCKillsRealRemoteProcess(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root: creates a user and a sudoers rule")
	}
	const user = "bbbfleet-test"
	sshtest.EnsureUser(t, user)
	sshtest.AllowSudo(t, user, true)
	for _, tc := range []struct {
		name, user string
		sudo       bool
	}{{"user", user, false}, {"sudo", user, true}, {"root", "root", false}} {
		t.Run(tc.name, func(t *testing.T) {
			hs, cfg := plainFleet(t, 3, tc.user)
			if _, _, code := run(t, cfg, "exec", "all", "--", "true"); code != 0 {
				t.Fatal("warm-up failed")
			}
			goroutines := runtime.NumGoroutine()
			// A unique duration names our remote processes.
			secs := fmt.Sprintf("%d.%03d", 40+time.Now().UnixNano()%50, time.Now().UnixNano()%1000)
			args := []string{"exec", "all", "--", "sleep", secs}
			if tc.sudo {
				args = []string{"exec", "all", "--sudo", "--", "sleep", secs}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done, out, errOut := runAsync(t, ctx, cfg, args...)
			if !sshtest.Poll(10*time.Second, func() bool { return len(sshtest.Processes("sleep", secs)) == len(hs.Hosts) }) {
				t.Fatalf("remote sleeps: %v, want %d", sshtest.Processes("sleep", secs), len(hs.Hosts))
			}
			start := time.Now()
			cancel()
			var code int
			select {
			case code = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("exec did not return within 5s of Ctrl-C")
			}
			if code != ExitInterrupted || time.Since(start) > 3*time.Second {
				t.Errorf("exit %d after %v, want %d promptly\n%s\n%s", code, time.Since(start), ExitInterrupted, out, errOut)
			}
			gone := sshtest.Poll(5*time.Second, func() bool { return len(sshtest.Processes("sleep", secs)) == 0 })
			if left := sshtest.Processes("sleep", secs); !gone {
				for _, pid := range left {
					syscall.Kill(pid, syscall.SIGKILL) // ours: started by this test
				}
				t.Errorf("remote sleeps still running 5s after Ctrl-C: %v", left)
			}
			sshtest.GoroutinesBackTo(t, goroutines)
		})
	}
}
