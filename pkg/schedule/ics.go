package schedule

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// ICSError is a problem in an iCal file, at a line when known.
type ICSError struct {
	File string
	Line int
	Msg  string
}

func (e *ICSError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// maxICSSize bounds a holidays file: a Land's school holidays for a
// decade are a few kilobytes.
const maxICSSize = 4 << 20

// icsEvent is where one VEVENT's properties are in the file.
type icsEvent struct {
	begin, start, end int // physical line numbers (0: absent)
}

// scanICS checks the structure of an iCal file line by line (content lines,
// BEGIN/END nesting) so that an error names its line, and records where
// each VEVENT's DTSTART and DTEND are. Folded lines (RFC 5545 §3.1) count
// from the line they start on.
func scanICS(file string, data []byte) ([]icsEvent, error) {
	var events []icsEvent
	var stack []string
	lines := bytes.Split(data, []byte("\n"))
	type logical struct {
		line int
		text string
	}
	var ls []logical
	for i, raw := range lines {
		l := strings.TrimSuffix(string(raw), "\r")
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && len(ls) > 0 {
			ls[len(ls)-1].text += l[1:]
			continue
		}
		ls = append(ls, logical{line: i + 1, text: l})
	}
	for _, l := range ls {
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		name, value, ok := strings.Cut(l.text, ":")
		if !ok {
			return nil, &ICSError{File: file, Line: l.line, Msg: fmt.Sprintf("not an iCal content line (NAME:VALUE): %q", clip(l.text))}
		}
		name, _, _ = strings.Cut(name, ";")
		name = strings.ToUpper(strings.TrimSpace(name))
		value = strings.ToUpper(strings.TrimSpace(value))
		switch name {
		case "BEGIN":
			if len(stack) == 0 && value != "VCALENDAR" {
				return nil, &ICSError{File: file, Line: l.line, Msg: fmt.Sprintf("expected BEGIN:VCALENDAR, got BEGIN:%s", value)}
			}
			stack = append(stack, value)
			if value == "VEVENT" {
				events = append(events, icsEvent{begin: l.line})
			}
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				want := "nothing"
				if len(stack) > 0 {
					want = "END:" + stack[len(stack)-1]
				}
				return nil, &ICSError{File: file, Line: l.line, Msg: fmt.Sprintf("END:%s where %s was expected", value, want)}
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return nil, &ICSError{File: file, Line: l.line, Msg: "content outside BEGIN:VCALENDAR ... END:VCALENDAR"}
			}
			if stack[len(stack)-1] == "VEVENT" {
				ev := &events[len(events)-1]
				switch name {
				case "DTSTART":
					ev.start = l.line
				case "DTEND":
					ev.end = l.line
				}
			}
		}
	}
	if len(stack) > 0 {
		return nil, &ICSError{File: file, Line: len(lines), Msg: fmt.Sprintf("the file ends inside BEGIN:%s (no END:%s)", stack[len(stack)-1], stack[len(stack)-1])}
	}
	if len(ls) == 0 || (len(ls) == 1 && strings.TrimSpace(ls[0].text) == "") {
		return nil, &ICSError{File: file, Line: 1, Msg: "empty file: expected an iCal calendar (BEGIN:VCALENDAR)"}
	}
	return events, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// ParseICS reads holidays from an iCal file as OpenHolidays serves it:
// one VEVENT per holiday with all-day DTSTART;VALUE=DATE and DTEND, where
// DTEND is exclusive (the day after the last holiday). An event without
// DTEND lasts one day (RFC 5545 §3.6.1). file names the file in errors,
// which carry the line.
func ParseICS(file string, data []byte) ([]Holiday, error) {
	if len(data) > maxICSSize {
		return nil, &ICSError{File: file, Msg: fmt.Sprintf("%d bytes is too large for a holidays file (at most %d)", len(data), maxICSSize)}
	}
	events, err := scanICS(file, data)
	if err != nil {
		return nil, err
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		return nil, &ICSError{File: file, Msg: "not a valid iCal calendar: " + err.Error()}
	}
	evs := cal.Events()
	if len(evs) != len(events) {
		return nil, &ICSError{File: file, Msg: fmt.Sprintf("read %d events but the file has %d BEGIN:VEVENT lines", len(evs), len(events))}
	}
	var out []Holiday
	for i, ev := range evs {
		at := events[i]
		if at.start == 0 {
			return nil, &ICSError{File: file, Line: at.begin, Msg: "event has no DTSTART"}
		}
		from, err := icsDate(ev.GetProperty(ics.ComponentPropertyDtStart))
		if err != nil {
			return nil, &ICSError{File: file, Line: at.start, Msg: "DTSTART: " + err.Error()}
		}
		to := from
		if at.end != 0 {
			end, err := icsDate(ev.GetProperty(ics.ComponentPropertyDtEnd))
			if err != nil {
				return nil, &ICSError{File: file, Line: at.end, Msg: "DTEND: " + err.Error()}
			}
			if !end.After(from) {
				return nil, &ICSError{File: file, Line: at.end, Msg: fmt.Sprintf("DTEND %s is not after DTSTART %s (DTEND is exclusive: the day after the last holiday)",
					end.Format(time.DateOnly), from.Format(time.DateOnly))}
			}
			to = end.AddDate(0, 0, -1)
		}
		name := ""
		if p := ev.GetProperty(ics.ComponentPropertySummary); p != nil {
			name = strings.TrimSpace(p.Value)
		}
		out = append(out, Holiday{From: from, To: to, Text: name, Source: fmt.Sprintf("%s:%d", file, at.begin)})
	}
	return out, nil
}

// icsDate reads a DATE value (20261221), or the date part of a DATE-TIME.
func icsDate(p *ics.IANAProperty) (time.Time, error) {
	if p == nil {
		return time.Time{}, fmt.Errorf("missing")
	}
	v := strings.TrimSpace(p.Value)
	d := v
	if i := strings.IndexByte(v, 'T'); i >= 0 {
		d = v[:i]
	}
	t, err := time.Parse("20060102", d)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYYMMDD)", clip(v))
	}
	return t, nil
}
