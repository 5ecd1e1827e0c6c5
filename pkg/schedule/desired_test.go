package schedule

import (
	"strings"
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func rule(t testing.TB, name, spec string, z *time.Location, a Action, servers ...string) *Rule {
	t.Helper()
	r, err := NewRule(name, spec, z, a, servers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func holidays(t testing.TB, ss ...string) []Holiday {
	t.Helper()
	var out []Holiday
	for _, s := range ss {
		h, err := ParseHoliday(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

// school is the fleet's usual pair: warm-up on school days, shutdown at night.
func school(t testing.TB, hs ...string) (*Schedule, *time.Location) {
	be := zone(t, "Europe/Berlin")
	return New([]*Rule{
		rule(t, "warm-up", "30 6 * * 1-5", be, Start, "bbb1", "bbb2"),
		rule(t, "shutdown", "0 22 * * *", be, Stop, "bbb1", "bbb2"),
	}, holidays(t, hs...)), be
}

func wantDesired(t *testing.T, d Desired, rule string, state State, since time.Time) {
	t.Helper()
	if !d.OK || d.Rule.Name != rule || d.State != state || !d.Since.Equal(since) {
		got := "none"
		if d.OK {
			got = d.Rule.Name + " " + string(d.State) + " since " + d.Since.String()
		}
		t.Fatalf("desired at %s: %s; want %s %s since %s (%s)", d.At, got, rule, state, since, d.Why())
	}
}

func TestDesiredSchoolDay(t *testing.T) {
	s, be := school(t)
	// Tuesday 2026-12-08 09:00: warmed up at 06:30.
	d := s.Desired("bbb1", time.Date(2026, 12, 8, 9, 0, 0, 0, be))
	wantDesired(t, d, "warm-up", Up, time.Date(2026, 12, 8, 6, 30, 0, 0, be))
	if d.Why() != "started by schedule `warm-up` since 06:30" {
		t.Errorf("why = %q", d.Why())
	}
	// at 06:30 exactly: "at or before T"
	d = s.Desired("bbb1", time.Date(2026, 12, 8, 6, 30, 0, 0, be))
	wantDesired(t, d, "warm-up", Up, time.Date(2026, 12, 8, 6, 30, 0, 0, be))
	// 06:29: still the shutdown of the evening before
	d = s.Desired("bbb1", time.Date(2026, 12, 8, 6, 29, 0, 0, be))
	wantDesired(t, d, "shutdown", Down, time.Date(2026, 12, 7, 22, 0, 0, 0, be))
	// Sunday noon: no warm-up at the weekend
	d = s.Desired("bbb2", time.Date(2026, 12, 6, 12, 0, 0, 0, be))
	wantDesired(t, d, "shutdown", Down, time.Date(2026, 12, 5, 22, 0, 0, 0, be))
	// a server no rule targets has no desired state
	d = s.Desired("bbb9", time.Date(2026, 12, 6, 12, 0, 0, 0, be))
	if d.Targeted || d.OK {
		t.Fatalf("untargeted server: %+v", d)
	}
}

// A firing missed because the admin machine was off changes nothing: the
// desired state at T is computed from the rules, not from what ran.
func TestDesiredMissedFiring(t *testing.T) {
	s, be := school(t)
	// The machine was off from Monday 21:00 to Tuesday 07:10: the 22:00
	// shutdown and the 06:30 warm-up never ran. At 07:10 the desired state
	// is still "up since 06:30"; at 21:59 it is still up.
	wantDesired(t, s.Desired("bbb1", time.Date(2026, 12, 8, 7, 10, 0, 0, be)), "warm-up", Up, time.Date(2026, 12, 8, 6, 30, 0, 0, be))
	wantDesired(t, s.Desired("bbb1", time.Date(2026, 12, 8, 21, 59, 0, 0, be)), "warm-up", Up, time.Date(2026, 12, 8, 6, 30, 0, 0, be))
	// Off over a whole weekend and Monday: Tuesday 05:00 is still "down
	// since Monday 22:00".
	wantDesired(t, s.Desired("bbb1", time.Date(2026, 12, 8, 5, 0, 0, 0, be)), "shutdown", Down, time.Date(2026, 12, 7, 22, 0, 0, 0, be))
}

// The first school day after a holiday range: the warm-up on the first day
// after the range fires; the one on the last holiday does not.
func TestDesiredFirstSchoolDayAfterHolidays(t *testing.T) {
	// Winter holidays across the new year: Mon 2026-12-21 to Wed 2027-01-06.
	s, be := school(t, "2026-12-21/2027-01-06")
	// Last holiday, Wednesday 2027-01-06 at 09:00: the warm-up was skipped.
	// Both rules skip holidays: the state is the one the last firing before
	// the holidays left (Sunday Dec 20, 22:00), with 13 warm-ups and 16
	// shutdowns skipped since.
	d := s.Desired("bbb1", time.Date(2027, 1, 6, 9, 0, 0, 0, be))
	wantDesired(t, d, "shutdown", Down, time.Date(2026, 12, 20, 22, 0, 0, 0, be))
	last := d.Skipped[len(d.Skipped)-1]
	if d.SkippedCount != 13+16 || last.Rule.Name != "warm-up" || !last.Time.Equal(time.Date(2027, 1, 6, 6, 30, 0, 0, be)) {
		t.Fatalf("skipped = %d %+v", d.SkippedCount, d.Skipped)
	}
	if !strings.Contains(d.Why(), "skipped 29 holiday firings, the last `warm-up` 06:30 (holiday 2026-12-21/2027-01-06)") {
		t.Errorf("why = %q", d.Why())
	}
	// First school day, Thursday 2027-01-07 06:30: up.
	wantDesired(t, s.Desired("bbb1", time.Date(2027, 1, 7, 6, 30, 0, 0, be)), "warm-up", Up, time.Date(2027, 1, 7, 6, 30, 0, 0, be))
	// The shutdown skips holidays too (skip_holidays applies to every
	// rule): through the holidays the state stays as the last firing
	// before them left it. On the Friday before (Dec 18) the shutdown at
	// 22:00 stopped the servers; Saturday Dec 19 and Sunday Dec 20 are no
	// holidays, so their 22:00 shutdowns fire.
	d = s.Desired("bbb1", time.Date(2026, 12, 30, 12, 0, 0, 0, be))
	wantDesired(t, d, "shutdown", Down, time.Date(2026, 12, 20, 22, 0, 0, 0, be))
	// Dec 21..30: 8 warm-ups (weekdays) and 9 shutdowns (Dec 21..29 at 22:00) skipped.
	if d.SkippedCount != 8+9 {
		t.Errorf("skipped count = %d, want 17 (%s)", d.SkippedCount, d.Why())
	}
	// Firings over the range: the new year is crossed.
	fs := s.RuleFirings(s.Rules[0], time.Date(2026, 12, 30, 0, 0, 0, 0, be), time.Date(2027, 1, 8, 0, 0, 0, 0, be), 0)
	var got []string
	for _, f := range fs {
		g := f.Local().Format("01-02")
		if f.Skipped {
			g += "(skip)"
		}
		got = append(got, g)
	}
	want := "12-30(skip) 12-31(skip) 01-01(skip) 01-04(skip) 01-05(skip) 01-06(skip) 01-07"
	if strings.Join(got, " ") != want {
		t.Errorf("firings = %s\nwant      %s", strings.Join(got, " "), want)
	}
}

// A rule that does not skip holidays fires on them.
func TestDesiredNoSkip(t *testing.T) {
	s, be := school(t, "2026-12-21/2027-01-06")
	s.Rules[1].SkipHolidays = false
	d := s.Desired("bbb1", time.Date(2026, 12, 30, 23, 0, 0, 0, be))
	wantDesired(t, d, "shutdown", Down, time.Date(2026, 12, 30, 22, 0, 0, 0, be))
}

// Spring-forward in Europe/Berlin (2026-03-29: 02:00 CET jumps to 03:00
// CEST): a 02:30 firing does not exist that day. It fires at 03:00 CEST
// instead of being lost, so a warm-up at 02:30 still brings the servers up.
func TestDesiredSpringForward(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{
		rule(t, "early", "30 2 * * *", be, Start, "bbb1"),
		rule(t, "night", "0 22 * * *", be, Stop, "bbb1"),
	}, nil)
	jump := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) // 03:00 CEST
	fs := s.RuleFirings(s.Rules[0], time.Date(2026, 3, 28, 0, 0, 0, 0, be), time.Date(2026, 3, 31, 0, 0, 0, 0, be), 0)
	var got []string
	for _, f := range fs {
		got = append(got, f.Time.UTC().Format("01-02 15:04Z"))
	}
	if want := "03-28 01:30Z 03-29 01:00Z 03-30 00:30Z"; strings.Join(got, " ") != want {
		t.Fatalf("firings = %s, want %s", strings.Join(got, " "), want)
	}
	// 03:10 CEST that day: up since 03:00 CEST.
	wantDesired(t, s.Desired("bbb1", jump.Add(10*time.Minute)), "early", Up, jump)
	// 02:59 CET does not exist; 01:59 CET (00:59Z) is still "down since 22:00".
	wantDesired(t, s.Desired("bbb1", jump.Add(-time.Minute)), "night", Down, time.Date(2026, 3, 28, 22, 0, 0, 0, be))
	// Spec.Next agrees.
	if n := s.Rules[0].Spec.Next(time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)); !n.Equal(jump) {
		t.Errorf("Next = %s, want %s", n, jump)
	}
	// A rule every 15 minutes fires once at 03:00 for the whole gap.
	q := New([]*Rule{rule(t, "q", "*/15 * * * *", be, Start, "bbb1")}, nil)
	fs = q.RuleFirings(q.Rules[0], time.Date(2026, 3, 29, 0, 40, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 20, 0, 0, time.UTC), 0)
	got = nil
	for _, f := range fs {
		got = append(got, f.Time.In(be).Format("15:04 MST"))
	}
	if want := "01:45 CET 03:00 CEST 03:15 CEST"; strings.Join(got, " ") != want {
		t.Errorf("gap firings = %s, want %s", strings.Join(got, " "), want)
	}
}

// Fall-back in Europe/Berlin (2026-10-25: 03:00 CEST goes back to 02:00
// CET, so 02:30 happens twice): the rule fires once, at the first 02:30,
// and the desired state is the same throughout the repeated hour.
func TestDesiredFallBack(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{
		rule(t, "early", "30 2 * * *", be, Start, "bbb1"),
		rule(t, "night", "0 22 * * *", be, Stop, "bbb1"),
	}, nil)
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)  // 02:30 CEST
	second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC) // 02:30 CET
	fs := s.RuleFirings(s.Rules[0], time.Date(2026, 10, 24, 12, 0, 0, 0, be), time.Date(2026, 10, 26, 12, 0, 0, 0, be), 0)
	if len(fs) != 2 || !fs[0].Time.Equal(first) {
		t.Fatalf("firings = %v, want 2 with the first at %s", fs, first)
	}
	for _, at := range []time.Time{first, first.Add(50 * time.Minute), second, second.Add(20 * time.Minute), second.Add(5 * time.Hour)} {
		wantDesired(t, s.Desired("bbb1", at), "early", Up, first)
	}
	// Next from inside the repeated hour does not fire again that day.
	if n := s.Rules[0].Spec.Next(second.Add(-time.Minute)); !n.Equal(time.Date(2026, 10, 26, 2, 30, 0, 0, be)) {
		t.Errorf("Next from the second pass = %s", n)
	}
}

// A rule in New York next to one in Berlin: each fires on its own wall
// clock; the desired state follows whichever fired last.
func TestDesiredTwoZones(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{
		rule(t, "berlin-stop", "0 22 * * *", be, Stop, "bbb1"),
		rule(t, "ny-start", "CRON_TZ=America/New_York 0 17 * * *", be, Start, "bbb1"),
	}, nil)
	if s.Rules[1].Spec.Zone.String() != "America/New_York" {
		t.Fatalf("zone %s", s.Rules[1].Spec.Zone)
	}
	// Winter: 22:00 Berlin = 16:00 New York, so the NY start at 17:00 (23:00
	// Berlin) wins at midnight Berlin.
	at := time.Date(2026, 12, 8, 0, 0, 0, 0, be)
	wantDesired(t, s.Desired("bbb1", at), "ny-start", Up, time.Date(2026, 12, 7, 17, 0, 0, 0, zone(t, "America/New_York")))
	// 2026-03-10: New York already on EDT (since 03-08), Berlin still on
	// CET: 17:00 EDT = 22:00 CET, the same instant as the Berlin stop.
	// Listed later, the New York start wins, and says so.
	at = time.Date(2026, 3, 10, 22, 30, 0, 0, be)
	d := s.Desired("bbb1", at)
	wantDesired(t, d, "ny-start", Up, time.Date(2026, 3, 10, 22, 0, 0, 0, be))
	if len(d.Overridden) != 1 || d.Overridden[0].Name != "berlin-stop" || !strings.Contains(d.Why(), "overriding `berlin-stop` (stop) at the same minute (the rule listed later wins)") {
		t.Errorf("overridden = %v, why %q", d.Overridden, d.Why())
	}
	fs := s.Firings(at.Add(-time.Hour), at)
	if len(fs) != 2 || len(fs[0].OverriddenBy) != 1 || fs[0].Rule.Name != "berlin-stop" {
		t.Errorf("firings = %+v", fs)
	}
}

// A yearly rule is found a year back, and two years back when last year's
// firing fell on a holiday; beyond LookBack there is no desired state.
func TestDesiredYearly(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{rule(t, "term", "0 6 1 9 *", be, Start, "bbb1")}, holidays(t, "2026-09-01"))
	at := time.Date(2027, 8, 31, 12, 0, 0, 0, be)
	d := s.Desired("bbb1", at)
	wantDesired(t, d, "term", Up, time.Date(2025, 9, 1, 6, 0, 0, 0, be))
	if d.SkippedCount != 1 {
		t.Errorf("skipped = %d", d.SkippedCount)
	}
	s = New([]*Rule{rule(t, "once", "0 6 1 9 *", be, Start, "bbb1")}, holidays(t, "2025-09-01", "2026-09-01"))
	d = s.Desired("bbb1", at)
	if d.OK || !d.Targeted || !strings.HasPrefix(d.Why(), "no rule targeting it fired within 734 days") {
		t.Errorf("desired = %+v %q", d, d.Why())
	}
}

func TestDesiredRestartAndNever(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{
		rule(t, "weekly", "0 3 * * 0", be, Restart, "bbb1"),
		rule(t, "never", "0 0 30 2 *", be, Stop, "bbb1"),
	}, nil)
	d := s.Desired("bbb1", time.Date(2026, 12, 9, 12, 0, 0, 0, be))
	wantDesired(t, d, "weekly", Up, time.Date(2026, 12, 6, 3, 0, 0, 0, be))
	if d.Why() != "restarted by schedule `weekly` since Sun 03:00" {
		t.Errorf("why %q", d.Why())
	}
	if n := s.NextFirings(s.Rules[1], time.Now(), 3); len(n) != 0 {
		t.Errorf("never: %v", n)
	}
}

func TestDesiredDenseRuleThroughHolidays(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{rule(t, "every5", "*/5 * * * *", be, Start, "bbb1")}, holidays(t, "2026-07-01/2026-08-14"))
	d := s.Desired("bbb1", time.Date(2026, 8, 14, 12, 0, 0, 0, be))
	wantDesired(t, d, "every5", Up, time.Date(2026, 6, 30, 23, 55, 0, 0, be))
	if d.SkippedCount != 44*288+145 || len(d.Skipped) != maxSkippedKept {
		t.Errorf("skipped %d (kept %d)", d.SkippedCount, len(d.Skipped))
	}
}

func TestParseWhen(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	now := time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC) // 00:30 on Dec 8 in Berlin
	for in, want := range map[string]time.Time{
		"2026-12-07T06:30:00+01:00": time.Date(2026, 12, 7, 5, 30, 0, 0, time.UTC),
		"2026-12-07 06:30":          time.Date(2026, 12, 7, 6, 30, 0, 0, be),
		"06:30":                     time.Date(2026, 12, 8, 6, 30, 0, 0, be),
		"tomorrow 06:30":            time.Date(2026, 12, 9, 6, 30, 0, 0, be),
		" today 22:00 ":             time.Date(2026, 12, 8, 22, 0, 0, 0, be),
	} {
		got, err := ParseWhen(in, now, be)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"noon", "25:00", "2026-13-01 06:00", "tomorrow", "2026-03-29 02:30"} {
		if _, err := ParseWhen(in, now, be); err == nil {
			t.Errorf("ParseWhen(%q): no error", in)
		} else if in != "2026-03-29 02:30" && !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("ParseWhen(%q): %v does not list the formats", in, err)
		}
	}
}

// A schedule is read-only once built: apply and the daemon may ask from
// several goroutines at once (run with -race).
func TestDesiredConcurrent(t *testing.T) {
	s, be := school(t, "2026-12-21/2027-01-06")
	at := time.Date(2026, 12, 30, 12, 0, 0, 0, be)
	want := s.Desired("bbb1", at).Why()
	done := make(chan string)
	for i := 0; i < 8; i++ {
		go func() { done <- s.DesiredAll([]string{"bbb1", "bbb2"}, at)[0].Why() }()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != want {
			t.Errorf("concurrent: %q, want %q", got, want)
		}
	}
}
