//go:build unix

package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
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
	_, err := hk.record("bbb1", endpoint{hostname: "bbb1.example.org", port: 22}, newTestKey(t))
	return err
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

// TestHostKeyRecordedReported: accept-new tells OnHostKeyRecorded of each
// key it records exactly once, however many dials meet the host at once,
// and prints nothing itself.
func TestHostKeyRecordedReported(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	var mu sync.Mutex
	var got []RecordedHostKey
	hk := &hostKeys{files: []string{kh}, policy: PolicyAcceptNew, onRecord: func(r RecordedHostKey) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	}}
	keys := []gossh.PublicKey{newTestKey(t), newTestKey(t)}
	eps := []endpoint{{hostname: "BBB1.example.org", port: 22}, {hostname: "127.0.0.7", port: 2222}}
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := g % 2
			if err := hk.callback("bbb"+string(rune('1'+i)), eps[i])("", nil, keys[i]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(got) != 2 {
		t.Fatalf("%d reports, want 2: %+v", len(got), got)
	}
	for _, r := range got {
		i := 0
		if r.Name == "bbb2" {
			i = 1
		}
		want := RecordedHostKey{Name: "bbb" + string(rune('1'+i)), Addr: eps[i].addr(), KnownAs: knownhosts.Normalize(eps[i].hostKeyAddr()),
			Type: "ssh-ed25519", Fingerprint: gossh.FingerprintSHA256(keys[i]), File: kh}
		if r != want {
			t.Errorf("got %+v, want %+v", r, want)
		}
	}
	if got[0].Addr == got[1].Addr || (got[0].Addr != "BBB1.example.org:22" && got[1].Addr != "BBB1.example.org:22") {
		t.Errorf("%+v", got)
	}
}

// TestUnknownHostHint: the strict policy's hint says that ssh-keyscan is
// trust on first use too, and how to compare the fingerprint on the
// server itself.
func TestUnknownHostHint(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	hk := &hostKeys{files: []string{kh}, policy: PolicyStrict}
	key := newTestKey(t)
	err := hk.callback("bbb1", endpoint{hostname: "bbb1.example.org", port: 2222})("", nil, key)
	var hke *HostKeyError
	if !errors.As(err, &hke) || !hke.Unknown {
		t.Fatalf("%v", err)
	}
	for _, want := range []string{
		"bbb1: ssh: host bbb1.example.org:2222 is not in " + kh + " (ssh-ed25519 key " + gossh.FingerprintSHA256(key) + ")",
		"compare that fingerprint out of band first, e.g. on the server's console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
		"if it matches, trust it with: ssh-keyscan -p 2222 bbb1.example.org >> " + kh,
		"ssh-keyscan itself trusts whatever answers",
		"host_key_policy: accept-new",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(kh); !errors.Is(err, os.ErrNotExist) {
		t.Error("strict mode wrote known_hosts")
	}
}
