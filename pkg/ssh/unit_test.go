package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"bbb-conf", "--status"}, "bbb-conf --status"},
		{[]string{"printf", "%s", "'; touch /tmp/x #"}, `printf %s "'; touch /tmp/x #"`},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"echo", "a b", "$HOME", "`id`"}, `echo 'a b' '$HOME' '` + "`id`" + `'`},
		{[]string{"echo", "\x01"}, "echo '\x01'"},
		{[]string{"echo", "it's\x01"}, `echo 'it'\''s` + "\x01'"},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	c := &Client{user: "bbbadmin"}
	for _, tc := range []struct {
		cmd  Command
		want string
	}{
		{Command{Argv: []string{"bbb-conf", "--stop"}, Sudo: true}, "sudo -n -- bbb-conf --stop"},
		{Command{Argv: []string{"bbb-conf", "--status"}}, "bbb-conf --status"},
		{Command{Script: "a && b"}, "a && b"},
		{Command{Script: "a && b", Sudo: true}, "sudo -n -- sh -c 'a && b'"},
	} {
		got, err := c.commandLine(tc.cmd)
		if err != nil || got != tc.want {
			t.Errorf("commandLine(%+v) = %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
	root := &Client{user: "root"}
	if got, _ := root.commandLine(Command{Argv: []string{"id"}, Sudo: true}); got != "id" {
		t.Errorf("root with Sudo: %q", got)
	}
	for _, bad := range []Command{{}, {Argv: []string{""}}, {Argv: []string{"a"}, Script: "b"}, {Argv: []string{"a\x00"}}} {
		if _, err := c.commandLine(bad); err == nil {
			t.Errorf("commandLine(%+v) accepted", bad)
		}
	}
}

func TestParseJump(t *testing.T) {
	for _, tc := range []struct {
		in         string
		user, host string
		port       int
		bad        bool
	}{
		{in: "jump.example.org", host: "jump.example.org"},
		{in: "admin@jump:2222", user: "admin", host: "jump", port: 2222},
		{in: "[::1]:22", host: "::1", port: 22},
		{in: "ssh://a@b:1", user: "a", host: "b", port: 1},
		{in: "a@b:x", bad: true},
		{in: "", bad: true},
		{in: "a@b:99999", bad: true},
	} {
		u, h, p, err := parseJump(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseJump(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil || u != tc.user || h != tc.host || p != tc.port {
			t.Errorf("parseJump(%q) = %q %q %d %v", tc.in, u, h, p, err)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "config")
	os.WriteFile(sc, []byte(`
Host bbb3
  HostName 127.0.0.3
  User fromconfig
  Port 2222
  IdentityFile ~/.ssh/bbb_%h
  ProxyJump gw@jump.example.org:2200
  UserKnownHostsFile /etc/kh1 /etc/kh2

Host *
  User wildcard
`), 0o600)

	r, err := resolve(Config{Name: "bbb3", Host: "bbb3", SSHConfigFile: sc})
	if err != nil {
		t.Fatal(err)
	}
	if r.target.hostname != "127.0.0.3" || r.target.user != "fromconfig" || r.target.port != 2222 {
		t.Errorf("ssh_config not applied: %+v", r.target)
	}
	if want := []string{filepath.Join(homeDir(), ".ssh/bbb_127.0.0.3")}; !reflect.DeepEqual(r.target.keyFiles, want) {
		t.Errorf("keyFiles = %q, want %q", r.target.keyFiles, want)
	}
	if !reflect.DeepEqual(r.knownHosts, []string{"/etc/kh1", "/etc/kh2"}) {
		t.Errorf("knownHosts = %q", r.knownHosts)
	}
	if len(r.jumps) != 1 || r.jumps[0].user != "gw" || r.jumps[0].hostname != "jump.example.org" || r.jumps[0].port != 2200 {
		t.Errorf("jumps = %+v", r.jumps)
	}
	if r.policy != PolicyStrict || r.timeout != DefaultTimeout {
		t.Errorf("defaults: %q %v", r.policy, r.timeout)
	}

	r, err = resolve(Config{Name: "bbb3", Host: "bbb3", User: "explicit", Port: 22, IdentityFiles: []string{"/k"},
		KnownHostsFile: "/kh", ProxyJump: "none", SSHConfigFile: sc})
	if err != nil {
		t.Fatal(err)
	}
	if r.target.hostname != "127.0.0.3" || r.target.user != "explicit" || r.target.port != 22 ||
		!reflect.DeepEqual(r.target.keyFiles, []string{"/k"}) || !reflect.DeepEqual(r.knownHosts, []string{"/kh"}) || len(r.jumps) != 0 {
		t.Errorf("explicit values must win: %+v %q %d", r.target, r.knownHosts, len(r.jumps))
	}

	r, err = resolve(Config{Host: "other", SSHConfigFile: sc})
	if err != nil {
		t.Fatal(err)
	}
	if r.target.user != "wildcard" || r.target.port != 22 || r.name != "other" || len(r.target.keyFiles) != 3 {
		t.Errorf("defaults: %+v", r.target)
	}

	r, _ = resolve(Config{Host: "bbb3", SSHConfigFile: "none"})
	if r.target.hostname != "bbb3" || r.target.user != localUser() {
		t.Errorf("none: %+v", r.target)
	}

	for _, bad := range []Config{{}, {Host: "a b"}, {Host: "x", HostKeyPolicy: "yolo"}, {Host: "x", Port: 70000},
		{Host: "x", SSHConfigFile: filepath.Join(dir, "missing")}, {Host: "x", ProxyJump: "a@b:c", SSHConfigFile: "none"}} {
		if _, err := resolve(bad); err == nil {
			t.Errorf("resolve(%+v) accepted", bad)
		}
	}
}

func TestHostKeyAlgorithmsFollowKnownHosts(t *testing.T) {
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := gossh.NewPublicKey(pub)
	// A plain [host]:port entry and a hashed entry (as ssh's HashKnownHosts writes).
	os.WriteFile(kh, []byte(knownhosts.Line([]string{"127.0.0.9:2222"}, k)+"\n"+
		strings.Replace(knownhosts.Line([]string{"bbb.example.org"}, k), "bbb.example.org", knownhosts.HashHostname("bbb.example.org"), 1)+"\n"), 0o600)
	hk, err := loadHostKeys([]string{kh}, nil, PolicyStrict)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.9:2222", "bbb.example.org:22"} {
		algos := hk.algorithms(addr)
		if len(algos) == 0 || algos[0] != gossh.KeyAlgoED25519 {
			t.Errorf("%s: algorithms = %q, want ssh-ed25519 first", addr, algos)
		}
	}
	if algos := hk.algorithms("127.0.0.9:22"); algos != nil {
		t.Errorf("port 22 must not match [127.0.0.9]:2222: %q", algos)
	}
	if algos := hk.algorithms("unknown:22"); algos != nil {
		t.Errorf("unknown host: %q", algos)
	}
}

// The cleanup script does nothing unless its parent is sshd: run under
// the test binary, it leaves its sibling (a child of the test) alone.
func TestCleanupScriptNeedsSSHDParent(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	sib := exec.Command("sleep", "60")
	if err := sib.Start(); err != nil {
		t.Skip(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sib.Wait() }()
	defer func() {
		sib.Process.Kill()
		<-exited
	}()
	// In a session of its own: run from an interactive ssh login, the
	// test's session would be one of sshd's, and the script would act.
	script := exec.Command("sh", "-c", cleanupScript)
	script.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if out, err := script.CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("cleanup script: %v %q", err, out)
	}
	select {
	case err := <-exited:
		t.Errorf("the cleanup script killed a process outside sshd: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestCleanupGate(t *testing.T) {
	c := &Client{}
	ctx := context.Background()
	if c.enter(ctx) != nil || c.enter(ctx) != nil {
		t.Fatal("enter failed")
	}
	if c.beginCleanup() {
		t.Error("cleanup begun with two Runs active")
	}
	c.leave()
	if !c.beginCleanup() {
		t.Fatal("cleanup refused to the only Run")
	}
	if c.beginCleanup() {
		t.Error("two cleanups at once")
	}
	// A new Run waits for the cleanup, or gives up with its ctx.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.enter(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("enter during cleanup: %v", err)
	}
	entered := make(chan struct{})
	go func() {
		c.enter(ctx)
		close(entered)
	}()
	select {
	case <-entered:
		t.Fatal("a Run started during the cleanup")
	case <-time.After(50 * time.Millisecond):
	}
	c.endCleanup()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the Run still waits after the cleanup")
	}
	c.leave()
	c.leave()
	if c.runs != 0 {
		t.Errorf("runs = %d", c.runs)
	}
}

func TestHostKeyName(t *testing.T) {
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := gossh.NewPublicKey(pub)
	os.WriteFile(kh, []byte(knownhosts.Line([]string{"bbb.example.org:22"}, k)+"\n"+knownhosts.Line([]string{"bbb.example.org:2222"}, k)+"\n"), 0o600)
	hk, err := loadHostKeys([]string{kh}, nil, PolicyStrict)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		port int
		want string
	}{
		{"bbb.example.org", 22, "bbb.example.org"},
		{"BBB.Example.ORG.", 22, "bbb.example.org"},
		{"Bbb.Example.Org.", 2222, "[bbb.example.org]:2222"},
	} {
		r, err := resolve(Config{Host: tc.host, Port: tc.port, SSHConfigFile: "none"})
		if err != nil {
			t.Fatal(err)
		}
		if got := knownhosts.Normalize(r.target.hostKeyAddr()); got != tc.want {
			t.Errorf("%s:%d is looked up as %q, want %q", tc.host, tc.port, got, tc.want)
		}
		if err := hk.callback("x", r.target)("", nil, k); err != nil {
			t.Errorf("%s:%d: %v", tc.host, tc.port, err)
		}
		if algos := hk.algorithms(r.target.hostKeyAddr()); len(algos) == 0 || algos[0] != gossh.KeyAlgoED25519 {
			t.Errorf("%s:%d: algorithms %q", tc.host, tc.port, algos)
		}
	}
}

func TestCleanKnownHosts(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := gossh.NewPublicKey(pub)
	line := func(h string) string { return knownhosts.Line([]string{h}, k) }
	in := strings.Join([]string{
		"# c",
		line("BBB.Example.org"),
		"",
		"@cert-authority *.EXAMPLE.org " + strings.SplitN(line("x"), " ", 2)[1],
		"x ssh-ed25519 AAAA",
		"!,y " + strings.SplitN(line("x"), " ", 2)[1],
		"[a:22" + " " + strings.SplitN(line("x"), " ", 2)[1],
		line("ok") + "\r",
		"z ssh-ed25519 " + strings.Repeat("A", maxKnownHostsLine),
	}, "\n") + "\n"
	clean, bad := cleanKnownHosts([]byte(in))
	want := strings.Join([]string{
		"# c",
		line("bbb.example.org"),
		"",
		"@cert-authority *.example.org " + strings.SplitN(line("x"), " ", 2)[1],
		"", "", "",
		line("ok") + "\r",
		"",
	}, "\n") + "\n"
	if string(clean) != want || !reflect.DeepEqual(bad, []int{5, 6, 7, 9}) {
		t.Errorf("clean = %q, bad %v\nwant %q, [5 6 7 9]", clean, bad, want)
	}
	if clean, bad := cleanKnownHosts([]byte(line("ok") + "\n# x\n")); clean != nil || bad != nil {
		t.Errorf("a clean file was rewritten: %q %v", clean, bad)
	}

	// knownhosts reads the cleaned copy; errors name the real file.
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte(in), 0o600)
	hk, err := loadHostKeys([]string{kh}, nil, PolicyStrict)
	if err != nil {
		t.Fatal(err)
	}
	if err := hk.cb("bbb.example.org:22", fakeAddr("bbb.example.org:22"), k); err != nil {
		t.Errorf("lower-cased entry: %v", err)
	}
	var ke *knownhosts.KeyError
	if err := hk.cb("ok:22", fakeAddr("ok:22"), dummyKey); !errors.As(err, &ke) || len(ke.Want) != 1 || ke.Want[0].Filename != kh || ke.Want[0].Line != 8 {
		t.Errorf("wrong key: %v %+v", err, ke)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "bbbfleet-known_hosts-*")); len(left) != 0 {
		t.Logf("note: temporary copies present (maybe another test binary): %v", left)
	}
}
