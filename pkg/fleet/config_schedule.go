package fleet

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/schedule"
)

// schedules validates timezone, schedules, holidays and holidays_file and
// builds cfg.Schedule (after the servers, whose names and tags the
// targets select).
func (v *validator) schedules(cfg *Config, fc *fileConfig) {
	zone := time.Local
	if fc.Timezone != "" {
		loc, err := schedule.LoadZone(fc.Timezone)
		if err != nil {
			v.errf(v.line("timezone"), "timezone: %v", err)
		} else {
			zone, cfg.Timezone = loc, loc
		}
	}
	names := map[string]int{}
	var rules []*schedule.Rule
	for i := range cfg.Schedules {
		sc := &cfg.Schedules[i]
		sc.Line = v.line("schedules", i)
		ok := true
		if sc.Name == "" {
			v.errf(sc.Line, "schedule %d has no name", i+1)
			ok = false
		} else if prev, dup := names[sc.Name]; dup {
			v.errf(v.line("schedules", i, "name"), "duplicate schedule name %q (first defined at line %d)", sc.Name, prev)
		} else {
			names[sc.Name] = v.line("schedules", i, "name")
		}
		spec, err := schedule.ParseSpecIn(sc.Cron, zone)
		if err != nil {
			v.errf(v.line("schedules", i, "cron"), "schedule %q: %v", sc.Name, err)
			ok = false
		}
		action, err := schedule.ParseAction(sc.Action)
		if err != nil {
			v.errf(v.line("schedules", i, "action"), "schedule %q: %v", sc.Name, err)
			ok = false
		}
		if len(sc.Targets) == 0 && !v.wrongKind("schedules", i, "targets") {
			v.errf(sc.Line, "schedule %q has no targets (server names, @tag or all)", sc.Name)
			ok = false
		}
		var servers []string
		for j, t := range sc.Targets {
			sel, err := cfg.Select([]string{t})
			if err != nil {
				v.errf(v.line("schedules", i, "targets", j), "schedule %q: %v", sc.Name, err)
				ok = false
				continue
			}
			for _, s := range sel {
				servers = append(servers, s.Name)
			}
		}
		if action == schedule.Start && sc.Drain > 0 {
			v.errf(v.line("schedules", i, "drain"), "schedule %q: drain is for stop and restart, not start", sc.Name)
		}
		if !ok {
			continue
		}
		skip := true
		if sc.SkipHolidays != nil {
			skip = *sc.SkipHolidays
		}
		rules = append(rules, &schedule.Rule{
			Name: sc.Name, Spec: spec, Action: action, Targets: sc.Targets, Servers: dedupe(servers),
			SkipHolidays: skip, Drain: sc.Drain.D(), Message: sc.Message, Power: sc.Power, Line: sc.Line,
		})
	}
	for i, h := range fc.Holidays {
		hd, err := schedule.ParseHoliday(h)
		if err != nil {
			v.errf(v.line("holidays", i), "%v", err)
			continue
		}
		cfg.Holidays = append(cfg.Holidays, hd)
	}
	if fc.HolidaysFile != "" {
		cfg.HolidaysFile = v.resolve(fc.HolidaysFile)
		at := fmt.Sprintf("holidays_file at %s:%d", v.file, v.line("holidays_file"))
		data, err := os.ReadFile(cfg.HolidaysFile)
		switch {
		case err != nil:
			why := err
			var pe *os.PathError
			if errors.As(err, &pe) {
				why = pe.Err
			}
			v.errf(v.line("holidays_file"), "holidays_file %s cannot be read: %v", cfg.HolidaysFile, why)
		default:
			hs, err := schedule.ParseICS(cfg.HolidaysFile, data)
			var ie *schedule.ICSError
			switch {
			case errors.As(err, &ie):
				v.errs = append(v.errs, &ConfigError{File: ie.File, Line: ie.Line, Msg: ie.Msg + " (" + at + ")"})
			case err != nil:
				v.errf(v.line("holidays_file"), "holidays_file %s: %v", cfg.HolidaysFile, err)
			default:
				cfg.Holidays = append(cfg.Holidays, hs...)
			}
		}
	}
	if len(rules) > 0 || len(cfg.Holidays) > 0 {
		cfg.Schedule = schedule.New(rules, cfg.Holidays)
	}
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Zone is the zone of schedules without CRON_TZ= and of times given on
// the command line: timezone:, else the machine's local zone.
func (c *Config) Zone() *time.Location {
	if c.Timezone != nil {
		return c.Timezone
	}
	return time.Local
}
