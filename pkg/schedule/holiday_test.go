package schedule

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestHoliday(t *testing.T) {
	h, err := ParseHoliday("2026-12-21/2027-01-06")
	if err != nil || h.From.Day() != 21 || h.To.Year() != 2027 {
		t.Fatalf("%+v %v", h, err)
	}
	if _, err := ParseHoliday("2026-02-30"); err == nil {
		t.Error("Feb 30 accepted")
	}
	for in, want := range map[string]string{
		"2026-13-01":            `holiday "2026-13-01" is not a date`,
		"2027-01-06/2026-12-21": "ends before it starts",
		"2026-12-21/soon":       `end "soon" is not a date`,
	} {
		if _, err := ParseHoliday(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHoliday(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestHolidaysOn(t *testing.T) {
	hs := NewHolidays(holidays(t, "2026-12-21/2027-01-06", "2026-10-03", "2026-12-01/2026-12-31"))
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 15, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		d    time.Time
		want bool
	}{{day(2026, 10, 3), true}, {day(2026, 10, 4), false}, {day(2026, 12, 20), true}, {day(2027, 1, 1), true},
		{day(2027, 1, 6), true}, {day(2027, 1, 7), false}, {day(2026, 11, 30), false}} {
		if _, got := hs.On(c.d); got != c.want {
			t.Errorf("On(%s) = %v", c.d.Format(time.DateOnly), got)
		}
	}
	// The date counts in the zone asked for: 23:30 UTC on Jan 6 is Jan 7 in Berlin.
	if _, on := hs.OnDate(time.Date(2027, 1, 6, 23, 30, 0, 0, time.UTC), zone(t, "Europe/Berlin")); on {
		t.Error("Jan 7 in Berlin counted as a holiday")
	}
}

func TestParseICS(t *testing.T) {
	data, err := os.ReadFile("testdata/ferien-ni-2026.ics")
	if err != nil {
		t.Fatal(err)
	}
	hs, err := ParseICS("ferien.ics", data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hs {
		got = append(got, h.String()+" @"+h.Source)
	}
	want := []string{
		"2026-10-12/2026-10-23 (Herbstferien) @ferien.ics:6",
		"2026-12-23/2027-01-08 (Weihnachtsferien) @ferien.ics:13",
		"2027-02-01 (Zeugnisferien) @ferien.ics:21",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("holidays:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// DTEND is exclusive: the 8th is the last holiday, the 9th a school day.
	set := NewHolidays(hs)
	if _, on := set.On(time.Date(2027, 1, 8, 0, 0, 0, 0, time.UTC)); !on {
		t.Error("Jan 8 not a holiday")
	}
	if _, on := set.On(time.Date(2027, 1, 9, 0, 0, 0, 0, time.UTC)); on {
		t.Error("Jan 9 (DTEND) counted as a holiday")
	}
}

func TestParseICSErrors(t *testing.T) {
	head := "BEGIN:VCALENDAR\nVERSION:2.0\n"
	for name, c := range map[string]struct{ data, want string }{
		"empty":     {"", "f.ics:1: empty file"},
		"not ical":  {"holidays: [2026-12-21]\n", "f.ics:1: content outside BEGIN:VCALENDAR"},
		"no vcal":   {"BEGIN:VEVENT\nEND:VEVENT\n", "f.ics:1: expected BEGIN:VCALENDAR, got BEGIN:VEVENT"},
		"bad date":  {head + "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261341\nEND:VEVENT\nEND:VCALENDAR\n", `f.ics:4: DTSTART: "20261341" is not a date`},
		"bad end":   {head + "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261221\nDTEND;VALUE=DATE:2026122\nEND:VEVENT\nEND:VCALENDAR\n", "f.ics:5: DTEND: "},
		"backwards": {head + "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261221\nDTEND;VALUE=DATE:20261221\nEND:VEVENT\nEND:VCALENDAR\n", "f.ics:5: DTEND 2026-12-21 is not after DTSTART 2026-12-21 (DTEND is exclusive"},
		"no start":  {head + "BEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n", "f.ics:3: event has no DTSTART"},
		"unclosed":  {head + "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261221\n", "ends inside BEGIN:VEVENT"},
		"wrong end": {head + "BEGIN:VEVENT\nEND:VTODO\n", "f.ics:4: END:VTODO where END:VEVENT was expected"},
		"garbage":   {head + "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261221\nthis is no property\nEND:VEVENT\nEND:VCALENDAR\n", "f.ics:5: not an iCal content line"},
	} {
		_, err := ParseICS("f.ics", []byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

func FuzzParseICS(f *testing.F) {
	if data, err := os.ReadFile("testdata/ferien-ni-2026.ics"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := ParseICS("f.ics", data)
		if err != nil {
			return
		}
		for _, h := range hs {
			if h.To.Before(h.From) {
				t.Fatalf("holiday ends before it starts: %+v", h)
			}
		}
	})
}
