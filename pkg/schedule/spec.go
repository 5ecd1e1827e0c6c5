package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser accepts the five standard cron fields plus descriptors such as
// @daily, with an optional CRON_TZ= or TZ= prefix.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSpec parses a cron spec such as "CRON_TZ=Europe/Berlin 30 6 * * 1-5".
// Unlike cron.ParseStandard it never panics: a CRON_TZ= prefix with nothing
// after it is an error, and an unknown zone names the zone.
func ParseSpec(spec string) (cron.Schedule, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("empty cron spec")
	}
	rest := s
	if strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=") {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return nil, fmt.Errorf("cron spec %q has a time zone but no fields: expected e.g. %q", spec, "CRON_TZ=Europe/Berlin 30 6 * * 1-5")
		}
		zone := s[strings.Index(s, "=")+1 : i]
		if _, err := time.LoadLocation(zone); err != nil || zone == "" {
			return nil, fmt.Errorf("cron spec %q: unknown time zone %q (use an IANA name such as Europe/Berlin)", spec, zone)
		}
		rest = strings.TrimSpace(s[i:])
	}
	if !strings.HasPrefix(rest, "@") {
		if n := len(strings.Fields(rest)); n != 5 {
			return nil, fmt.Errorf("cron spec %q has %d fields, expected 5 (minute hour day-of-month month day-of-week)", spec, n)
		}
	}
	sched, err := parser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %v", spec, err)
	}
	return sched, nil
}
