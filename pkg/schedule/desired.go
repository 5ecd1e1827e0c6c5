package schedule

import (
	"fmt"
	"strings"
	"time"
)

// LookBack bounds how far back the most recent firing of a rule is
// searched (robfig/cron has no Prev: it is computed by stepping forward
// from T minus a window). Two years and two days: a rule that fires once a
// year is found even when last year's firing fell on a holiday and was
// skipped. A rule that has not fired (unskipped) within LookBack does not
// decide a server's state.
const LookBack = (2*366 + 2) * 24 * time.Hour

// windows are the growing look-back windows tried in turn, so that a rule
// firing every few minutes is found in the first and a yearly one in the
// last without stepping through a year of minutes.
var windows = []time.Duration{2 * time.Hour, 26 * time.Hour, 8 * 24 * time.Hour, 40 * 24 * time.Hour, 400 * 24 * time.Hour, LookBack}

// maxSkippedKept bounds the skipped firings kept per answer (a rule firing
// every minute through the summer holidays skips tens of thousands); the
// count is always complete.
const maxSkippedKept = 20

// Prev is the most recent firing of a rule at or before a time.
type Prev struct {
	// Firing is the most recent firing that was not skipped (ok false:
	// none within LookBack).
	Firing Firing
	OK     bool
	// Skipped are the skipped firings after it, up to the time asked
	// about (the most recent maxSkippedKept), SkippedCount all of them.
	Skipped      []Firing
	SkippedCount int
}

// Prev returns the most recent non-skipped firing of r at or before t and
// the holiday firings skipped since.
func (s *Schedule) Prev(r *Rule, t time.Time) Prev {
	var p Prev
	for _, w := range windows {
		p = Prev{}
		from := t.Add(-w)
		r.Spec.each(from, t, func(fi firing) bool {
			f := s.firing(r, fi)
			if f.Skipped {
				p.SkippedCount++
				p.Skipped = append(p.Skipped, f)
				if len(p.Skipped) > 2*maxSkippedKept {
					p.Skipped = append(p.Skipped[:0], p.Skipped[len(p.Skipped)-maxSkippedKept:]...)
				}
				return true
			}
			p.Firing, p.OK = f, true
			p.Skipped, p.SkippedCount = p.Skipped[:0], 0
			return true
		})
		if p.OK {
			break
		}
	}
	if len(p.Skipped) > maxSkippedKept {
		p.Skipped = p.Skipped[len(p.Skipped)-maxSkippedKept:]
	}
	return p
}

// Desired is the state a server should be in at a time, and why.
type Desired struct {
	Server string
	// At is the time asked about.
	At time.Time
	// Targeted is false when no rule targets the server: it has no
	// desired state and is never touched.
	Targeted bool
	// OK is true when a rule targeting the server has fired (unskipped)
	// within LookBack; then State, Action, Rule and Since are set.
	OK     bool
	State  State
	Action Action
	Rule   *Rule
	Since  time.Time
	// Skipped are holiday firings of the server's rules after Since, up
	// to At (the most recent few), SkippedCount all of them.
	Skipped      []Firing
	SkippedCount int
	// Overridden are rules that fired at Since too for this server, with
	// another action, and lost to Rule: the rule listed later wins.
	Overridden []*Rule
}

// Desired returns the desired state of one server at t: the action of the
// most recent non-skipped firing at or before t among the rules that
// target it; at the same instant the rule listed later in the config wins.
func (s *Schedule) Desired(server string, t time.Time) Desired {
	return s.desired(server, t, s.prevs(t))
}

// DesiredAll returns the desired state of each server at t, computing each
// rule's most recent firing once.
func (s *Schedule) DesiredAll(servers []string, t time.Time) []Desired {
	prevs := s.prevs(t)
	out := make([]Desired, len(servers))
	for i, name := range servers {
		out[i] = s.desired(name, t, prevs)
	}
	return out
}

func (s *Schedule) prevs(t time.Time) []Prev {
	out := make([]Prev, len(s.Rules))
	for i, r := range s.Rules {
		out[i] = s.Prev(r, t)
	}
	return out
}

func (s *Schedule) desired(server string, t time.Time, prevs []Prev) Desired {
	d := Desired{Server: server, At: t}
	var win *Prev
	for i, r := range s.Rules {
		if !r.Targeted(server) {
			continue
		}
		d.Targeted = true
		p := &prevs[i]
		if !p.OK {
			continue
		}
		// Later or equal time: a rule listed later wins a tie.
		if win == nil || !p.Firing.Time.Before(win.Firing.Time) {
			win = p
		}
	}
	if win == nil {
		// Nothing fired: still report what was skipped.
		for i, r := range s.Rules {
			if r.Targeted(server) {
				d.addSkipped(s, r, prevs[i], time.Time{})
			}
		}
		d.trim()
		return d
	}
	d.OK = true
	d.Rule = win.Firing.Rule
	d.Action, d.State, d.Since = d.Rule.Action, d.Rule.Action.State(), win.Firing.Time
	for i, r := range s.Rules {
		if !r.Targeted(server) {
			continue
		}
		p := prevs[i]
		if p.OK && r != d.Rule && p.Firing.Time.Equal(d.Since) && r.Action != d.Action {
			d.Overridden = append(d.Overridden, r)
		}
		d.addSkipped(s, r, p, d.Since)
	}
	d.trim()
	return d
}

// addSkipped adds the rule's skipped firings after since (the zero time:
// all of them).
func (d *Desired) addSkipped(s *Schedule, r *Rule, p Prev, since time.Time) {
	n := 0
	for _, f := range p.Skipped {
		if f.Time.After(since) {
			d.Skipped = append(d.Skipped, f)
			n++
		}
	}
	switch {
	case p.SkippedCount == len(p.Skipped) || (p.OK && !p.Firing.Time.Before(since)) || since.IsZero():
		// complete, or every skipped firing is after since
		if n == len(p.Skipped) {
			n = p.SkippedCount
		}
	default:
		// the kept list was cut: count again from since
		n = 0
		r.Spec.each(since, d.At, func(fi firing) bool {
			if s.firing(r, fi).Skipped {
				n++
			}
			return true
		})
	}
	d.SkippedCount += n
}

func (d *Desired) trim() {
	// chronological, the most recent maxSkippedKept
	sortFirings(d.Skipped)
	if len(d.Skipped) > maxSkippedKept {
		d.Skipped = d.Skipped[len(d.Skipped)-maxSkippedKept:]
	}
	if d.SkippedCount < len(d.Skipped) {
		d.SkippedCount = len(d.Skipped)
	}
}

func sortFirings(fs []Firing) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && (fs[j].Time.Before(fs[j-1].Time) || fs[j].Time.Equal(fs[j-1].Time) && fs[j].Rule.Index < fs[j-1].Rule.Index); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// Verb is how the state reads in a sentence: "started", "stopped",
// "restarted".
func (a Action) Verb() string {
	switch a {
	case Start:
		return "started"
	case Stop:
		return "stopped"
	case Restart:
		return "restarted"
	}
	return string(a)
}

// Why says in one line why the server should be in its state, e.g.
// "stopped by schedule `shutdown` since Mon 22:00 CET; skipped: `warm-up`
// Tue 06:30 (holiday 2026-12-21/2027-01-06)". Times are in the rule's zone;
// the day is left out when the firing is less than a day before At.
func (d Desired) Why() string {
	if !d.Targeted {
		return "no rule targets this server"
	}
	var b strings.Builder
	if !d.OK {
		fmt.Fprintf(&b, "no rule targeting it fired within %d days", int(LookBack.Hours()/24))
	} else {
		fmt.Fprintf(&b, "%s by schedule `%s` since %s", d.Action.Verb(), d.Rule.Name, d.when(d.Since, d.Rule))
		if len(d.Overridden) > 0 {
			var names []string
			for _, r := range d.Overridden {
				names = append(names, fmt.Sprintf("`%s` (%s)", r.Name, r.Action))
			}
			fmt.Fprintf(&b, ", overriding %s at the same minute (the rule listed later wins)", strings.Join(names, ", "))
		}
	}
	if d.SkippedCount > 0 {
		last := d.Skipped[len(d.Skipped)-1]
		fmt.Fprintf(&b, "; skipped %d holiday firing", d.SkippedCount)
		if d.SkippedCount > 1 {
			b.WriteString("s")
		}
		fmt.Fprintf(&b, ", the last `%s` %s (holiday %s)", last.Rule.Name, d.when(last.Time, last.Rule), last.Holiday)
	}
	return b.String()
}

func (d Desired) when(t time.Time, r *Rule) string {
	l := t.In(r.Spec.Zone)
	if d.At.Sub(t) < 20*time.Hour && d.At.In(r.Spec.Zone).Day() == l.Day() {
		return l.Format("15:04")
	}
	if d.At.Sub(t) < 6*24*time.Hour {
		return l.Format("Mon 15:04")
	}
	return l.Format("Mon 2006-01-02 15:04")
}
