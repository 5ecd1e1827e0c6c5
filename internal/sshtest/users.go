package sshtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var userMu sync.Mutex

var validName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,30}$`)

// EnsureUser makes sure the local user name exists and may log in with a
// key (its password field is "*", not locked "!", because sshd without PAM
// refuses locked accounts). Running as root it creates the user with
// `useradd -m -s /bin/sh`; otherwise a missing user skips the test.
func EnsureUser(t testing.TB, name string) {
	t.Helper()
	if !validName.MatchString(name) {
		t.Fatalf("sshtest: invalid user name %q", name)
	}
	userMu.Lock()
	defer userMu.Unlock()
	if _, err := user.Lookup(name); err == nil {
		if IsRoot() {
			unlock(t, name)
		}
		return
	}
	if !IsRoot() {
		t.Skipf("sshtest: user %s does not exist and the tests do not run as root", name)
	}
	// Other test binaries may create it at the same time: exit 9 (exists)
	// is fine, exit 10 (cannot lock /etc/passwd) is retried.
	var out []byte
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		out, err = exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput()
		var ee *exec.ExitError
		if err == nil || (errors.As(err, &ee) && ee.ExitCode() == 9) {
			err = nil
			break
		}
		if errors.As(err, &ee) && ee.ExitCode() == 10 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	if err != nil {
		t.Fatalf("sshtest: useradd %s: %v\n%s", name, err, out)
	}
	unlock(t, name)
}

func unlock(t testing.TB, name string) {
	t.Helper()
	b, err := os.ReadFile("/etc/shadow")
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) > 1 && f[0] == name && strings.HasPrefix(f[1], "!") {
			if out, err := exec.Command("usermod", "-p", "*", name).CombinedOutput(); err != nil {
				t.Fatalf("sshtest: usermod -p '*' %s: %v\n%s", name, err, out)
			}
		}
	}
}

// AllowSudo writes a sudoers rule for user into its own file under
// /etc/sudoers.d (checked with visudo when available) and removes it on
// t.Cleanup. nopasswd false writes a rule that requires a password. It
// skips the test when not running as root or when sudo is missing.
func AllowSudo(t testing.TB, userName string, nopasswd bool) {
	t.Helper()
	if !IsRoot() {
		t.Skip("sshtest: writing sudoers rules needs root")
	}
	if _, err := exec.LookPath("sudo"); err != nil {
		t.Skip("sshtest: sudo is not installed")
	}
	if !validName.MatchString(userName) {
		t.Fatalf("sshtest: invalid user name %q", userName)
	}
	rule := userName + " ALL=(ALL) ALL\n"
	if nopasswd {
		rule = userName + " ALL=(ALL) NOPASSWD: ALL\n"
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	// No dot in the name: sudo skips files in sudoers.d that contain one.
	file := filepath.Join("/etc/sudoers.d", "bbbfleet-sshtest-"+userName+"-"+hex.EncodeToString(rnd[:]))
	if err := os.MkdirAll("/etc/sudoers.d", 0o755); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	tmp := file + ".tmp" // ignored by sudo while it has a dot
	if err := os.WriteFile(tmp, []byte(rule), 0o440); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if visudo, err := exec.LookPath("visudo"); err == nil {
		if out, err := exec.Command(visudo, "-c", "-q", "-f", tmp).CombinedOutput(); err != nil {
			os.Remove(tmp)
			t.Fatalf("sshtest: visudo rejects %q: %v\n%s", rule, err, out)
		}
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() { os.Remove(file) })
}
