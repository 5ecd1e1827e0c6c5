package fleet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
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
				case CheckScalelite:
					// stop cordons it; Scalelite's poller then sees it
					// offline: both are the stopped state. A server
					// Scalelite does not know is still a problem.
					expected = c.Status == CheckWarning && !strings.HasPrefix(c.Message, scaleliteNotRegistered)
				default:
					// the SSH checks of a powered-off server did not run
					expected = d.Rule.Power && sshDown && c.Status == CheckUnknown
				}
				if expected {
					c.Status, c.Message, c.Value, c.Fix = CheckOK, why, nil, Fix{}
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

// observeSSHDelay is how long Observe waits for the API before it logs in
// over SSH as well.
const observeSSHDelay = 250 * time.Millisecond

// Observation is what one server reports about BBB, read without changing
// anything.
type Observation struct {
	Server Server
	State  schedule.Observed
	// Detail is the API's or SSH's answer in a few words.
	Detail string
}

// Observe reads, in parallel and bounded by the run's timeout, whether BBB
// is up on each server: the API root call (as check's api check makes it)
// and, when the API fails or is slow to answer, an SSH login (the run's
// connection, reused by later work) to tell a stopped BBB from a machine
// that does not answer. A server whose API answers costs no SSH login.
func (e *Env) Observe(ctx context.Context, servers []Server) []Observation {
	res := Run(ctx, servers, e.Opts, func(ctx context.Context, s Server) (Observation, error) {
		var apiErr, sshErr error
		apiMsg := ""
		var wg sync.WaitGroup
		apiDone := make(chan struct{})
		wg.Go(func() {
			defer close(apiDone)
			c, err := e.APIUnsigned(s)
			if err == nil {
				var info *bbb.RootInfo
				if info, err = c.Root(ctx); err == nil {
					apiMsg = fmt.Sprintf("API %s in %d ms", info.ReturnCode, info.Latency.Milliseconds())
					if info.BBBVersion != "" {
						apiMsg += ", BBB " + info.BBBVersion
					}
				}
			}
			apiErr = err
		})
		// SSH only tells down from unreachable when the API does not
		// answer: it is asked when the API failed, or has not answered
		// within observeSSHDelay (so a machine that is off costs one
		// timeout, not two in a row).
		t := time.NewTimer(observeSSHDelay)
		select {
		case <-apiDone:
		case <-t.C:
		}
		t.Stop()
		select {
		case <-apiDone:
			if apiErr != nil && LoadState(apiErr) != StateError {
				_, sshErr = e.SSH(ctx, s)
			}
		default:
			wg.Go(func() { _, sshErr = e.SSH(ctx, s) })
		}
		wg.Wait()
		o := Classify(apiErr, sshErr, s.Name)
		o.Server = s
		if o.State == schedule.ObservedUp {
			o.Detail = apiMsg
		}
		return o, nil
	})
	out := make([]Observation, len(res))
	for i, r := range res {
		out[i] = r.Value
		out[i].Server = r.Server
		if r.Err != nil { // the runner gave up on it (timeout, Ctrl-C)
			out[i].State, out[i].Detail = schedule.ObservedUnreachable, rowMessage(r.Err, r.Server.Name)
		}
	}
	return out
}

// Classify turns the answers of the API root call and of an SSH login
// into a server's state: up when the API answers; unknown when it answers
// wrongly (TLS, not BBB: a server that runs but needs an administrator);
// down when the API does not answer but SSH does; unreachable when
// neither does.
func Classify(apiErr, sshErr error, name string) Observation {
	var o Observation
	switch {
	case apiErr == nil:
		o.State = schedule.ObservedUp
	case LoadState(apiErr) == StateError:
		o.State, o.Detail = schedule.ObservedUnknown, "API answers wrongly: "+rowMessage(apiErr, name)
	case sshErr == nil:
		o.State, o.Detail = schedule.ObservedDown, "SSH login works; API: "+rowMessage(apiErr, name)
	default:
		o.State = schedule.ObservedUnreachable
		o.Detail = "SSH: " + rowMessage(sshErr, name) + "; API: " + rowMessage(apiErr, name)
	}
	return o
}
