// Command fleetup starts N real OpenSSH sshd hosts on 127.0.0.2, 127.0.0.3,
// ... (the same harness as the tests, internal/sshtest, with plain shells:
// no ForceCommand) and writes, into -dir, what bbbfleet, parallel-ssh and
// Ansible need to reach them:
//
//	fleet.yaml       bbbfleet config (servers h1..hN, login -user)
//	pssh_hosts       parallel-ssh host file (user@127.0.0.x:port)
//	inventory.ini    Ansible inventory (ansible_host / ansible_port)
//	known_hosts      every host key, [127.0.0.x]:port form
//	id_ed25519       the client key every host accepts
//	logs             one sshd log path per line
//
// It prints "ready" on stdout once every host listens, then runs until its
// standard input closes or it gets SIGINT/SIGTERM, and stops every sshd.
//
//	go run ./bench/fleetup -n 20 -dir /tmp/fleet [-user NAME] < fifo
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

func main() {
	n := flag.Int("n", 20, "number of hosts")
	user := flag.String("user", "bbbfleet-test", "login user (created if missing); root's own start-up files may slow every login")
	dir := flag.String("dir", "", "directory to write the fleet files to (required)")
	flag.Parse()
	if *dir == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: fleetup -n N -dir DIR")
		os.Exit(2)
	}
	t := &tb{}
	code := 0
	func() {
		defer t.cleanup()
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatal); !ok {
					panic(r)
				}
				code = 1
			}
		}()
		up(t, *n, *dir, *user)
	}()
	os.Exit(code)
}

func up(t *tb, n int, dir, user string) {
	if !sshtest.IsRoot() {
		t.Fatalf("fleetup: run as root (it starts sshd and may create the login user)")
	}
	if user != "root" {
		sshtest.EnsureUser(t, user)
	}
	hs := sshtest.Start(t, n, sshtest.Options{NonRootUser: user})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	key := filepath.Join(dir, "id_ed25519")
	kh := filepath.Join(dir, "known_hosts")
	copyFile(t, hs.ClientKeyFile, key, 0o600)
	copyFile(t, hs.KnownHostsFile, kh, 0o644)

	var cfg, pssh, inv, logs strings.Builder
	fmt.Fprintf(&cfg, "defaults:\n  ssh: {user: %s, identity_file: %q, known_hosts: %q, timeout: 10s}\nservers:\n", user, key, kh)
	inv.WriteString("[fleet]\n")
	for i, h := range hs.Hosts {
		fmt.Fprintf(&cfg, "  - name: h%d\n    host: %s\n    ssh: {port: %d}\n    api: {url: \"http://%s/bigbluebutton/\"}\n", i+1, h.Addr, h.Port, h.Addr)
		fmt.Fprintf(&pssh, "%s@%s:%d\n", user, h.Addr, h.Port)
		fmt.Fprintf(&inv, "h%d ansible_host=%s ansible_port=%d ansible_user=%s\n", i+1, h.Addr, h.Port, user)
		fmt.Fprintln(&logs, h.LogFile)
	}
	write(t, filepath.Join(dir, "fleet.yaml"), cfg.String())
	write(t, filepath.Join(dir, "pssh_hosts"), pssh.String())
	write(t, filepath.Join(dir, "inventory.ini"), inv.String())
	write(t, filepath.Join(dir, "logs"), logs.String())
	fmt.Println("ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	eof := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(eof) }()
	select {
	case <-sig:
	case <-eof:
	}
}

func write(t *tb, path, s string) {
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
}

func copyFile(t *tb, from, to string, mode os.FileMode) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatalf("%v", err)
	}
}

// tb lets the test harness run outside a test: the methods sshtest calls
// are implemented here; the embedded nil interface only satisfies
// testing.TB's unexported method.
type tb struct {
	testing.TB
	cleanups []func()
}

type fatal struct{}

func (t *tb) Helper()                   {}
func (t *tb) Name() string              { return "fleetup" }
func (t *tb) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *tb) Logf(f string, a ...any)   { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (t *tb) Errorf(f string, a ...any) { t.Logf(f, a...) }
func (t *tb) Fatalf(f string, a ...any) { t.Logf(f, a...); panic(fatal{}) }
func (t *tb) Fatal(a ...any)            { t.Fatalf("%s", fmt.Sprint(a...)) }
func (t *tb) Skipf(f string, a ...any)  { t.Fatalf(f, a...) }
func (t *tb) Skip(a ...any)             { t.Fatal(a...) }

func (t *tb) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
