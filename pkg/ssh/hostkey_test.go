package ssh_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

func otherKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readFile(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Host names are case-insensitive: as with ssh(1), known_hosts is searched
// (and written) under the lower-cased name, so "LocalHost" cannot make a
// pinned host look new (the trailing dot: TestHostKeyName).
func TestHostNameCaseAndTrailingDot(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{ExtraConfig: func(int) string { return "ListenAddress 127.0.0.1" }})
	h := hs.Hosts[0]
	addr := fmt.Sprintf("localhost:%d", h.Port)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	pinned := knownhosts.Line([]string{addr}, h.HostKey) + "\n"
	if err := os.WriteFile(kh, []byte(pinned), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "LocalHost", "LOCALHOST"} {
		for _, policy := range []string{ssh.PolicyStrict, ssh.PolicyAcceptNew} {
			cfg := config(hs, 0)
			cfg.Host, cfg.KnownHostsFile, cfg.HostKeyPolicy = host, kh, policy
			c, err := ssh.Dial(context.Background(), cfg)
			if err != nil {
				t.Errorf("%s %s: %v", host, policy, err)
				continue
			}
			run(t, c, ssh.Command{Argv: []string{"true"}})
			c.Close()
		}
	}
	if got := readFile(t, kh); got != pinned {
		t.Errorf("known_hosts changed:\n%s", got)
	}

	// A changed key stays a changed key in another case.
	changed := knownhosts.Line([]string{addr}, otherKey(t)) + "\n"
	os.WriteFile(kh, []byte(changed), 0o600)
	cfg := config(hs, 0)
	cfg.Host, cfg.KnownHostsFile, cfg.HostKeyPolicy = "LocalHost", kh, ssh.PolicyAcceptNew
	_, err := ssh.Dial(context.Background(), cfg)
	var hke *ssh.HostKeyError
	if !errors.As(err, &hke) || !hke.Changed {
		t.Errorf("changed key as LocalHost: err = %v, want a changed-key HostKeyError", err)
	}
	if got := readFile(t, kh); got != changed {
		t.Errorf("known_hosts changed:\n%s", got)
	}

	// accept-new records the lower-case name.
	os.Remove(kh)
	c := dial(t, cfg)
	c.Close()
	if got := readFile(t, kh); got != pinned {
		t.Errorf("accept-new wrote %q, want %q", got, pinned)
	}
}

func writeKH(t *testing.T, file string, lines ...string) string {
	t.Helper()
	content := strings.Join(lines, "\n") + "\n"
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return content
}

func wantChanged(t *testing.T, what string, err error, where string) {
	t.Helper()
	var hke *ssh.HostKeyError
	if !errors.As(err, &hke) || !hke.Changed {
		t.Errorf("%s: err = %v, want a changed-key HostKeyError", what, err)
		return
	}
	if !strings.Contains(err.Error(), where) {
		t.Errorf("%s: error %q does not name %s", what, err, where)
	}
}

// The system-wide known_hosts files (and ~/.ssh/known_hosts2) are read
// too: a key pinned there that differs is a changed key under every
// policy, and accept-new still writes only the first user file.
func TestSystemKnownHosts(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	h := hs.Hosts[0]
	dir := t.TempDir()
	sys1, sys2 := filepath.Join(dir, "ssh_known_hosts"), filepath.Join(dir, "ssh_known_hosts2")
	ssh.SetSystemKnownHostsFiles(t, sys1, sys2)
	user := filepath.Join(dir, "user", "known_hosts")
	wrong := writeKH(t, sys2, "# pinned by the admins", knownhosts.Line([]string{h.HostPort()}, otherKey(t)))
	for _, policy := range []string{ssh.PolicyStrict, ssh.PolicyAcceptNew} {
		cfg := config(hs, 0)
		cfg.KnownHostsFile, cfg.HostKeyPolicy = user, policy
		_, err := ssh.Dial(context.Background(), cfg)
		wantChanged(t, "system file, "+policy, err, sys2+":2")
	}
	if _, err := os.Stat(user); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("accept-new wrote %s for a host with a changed key", user)
	}
	if got := readFile(t, sys2); got != wrong {
		t.Errorf("%s modified:\n%s", sys2, got)
	}

	// The right key pinned in a system file is enough under strict.
	right := writeKH(t, sys1, hs.KnownHostsLine(0))
	cfg := config(hs, 0)
	cfg.KnownHostsFile = user
	os.Remove(sys2)
	c := dial(t, cfg)
	c.Close()
	if got := readFile(t, sys1); got != right {
		t.Errorf("%s modified:\n%s", sys1, got)
	}

	// ssh_config's GlobalKnownHostsFile replaces the defaults.
	global := filepath.Join(dir, "global_known_hosts")
	writeKH(t, global, knownhosts.Line([]string{h.HostPort()}, otherKey(t)))
	sc := filepath.Join(dir, "ssh_config")
	writeKH(t, sc, "Host *", "  GlobalKnownHostsFile "+global)
	cfg.SSHConfigFile, cfg.HostKeyPolicy = sc, ssh.PolicyAcceptNew
	_, err := ssh.Dial(context.Background(), cfg)
	wantChanged(t, "GlobalKnownHostsFile", err, global+":1")
	writeKH(t, sc, "Host *", "  GlobalKnownHostsFile none")
	os.Remove(sys1)
	dial(t, cfg).Close() // accept-new: recorded in the user file
	if got := readFile(t, user); got != hs.KnownHostsLine(0)+"\n" {
		t.Errorf("%s = %q", user, got)
	}

	// ~/.ssh/known_hosts2 is read with the default user files.
	home := filepath.Join(dir, "home")
	t.Setenv("HOME", home)
	writeKH(t, filepath.Join(home, ".ssh", "known_hosts2"), knownhosts.Line([]string{h.HostPort()}, otherKey(t)))
	cfg = config(hs, 0)
	cfg.KnownHostsFile, cfg.HostKeyPolicy = "", ssh.PolicyAcceptNew
	_, err = ssh.Dial(context.Background(), cfg)
	wantChanged(t, "~/.ssh/known_hosts2", err, "known_hosts2:1")
	if _, err := os.Stat(filepath.Join(home, ".ssh", "known_hosts")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("accept-new wrote ~/.ssh/known_hosts for a host with a changed key")
	}
	writeKH(t, filepath.Join(home, ".ssh", "known_hosts2"), hs.KnownHostsLine(0))
	cfg.HostKeyPolicy = ssh.PolicyStrict
	dial(t, cfg).Close()
}

// HostKeyAlias names the host in known_hosts instead of host and port,
// for lookups and for what accept-new writes.
func TestHostKeyAlias(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	h := hs.Hosts[0]
	ssh.SetSystemKnownHostsFiles(t)
	dir := t.TempDir()
	sc := filepath.Join(dir, "ssh_config")
	writeKH(t, sc, "Host bbb", "  HostName "+h.Addr, fmt.Sprintf("  Port %d", h.Port), "  HostKeyAlias BBB-Pinned")
	kh := filepath.Join(dir, "known_hosts")
	cfg := config(hs, 0)
	cfg.Host, cfg.Port, cfg.SSHConfigFile, cfg.KnownHostsFile = "bbb", 0, sc, kh

	// Known by address only: unknown under the alias.
	writeKH(t, kh, hs.KnownHostsLine(0))
	_, err := ssh.Dial(context.Background(), cfg)
	var hke *ssh.HostKeyError
	if !errors.As(err, &hke) || !hke.Unknown || !strings.Contains(err.Error(), "s/^[^ ]*/bbb-pinned/") {
		t.Errorf("known by address only: err = %v, want unknown under the alias", err)
	}

	pinned := writeKH(t, kh, knownhosts.Line([]string{"bbb-pinned"}, h.HostKey))
	dial(t, cfg).Close()
	writeKH(t, kh, knownhosts.Line([]string{"bbb-pinned"}, otherKey(t)))
	cfg.HostKeyPolicy = ssh.PolicyAcceptNew
	_, err = ssh.Dial(context.Background(), cfg)
	wantChanged(t, "alias with another key", err, kh+":1")

	os.Remove(kh)
	dial(t, cfg).Close()
	if got := readFile(t, kh); got != pinned {
		t.Errorf("accept-new wrote %q, want %q", got, pinned)
	}
}

// A line knownhosts cannot parse is skipped, as ssh(1) does, instead of
// making the whole file unusable; file:line numbers stay those of the file.
func TestUnparsableKnownHostsLinesSkipped(t *testing.T) {
	hs := sshtest.Start(t, 2, sshtest.Options{})
	h := hs.Hosts[0]
	ssh.SetSystemKnownHostsFiles(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	good := hs.KnownHostsLine(0)
	blob := strings.Fields(good)[2]
	bad := []string{
		"# comment",
		h.HostPort() + " ssh-future-key AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", // unknown key type
		"[" + h.Addr + "]:1 ssh-ed25519 !!!not-base64!!!",
		"|1|bm90LWEtc2FsdA== ssh-ed25519 " + blob, // hashed entry without its hash
		"@unknown-marker " + good,
	}
	content := writeKH(t, kh, append(bad, good)...)
	cfg := config(hs, 0)
	cfg.KnownHostsFile = kh
	dial(t, cfg).Close()

	// A changed key is reported at its real line.
	writeKH(t, kh, append(bad, knownhosts.Line([]string{h.HostPort()}, otherKey(t)))...)
	_, err := ssh.Dial(context.Background(), cfg)
	wantChanged(t, "changed after bad lines", err, kh+":6")

	// An unknown host mentions the skipped lines; accept-new appends.
	writeKH(t, kh, append(bad, good)...)
	cfg2 := config(hs, 1)
	cfg2.KnownHostsFile = kh
	_, err = ssh.Dial(context.Background(), cfg2)
	var hke *ssh.HostKeyError
	if !errors.As(err, &hke) || !hke.Unknown || !strings.Contains(err.Error(), "unparsable known_hosts lines skipped: "+kh+":2, "+kh+":3, "+kh+":4 and 1 more") {
		t.Errorf("unknown host: err = %v", err)
	}
	cfg2.HostKeyPolicy = ssh.PolicyAcceptNew
	dial(t, cfg2).Close()
	if got := readFile(t, kh); got != content+hs.KnownHostsLine(1)+"\n" {
		t.Errorf("known_hosts after accept-new:\n%s", got)
	}
	cfg2.HostKeyPolicy = ssh.PolicyStrict
	dial(t, cfg2).Close()
}
