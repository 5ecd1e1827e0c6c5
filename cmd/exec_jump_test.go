package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

// Servers behind one jump host share one connection to it per run: a
// bastion sees one login, not one per server (16 parallel handshakes would
// trip its MaxStartups).
func TestExecThroughOneJumpHost(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root to log in as root")
	}
	hs := sshtest.Start(t, 5, sshtest.Options{})
	jump := hs.Hosts[0]
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  ssh: {user: root, identity_file: %q, known_hosts: %q, timeout: 5s, proxy_jump: \"root@%s\"}\nservers:\n",
		hs.ClientKeyFile, hs.KnownHostsFile, jump.HostPort())
	for i, h := range hs.Hosts[1:] {
		fmt.Fprintf(&b, "  - {name: h%d, host: %s, ssh: {port: %d}}\n", i+1, h.Addr, h.Port)
	}
	cfg := filepath.Join(hs.Dir, "fleet.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	before := jump.Accepted()
	out, errOut, code := run(t, cfg, "exec", "all", "--", "hostname")
	if code != 0 || strings.Count(out, "(ok, ") != 4 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if n := jump.Accepted() - before; n != 1 {
		t.Errorf("%d logins on the jump host for one run, want 1", n)
	}
	for _, h := range hs.Hosts[1:] {
		if n := h.Accepted(); n != 1 {
			t.Errorf("%s: %d logins, want 1", h.Name, n)
		}
	}
}
