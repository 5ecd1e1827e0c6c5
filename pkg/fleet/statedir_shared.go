package fleet

import (
	"fmt"
	"os"
)

// UnsharedLockWarning is non-empty when runs of this config by different
// users would not exclude each other: state_dir is unset, so the fleet
// lock lives in each user's own state directory (/var/lib/bbbfleet for
// root, ~/.local/state/bbbfleet otherwise). A scheduler running as root
// and an administrator's `bbbfleet stop` would then change the same
// servers at once.
func (c *Config) UnsharedLockWarning() string {
	if c == nil || c.StateDir != "" {
		return ""
	}
	who := "this user"
	if os.Geteuid() == 0 {
		who = "root"
	}
	return fmt.Sprintf("%s sets no state_dir: the fleet lock is %s, %s's own; a run of the same config by another user (root's scheduler, an administrator) takes another lock and does not wait for this one. Set state_dir: to a directory every user running this config can write (e.g. /var/lib/bbbfleet with a group for the administrators)",
		c.Path, c.LockPath(), who)
}

// shareFile makes a lock or audit file group-writable (0660) when its
// directory is group-shared (the setgid bit: new files take the
// directory's group, e.g. the administrators'), so that root's scheduler
// and an administrator, running the same config, can both open the fleet
// lock and append to the audit log, whoever created them. Elsewhere the
// file stays 0600. Errors are ignored: opening the file is what counts,
// and it reports its own.
func shareFile(f *os.File, dir string) {
	di, err := os.Stat(dir)
	if err != nil || di.Mode()&os.ModeSetgid == 0 {
		return
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o060 != 0o060 {
		_ = f.Chmod(fi.Mode().Perm() | 0o060)
	}
}
