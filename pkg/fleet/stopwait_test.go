package fleet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStopWait: the units' stop timeout covers bbb-conf (5 minutes), the
// longest power.timeout and a minute.
func TestStopWait(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`
servers:
  - {name: bbb1, host: bbb1.example.org}
  - {name: bbb2, host: bbb2.example.org, power: {on: [true], timeout: 20m}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.StopWait(), 5*time.Minute+20*time.Minute+time.Minute; got != want {
		t.Errorf("StopWait = %s, want %s", got, want)
	}
	cfg.Servers = cfg.Servers[:1]
	if got, want := cfg.StopWait(), 16*time.Minute; got != want {
		t.Errorf("StopWait with the default power.timeout = %s, want %s", got, want)
	}
}

// TestUnsharedLockWarning: without state_dir the lock is per user, and
// the warning says so and names the lock; with it, no warning.
func TestUnsharedLockWarning(t *testing.T) {
	cfg, err := Parse("/etc/bbbfleet/fleet.yaml", []byte("servers:\n  - {name: bbb1, host: bbb1.example.org}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.UnsharedLockWarning(); !strings.Contains(w, "/etc/bbbfleet/fleet.yaml sets no state_dir: the fleet lock is "+cfg.LockPath()) {
		t.Errorf("warning: %q", w)
	}
	cfg.StateDir = "/var/lib/bbbfleet"
	if w := cfg.UnsharedLockWarning(); w != "" {
		t.Errorf("warning with state_dir: %q", w)
	}
}

// TestSharedStateDirFiles: in a group-shared state directory (setgid) the
// fleet lock and the audit log are group-writable, so root and an
// administrator of the group both open them; elsewhere they stay 0600.
func TestSharedStateDirFiles(t *testing.T) {
	for _, shared := range []bool{false, true} {
		dir := t.TempDir()
		mode := os.FileMode(0o770)
		if shared {
			mode |= os.ModeSetgid
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		lock, err := AcquireLock(context.Background(), filepath.Join(dir, "lock"), "bbbfleet stop bbb1", 0)
		if err != nil {
			t.Fatal(err)
		}
		lock.Release()
		audit, err := OpenAudit(filepath.Join(dir, "audit.log"), "bbbfleet stop bbb1")
		if err != nil {
			t.Fatal(err)
		}
		audit.Close()
		want := os.FileMode(0o600)
		if shared {
			want = 0o660
		}
		for _, f := range []string{"lock", "audit.log"} {
			fi, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("shared=%v: %s is %04o, want %04o", shared, f, fi.Mode().Perm(), want)
			}
		}
	}
}
