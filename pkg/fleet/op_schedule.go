package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/schedule"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// This file is `schedule apply` on the operations seam: each targeted
// server's desired state at a time (schedule.DesiredAll), one read-only
// look at the servers (Observe: the API root call and an SSH login),
// schedule.Reconcile, and, for the servers that are not as they should be,
// the same start/stop/restart plans and Apply as the commands, with the
// deciding rule's drain, message and power.

// ScheduleOptions tune a schedule apply.
type ScheduleOptions struct {
	// StartWait bounds each start (default DefaultStartWait).
	StartWait time.Duration
}

// ScheduleServer is one server a rule decides, in a schedule apply.
type ScheduleServer struct {
	Server   Server
	Desired  schedule.Desired
	Observed Observation
	Change   schedule.Change
	// Action is the operation that reconciles the server: "start",
	// "stop", "restart", or "" when nothing is to be done (or it cannot
	// be reconciled: Change.Failed).
	Action string
	// Plan is the operation's plan ("" Action: nil).
	Plan *Plan
	// Note says why apply decided differently from Reconcile (a restart
	// not needed because BBB started after the firing).
	Note string
}

// ScheduleRun is one schedule apply.
type ScheduleRun struct {
	At time.Time
	// Servers are the servers a rule decides, in config order.
	Servers []*ScheduleServer
	// Undecided are the servers asked about that no rule decides (none
	// targets them, or none fired within schedule.LookBack): never touched.
	Undecided []schedule.Desired

	env *Env
	ops map[string]*Operation
}

// Changes counts the servers apply will act on.
func (r *ScheduleRun) Changes() int {
	n := 0
	for _, s := range r.Servers {
		if s.Plan != nil {
			n++
		}
	}
	return n
}

// Plans are the plans apply will run, in config order.
func (r *ScheduleRun) Plans() []*Plan {
	var out []*Plan
	for _, s := range r.Servers {
		if s.Plan != nil {
			out = append(out, s.Plan)
		}
	}
	return out
}

// PlanSchedule works out what reconciling servers with the schedule at
// `at` takes. It reads the servers a rule decides (read-only: Observe)
// and, only for those not in their desired state, probes and plans their
// operation as start/stop/restart would. Nothing is changed.
func (e *Env) PlanSchedule(ctx context.Context, s *schedule.Schedule, servers []Server, at time.Time, so ScheduleOptions) *ScheduleRun {
	run := &ScheduleRun{At: at, env: e, ops: map[string]*Operation{}}
	names := make([]string, len(servers))
	for i, sv := range servers {
		names[i] = sv.Name
	}
	var decided []Server
	for i, d := range s.DesiredAll(names, at) {
		if !d.OK {
			run.Undecided = append(run.Undecided, d)
			continue
		}
		decided = append(decided, servers[i])
		run.Servers = append(run.Servers, &ScheduleServer{Server: servers[i], Desired: d})
	}
	if len(decided) == 0 {
		return run
	}
	obs := e.Observe(ctx, decided)
	if ctx.Err() != nil {
		for _, ss := range run.Servers {
			ss.Observed = Observation{Server: ss.Server, State: schedule.ObservedNotRead, Detail: "interrupted"}
			ss.Change = schedule.Change{Failed: true, Reason: "interrupted before it was read"}
		}
		return run
	}
	// Group the servers to change by operation and deciding rule (each
	// rule has its own drain, message and power).
	type group struct {
		action string
		rule   *schedule.Rule
		srv    []*ScheduleServer
	}
	var groups []*group
	find := func(action string, r *schedule.Rule) *group {
		for _, g := range groups {
			if g.action == action && g.rule == r {
				return g
			}
		}
		g := &group{action: action, rule: r}
		groups = append(groups, g)
		return g
	}
	for i, ss := range run.Servers {
		ss.Observed = obs[i]
		ss.Change = schedule.Reconcile(ss.Desired, obs[i].State)
		if ss.Change.Failed || len(ss.Change.Steps) == 0 {
			continue
		}
		switch ss.Change.Steps[0] {
		case "stop", "power-off":
			ss.Action = "stop"
		case "start", "power-on":
			ss.Action = "start"
		case "restart":
			ss.Action = "restart"
		default:
			continue
		}
		g := find(ss.Action, ss.Desired.Rule)
		g.srv = append(g.srv, ss)
	}
	// Restart rules: only when BBB has not started since the firing.
	for _, g := range groups {
		if g.action != "restart" {
			continue
		}
		kept := g.srv[:0]
		for _, ss := range g.srv {
			started, err := e.bbbStartedAt(ctx, ss.Server)
			switch {
			case err != nil:
				ss.Action, ss.Change = "", schedule.Change{Failed: true,
					Reason: fmt.Sprintf("cannot tell when BBB started (%v): not restarted", trimPrefixErr(err, ss.Server.Name))}
				continue
			case !started.Before(ss.Desired.Since):
				ss.Action = ""
				ss.Change = schedule.Change{Reason: "up, BBB started after the firing"}
				ss.Note = fmt.Sprintf("BBB started %s, after the firing at %s: no restart",
					started.In(ss.Desired.Rule.Spec.Zone).Format("Mon 15:04:05"), ss.Desired.Since.In(ss.Desired.Rule.Spec.Zone).Format("Mon 15:04"))
				continue
			}
			kept = append(kept, ss)
		}
		g.srv = kept
	}
	wait := so.StartWait
	if wait <= 0 {
		wait = DefaultStartWait
	}
	for _, g := range groups {
		if len(g.srv) == 0 {
			continue
		}
		op := run.ops[g.action]
		if op == nil {
			op = e.NewOperation(g.action)
			if g.action == "restart" {
				// Rolling, as `restart`: one server at a time; the rest
				// are left untouched when one fails.
				op.Parallel, op.StopOnFailure = 1, true
			}
			run.ops[g.action] = op
		}
		r := g.rule
		stop := StopOptions{Drain: r.Drain > 0, DrainTimeout: r.Drain, Message: r.Message, MessageSet: r.Message != "", PowerOff: r.Power}
		start := StartOptions{Wait: wait}
		srvs := make([]Server, len(g.srv))
		for i, ss := range g.srv {
			srvs[i] = ss.Server
		}
		var plans []*Plan
		switch g.action {
		case "stop":
			plans = op.PlanStop(ctx, srvs, stop)
		case "start":
			plans = op.PlanStart(ctx, srvs, start)
		case "restart":
			plans = op.PlanRestart(ctx, srvs, stop, start)
		}
		for i, p := range plans {
			g.srv[i].Plan = p
		}
	}
	return run
}

// Subscribe adds a subscriber for the events of every operation of the run.
func (r *ScheduleRun) Subscribe(s Subscriber) {
	for _, op := range r.ops {
		op.Subscribe(s)
	}
}

// Apply runs the plans (stops, starts and restarts at once; each bounded as
// its command is) and returns one outcome per server a rule decides, in
// config order: the operation's outcome for a server that was acted on,
// "unchanged" for one in its desired state, "failed" for one that could
// not be read or reconciled.
func (r *ScheduleRun) Apply(ctx context.Context) []*Outcome {
	byOp := map[string][]*ScheduleServer{}
	for _, ss := range r.Servers {
		if ss.Plan != nil {
			byOp[ss.Action] = append(byOp[ss.Action], ss)
		}
	}
	got := map[*ScheduleServer]*Outcome{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for action, list := range byOp {
		op := r.ops[action]
		plans := make([]*Plan, len(list))
		for i, ss := range list {
			plans[i] = ss.Plan
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs := op.Apply(ctx, plans)
			mu.Lock()
			defer mu.Unlock()
			for i, o := range outs {
				got[list[i]] = o
			}
		}()
	}
	wg.Wait()
	out := make([]*Outcome, len(r.Servers))
	for i, ss := range r.Servers {
		if o := got[ss]; o != nil {
			out[i] = o
			continue
		}
		out[i] = ss.StaticOutcome()
	}
	return out
}

// StaticOutcome is the outcome of a server apply does not act on: in its
// desired state (unchanged), or not reconcilable (failed).
func (ss *ScheduleServer) StaticOutcome() *Outcome {
	action := string(ss.Desired.Action)
	if ss.Change.Failed {
		msg := ss.Change.Reason
		if ss.Observed.Detail != "" && ss.Observed.State != schedule.ObservedUp {
			msg += ": " + ss.Observed.Detail
		}
		return &Outcome{Server: ss.Server.Name, Action: action, Result: ResultFailed, Message: msg, State: "untouched",
			Err: &OpError{Server: ss.Server.Name, Step: StepCheck, Kind: KindFailed, Err: errors.New(msg), State: "untouched"}}
	}
	msg := "in its desired state (" + ss.Change.Reason + "): " + ss.Desired.Why()
	if ss.Note != "" {
		msg = ss.Note + "; " + ss.Desired.Why()
	}
	return &Outcome{Server: ss.Server.Name, Action: action, Result: ResultUnchanged, Message: msg, State: string(ss.Observed.State)}
}

// startedScript reads how long the machine has been up and when (in
// microseconds after boot) bbb-web last became active: systemd's
// ActiveEnterTimestampMonotonic, which every systemd since 2010 has (a
// wall-clock timestamp would be printed in the server's locale and zone).
// A constant: nothing from the config or a server goes into it.
const startedScript = "cat /proc/uptime; systemctl show -p ActiveEnterTimestampMonotonic bbb-web.service"

// bbbStartedAt reads when BBB (bbb-web) last started on s, in this
// machine's clock.
func (e *Env) bbbStartedAt(ctx context.Context, s Server) (time.Time, error) {
	t := e.Opts.Timeout
	if t <= 0 {
		t = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	res, err := e.Remote(ctx, s, ssh.Command{Script: startedScript})
	if err != nil {
		return time.Time{}, err
	}
	return parseStarted(string(res.Stdout), time.Now())
}

// parseStarted reads startedScript's output at now.
func parseStarted(out string, now time.Time) (time.Time, error) {
	var uptime float64
	var mono int64 = -1
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "ActiveEnterTimestampMonotonic="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return time.Time{}, fmt.Errorf("systemctl show: unexpected ActiveEnterTimestampMonotonic %q", firstLine(v))
			}
			mono = n
			continue
		}
		if f := strings.Fields(l); len(f) == 2 && uptime == 0 {
			if u, err := strconv.ParseFloat(f[0], 64); err == nil && u > 0 && u < 1e10 {
				uptime = u
			}
		}
	}
	switch {
	case uptime == 0:
		return time.Time{}, errors.New("/proc/uptime could not be read")
	case mono < 0:
		return time.Time{}, errors.New("systemctl show printed no ActiveEnterTimestampMonotonic for bbb-web")
	case mono == 0:
		return time.Time{}, errors.New("bbb-web has not been active since boot")
	}
	ago := time.Duration(uptime*float64(time.Second)) - time.Duration(mono)*time.Microsecond
	if ago < 0 {
		ago = 0
	}
	return now.Add(-ago), nil
}
