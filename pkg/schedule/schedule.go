package schedule

import (
	"fmt"
	"sort"
	"time"
)

// Action is what a rule does to its servers when it fires.
type Action string

// The actions of a rule.
const (
	Start   Action = "start"
	Stop    Action = "stop"
	Restart Action = "restart"
)

// ParseAction reads start, stop or restart.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Start, Stop, Restart:
		return a, nil
	}
	return "", fmt.Errorf("action %q is not one of start, stop, restart", s)
}

// State is the state a server should be in: BBB running or not.
type State string

// Desired states.
const (
	Up   State = "up"
	Down State = "down"
)

// State is the state the action leaves a server in (restart: up).
func (a Action) State() State {
	if a == Stop {
		return Down
	}
	return Up
}

// Rule is one schedule rule with its targets resolved to server names.
type Rule struct {
	Name   string
	Spec   *Spec
	Action Action
	// Targets are the target words as written; Servers what they select.
	Targets []string
	Servers []string
	// SkipHolidays: a firing on a holiday (its date in the rule's zone) is
	// skipped.
	SkipHolidays bool
	// Drain, Message and Power are for the start/stop operations.
	Drain   time.Duration
	Message string
	Power   bool
	// Index is the rule's position in the config: at the same instant, a
	// later rule wins (see Desired).
	Index int
	// Line is where the rule is defined in the config (0: unknown).
	Line int

	targets map[string]bool
}

// Targeted reports whether the rule targets server. It only reads the
// rule: a Schedule may be used from several goroutines at once.
func (r *Rule) Targeted(server string) bool {
	if r.targets != nil {
		return r.targets[server]
	}
	for _, s := range r.Servers {
		if s == server {
			return true
		}
	}
	return false
}

// Schedule is every rule of a fleet plus its holidays.
type Schedule struct {
	Rules    []*Rule
	Holidays *Holidays
}

// New returns a schedule; rules keep their order (their Index is set).
func New(rules []*Rule, holidays []Holiday) *Schedule {
	for i, r := range rules {
		r.Index = i
		r.targets = make(map[string]bool, len(r.Servers))
		for _, s := range r.Servers {
			r.targets[s] = true
		}
	}
	return &Schedule{Rules: rules, Holidays: NewHolidays(holidays)}
}

// Firing is one firing of a rule.
type Firing struct {
	Rule *Rule
	// Time is the instant it fires; Wall its wall clock in the rule's zone.
	Time time.Time
	// Skipped is set when the firing falls on a holiday and the rule
	// skips holidays; Holiday is the holiday it falls on (set even when the
	// rule does not skip holidays).
	Skipped   bool
	OnHoliday bool
	Holiday   Holiday
	// OverriddenBy, in Firings, is a later rule that fires at the same
	// instant for a server this one targets with another action.
	OverriddenBy []*Rule
}

// Local returns the firing time in its rule's zone.
func (f Firing) Local() time.Time { return f.Time.In(f.Rule.Spec.Zone) }

func (s *Schedule) firing(r *Rule, fi firing) Firing {
	f := Firing{Rule: r, Time: fi.at}
	if h, ok := s.Holidays.On(fi.wall); ok {
		f.OnHoliday, f.Holiday = true, h
		f.Skipped = r.SkipHolidays
	}
	return f
}

// RuleFirings returns the firings of one rule in (from, to], at most max
// of them (0: no limit).
func (s *Schedule) RuleFirings(r *Rule, from, to time.Time, max int) []Firing {
	var out []Firing
	r.Spec.each(from, to, func(fi firing) bool {
		out = append(out, s.firing(r, fi))
		return max <= 0 || len(out) < max
	})
	return out
}

// NextFirings returns the next n firings of r after t (holidays included,
// marked as skipped), looking at most LookBack ahead.
func (s *Schedule) NextFirings(r *Rule, t time.Time, n int) []Firing {
	return s.RuleFirings(r, t, t.Add(LookBack), n)
}

// Firings returns the firings of every rule in (from, to], in time order
// (rules in config order at the same instant). A firing that a later rule
// overrides for some server (same instant, another action) names it.
func (s *Schedule) Firings(from, to time.Time) []Firing {
	var out []Firing
	for _, r := range s.Rules {
		r.Spec.each(from, to, func(fi firing) bool {
			out = append(out, s.firing(r, fi))
			return true
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Rule.Index < out[j].Rule.Index
	})
	for i := range out {
		for j := i + 1; j < len(out) && out[j].Time.Equal(out[i].Time); j++ {
			if conflicts(out[i], out[j]) {
				out[i].OverriddenBy = append(out[i].OverriddenBy, out[j].Rule)
			}
		}
	}
	return out
}

// conflicts reports whether b (a later rule at the same instant) overrides
// a for at least one server: both fire (not skipped) with different actions.
func conflicts(a, b Firing) bool {
	if a.Skipped || b.Skipped || a.Rule.Action == b.Rule.Action {
		return false
	}
	for _, srv := range a.Rule.Servers {
		if b.Rule.Targeted(srv) {
			return true
		}
	}
	return false
}

// NewRule parses spec (in zone unless it names one) and returns a rule that
// skips holidays, for servers.
func NewRule(name, spec string, zone *time.Location, action Action, servers ...string) (*Rule, error) {
	sp, err := ParseSpecIn(spec, zone)
	if err != nil {
		return nil, err
	}
	return &Rule{Name: name, Spec: sp, Action: action, Servers: servers, Targets: servers, SkipHolidays: true}, nil
}
