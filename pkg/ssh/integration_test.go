package ssh_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// config for host i of hs, isolated from the real ~/.ssh and agent.
func config(hs *sshtest.Hosts, i int) ssh.Config {
	h := hs.Hosts[i]
	return ssh.Config{
		Name:           h.Name,
		Host:           h.Addr,
		Port:           h.Port,
		User:           hs.User,
		IdentityFiles:  []string{hs.ClientKeyFile},
		KnownHostsFile: hs.KnownHostsFile,
		SSHConfigFile:  "none",
		NoAgent:        true,
		Timeout:        5 * time.Second,
	}
}

func dial(t *testing.T, cfg ssh.Config) *ssh.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ssh.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *ssh.Client, cmd ssh.Command) *ssh.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.Run(ctx, cmd)
	if err != nil {
		t.Fatalf("Run %v: %v (stderr %q)", cmd.Argv, err, res.Stderr)
	}
	return res
}

func requireRoot(t *testing.T) {
	t.Helper()
	if !sshtest.IsRoot() {
		t.Skip("needs root (logs in as root / manages users and sudoers)")
	}
}

func TestRunEcho(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	c := dial(t, config(hs, 0))
	var live strings.Builder
	res := run(t, c, ssh.Command{Argv: []string{"sh", "-c", "echo out; echo err >&2"}, Stdout: &live})
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitStatus != 0 {
		t.Errorf("result = %q %q %d", res.Stdout, res.Stderr, res.ExitStatus)
	}
	if live.String() != "out\n" {
		t.Errorf("streamed stdout = %q", live.String())
	}
	if res.Duration <= 0 {
		t.Errorf("duration %v", res.Duration)
	}
	res = run(t, c, ssh.Command{Argv: []string{"cat"}, Stdin: strings.NewReader("from stdin")})
	if string(res.Stdout) != "from stdin" {
		t.Errorf("stdin round trip = %q", res.Stdout)
	}
	res = run(t, c, ssh.Command{Script: "x=41; echo $((x+1))"})
	if string(res.Stdout) != "42\n" {
		t.Errorf("script output = %q", res.Stdout)
	}
}

func TestUnknownHostStrictThenAcceptNew(t *testing.T) {
	hs := sshtest.Start(t, 3, sshtest.Options{})
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts") // missing dir and file
	cfg := config(hs, 0)
	cfg.KnownHostsFile = kh

	_, err := ssh.Dial(context.Background(), cfg)
	var hke *ssh.HostKeyError
	if !errors.As(err, &hke) || !hke.Unknown {
		t.Fatalf("strict dial to unknown host: err = %v, want unknown HostKeyError", err)
	}
	fp := gossh.FingerprintSHA256(hs.Hosts[0].HostKey)
	for _, want := range []string{
		"host1: ssh: ", fp,
		fmt.Sprintf("ssh-keyscan -p %d 127.0.0.2 >> %s", hs.Hosts[0].Port, kh),
		"host_key_policy: accept-new",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(kh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("strict mode created %s", kh)
	}

	// accept-new, from many goroutines at once: each host recorded once.
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for g := 0; g < 30; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			cfg := config(hs, g%3)
			cfg.KnownHostsFile = kh
			cfg.HostKeyPolicy = ssh.PolicyAcceptNew
			c, err := ssh.Dial(context.Background(), cfg)
			if err != nil {
				errs <- err
				return
			}
			c.Close()
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("accept-new dial: %v", err)
	}
	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Errorf("known_hosts has %d lines, want 3:\n%s", len(lines), data)
	}
	for i := range hs.Hosts {
		if !strings.Contains(string(data), hs.KnownHostsLine(i)) {
			t.Errorf("known_hosts lacks %q", hs.KnownHostsLine(i))
		}
	}

	// Now strict works.
	cfg.HostKeyPolicy = ssh.PolicyStrict
	c := dial(t, cfg)
	run(t, c, ssh.Command{Argv: []string{"true"}})
}

func TestChangedHostKeyRefused(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	h := hs.Hosts[0]
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := gossh.NewPublicKey(pub)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	content := "# fleet hosts\n" + knownhosts.Line([]string{h.HostPort()}, other) + "\n"
	if err := os.WriteFile(kh, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, policy := range []string{ssh.PolicyStrict, ssh.PolicyAcceptNew} {
		cfg := config(hs, 0)
		cfg.KnownHostsFile = kh
		cfg.HostKeyPolicy = policy
		_, err := ssh.Dial(context.Background(), cfg)
		var hke *ssh.HostKeyError
		if !errors.As(err, &hke) || !hke.Changed {
			t.Fatalf("%s: err = %v, want changed-key HostKeyError", policy, err)
		}
		for _, want := range []string{"HOST KEY HAS CHANGED", kh + ":2", gossh.FingerprintSHA256(h.HostKey)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", policy, err, want)
			}
		}
	}
	if data, _ := os.ReadFile(kh); string(data) != content {
		t.Errorf("known_hosts modified:\n%s", data)
	}
	if n := h.Accepted(); n != 0 {
		t.Errorf("authenticated %d times to a host with a changed key", n)
	}
}

func TestConnectionRefused(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := config(hs, 0)
	cfg.Port = port
	start := time.Now()
	_, err = ssh.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.HasPrefix(err.Error(), "host1: ssh: ") {
		t.Fatalf("err = %v, want host1: ssh: ... connection refused", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refused dial took %v", d)
	}
}

func TestPausedHostTimesOutOthersAnswer(t *testing.T) {
	hs := sshtest.Start(t, 5, sshtest.Options{})
	hs.Hosts[0].Pause()
	const timeout = time.Second
	type out struct {
		err     error
		elapsed time.Duration
		stdout  string
	}
	results := make([]out, 5)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range hs.Hosts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			t0 := time.Now()
			cfg := config(hs, i)
			cfg.Timeout = timeout
			c, err := ssh.Dial(context.Background(), cfg)
			if err != nil {
				results[i] = out{err: err, elapsed: time.Since(t0)}
				return
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := c.Run(ctx, ssh.Command{Argv: []string{"echo", "ok"}})
			results[i] = out{err: err, elapsed: time.Since(t0)}
			if res != nil {
				results[i].stdout = string(res.Stdout)
			}
		}(i)
	}
	wg.Wait()
	total := time.Since(start)
	if r := results[0]; r.err == nil || !strings.Contains(r.err.Error(), "handshake timed out") {
		t.Errorf("paused host: err = %v, want handshake timeout", r.err)
	} else if r.elapsed > 3*timeout {
		t.Errorf("paused host failed after %v, want < %v", r.elapsed, 3*timeout)
	}
	for i := 1; i < 5; i++ {
		if r := results[i]; r.err != nil || r.stdout != "ok\n" {
			t.Errorf("healthy %s: err=%v out=%q", hs.Hosts[i].Name, r.err, r.stdout)
		}
	}
	if total > 3*timeout {
		t.Errorf("parallel run took %v, want < %v", total, 3*timeout)
	}
	t.Logf("paused host failed after %v: %v", results[0].elapsed, results[0].err)
}

func TestDialCancelledByContext(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	hs.Hosts[0].Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ssh.Dial(ctx, config(hs, 0)) // Timeout 5s, ctx earlier
	if !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "timed out")) {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("dial ignored ctx deadline: %v", d)
	}
}

func TestWrongKeyListsWhatWasTried(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	wrong := filepath.Join(dir, "wrong_ed25519")
	block, _ := gossh.MarshalPrivateKey(priv, "")
	os.WriteFile(wrong, pem.EncodeToMemory(block), 0o600)
	locked := filepath.Join(dir, "locked_ed25519")
	block, _ = gossh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	os.WriteFile(locked, pem.EncodeToMemory(block), 0o600)
	missing := filepath.Join(dir, "missing_key")

	cfg := config(hs, 0)
	cfg.IdentityFiles = []string{wrong, locked, missing}
	_, err := ssh.Dial(context.Background(), cfg)
	if err == nil {
		t.Fatal("dial with a wrong key succeeded")
	}
	want := fmt.Sprintf("host1: ssh: no accepted key for %s@%s; tried %s, %s (passphrase-protected", hs.User, hs.Hosts[0].HostPort(), wrong, locked)
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), missing+" (missing)") {
		t.Errorf("err = %q\nwant prefix %q and %q", err, want, missing+" (missing)")
	}

	// No usable key at all: refused before connecting.
	cfg.IdentityFiles = []string{missing}
	_, err = ssh.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no usable key") || !strings.Contains(err.Error(), missing+" (missing)") {
		t.Errorf("err = %v", err)
	}
}

func TestEd25519OnlyKnownHostsAgainstManyHostKeys(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{HostKeyTypes: []string{"ecdsa", "rsa", "ed25519"}})
	h := hs.Hosts[0]
	var ed gossh.PublicKey
	for _, k := range h.HostKeys {
		if k.Type() == gossh.KeyAlgoED25519 {
			ed = k
		}
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{h.HostPort()}, ed)+"\n"), 0o600)

	// Plain x/crypto with default algorithms gets the ecdsa key and fails:
	// the bug this package works around (golang/go#49631).
	cb, _ := knownhosts.New(kh)
	signer := hs.ClientSigner
	_, err := gossh.Dial("tcp", h.HostPort(), &gossh.ClientConfig{User: hs.User, Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: cb, Timeout: 5 * time.Second})
	if err == nil {
		t.Log("note: x/crypto default host key order already picked ed25519")
	}

	cfg := config(hs, 0)
	cfg.KnownHostsFile = kh
	c := dial(t, cfg)
	run(t, c, ssh.Command{Argv: []string{"true"}})

	// And an rsa-only entry works too.
	var rsaKey gossh.PublicKey
	for _, k := range h.HostKeys {
		if k.Type() == gossh.KeyAlgoRSA {
			rsaKey = k
		}
	}
	os.WriteFile(kh, []byte(knownhosts.Line([]string{h.HostPort()}, rsaKey)+"\n"), 0o600)
	c2 := dial(t, cfg)
	run(t, c2, ssh.Command{Argv: []string{"true"}})
}

func TestSudo(t *testing.T) {
	requireRoot(t)
	const nopw, pw = "bbbfleet-test", "bbbfleet-testpw"
	sshtest.EnsureUser(t, nopw)
	sshtest.EnsureUser(t, pw)
	sshtest.AllowSudo(t, nopw, true)
	sshtest.AllowSudo(t, pw, false)
	hs := sshtest.Start(t, 1, sshtest.Options{NonRootUser: nopw})

	cfg := config(hs, 0)
	cfg.User = nopw
	c := dial(t, cfg)
	res := run(t, c, ssh.Command{Argv: []string{"id", "-un"}})
	if got := strings.TrimSpace(string(res.Stdout)); got != nopw {
		t.Errorf("without sudo: id -un = %q", got)
	}
	res = run(t, c, ssh.Command{Argv: []string{"id", "-un"}, Sudo: true})
	if got := strings.TrimSpace(string(res.Stdout)); got != "root" {
		t.Errorf("with sudo: id -un = %q (stderr %q)", got, res.Stderr)
	}
	res = run(t, c, ssh.Command{Script: "id -un; echo $0", Sudo: true})
	if got := string(res.Stdout); got != "root\nsh\n" {
		t.Errorf("sudo script: %q", got)
	}

	cfg.User = pw
	c2 := dial(t, cfg)
	res, err := c2.Run(context.Background(), ssh.Command{Argv: []string{"id", "-un"}, Sudo: true})
	if !errors.Is(err, ssh.ErrSudoPassword) {
		t.Fatalf("err = %v (stderr %q), want ErrSudoPassword", err, res.Stderr)
	}
	want := "host1: sudo on host1 wants a password; allow passwordless sudo for " + pw + " (NOPASSWD) or connect as root"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	var xe *ssh.ExitError
	if !errors.As(err, &xe) || xe.Status == 0 {
		t.Errorf("sudo error does not carry the ExitError: %v", err)
	}

	// As root, Sudo adds nothing.
	c3 := dial(t, config(hs, 0))
	res = run(t, c3, ssh.Command{Argv: []string{"sh", "-c", "ps -o args= -p $$"}, Sudo: true})
	if strings.Contains(string(res.Stdout), "sudo") {
		t.Errorf("root ran through sudo: %q", res.Stdout)
	}
}

func TestExitStatus(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	c := dial(t, config(hs, 0))
	res, err := c.Run(context.Background(), ssh.Command{Argv: []string{"sh", "-c", "echo partial; echo oops >&2; exit 3"}})
	var xe *ssh.ExitError
	if !errors.As(err, &xe) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	if xe.Status != 3 || res.ExitStatus != 3 || strings.TrimSpace(xe.Stderr) != "oops" || string(res.Stdout) != "partial\n" {
		t.Errorf("status %d/%d stderr %q stdout %q", xe.Status, res.ExitStatus, xe.Stderr, res.Stdout)
	}
	if err.Error() != "host1: remote command exited with status 3: oops" {
		t.Errorf("message %q", err)
	}
	_, err = c.Run(context.Background(), ssh.Command{Argv: []string{"/nonexistent/cmd"}})
	if !errors.As(err, &xe) || xe.Status != 127 {
		t.Errorf("missing command: %v", err)
	}
}

func TestArgumentsArriveLiterally(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	c := dial(t, config(hs, 0))
	var rnd [6]byte
	rand.Read(rnd[:])
	marker := filepath.Join(t.TempDir(), "pwned-"+hex.EncodeToString(rnd[:]))
	evil := "'; touch " + marker + " #"
	res := run(t, c, ssh.Command{Argv: []string{"printf", "%s", evil}})
	if string(res.Stdout) != evil {
		t.Errorf("printf got %q, want %q", res.Stdout, evil)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("injection: %s was created", marker)
	}

	args := []string{evil, "$(touch " + marker + ")", "`touch " + marker + "`", "a b", "", "*", "~", "\\", "\"", "x\ny", "tab\there", "ü €", "\x01ctl", "--", "-n", "$HOME", "!", "a=b", "{a,b}", "#"}
	res = run(t, c, ssh.Command{Argv: append([]string{"sh", "-c", `for a in "$@"; do printf '%s\0' "$a"; done`, "sh"}, args...)})
	got := strings.Split(strings.TrimSuffix(string(res.Stdout), "\x00"), "\x00")
	if len(got) != len(args) {
		t.Fatalf("got %d args %q, want %d", len(got), got, len(args))
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("arg %d = %q, want %q", i, got[i], args[i])
		}
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("injection: %s was created", marker)
	}
	if _, err := c.Run(context.Background(), ssh.Command{Argv: []string{"echo", "a\x00b"}}); err == nil {
		t.Error("NUL byte accepted")
	}
}

func TestSixtySequentialCommandsOneConnection(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	cfg := config(hs, 0)
	if sshtest.IsRoot() {
		// The test user's /bin/sh has no start-up files; root's may be slow.
		sshtest.EnsureUser(t, hs.NonRootUser)
		cfg.User = hs.NonRootUser
	}
	c := dial(t, cfg)
	for i := 0; i < 60; i++ {
		res := run(t, c, ssh.Command{Argv: []string{"echo", strconv.Itoa(i)}})
		if string(res.Stdout) != strconv.Itoa(i)+"\n" {
			t.Fatalf("command %d: %q", i, res.Stdout)
		}
	}
	// Parallel Runs on the same connection stay below MaxSessions.
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Run(context.Background(), ssh.Command{Argv: []string{"sleep", "0.1"}}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("parallel run: %v", err)
	}
	h := hs.Hosts[0]
	if n := h.Accepted(); n != 1 {
		t.Errorf("%d logins, want 1 (one connection reused)", n)
	}
	if n := h.Connections(); n != 1 {
		t.Errorf("%d TCP connections, want 1", n)
	}
}

func TestCancelKillsRemoteCommand(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	cfg := config(hs, 0)
	if sshtest.IsRoot() {
		// OpenSSH refuses signals for root logins (TestCancelAsRoot...);
		// here a non-root login, with and without sudo.
		sshtest.EnsureUser(t, hs.NonRootUser)
		sshtest.AllowSudo(t, hs.NonRootUser, true)
		cfg.User = hs.NonRootUser
	}
	c := dial(t, cfg)
	for _, sudo := range []bool{false, true} {
		if sudo && !sshtest.IsRoot() {
			continue
		}
		t.Run(fmt.Sprintf("sudo=%v", sudo), func(t *testing.T) {
			testCancel(t, c, sudo)
		})
	}
}

// uniqueSecs is a sleep duration no other process uses: base followed by
// random digits, so its command line names our remote process.
func uniqueSecs(base string) string {
	var b [4]byte
	rand.Read(b[:])
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return fmt.Sprintf("%s%09d", base, n%1000000000)
}

// noneLeft fails t unless, within 5 s, no process runs argv; survivors
// (ours: their command line is unique) are killed.
func noneLeft(t *testing.T, argv ...string) {
	t.Helper()
	if sshtest.Poll(5*time.Second, func() bool { return len(sshtest.Processes(argv...)) == 0 }) {
		return
	}
	left := sshtest.Processes(argv...)
	for _, pid := range left {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	t.Errorf("%q still running 5s after the cancel: pids %v", strings.Join(argv, " "), left)
}

func testCancel(t *testing.T, c *ssh.Client, sudo bool) {
	run(t, c, ssh.Command{Argv: []string{"true"}, Sudo: sudo}) // warm up
	goroutinesBefore := runtime.NumGoroutine()
	argv := []string{"sleep", uniqueSecs("30.")}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, ssh.Command{Argv: argv, Sudo: sudo})
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Run returned after %v", elapsed)
	}
	noneLeft(t, argv...)
	sshtest.GoroutinesBackTo(t, goroutinesBefore)
	// The connection is still usable.
	run(t, c, ssh.Command{Argv: []string{"true"}})
}

// As root, OpenSSH 9.2 refuses session signals; Run falls back to a
// cleanup session that kills the other sessions of the connection. It
// must still return promptly, leave nothing running and leave the
// connection usable.
func TestCancelAsRootKillsRemoteCommand(t *testing.T) {
	requireRoot(t)
	hs := sshtest.Start(t, 1, sshtest.Options{})
	h := hs.Hosts[0]
	c := dial(t, config(hs, 0))
	run(t, c, ssh.Command{Argv: []string{"true"}}) // warm up
	goroutinesBefore := runtime.NumGoroutine()

	argv := []string{"sleep", uniqueSecs("1234.5")}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, ssh.Command{Argv: argv})
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if elapsed > 3*time.Second {
		t.Errorf("Run returned after %v", elapsed)
	}
	noneLeft(t, argv...)
	if !strings.Contains(h.Log(), "session signalling requires privilege separation") {
		t.Logf("note: sshd did not refuse the signal for root:\n%s", h.Log())
	}
	sshtest.GoroutinesBackTo(t, goroutinesBefore)
	res := run(t, c, ssh.Command{Argv: []string{"echo", "ok"}})
	if string(res.Stdout) != "ok\n" {
		t.Errorf("after the cancel: %q", res.Stdout)
	}
	t.Logf("cancelled Run returned after %v", elapsed)

	// A script whose shell stays (not exec'd away): the whole process
	// group goes.
	child := []string{"sleep", uniqueSecs("1234.6")}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.Run(ctx, ssh.Command{Script: ssh.Quote(child) + "; echo done"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("script: err = %v, want DeadlineExceeded", err)
	}
	noneLeft(t, child...)
	run(t, c, ssh.Command{Argv: []string{"true"}})
}

// With another Run active on the same Client, the cleanup is skipped: it
// would kill that Run's command too. The other command completes normally.
func TestCancelAsRootSparesConcurrentRun(t *testing.T) {
	requireRoot(t)
	hs := sshtest.Start(t, 1, sshtest.Options{})
	c := dial(t, config(hs, 0))
	run(t, c, ssh.Command{Argv: []string{"true"}}) // warm up

	other := []string{"sleep", uniqueSecs("2.")} // two seconds and a bit
	cancelled := []string{"sleep", uniqueSecs("1234.7")}
	type result struct {
		res *ssh.Result
		err error
	}
	otherDone := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := c.Run(ctx, ssh.Command{Argv: other})
		otherDone <- result{res, err}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelledDone := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, ssh.Command{Argv: cancelled})
		cancelledDone <- err
	}()
	if !sshtest.Poll(5*time.Second, func() bool { return len(sshtest.Processes(other...)) == 1 && len(sshtest.Processes(cancelled...)) == 1 }) {
		t.Fatalf("remote commands not both running: %v %v", sshtest.Processes(other...), sshtest.Processes(cancelled...))
	}
	cancel()
	start := time.Now()
	select {
	case err := <-cancelledDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Run: err = %v, want Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cancelled Run returned after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled Run did not return")
	}
	select {
	case r := <-otherDone:
		if r.err != nil || r.res.ExitStatus != 0 {
			t.Errorf("the concurrent Run was disturbed: err = %v, status %d", r.err, r.res.ExitStatus)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the concurrent Run did not return")
	}
	// Skipped cleanup: the refused signal left the cancelled command
	// running (ours, by its unique command line: kill it).
	for _, pid := range sshtest.Processes(cancelled...) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	run(t, c, ssh.Command{Argv: []string{"true"}})
}

func TestProxyJump(t *testing.T) {
	hs := sshtest.Start(t, 2, sshtest.Options{})
	jump, target := hs.Hosts[0], hs.Hosts[1]
	cfg := config(hs, 1)
	cfg.ProxyJump = fmt.Sprintf("%s@%s", hs.User, jump.HostPort())
	c := dial(t, cfg)
	res := run(t, c, ssh.Command{Argv: []string{"sh", "-c", "echo $SSH_CONNECTION"}})
	// SSH_CONNECTION = client-ip client-port server-ip server-port
	f := strings.Fields(string(res.Stdout))
	if len(f) != 4 || f[2] != target.Addr || f[3] != strconv.Itoa(target.Port) {
		t.Errorf("SSH_CONNECTION = %q", res.Stdout)
	}
	if jump.Accepted() != 1 || target.Accepted() != 1 {
		t.Errorf("logins: jump %d, target %d; want 1 and 1", jump.Accepted(), target.Accepted())
	}
	if !strings.Contains(jump.Log(), "Accepted publickey") {
		t.Errorf("jump host log:\n%s", jump.Log())
	}

	// The jump host's key is checked too.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(hs.KnownHostsLine(1)+"\n"), 0o600) // target only
	cfg.KnownHostsFile = kh
	_, err := ssh.Dial(context.Background(), cfg)
	var hke *ssh.HostKeyError
	if !errors.As(err, &hke) || !hke.Unknown || hke.Addr != jump.HostPort() {
		t.Errorf("unknown jump host: err = %v", err)
	}

	// A paused target behind a healthy jump host times out in time.
	cfg.KnownHostsFile = hs.KnownHostsFile
	cfg.Timeout = time.Second
	target.Pause()
	start := time.Now()
	_, err = ssh.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 3*time.Second {
		t.Errorf("paused target via jump: err = %v after %v", err, time.Since(start))
	}
	target.Resume()
}

func TestSSHConfigHonoured(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	h := hs.Hosts[0]
	sc := filepath.Join(t.TempDir(), "config")
	os.WriteFile(sc, []byte(fmt.Sprintf(`
Host bbb-alias
    HostName %s
    User %s
    Port %d
    IdentityFile %s
    UserKnownHostsFile %s

Host other-alias
    HostName %s
    User nosuchuser
    Port 1
    IdentityFile %s
    UserKnownHostsFile %s
`, h.Addr, hs.User, h.Port, hs.ClientKeyFile, hs.KnownHostsFile, h.Addr, hs.ClientKeyFile, hs.KnownHostsFile)), 0o600)

	c := dial(t, ssh.Config{Name: "viaconfig", Host: "bbb-alias", SSHConfigFile: sc, NoAgent: true, Timeout: 5 * time.Second})
	if c.Addr() != h.HostPort() || c.User() != hs.User {
		t.Errorf("resolved to %s@%s, want %s@%s", c.User(), c.Addr(), hs.User, h.HostPort())
	}
	res := run(t, c, ssh.Command{Argv: []string{"id", "-un"}})
	if strings.TrimSpace(string(res.Stdout)) != hs.User {
		t.Errorf("id -un = %q", res.Stdout)
	}

	// Explicit values win over ssh_config.
	c2 := dial(t, ssh.Config{Name: "explicit", Host: "other-alias", User: hs.User, Port: h.Port, SSHConfigFile: sc, NoAgent: true, Timeout: 5 * time.Second})
	if c2.Addr() != h.HostPort() || c2.User() != hs.User {
		t.Errorf("explicit: resolved to %s@%s", c2.User(), c2.Addr())
	}

	// A ProxyJump from ssh_config is used too; "none" in Config disables it.
	os.WriteFile(sc, []byte(fmt.Sprintf("Host jumpy\n  HostName %s\n  Port %d\n  ProxyJump %s@%s\n", h.Addr, h.Port, hs.User, "127.0.0.1:1")), 0o600)
	cfg := config(hs, 0)
	cfg.Host, cfg.Port, cfg.SSHConfigFile = "jumpy", 0, sc
	if _, err := ssh.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "jump host 127.0.0.1:1") {
		t.Errorf("ProxyJump from ssh_config not used: %v", err)
	}
	cfg.ProxyJump = "none"
	dial(t, cfg)
}

func TestTwentyHostsInParallel(t *testing.T) {
	hs := sshtest.Start(t, 20, sshtest.Options{})
	var wg sync.WaitGroup
	outs := make([]string, 20)
	errs := make([]error, 20)
	start := time.Now()
	for i := range hs.Hosts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := ssh.Dial(context.Background(), config(hs, i))
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			res, err := c.Run(context.Background(), ssh.Command{Argv: []string{"sh", "-c", "echo $SSH_CONNECTION"}})
			errs[i] = err
			if res != nil {
				outs[i] = string(res.Stdout)
			}
		}(i)
	}
	wg.Wait()
	for i, h := range hs.Hosts {
		if errs[i] != nil {
			t.Errorf("%s: %v", h.Name, errs[i])
			continue
		}
		if f := strings.Fields(outs[i]); len(f) != 4 || f[2] != h.Addr {
			t.Errorf("%s answered %q", h.Name, outs[i])
		}
	}
	t.Logf("20 hosts: dial + command in %v", time.Since(start))
}

func TestAgentThenKeyFiles(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	// An in-process agent holding the client key.
	keyring := agent.NewKeyring()
	data, _ := os.ReadFile(hs.ClientKeyFile)
	raw, err := gossh.ParseRawPrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	startAgent(t, keyring)

	cfg := config(hs, 0)
	cfg.NoAgent = false
	cfg.IdentityFiles = []string{filepath.Join(t.TempDir(), "absent")}
	c := dial(t, cfg)
	run(t, c, ssh.Command{Argv: []string{"true"}})

	// With NoAgent the agent is not asked.
	cfg.NoAgent = true
	if _, err := ssh.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no usable key") {
		t.Errorf("NoAgent: err = %v", err)
	}

	// An agent without the right key is listed in the error.
	keyring.RemoveAll()
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	keyring.Add(agent.AddedKey{PrivateKey: other})
	cfg.NoAgent = false
	_, err = ssh.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no accepted key for "+hs.User+"@"+hs.Hosts[0].HostPort()+"; tried agent (1 key), ") {
		t.Errorf("err = %v", err)
	}
}
