package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser accepts the five standard cron fields plus descriptors such as
// @daily. The zone prefix is taken off by ParseSpec before the fields are
// parsed: the fields are matched against wall-clock time (see Spec).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed cron spec in its time zone.
//
// The fields are matched against the wall clock of the zone, and a wall
// clock time is turned into an instant as cron daemons (cronie, systemd)
// do around daylight-saving changes, not as robfig/cron does:
//
//   - a time that does not exist (02:30 on the spring-forward day in
//     Europe/Berlin, where 02:00 jumps to 03:00) fires at the first instant
//     after the gap (03:00 CEST) instead of being skipped; several such
//     times fire once;
//   - a time that happens twice (02:30 on the fall-back day) fires once,
//     at its first occurrence (02:30 CEST).
//
// So a warm-up at 02:30 is never lost, and never doubled.
type Spec struct {
	// Text is the spec as written.
	Text string
	// Zone is the spec's CRON_TZ= zone, else the default zone it was
	// parsed with.
	Zone *time.Location
	// ZoneSet is true when the spec names its zone (CRON_TZ= or TZ=).
	ZoneSet bool

	fields *cron.SpecSchedule // Location UTC: matched on wall-clock values
}

// ParseSpec parses a cron spec such as "CRON_TZ=Europe/Berlin 30 6 * * 1-5"
// in the machine's local zone unless it names one. Unlike
// cron.ParseStandard it never panics: a CRON_TZ= prefix with nothing after
// it is an error, and an unknown zone names the zone.
func ParseSpec(spec string) (*Spec, error) { return ParseSpecIn(spec, nil) }

// ParseSpecIn parses a cron spec; a spec without CRON_TZ= is in zone
// (the machine's local zone when nil).
func ParseSpecIn(spec string, zone *time.Location) (*Spec, error) {
	if zone == nil {
		zone = time.Local
	}
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("empty cron spec")
	}
	out := &Spec{Text: spec, Zone: zone}
	rest := s
	if strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=") {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return nil, fmt.Errorf("cron spec %q has a time zone but no fields: expected e.g. %q", spec, "CRON_TZ=Europe/Berlin 30 6 * * 1-5")
		}
		name := s[strings.Index(s, "=")+1 : i]
		loc, err := LoadZone(name)
		if err != nil {
			return nil, fmt.Errorf("cron spec %q: %v", spec, err)
		}
		out.Zone, out.ZoneSet = loc, true
		rest = strings.TrimSpace(s[i:])
	}
	if strings.HasPrefix(rest, "@every") {
		return nil, fmt.Errorf("cron spec %q: @every is an interval, not a time of day: use the five fields (minute hour day-of-month month day-of-week)", spec)
	}
	if !strings.HasPrefix(rest, "@") {
		if n := len(strings.Fields(rest)); n != 5 {
			return nil, fmt.Errorf("cron spec %q has %d fields, expected 5 (minute hour day-of-month month day-of-week)", spec, n)
		}
	}
	sched, err := parser.Parse(rest)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %v", spec, err)
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("cron spec %q is not a calendar schedule", spec)
	}
	ss.Location = time.UTC
	out.fields = ss
	return out, nil
}

// LoadZone loads an IANA time zone by name; "" and "Local" are refused so
// that a config never depends on where it is read by accident.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Berlin)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Berlin)", name)
	}
	return loc, nil
}

// wall returns t's wall clock in the spec's zone as a UTC time.
func (s *Spec) wall(t time.Time) time.Time {
	l := t.In(s.Zone)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// instant returns the instant a wall-clock firing happens at (see Spec).
func (s *Spec) instant(w time.Time) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, s.Zone)
	if s.wall(t).Equal(w) {
		// It exists; if it exists twice, take the first occurrence.
		for _, back := range []time.Duration{time.Hour, 30 * time.Minute, 2 * time.Hour} {
			if e := t.Add(-back); s.wall(e).Equal(w) {
				return e
			}
		}
		return t
	}
	// In a gap: the first instant after it, where the new offset starts.
	// time.Date normalised w with one of the two offsets, so t lies within
	// a few hours of the transition, on either side.
	start, end := t.ZoneBounds()
	if !end.IsZero() && end.After(t) && end.Sub(t) <= 3*time.Hour {
		return end
	}
	if !start.IsZero() && !start.After(t) && t.Sub(start) <= 3*time.Hour {
		return start
	}
	return t
}

// Next returns the first firing strictly after t, or the zero time when
// the spec never fires again (e.g. "0 0 30 2 *"; robfig/cron looks five
// years ahead).
func (s *Spec) Next(t time.Time) time.Time {
	w := s.wall(t)
	for i := 0; i < 4; i++ {
		nw := s.fields.Next(w)
		if nw.IsZero() {
			return time.Time{}
		}
		if in := s.instant(nw); in.After(t) {
			return in
		}
		// A wall time that maps to an instant at or before t (the second
		// pass of a repeated hour, or several times in one gap): go on.
		w = nw
	}
	// Dense specs across a repeated hour: step on until past t.
	for {
		nw := s.fields.Next(w)
		if nw.IsZero() {
			return time.Time{}
		}
		if in := s.instant(nw); in.After(t) {
			return in
		}
		w = nw
	}
}

// firing is one firing: its instant and its wall clock in the spec's zone.
type firing struct {
	at, wall time.Time
}

// each calls fn for every firing in (from, to], in order, with its wall
// clock (whose date decides holidays); it stops when fn returns false.
// Firings that map to the same instant (a DST gap) are reported once.
func (s *Spec) each(from, to time.Time, fn func(f firing) bool) {
	w := s.wall(from)
	var last time.Time
	for {
		nw := s.fields.Next(w)
		if nw.IsZero() {
			return
		}
		w = nw
		in := s.instant(nw)
		if in.After(to) {
			return
		}
		if !in.After(from) || in.Equal(last) {
			continue
		}
		last = in
		if !fn(firing{at: in, wall: nw}) {
			return
		}
	}
}
