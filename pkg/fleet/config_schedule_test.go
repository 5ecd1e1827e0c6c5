package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigSchedules(t *testing.T) {
	dir := t.TempDir()
	ics := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261221\r\nDTEND;VALUE=DATE:20270107\r\nSUMMARY:Weihnachtsferien\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if err := os.WriteFile(filepath.Join(dir, "ferien.ics"), []byte(ics), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(filepath.Join(dir, "fleet.yaml"), []byte(scheduleYAML+"holidays: [2027-05-14]\nholidays_file: ferien.ics\n"+
		"  # keep\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Schedule
	if s == nil || len(s.Rules) != 3 || cfg.Zone().String() != "Europe/Berlin" {
		t.Fatalf("schedule %+v zone %s", s, cfg.Zone())
	}
	w := s.Rules[0]
	if strings.Join(w.Servers, ",") != "bbb1,bbb2,bbb4" || !w.SkipHolidays || w.Spec.Zone.String() != "Europe/Berlin" || w.Line != 9 {
		t.Errorf("warm-up: %+v", w)
	}
	if s.Rules[1].Drain.String() != "45m0s" || !s.Rules[2].Power {
		t.Errorf("drain/power: %+v %+v", s.Rules[1], s.Rules[2])
	}
	if len(cfg.Holidays) != 2 || cfg.Holidays[1].Text != "Weihnachtsferien" || cfg.HolidaysFile != filepath.Join(dir, "ferien.ics") {
		t.Errorf("holidays %+v from %s", cfg.Holidays, cfg.HolidaysFile)
	}
	// skip_holidays: false is kept
	cfg, err = Parse("f.yaml", []byte("servers: [{name: a, host: a.example.org}]\nschedules:\n  - {name: x, cron: '0 6 * * *', action: start, targets: [all], skip_holidays: false}\n"))
	if err != nil || cfg.Schedule.Rules[0].SkipHolidays {
		t.Fatalf("%v %+v", err, cfg)
	}
	// no schedules: no Schedule; the zone is the machine's
	cfg, err = Parse("f.yaml", []byte("servers: [{name: a, host: a.example.org}]\n"))
	if err != nil || cfg.Schedule != nil || cfg.Zone() == nil {
		t.Fatalf("%v %+v", err, cfg)
	}
}

// targets: "@nope" (a string, not a list) is one error, not also "has no
// targets"; an empty list still has no targets.
func TestConfigScheduleTargetsNotAList(t *testing.T) {
	_, err := Parse("f.yaml", []byte("servers: [{name: a, host: a.example.org}]\nschedules:\n  - name: s1\n    cron: '0 6 * * *'\n    action: start\n    targets: \"@nope\"\n"))
	var ces ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 1 || !strings.Contains(ces[0].Error(), `f.yaml:6: expected a list, got a string ("@nope")`) {
		t.Errorf("got %v", err)
	}
	_, err = Parse("f.yaml", []byte("servers: [{name: a, host: a.example.org}]\nschedules:\n  - {name: s1, cron: '0 6 * * *', action: start, targets: []}\n"))
	if err == nil || !strings.Contains(err.Error(), `schedule "s1" has no targets`) {
		t.Errorf("empty list: %v", err)
	}
}
