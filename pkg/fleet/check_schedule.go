package fleet

import (
	"context"
	"strings"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/schedule"
)

// ApplySchedule makes the check results know the schedule: a server whose
// desired state at now is down and whose BBB does not answer is OK, its
// failed checks saying "stopped by schedule `shutdown` since 22:00" (when
// its rule powers it off, no SSH answer is expected either). A server that
// should be up and is not stays CRITICAL, and its messages say which rule
// wants it up. Servers no rule targets are left as they are.
func ApplySchedule(results []*ServerCheck, sched *schedule.Schedule, now time.Time) {
	if sched == nil || len(sched.Rules) == 0 {
		return
	}
	names := make([]string, 0, len(results))
	for _, r := range results {
		if r != nil {
			names = append(names, r.Server.Name)
		}
	}
	desired := map[string]schedule.Desired{}
	for _, d := range sched.DesiredAll(names, now) {
		desired[d.Server] = d
	}
	for _, r := range results {
		if r == nil {
			continue
		}
		d := desired[r.Server.Name]
		if !d.OK {
			continue
		}
		api := r.Get(CheckAPI)
		apiDown := api != nil && api.Status != CheckOK
		switch d.State {
		case schedule.Down:
			if !apiDown {
				continue // up although the schedule stopped it: as any up server
			}
			why := d.Why()
			ssh := r.Get(CheckSSH)
			sshDown := ssh != nil && ssh.Status != CheckOK
			for i := range r.Checks {
				c := &r.Checks[i]
				if c.Status == CheckOK {
					continue
				}
				expected := false
				switch c.Name {
				case CheckAPI, CheckServices, CheckSecret:
					expected = true
				case CheckCertificate:
					// nginx stopped: no handshake; an expired certificate
					// is still a problem.
					expected = strings.HasPrefix(c.Message, "TLS handshake with")
				case CheckSSH:
					expected = d.Rule.Power
				default:
					// the SSH checks of a powered-off server did not run
					expected = d.Rule.Power && sshDown && c.Status == CheckUnknown
				}
				if expected {
					c.Status, c.Message, c.Value = CheckOK, why, nil
				}
			}
			r.summarize()
		case schedule.Up:
			if !apiDown {
				continue
			}
			for i := range r.Checks {
				c := &r.Checks[i]
				if c.Status == CheckCritical && (c.Name == CheckAPI || c.Name == CheckServices || c.Name == CheckSSH) {
					c.Message += " (should be up: " + d.Why() + ")"
				}
			}
		}
	}
}

// Observation is what one server reports about BBB, read without changing
// anything.
type Observation struct {
	Server Server
	State  schedule.Observed
	// Detail is the API's or SSH's answer in a few words.
	Detail string
}

// ObserveChecks are the checks whose results say whether BBB is up: an
// SSH login and the API root call, read in parallel as `check` reads them.
var ObserveChecks = []string{CheckSSH, CheckAPI}

// Observe reads whether BBB is up on each server (the API root call
// answers), down (the machine answers SSH, the API does not) or
// unreachable, in parallel and bounded by the run's timeout.
func (e *Env) Observe(ctx context.Context, servers []Server) []Observation {
	res := e.Check(ctx, servers, CheckOptions{Checks: ObserveChecks, IgnoreSchedule: true})
	out := make([]Observation, len(res))
	for i, sc := range res {
		out[i] = Observe(sc)
	}
	return out
}

// Observe turns a server's ssh and api check results into its state.
func Observe(sc *ServerCheck) Observation {
	o := Observation{Server: sc.Server}
	api, ssh := sc.Get(CheckAPI), sc.Get(CheckSSH)
	switch {
	case api != nil && api.Status == CheckOK:
		o.State, o.Detail = schedule.ObservedUp, api.Message
	case ssh != nil && ssh.Status == CheckOK:
		o.State = schedule.ObservedDown
		if api != nil {
			o.Detail = "API: " + api.Message
		}
	default:
		o.State = schedule.ObservedUnreachable
		var parts []string
		if ssh != nil {
			parts = append(parts, "SSH: "+ssh.Message)
		}
		if api != nil {
			parts = append(parts, "API: "+api.Message)
		}
		o.Detail = strings.Join(parts, "; ")
	}
	return o
}
