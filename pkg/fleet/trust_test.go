//go:build unix

package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const trustConfig = "servers:\n  - {name: bbb1, host: bbb1.example.org}\n"

// nobody is the uid a file of "another user" is given (tests run as root
// here; as another user, the ownership cases skip).
const nobody = 65534

func writeOwned(t *testing.T, path, data string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	if uid >= 0 {
		if uid != os.Geteuid() && os.Geteuid() != 0 {
			t.Skip("giving a file to another user needs root")
		}
		if err := os.Chown(path, uid, -1); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadRefusesUntrustedConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bbbfleet.yaml")

	t.Run("own file", func(t *testing.T) {
		writeOwned(t, p, trustConfig, 0o644, -1)
		if _, err := Load(p); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("group and others can write", func(t *testing.T) {
		for _, mode := range []os.FileMode{0o666, 0o664, 0o646} {
			writeOwned(t, p, trustConfig, mode, -1)
			_, err := Load(p)
			var ue *UntrustedFileError
			if !errors.As(err, &ue) || ue.OtherOwner || ue.What != "config" {
				t.Fatalf("mode %04o: %v", mode, err)
			}
			for _, want := range []string{"refusing the config " + p, "group or others can write it", "chmod go-w " + p} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
		}
	})
	t.Run("another user's file", func(t *testing.T) {
		writeOwned(t, p, trustConfig, 0o644, nobody)
		_, err := Load(p)
		var ue *UntrustedFileError
		if !errors.As(err, &ue) || !ue.OtherOwner || ue.UID != nobody {
			t.Fatalf("%v", err)
		}
		for _, want := range []string{"refusing the config " + p, "(uid 65534)", "not by you (", "mode 0644", "`chown "} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q lacks %q", err, want)
			}
		}
		// Through a symbolic link, the file it points to is judged.
		link := filepath.Join(dir, "link.yaml")
		os.Remove(link)
		if err := os.Symlink(p, link); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(link); !errors.As(err, &ue) || !ue.OtherOwner {
			t.Errorf("via a link: %v", err)
		}
	})
	t.Run("root's file", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root")
		}
		writeOwned(t, p, trustConfig, 0o644, 0)
		if _, err := Load(p); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoadSecretsRefusesUntrusted(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secrets.yaml")
	writeOwned(t, p, "bbb1: s3cret\n", 0o600, -1)
	if s, err := LoadSecrets(p); err != nil || s.FromFile("bbb1") != "s3cret" {
		t.Fatalf("%v", err)
	}
	writeOwned(t, p, "bbb1: s3cret\n", 0o600, nobody)
	_, err := LoadSecrets(p)
	var ue *UntrustedFileError
	if !errors.As(err, &ue) || !ue.OtherOwner || ue.What != "secrets file" ||
		!strings.Contains(err.Error(), "refusing the secrets file "+p+": it is owned by ") {
		t.Fatalf("%v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatal("the error shows the secret")
	}
}

// TestUntrustedLinks: a config or secrets path that is a symbolic link
// owned by another user is refused, even when it points at a good file.
func TestUntrustedLinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a link to another user needs root")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeOwned(t, good, trustConfig, 0o644, -1)
	goodSecrets := filepath.Join(dir, "good-secrets.yaml")
	writeOwned(t, goodSecrets, "bbb1: s3cret\n", 0o600, -1)
	for _, tc := range []struct{ link, to string }{{"bbbfleet.yaml", good}, {"secrets.yaml", goodSecrets}} {
		link := filepath.Join(dir, tc.link)
		if err := os.Symlink(tc.to, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		var err error
		if tc.link == "secrets.yaml" {
			_, err = LoadSecrets(link)
		} else {
			_, err = Load(link)
		}
		var ue *UntrustedFileError
		if !errors.As(err, &ue) || !ue.Link || !strings.Contains(err.Error(), "is a symbolic link owned by ") {
			t.Errorf("%s: %v", tc.link, err)
		}
	}
}

// TestSecretsLockNoFollow: the secrets lock is never created through a
// symbolic link planted where a lock file used to go (the lock is now
// taken on the directory, so the link is never opened).
func TestSecretsLockNoFollow(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secrets.yaml")
	writeOwned(t, p, "bbb1: s3cret\n", 0o600, -1)
	victim := filepath.Join(dir, "victim")
	if err := os.Symlink(victim, p+".lock"); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSecrets(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(s *Secrets) { s.Set("bbb2", "x") }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(victim); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
	if got, _ := os.ReadFile(p); !strings.Contains(string(got), "bbb2") {
		t.Errorf("secrets not updated: %q", got)
	}
}
