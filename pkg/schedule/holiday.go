package schedule

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Holiday is an inclusive range of dates on which schedules with
// skip_holidays do not fire. Dates are civil dates (no zone): a firing is
// on a holiday when its date in the rule's zone is in the range.
type Holiday struct {
	From, To time.Time // dates at 00:00 UTC; To is inclusive
	// Text is how the holiday was written ("2026-12-21/2027-01-06") or, from
	// an iCal file, its SUMMARY.
	Text string
	// Source is where it was defined: "holidays" or "FILE:LINE".
	Source string
}

// String is "2026-12-21" or "2026-12-21/2027-01-06", plus the name when
// the holiday has one of its own.
func (h Holiday) String() string {
	d := h.From.Format(time.DateOnly)
	if !h.To.Equal(h.From) {
		d += "/" + h.To.Format(time.DateOnly)
	}
	if h.Text != "" && h.Text != d {
		d += " (" + h.Text + ")"
	}
	return d
}

// ParseHoliday parses "2026-12-21" or an inclusive range "2026-12-21/2027-01-06".
func ParseHoliday(s string) (Holiday, error) {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "/")
	f, err := time.Parse(time.DateOnly, strings.TrimSpace(from))
	if err != nil {
		return Holiday{}, fmt.Errorf("holiday %q is not a date (YYYY-MM-DD) or range (YYYY-MM-DD/YYYY-MM-DD)", s)
	}
	t := f
	if isRange {
		t, err = time.Parse(time.DateOnly, strings.TrimSpace(to))
		if err != nil {
			return Holiday{}, fmt.Errorf("holiday %q: end %q is not a date (YYYY-MM-DD)", s, to)
		}
		if t.Before(f) {
			return Holiday{}, fmt.Errorf("holiday %q ends before it starts", s)
		}
	}
	return Holiday{From: f, To: t, Text: s, Source: "holidays"}, nil
}

// Holidays is a set of holiday ranges, searchable by date.
type Holidays struct {
	list []Holiday // sorted by From
}

// NewHolidays returns the set of hs.
func NewHolidays(hs []Holiday) *Holidays {
	l := append([]Holiday(nil), hs...)
	sort.SliceStable(l, func(i, j int) bool { return l[i].From.Before(l[j].From) })
	return &Holidays{list: l}
}

// List returns the holidays, earliest first.
func (h *Holidays) List() []Holiday {
	if h == nil {
		return nil
	}
	return h.list
}

// On returns the holiday that the civil date of wall (a wall clock read as
// UTC) falls on.
func (h *Holidays) On(wall time.Time) (Holiday, bool) {
	if h == nil || len(h.list) == 0 {
		return Holiday{}, false
	}
	d := time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC)
	// The ranges may overlap: check every one that starts on or before d.
	n := sort.Search(len(h.list), func(i int) bool { return h.list[i].From.After(d) })
	for i := n - 1; i >= 0; i-- {
		if !h.list[i].To.Before(d) {
			return h.list[i], true
		}
	}
	return Holiday{}, false
}

// OnDate reports the holiday on the date of t in zone.
func (h *Holidays) OnDate(t time.Time, zone *time.Location) (Holiday, bool) {
	l := t.In(zone)
	return h.On(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC))
}
