package fleet

import "time"

// StopWait is how long a run of bbbfleet on this fleet may need to end
// after SIGTERM: it lets a `bbb-conf --stop` (bbbConfTimeout) and the
// longest power hook (power.timeout) finish, plus a minute's margin. The
// units of `schedule install` take it as their TimeoutStopSec=.
func (c *Config) StopWait() time.Duration {
	longest := time.Duration(DefaultPowerTimeout)
	if c != nil && len(c.Servers) > 0 {
		longest = 0
		for _, s := range c.Servers {
			longest = max(longest, s.Power.Timeout.D())
		}
	}
	return bbbConfTimeout + longest + time.Minute
}
