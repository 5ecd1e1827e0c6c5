package ssh_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
