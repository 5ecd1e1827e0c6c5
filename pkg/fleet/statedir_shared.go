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
