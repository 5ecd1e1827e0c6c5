package simfleet

import (
	"reflect"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
)

func at(hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	d := DefaultStart
	return time.Date(d.Year(), d.Month(), d.Day(), t.Hour(), t.Minute(), 0, 0, d.Location())
}

func TestModelDeterministic(t *testing.T) {
	for _, hhmm := range []string{"07:58", "09:25", "10:40", "13:05", "15:50", "19:20"} {
		a := NewModel(42, 6).MeetingsAt(at(hhmm), 0)
		b := NewModel(42, 6).MeetingsAt(at(hhmm), 0)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: same seed, different meetings", hhmm)
		}
		// A model asked about other days and times first still answers the same.
		m := NewModel(42, 6)
		for d := 0; d < 6; d++ {
			m.MeetingsAt(at("11:00").AddDate(0, 0, d), 0)
		}
		if c := m.MeetingsAt(at(hhmm), 0); !reflect.DeepEqual(a, c) {
			t.Errorf("%s: answer depends on what was asked before", hhmm)
		}
	}
	a := NewModel(1, 6).MeetingsAt(at("09:25"), 0)
	b := NewModel(2, 6).MeetingsAt(at("09:25"), 0)
	if reflect.DeepEqual(a, b) {
		t.Error("seeds 1 and 2 give the same meetings")
	}
	// shift moves the timestamps only.
	s := NewModel(1, 6).MeetingsAt(at("09:25"), -time.Hour)
	for i := range a {
		for j := range a[i] {
			if a[i][j].InternalID != s[i][j].InternalID || a[i][j].CreateTime-s[i][j].CreateTime != time.Hour.Milliseconds() {
				t.Fatalf("shift: %+v vs %+v", a[i][j], s[i][j])
			}
		}
	}
}

// usersAt counts meetings and users over the fleet at hh:mm.
func usersAt(m *Model, hhmm string) (meetings, users int) {
	return Totals(m.MeetingsAt(at(hhmm), 0))
}

func TestModelSchoolDay(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		m := NewModel(seed, 6)
		for _, night := range []string{"00:00", "02:30", "05:00", "07:30", "21:30", "23:59"} {
			if n, u := usersAt(m, night); n != 0 || u != 0 {
				t.Errorf("seed %d: %d meetings, %d users at %s", seed, n, u, night)
			}
		}
		_, morning := usersAt(m, "09:25")
		_, noon := usersAt(m, "12:25")
		_, afternoon := usersAt(m, "14:25")
		if !(morning > noon && noon > afternoon && afternoon > 0) {
			t.Errorf("seed %d: users 09:25 %d, 12:25 %d, 14:25 %d: want a morning peak", seed, morning, noon, afternoon)
		}
		if morning < 6*40 || morning > 6*200 {
			t.Errorf("seed %d: %d users at 09:25 on 6 servers", seed, morning)
		}
		// Saturday: nothing.
		sat := NewModel(seed, 6).MeetingsAt(at("10:00").AddDate(0, 0, 4), 0)
		if n, _ := Totals(sat); n != 0 {
			t.Errorf("seed %d: %d meetings on Saturday", seed, n)
		}
	}
}

func TestModelLessons(t *testing.T) {
	m := NewModel(1, 6)
	var breakouts, listen, video, voice int
	starts := map[int]int{}
	for _, l := range m.day(DefaultStart) {
		// Lessons start on the hour: opened at most 7 minutes before.
		if l.context != "AG" && l.open.Hour() < 16 {
			next := l.open.Truncate(time.Hour).Add(time.Hour)
			if l.open.Minute() == 0 {
				next = l.open
			}
			if next.Sub(l.open) > 7*time.Minute {
				t.Errorf("%s opens at %s", l.name, l.open.Format("15:04"))
			}
			starts[next.Hour()]++
		}
		if l.host < 0 || l.host >= 6 {
			t.Fatalf("host %d", l.host)
		}
	}
	for h := 8; h <= 15; h++ {
		if starts[h] == 0 {
			t.Errorf("no lesson starts at %d:00", h)
		}
	}
	if starts[9] <= starts[13] {
		t.Errorf("lessons at 9:00 %d, at 13:00 %d", starts[9], starts[13])
	}
	perHost := make([]int, 6)
	for min := 8 * 60; min < 16*60; min += 5 {
		tm := DefaultStart.Truncate(24 * time.Hour).Add(time.Duration(min) * time.Minute)
		for h, ms := range m.MeetingsAt(tm, 0) {
			byInternal := map[string]sim.Meeting{}
			seen := map[string]bool{}
			for _, mt := range ms {
				byInternal[mt.InternalID] = mt
				perHost[h] += len(mt.Attendees)
				for _, a := range mt.Attendees {
					if seen[a.UserID] {
						t.Fatalf("%s: user %s twice", tm.Format("15:04"), a.UserID)
					}
					seen[a.UserID] = true
					if a.IsListeningOnly {
						listen++
					}
					if a.HasVideo {
						video++
					}
					if a.HasJoinedVoice {
						voice++
					}
				}
			}
			for _, mt := range ms {
				if !mt.IsBreakout {
					continue
				}
				breakouts++
				p, ok := byInternal[mt.ParentMeetingID]
				if !ok || !containsString(p.BreakoutRooms, mt.InternalID) {
					t.Fatalf("breakout %s has no parent listing it", mt.Name)
				}
			}
		}
	}
	if breakouts == 0 || listen == 0 || video == 0 || voice == 0 {
		t.Errorf("breakouts %d, listen-only %d, video %d, voice %d: want some of each", breakouts, listen, video, voice)
	}
	if !(video < voice && listen < voice) {
		t.Errorf("video %d and listen-only %d should be a minority (voice %d)", video, listen, voice)
	}
	for h, n := range perHost {
		if n == 0 {
			t.Errorf("server %d never has users", h)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestClock(t *testing.T) {
	real0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now := real0
	c := &Clock{Start: DefaultStart, RealStart: real0, Speed: 60, Real: func() time.Time { return now }}
	if !c.Now().Equal(DefaultStart) {
		t.Fatal(c.Now())
	}
	now = now.Add(10 * time.Second)
	if got := c.Now().Sub(DefaultStart); got != 10*time.Minute {
		t.Errorf("10s at speed 60: %s", got)
	}
}
