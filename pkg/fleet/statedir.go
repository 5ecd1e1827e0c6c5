package fleet

import (
	"os"
	"path/filepath"
)

// StateDirPath is where bbbfleet keeps its run state (the fleet lock, the
// audit log): state_dir from the config, else /var/lib/bbbfleet for root,
// else $XDG_STATE_HOME/bbbfleet (~/.local/state/bbbfleet).
func (c *Config) StateDirPath() string {
	if c != nil && c.StateDir != "" {
		return c.StateDir
	}
	if os.Geteuid() == 0 {
		return "/var/lib/bbbfleet"
	}
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "bbbfleet")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "bbbfleet")
	}
	return filepath.Join(os.TempDir(), "bbbfleet-state")
}

// AuditLogPath is audit_log from the config, else audit.log in the state
// directory.
func (c *Config) AuditLogPath() string {
	if c != nil && c.AuditLog != "" {
		return c.AuditLog
	}
	return filepath.Join(c.StateDirPath(), "audit.log")
}

// LockPath is the fleet lock's file.
func (c *Config) LockPath() string { return filepath.Join(c.StateDirPath(), "lock") }
