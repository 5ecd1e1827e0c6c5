package schedule

import (
	"fmt"
	"strings"
	"time"
)

// WhenFormats says which times ParseWhen accepts, for error messages.
const WhenFormats = `RFC 3339 ("2026-12-07T06:30:00+01:00"), "2026-12-07 06:30", "06:30" (today) or "tomorrow 06:30", the last three in the schedule's zone`

// ParseWhen reads a time given on the command line: RFC 3339, a date and
// time "2026-12-07 06:30", a time of day "06:30" (today) or "tomorrow
// 06:30", the last three in zone, today being now's date in zone. A wall
// clock that does not exist in zone (a DST gap) is refused.
func ParseWhen(s string, now time.Time, zone *time.Location) (time.Time, error) {
	v := strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	bad := fmt.Errorf("%q is not a time; use %s", s, WhenFormats)
	if zone == nil {
		zone = time.Local
	}
	today := now.In(zone)
	var y int
	var mo time.Month
	var d int
	clock := v
	switch {
	case strings.HasPrefix(strings.ToLower(v), "tomorrow"):
		clock = strings.TrimSpace(v[len("tomorrow"):])
		tm := time.Date(today.Year(), today.Month(), today.Day()+1, 12, 0, 0, 0, zone)
		y, mo, d = tm.Date()
	case strings.HasPrefix(strings.ToLower(v), "today"):
		clock = strings.TrimSpace(v[len("today"):])
		y, mo, d = today.Date()
	case len(v) > 10 && (v[10] == ' ' || v[10] == 'T'):
		date, err := time.Parse(time.DateOnly, v[:10])
		if err != nil {
			return time.Time{}, bad
		}
		y, mo, d = date.Date()
		clock = strings.TrimSpace(v[11:])
	default:
		y, mo, d = today.Date()
	}
	c, err := time.Parse("15:04", clock)
	if err != nil {
		if c, err = time.Parse("15:04:05", clock); err != nil {
			return time.Time{}, bad
		}
	}
	t := time.Date(y, mo, d, c.Hour(), c.Minute(), c.Second(), 0, zone)
	if l := t.In(zone); l.Hour() != c.Hour() || l.Minute() != c.Minute() {
		return time.Time{}, fmt.Errorf("%q does not exist in %s (the clocks skip it for daylight saving time)", s, zone)
	}
	return t, nil
}
