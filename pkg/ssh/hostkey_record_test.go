//go:build unix

package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func newTestKey(t *testing.T) gossh.PublicKey {
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

// recordIn runs accept-new's append of a new key to file.
func recordIn(t *testing.T, file string) error {
	t.Helper()
	hk := &hostKeys{files: []string{file}, policy: PolicyAcceptNew}
	return hk.record("bbb1", endpoint{hostname: "bbb1.example.org", port: 22}, newTestKey(t))
}

// TestRecordHostKeyNoForeignLinks: accept-new never writes through a
// symbolic link another user owns, nor into a known_hosts file another
// user owns or others can write; its own links and files work as before.
func TestRecordHostKeyNoForeignLinks(t *testing.T) {
	root := os.Geteuid() == 0
	dir := t.TempDir()

	t.Run("new file", func(t *testing.T) {
		kh := filepath.Join(dir, "new", "known_hosts")
		if err := recordIn(t, kh); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(kh); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%v %v", fi, err)
		}
	})
	t.Run("own link", func(t *testing.T) {
		target := filepath.Join(dir, "real_known_hosts")
		link := filepath.Join(dir, "own_link")
		os.Symlink(target, link) // dangling: followed, as ssh(1) would
		if err := recordIn(t, link); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(target); !strings.HasPrefix(string(b), "bbb1.example.org ssh-ed25519 ") {
			t.Errorf("target: %q", b)
		}
	})
	t.Run("others can write", func(t *testing.T) {
		kh := filepath.Join(dir, "open_known_hosts")
		os.WriteFile(kh, nil, 0o666)
		os.Chmod(kh, 0o666)
		err := recordIn(t, kh)
		if err == nil || !strings.Contains(err.Error(), "mode 0666: it must be owned by you or root and writable by its owner only") {
			t.Fatalf("%v", err)
		}
		if b, _ := os.ReadFile(kh); len(b) != 0 {
			t.Errorf("written: %q", b)
		}
	})
	t.Run("another user's link", func(t *testing.T) {
		if !root {
			t.Skip("needs root")
		}
		victim := filepath.Join(dir, "victim")
		link := filepath.Join(dir, "planted")
		os.Symlink(victim, link)
		if err := os.Lchown(link, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		err := recordIn(t, link)
		if err == nil || !strings.Contains(err.Error(), "is a symbolic link owned by uid 65534, not by you or root: refusing to write through it") {
			t.Fatalf("%v", err)
		}
		if _, err := os.Lstat(victim); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the link's target was created")
		}
	})
	t.Run("another user's file", func(t *testing.T) {
		if !root {
			t.Skip("needs root")
		}
		kh := filepath.Join(dir, "their_known_hosts")
		os.WriteFile(kh, nil, 0o600)
		os.Chown(kh, 65534, 65534)
		if err := recordIn(t, kh); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Fatalf("%v", err)
		}
	})
}
