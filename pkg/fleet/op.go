package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

// This file is the seam every command that changes servers is built on
// (start, stop, restart; install and schedule next): a plan of steps per
// server, built from the config and what the server reports now; a dry run
// that shows the plans; and Apply, which runs them in parallel with a
// deadline per step, sending Events to subscribers (the CLI's renderer,
// the audit log). Nothing here prints.

// Phase is where a step is.
type Phase string

// Phases of a step. Progress events are sent while a long step (a drain, a
// wait) runs; every other phase is a step outcome and goes to the audit log.
const (
	PhaseStarted  Phase = "started"
	PhaseProgress Phase = "progress"
	PhaseDone     Phase = "done"
	PhaseFailed   Phase = "failed"
	PhaseSkipped  Phase = "skipped"
)

// Step names.
const (
	StepCheck    = "check"     // the read-only look at the server; refusals are reported on it
	StepCordon   = "cordon"    // Scalelite: no new meetings
	StepWarn     = "warn"      // sendChatMessage into every meeting
	StepDrain    = "drain"     // wait for meetings and recording work to end
	StepEnd      = "end"       // --force: end the meetings left
	StepStop     = "stop"      // sudo bbb-conf --stop, verified
	StepPowerOff = "power-off" // power.off hook or sudo poweroff, verified
	StepPowerOn  = "power-on"  // power.on hook
	StepWaitSSH  = "wait-ssh"  // SSH answers again
	StepStart    = "start"     // sudo bbb-conf --start
	StepReady    = "ready"     // units active, API up, secret accepted
	StepEnable   = "enable"    // Scalelite: take meetings
)

// MeetingRef names a meeting an operation affects or protects.
type MeetingRef struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Participants int    `json:"participants"`
	Breakout     bool   `json:"breakout,omitempty"`
}

func meetingRefs(ms []bbb.Meeting) []MeetingRef {
	out := make([]MeetingRef, 0, len(ms))
	for _, m := range ms {
		out = append(out, MeetingRef{ID: m.MeetingID, Name: m.MeetingName, Participants: m.ParticipantCount, Breakout: m.IsBreakout})
	}
	return out
}

func participants(ms []MeetingRef) int {
	n := 0
	for _, m := range ms {
		n += m.Participants
	}
	return n
}

// Event is one thing that happened to one step of one server.
type Event struct {
	Time    time.Time `json:"time"`
	Server  string    `json:"server"`
	Action  string    `json:"action"` // stop, start, restart
	Step    string    `json:"step"`
	Phase   Phase     `json:"phase"`
	Message string    `json:"message,omitempty"`
	// Meetings are the meetings the step affected (warned, waited for,
	// ended) or protected (a refusal).
	Meetings []MeetingRef `json:"meetings,omitempty"`
	// Duration is how long the step took (outcome phases).
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Result is the step's outcome in words for the audit log: done,
	// failed, skipped, refused, interrupted ("" for started/progress).
	Result string         `json:"result,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
}

// Subscriber receives every event of an operation, one at a time, in order.
type Subscriber func(Event)

// Step is one step of a plan.
type Step struct {
	Name        string `json:"step"`
	Description string `json:"description"`
	// Touches says what the step changes or reads (a remote command, a
	// Scalelite task, a local hook).
	Touches string `json:"touches,omitempty"`
	// Skip says why the step will not run ("" = it runs).
	Skip string `json:"skip,omitempty"`

	run func(ctx context.Context, r *serverRun) error
}

// Plan is what an operation will do to one server.
type Plan struct {
	Server Server  `json:"-"`
	Name   string  `json:"server"`
	Action string  `json:"action"`
	Steps  []*Step `json:"steps"`
	// Meetings are the meetings running now (breakout rooms included).
	Meetings []MeetingRef `json:"meetings"`
	// MeetingsUnknown says why the meetings could not be read ("" when
	// they were).
	MeetingsUnknown string `json:"meetings_unknown,omitempty"`
	// Recordings are the pending recording work files (reference §5).
	Recordings []string `json:"recordings_pending,omitempty"`
	// Release is the BBB release read over SSH ("" when unknown).
	Release string `json:"release,omitempty"`
	// Scalelite is the server's Scalelite entry (nil: not configured or
	// not registered; see Notes).
	Scalelite *bbb.ScaleliteServer `json:"scalelite,omitempty"`
	// ScaleliteEntries are all the server's Scalelite entries when more
	// than one has its URL (all are cordoned and enabled together).
	ScaleliteEntries []*bbb.ScaleliteServer `json:"scalelite_entries,omitempty"`
	Notes            []string               `json:"notes,omitempty"`
	// Preflight and Command are install's checks and the command line it
	// runs on the server.
	Preflight []PreflightCheck `json:"preflight,omitempty"`
	Command   string           `json:"command,omitempty"`
	// Refused, when set, is the refusal decided while planning: nothing
	// will be changed on this server.
	Refused *OpError `json:"-"`
	// Err, when set, is why no plan could be made.
	Err *OpError `json:"-"`

	probe *probe
	opts  planOpts
	// offAlready: a stop --power-off found the machine not answering.
	offAlready bool
	// slLeft, for a restart of a server that was not enabled in
	// Scalelite, is its state there, which the restart keeps.
	slLeft string
}

// Runs reports whether any step will run.
func (p *Plan) Runs() bool {
	if p.Refused != nil || p.Err != nil {
		return false
	}
	for _, s := range p.Steps {
		if s.Skip == "" {
			return true
		}
	}
	return false
}

// ErrKind says how a server's operation ended badly.
type ErrKind string

// Kinds of OpError.
const (
	KindFailed      ErrKind = "failed"
	KindRefused     ErrKind = "refused"
	KindInterrupted ErrKind = "interrupted"
)

// ErrRefused matches (errors.Is) every refusal for safety.
var ErrRefused = errors.New("refused for safety")

// OpError is a per-server failure of an operation: which server, which
// step, why (Err, reachable with errors.Is/As), and in what state the
// server was left and how to undo it.
type OpError struct {
	Server string
	Step   string
	Kind   ErrKind
	Err    error
	// Meetings are the meetings protected by a refusal, or still running.
	Meetings []MeetingRef
	// Recordings are pending recording work files that protected the server.
	Recordings []string
	// State is what the server was left as, e.g. "running, cordoned in Scalelite".
	State string
	// Undo is the command that undoes what was done, if anything was.
	Undo string
}

func (e *OpError) Error() string { return e.Server + ": " + e.Detail() }

// Detail is the message without the server's name: the step and the
// cause (whose own server prefix the steps leave out, see withoutServer).
func (e *OpError) Detail() string {
	step := ""
	if e.Step != "" {
		step = e.Step + ": "
	}
	return fmt.Sprintf("%s%v", step, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRefused) true for refusals.
func (e *OpError) Is(target error) bool { return target == ErrRefused && e.Kind == KindRefused }

// Results of an operation on one server.
const (
	ResultDone        = "done"        // changed as asked
	ResultUnchanged   = "unchanged"   // already as asked: nothing done
	ResultRefused     = "refused"     // refused for safety
	ResultFailed      = "failed"      // a step failed
	ResultInterrupted = "interrupted" // Ctrl-C
	ResultNotStarted  = "not-started" // a rolling run stopped before it
)

// Outcome is how an operation ended on one server.
type Outcome struct {
	Server  string        `json:"server"`
	Action  string        `json:"action"`
	Result  string        `json:"result"`
	Message string        `json:"message,omitempty"`
	Err     *OpError      `json:"-"`
	Elapsed time.Duration `json:"-"`
	// TimeToReady is, for start and restart, how long the server took
	// from the first step until it was ready (0: not ready).
	TimeToReady time.Duration `json:"-"`
	// State is what the server was left as; Undo how to undo.
	State string `json:"state,omitempty"`
	Undo  string `json:"undo,omitempty"`
}

// Operation is one run of a changing command over a set of servers.
type Operation struct {
	Env    *Env
	Action string
	// Parallel is how many servers are worked on at once.
	Parallel int
	// StopOnFailure ends a rolling run at the first server that does
	// not succeed: the servers not yet begun are left untouched.
	StopOnFailure bool

	mu   sync.Mutex
	subs []Subscriber

	slOnce sync.Once
	sl     *scaleliteView
}

// NewOperation returns an operation of the given action on env.
func (e *Env) NewOperation(action string) *Operation {
	return &Operation{Env: e, Action: action, Parallel: e.Opts.Parallel}
}

// Subscribe adds a subscriber for every event of the operation.
func (o *Operation) Subscribe(s Subscriber) { o.subs = append(o.subs, s) }

func (o *Operation) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Action = o.Action
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.subs {
		s(ev)
	}
}

// skipError makes a step report itself skipped with a reason.
type skipError struct{ why string }

func (e *skipError) Error() string { return e.why }

func skip(format string, a ...any) error { return &skipError{fmt.Sprintf(format, a...)} }

// doneNote lets a step say what it did in its done event.
type doneNote struct {
	msg      string
	meetings []MeetingRef
	data     map[string]any
}

// serverRun is one server's plan being applied.
type serverRun struct {
	op   *Operation
	plan *Plan
	s    Server
	step string
	note *doneNote

	// What has been done, for the stated end state and the undo hint.
	cordoned bool
	enabled  bool
	// half says a step that changes the server failed half-way.
	half       string
	poweredOn  bool
	stopped    bool
	poweredOff bool
	ended      int
	// cordonedIDs are the Scalelite entries this run cordoned.
	cordonedIDs map[string]bool
	// powerHookRan: the power-off hook or sudo poweroff ran (the
	// machine may be off).
	powerHookRan bool
	startedAt    time.Time
	readyAt      time.Time
}

// progress sends a progress event for the running step.
func (r *serverRun) progress(msg string, ms []MeetingRef, data map[string]any) {
	r.op.emit(Event{Server: r.s.Name, Step: r.step, Phase: PhaseProgress, Message: msg, Meetings: ms, Data: data})
}

// done sets what the step's done event says.
func (r *serverRun) done(msg string, ms []MeetingRef, data map[string]any) {
	r.note = &doneNote{msg: msg, meetings: ms, data: data}
}

// stateWords says what the server is left as.
func (r *serverRun) stateWords() (state, undo string) {
	name := r.s.Name
	switch {
	case r.half != "":
		st := r.half
		if r.cordoned {
			st += ", cordoned in Scalelite"
		}
		return st, "bbbfleet start " + name
	case r.poweredOff:
		return "powered off", "bbbfleet start " + name
	case r.powerHookRan:
		st := "sudo poweroff ran; the machine may be off"
		if len(r.s.Power.Off) > 0 {
			st = "power-off hook ran; the machine may be off"
		}
		if r.cordoned {
			st += "; cordoned in Scalelite"
		}
		return st, "bbbfleet start " + name
	case r.plan.offAlready:
		return "powered off (did not answer)", ""
	case r.stopped:
		st := "BBB stopped"
		if r.cordoned {
			st += ", cordoned in Scalelite"
		}
		return st, "bbbfleet start " + name
	case r.cordoned:
		return "running, cordoned in Scalelite (no new meetings)", "bbbfleet start " + name
	case r.poweredOn && r.readyAt.IsZero():
		return "powered on, not ready yet", "bbbfleet stop " + name + " --power-off"
	case !r.readyAt.IsZero() && r.enabled:
		return "ready, enabled in Scalelite", ""
	case !r.readyAt.IsZero() && r.plan.slLeft != "":
		return "ready, left " + r.plan.slLeft + " in Scalelite as it was", ""
	case !r.readyAt.IsZero():
		return "ready", ""
	case r.enabled:
		return "running, enabled in Scalelite", ""
	}
	return "running, unchanged", ""
}

// Apply runs the plans: at most Parallel servers at once, each server's
// steps in order, each step under its own deadline. Plans that are refused
// or failed are reported (and audited) without touching the server. When
// ctx is cancelled (Ctrl-C) nothing further is started; a step that must
// not be cut in the middle (bbb-conf --stop/--start, a power hook) runs to
// its end, and every server's outcome says what it was left as. Unlike
// Run, Apply never abandons a server: every step keeps to its deadline.
func (o *Operation) Apply(ctx context.Context, plans []*Plan) []*Outcome {
	out := make([]*Outcome, len(plans))
	var halted atomic.Bool
	par := o.Parallel
	if par < 1 {
		par = 1
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, p := range plans {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			out[i] = &Outcome{Server: p.Name, Action: o.Action, Result: ResultInterrupted,
				Message: "not started: interrupted", State: "untouched"}
			continue
		}
		if o.StopOnFailure && halted.Load() {
			<-sem
			out[i] = &Outcome{Server: p.Name, Action: o.Action, Result: ResultNotStarted,
				Message: "not started: the rollout stopped at an earlier server", State: "untouched"}
			continue
		}
		wg.Add(1)
		go func(i int, p *Plan) {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					out[i] = &Outcome{Server: p.Name, Action: o.Action, Result: ResultFailed,
						Message: fmt.Sprintf("internal error: %v", r), State: "unknown"}
					halted.Store(true)
				}
			}()
			oc := o.applyOne(ctx, p)
			if oc.Result != ResultDone && oc.Result != ResultUnchanged {
				halted.Store(true)
			}
			out[i] = oc
		}(i, p)
	}
	wg.Wait()
	return out
}

func (o *Operation) applyOne(ctx context.Context, p *Plan) *Outcome {
	start := time.Now()
	oc := &Outcome{Server: p.Server.Name, Action: o.Action}
	finish := func() *Outcome {
		oc.Elapsed = time.Since(start)
		if oc.Err != nil {
			oc.State, oc.Undo = oc.Err.State, oc.Err.Undo
		}
		return oc
	}
	if p.Err != nil {
		o.emit(Event{Server: p.Server.Name, Step: p.Err.Step, Phase: PhaseFailed, Result: "failed", Message: p.Err.Err.Error()})
		oc.Result, oc.Err, oc.Message = ResultFailed, p.Err, p.Err.Error()
		p.Err.State = "untouched"
		return finish()
	}
	if p.Refused != nil {
		o.emit(Event{Server: p.Server.Name, Step: StepCheck, Phase: PhaseFailed, Result: "refused",
			Message: p.Refused.Err.Error(), Meetings: p.Refused.Meetings})
		oc.Result, oc.Err, oc.Message = ResultRefused, p.Refused, p.Refused.Error()
		p.Refused.State = "running, unchanged"
		return finish()
	}
	r := &serverRun{op: o, plan: p, s: p.Server, startedAt: start}
	changed := false
	for _, st := range p.Steps {
		if st.Skip != "" {
			o.emit(Event{Server: r.s.Name, Step: st.Name, Phase: PhaseSkipped, Result: "skipped", Message: st.Skip})
			continue
		}
		if ctx.Err() != nil {
			break
		}
		r.step, r.note = st.Name, nil
		t0 := time.Now()
		o.emit(Event{Server: r.s.Name, Step: st.Name, Phase: PhaseStarted, Message: st.Description})
		err := st.run(ctx, r)
		d := time.Since(t0)
		var se *skipError
		switch {
		case err == nil:
			changed = true
			ev := Event{Server: r.s.Name, Step: st.Name, Phase: PhaseDone, Result: "done", Duration: d}
			if r.note != nil {
				ev.Message, ev.Meetings, ev.Data = r.note.msg, r.note.meetings, r.note.data
			}
			o.emit(ev)
			continue
		case errors.As(err, &se):
			o.emit(Event{Server: r.s.Name, Step: st.Name, Phase: PhaseSkipped, Result: "skipped", Message: se.why, Duration: d})
			continue
		}
		oe := &OpError{Server: r.s.Name, Step: st.Name, Kind: KindFailed, Err: err}
		var inner *OpError
		if errors.As(err, &inner) && inner.Server == r.s.Name {
			oe = inner
			if oe.Step == "" {
				oe.Step = st.Name
			}
		}
		if ctx.Err() != nil && oe.Kind != KindRefused {
			oe.Kind = KindInterrupted
			if errors.Is(oe.Err, context.Canceled) || errors.Is(oe.Err, context.DeadlineExceeded) || oe.Err == nil {
				oe.Err = errors.New("interrupted")
			}
		}
		oe.State, oe.Undo = r.stateWords()
		ev := Event{Server: r.s.Name, Step: st.Name, Phase: PhaseFailed, Result: string(oe.Kind), Message: oe.Err.Error(),
			Meetings: oe.Meetings, Duration: d}
		if oe.Kind == KindFailed {
			ev.Result = "failed"
		}
		o.emit(ev)
		oc.Err, oc.Message = oe, oe.Error()
		switch oe.Kind {
		case KindRefused:
			oc.Result = ResultRefused
		case KindInterrupted:
			oc.Result = ResultInterrupted
		default:
			oc.Result = ResultFailed
		}
		return finish()
	}
	if ctx.Err() != nil {
		oe := &OpError{Server: r.s.Name, Kind: KindInterrupted, Err: errors.New("interrupted")}
		oe.State, oe.Undo = r.stateWords()
		oc.Result, oc.Err, oc.Message = ResultInterrupted, oe, oe.Error()
		return finish()
	}
	if !r.readyAt.IsZero() {
		oc.TimeToReady = r.readyAt.Sub(start)
	}
	oc.State, _ = r.stateWords()
	if changed {
		oc.Result = ResultDone
		oc.Message = o.doneMessage(r, oc)
	} else {
		oc.Result = ResultUnchanged
		oc.Message = unchangedMessage(o.Action)
		if p.offAlready {
			oc.Message = unchangedMessage("stop-off")
		}
	}
	return finish()
}

func (o *Operation) doneMessage(r *serverRun, oc *Outcome) string {
	switch o.Action {
	case "stop":
		switch {
		case r.poweredOff:
			return "stopped and powered off"
		case r.stopped:
			return "stopped"
		case r.cordoned:
			return "cordoned in Scalelite (BBB was stopped already)"
		}
	case "start", "restart":
		msg := "started"
		if oc.TimeToReady > 0 {
			msg = fmt.Sprintf("ready in %s", oc.TimeToReady.Round(100*time.Millisecond))
		}
		if oc.TimeToReady <= 0 && r.enabled {
			msg = "re-enabled in Scalelite (BBB was running already)"
		}
		if r.plan.slLeft != "" {
			msg += "; left " + r.plan.slLeft + " in Scalelite as it was"
		}
		return msg
	}
	return "done"
}

func unchangedMessage(action string) string {
	switch action {
	case "stop":
		return "already stopped: nothing done"
	case "stop-off":
		return "powered off already (SSH and the API do not answer): nothing done"
	case "start":
		return "already running and enabled: nothing done"
	}
	return "nothing to do"
}

// callTimeout bounds one network call by --timeout.
func (o *Operation) callTimeout() time.Duration {
	if t := o.Env.Opts.Timeout; t > 0 {
		return t
	}
	return 30 * time.Second
}

// call runs fn with ctx bounded by --timeout.
func (o *Operation) call(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, o.callTimeout())
	defer cancel()
	return fn(ctx)
}

// describeMeetings lists meetings as "NAME (N users)", breakouts marked.
func describeMeetings(ms []MeetingRef, max int) string {
	var parts []string
	for i, m := range ms {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(ms)-max))
			break
		}
		name := m.Name
		if m.Breakout {
			name += " [breakout]"
		}
		parts = append(parts, fmt.Sprintf("%q (%d %s)", name, m.Participants, plural(m.Participants, "user", "users")))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
