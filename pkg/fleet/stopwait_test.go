package fleet

import (
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
