package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// StopOptions are the choices of `stop` (and the stop half of `restart`).
type StopOptions struct {
	// Drain waits for meetings (and recording work) to end.
	Drain bool
	// DrainTimeout is the drain's deadline; 0 takes each server's
	// drain.timeout.
	DrainTimeout time.Duration
	// Message is posted into every meeting when a drain starts (BBB 3.0+);
	// MessageSet says it was given (an empty message then sends none);
	// otherwise each server's drain.message is used.
	Message    string
	MessageSet bool
	// Force ends the meetings left (at once, or at the drain's deadline)
	// and stops even with recording work pending.
	Force bool
	// PowerOff switches the machine off after the stop.
	PowerOff bool
	// SkipScalelite acts without Scalelite (the administrator took the
	// server out of it by hand).
	SkipScalelite bool
}

// StartOptions are the choices of `start`.
type StartOptions struct {
	// Wait bounds power-on, SSH, start-up and readiness together
	// (default DefaultStartWait).
	Wait          time.Duration
	SkipScalelite bool
}

// DefaultStartWait is how long start waits for a server to be ready.
const DefaultStartWait = 10 * time.Minute

// progressEvery is how often a long wait reports itself when nothing changes.
const progressEvery = 30 * time.Second

// bbbConfTimeout bounds `bbb-conf --stop` and `--start`: one remote command,
// but systemd may take minutes to stop or start every unit.
const bbbConfTimeout = 5 * time.Minute

type planOpts struct {
	stop    StopOptions
	start   StartOptions
	doStop  bool
	doStart bool
	power   bool // power steps (stop --power-off, start with power.on)
}

// MeetingsRunningError is a refusal: meetings run or recording work is
// pending on a server that was to be stopped.
type MeetingsRunningError struct {
	Meetings   []MeetingRef
	Recordings []string
	// Deadline: the drain's deadline passed with these still there.
	Deadline time.Duration
	// Unknown: the meetings could not be read.
	Unknown error
}

func (e *MeetingsRunningError) Error() string {
	var parts []string
	switch {
	case errors.Is(e.Unknown, ErrRecordingsUnreadable), errors.Is(e.Unknown, ErrResqueUnreadable):
		parts = append(parts, fmt.Sprintf("cannot see its recording processing (%v)", e.Unknown))
	case e.Unknown != nil:
		parts = append(parts, fmt.Sprintf("cannot see its meetings (%v)", e.Unknown))
	}
	if n := len(e.Meetings); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s running (%d %s): %s", n, plural(n, "meeting", "meetings"),
			participants(e.Meetings), plural(participants(e.Meetings), "user", "users"), describeMeetings(e.Meetings, 5)))
	}
	if n := len(e.Recordings); n > 0 {
		parts = append(parts, fmt.Sprintf("recording processing pending (%s)", strings.Join(firstN(e.Recordings, 3), ", ")))
	}
	msg := strings.Join(parts, "; ")
	if e.Deadline > 0 {
		msg = fmt.Sprintf("drain deadline (%s) passed: %s", e.Deadline, msg)
	}
	return msg
}

// Summary is the refusal in a few words, for a table cell.
func (e *MeetingsRunningError) Summary() string {
	var parts []string
	switch {
	case errors.Is(e.Unknown, ErrRecordingsUnreadable), errors.Is(e.Unknown, ErrResqueUnreadable):
		parts = append(parts, "recording processing unknown")
	case e.Unknown != nil:
		parts = append(parts, "meetings unknown")
	}
	if n := len(e.Meetings); n > 0 {
		u := participants(e.Meetings)
		parts = append(parts, fmt.Sprintf("%d %s running (%d %s)", n, plural(n, "meeting", "meetings"), u, plural(u, "user", "users")))
	}
	if n := len(e.Recordings); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s pending", n, plural(n, "recording", "recordings")))
	}
	msg := strings.Join(parts, ", ")
	if e.Deadline > 0 {
		msg = fmt.Sprintf("drain deadline (%s) passed: %s", e.Deadline, msg)
	}
	return msg
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string(nil), s[:n]...), fmt.Sprintf("and %d more", len(s)-n))
}

// InstallRunningError is a refusal: a bbbfleet install still runs on the
// server (an interrupted `install` goes on there), and starting, stopping
// or powering off BBB in the middle of it would break it.
type InstallRunningError struct{ Server string }

func (e *InstallRunningError) Error() string {
	return fmt.Sprintf("a bbbfleet install is still running on the server; follow it with `bbbfleet install --attach %s` and try again when it has ended", e.Server)
}

// ScaleliteUnsafeError is a refusal: Scalelite is configured but could not
// be asked, so it may still send meetings to the server.
type ScaleliteUnsafeError struct{ Err error }

func (e *ScaleliteUnsafeError) Error() string {
	return fmt.Sprintf("Scalelite could not be asked, so it may still send new meetings here: %v", e.Err)
}

func (e *ScaleliteUnsafeError) Unwrap() error { return e.Err }

// PlanStop probes the servers (read-only: getMeetings, bbb-conf --status,
// the recording status directories, Scalelite's server list) and plans
// their stop.
func (o *Operation) PlanStop(ctx context.Context, servers []Server, so StopOptions) []*Plan {
	return o.plan(ctx, servers, planOpts{stop: so, doStop: true, power: so.PowerOff})
}

// PlanStart probes the servers and plans their start.
func (o *Operation) PlanStart(ctx context.Context, servers []Server, so StartOptions) []*Plan {
	return o.plan(ctx, servers, planOpts{start: so, doStart: true, power: true})
}

// PlanRestart plans a stop (with drain as asked) followed by a start.
func (o *Operation) PlanRestart(ctx context.Context, servers []Server, stop StopOptions, start StartOptions) []*Plan {
	stop.PowerOff = false
	return o.plan(ctx, servers, planOpts{stop: stop, start: start, doStop: true, doStart: true})
}

func (o *Operation) plan(ctx context.Context, servers []Server, po planOpts) []*Plan {
	if po.start.Wait <= 0 {
		po.start.Wait = DefaultStartWait
	}
	var sl *scaleliteView
	if !po.stop.SkipScalelite && !po.start.SkipScalelite {
		sl = o.scalelite(ctx)
	}
	par := o.Env.Opts.Parallel
	if par < 1 {
		par = 16
	}
	res := Run(ctx, servers, RunOptions{Parallel: par}, func(ctx context.Context, s Server) (*Plan, error) {
		p := &probe{}
		done := make(chan struct{})
		go func() { o.probeAPI(ctx, s, p); close(done) }()
		o.probeSSH(ctx, s, p)
		<-done
		return o.buildPlan(s, p, sl, po), nil
	})
	plans := make([]*Plan, len(res))
	for i, r := range res {
		if r.Value == nil {
			err := r.Err
			if err == nil {
				err = errors.New("no plan")
			}
			r.Value = &Plan{Server: r.Server, Name: r.Server.Name, Action: o.Action,
				Err: &OpError{Server: r.Server.Name, Step: StepCheck, Kind: KindFailed, Err: err}}
		}
		plans[i] = r.Value
	}
	o.checkHooks(plans)
	return plans
}

func (o *Operation) buildPlan(s Server, p *probe, sl *scaleliteView, po planOpts) *Plan {
	pl := &Plan{Server: s, Name: s.Name, Action: o.Action, probe: p, opts: po, Meetings: meetingRefs(p.meetings),
		Recordings: p.recordings, Release: p.release, Steps: []*Step{}}
	if pl.Meetings == nil {
		pl.Meetings = []MeetingRef{}
	}
	if p.apiErr != nil {
		pl.MeetingsUnknown = withoutServer(p.apiErr).Error()
	}
	fail := func(kind ErrKind, err error) *Plan {
		oe := &OpError{Server: s.Name, Step: StepCheck, Kind: kind, Err: err}
		if kind == KindRefused {
			pl.Refused = oe
			var mr *MeetingsRunningError
			if errors.As(err, &mr) {
				oe.Meetings, oe.Recordings = mr.Meetings, mr.Recordings
			}
		} else {
			pl.Err = oe
		}
		return pl
	}
	// Scalelite.
	slUsable := false
	if sl != nil {
		if sl.err == nil {
			slUsable = true
			ens := sl.entries(s)
			if len(ens) > 0 {
				pl.Scalelite = ens[0]
			}
			if len(ens) > 1 {
				pl.ScaleliteEntries = ens
				pl.Notes = append(pl.Notes, fmt.Sprintf("%d Scalelite entries share url %s (ids %s): all are cordoned and enabled together",
					len(ens), strings.TrimSuffix(s.API.URL, "/"), entryIDs(ens)))
			}
			if pl.Scalelite == nil {
				pl.Notes = append(pl.Notes, fmt.Sprintf("not registered in Scalelite (no entry with url %s): nothing to cordon or enable there", strings.TrimSuffix(s.API.URL, "/")))
			}
		} else {
			pl.Notes = append(pl.Notes, "Scalelite: "+sl.err.Error())
		}
	}
	if p.sshErr == nil && p.installing {
		return fail(KindRefused, &InstallRunningError{Server: s.Name})
	}
	if po.doStop {
		if p.sshErr != nil && po.power && po.stop.PowerOff && len(s.Power.Off) > 0 && !po.doStart &&
			sshUnreachable(p.sshErr) && p.apiErr != nil {
			// Neither SSH nor the API answers and the machine has a power
			// hook: it is off already, which is what was asked.
			o.stopSteps(pl, slUsable, true)
			why := "SSH and the API do not answer: powered off already"
			for _, st := range pl.Steps {
				if st.Skip == "" || st.Name == StepPowerOff {
					st.Skip = why
				}
			}
			pl.offAlready = true
			pl.Notes = append(pl.Notes, fmt.Sprintf("%s (ssh: %v)", why, firstLine(trimPrefixErr(p.sshErr, s.Name, "ssh").Error())))
			return pl
		}
		if p.sshErr != nil {
			return fail(KindFailed, fmt.Errorf("not reachable over SSH: %w", withoutServerSSH(p.sshErr)))
		}
		stopped := unitsStopped(p.units)
		if sl != nil && sl.err != nil && !stopped {
			return fail(KindRefused, &ScaleliteUnsafeError{Err: sl.err})
		}
		if !stopped && p.apiErr != nil && !po.stop.Force {
			return fail(KindRefused, &MeetingsRunningError{Unknown: withoutServer(p.apiErr), Recordings: p.recordings})
		}
		if !stopped && p.recsErr != nil && !po.stop.Force {
			return fail(KindRefused, &MeetingsRunningError{Unknown: p.recsErr, Meetings: pl.Meetings})
		}
		if !stopped && (len(p.meetings) > 0 || len(p.recordings) > 0) && !po.stop.Drain && !po.stop.Force {
			return fail(KindRefused, &MeetingsRunningError{Meetings: pl.Meetings, Recordings: p.recordings})
		}
		o.stopSteps(pl, slUsable, stopped)
	}
	if po.doStart {
		reachable := p.sshErr == nil
		if !po.doStop && !reachable && !sshUnreachable(p.sshErr) {
			return fail(KindFailed, fmt.Errorf("SSH answers but does not let us in: %w", withoutServerSSH(p.sshErr)))
		}
		if !po.doStop && !reachable && len(s.Power.On) == 0 {
			return fail(KindFailed, fmt.Errorf("not reachable over SSH and no power.on hook to switch it on: %w", withoutServerSSH(p.sshErr)))
		}
		o.startSteps(pl, slUsable, sl, reachable)
	}
	return pl
}

func (o *Operation) stopSteps(pl *Plan, slUsable, stopped bool) {
	s, so := pl.Server, pl.opts.stop
	container := o.Env.Config.ScaleliteContainer()
	cordon := &Step{Name: StepCordon, Description: "take no new meetings (Scalelite cordon)", run: o.runCordon}
	switch {
	case o.Env.Config.Scalelite == nil:
		cordon.Skip = "Scalelite is not configured"
	case so.SkipScalelite:
		cordon.Skip = "--skip-scalelite: Scalelite is left alone"
	case !slUsable:
		cordon.Skip = "Scalelite could not be asked"
	case pl.Scalelite == nil:
		cordon.Skip = "not registered in Scalelite"
	case len(inState(pl.entries(), bbb.ScaleliteEnabled)) == 0:
		cordon.Skip = "already " + pl.Scalelite.State + " in Scalelite"
	default:
		h, _ := o.Env.Config.ScaleliteHost()
		var cmds []string
		for _, en := range inState(pl.entries(), bbb.ScaleliteEnabled) {
			cmds = append(cmds, ssh.Quote(bbb.RakeArgv(container, "servers:cordon", en.ID)))
		}
		cordon.Touches = fmt.Sprintf("Scalelite on %s: %s", h.Host, strings.Join(cmds, "; "))
	}
	msg := so.Message
	if !so.MessageSet {
		msg = s.Drain.Message
	}
	warn := &Step{Name: StepWarn, Description: "post the warning into every meeting (sendChatMessage)", run: o.runWarn,
		Touches: fmt.Sprintf("API sendChatMessage: %q", expandMessage(msg, o.drainTimeout(s, so)))}
	switch {
	case stopped:
		warn.Skip = "BBB is stopped already"
	case !so.Drain:
		warn.Skip = "no --drain: no warning"
	case msg == "":
		warn.Skip = "no message"
	case len(pl.Meetings) == 0 && !pl.opts.doStart:
		// (a rolling restart looks again when the server's turn comes)
		warn.Skip = "no meetings to warn"
	case strings.HasPrefix(pl.Release, "2."):
		warn.Skip = fmt.Sprintf("BBB %s has no sendChatMessage: no warning could be sent", pl.Release)
	}
	drain := &Step{Name: StepDrain, Description: "wait until no meeting runs and no recording is processing", run: o.runDrain,
		Touches: "API getMeetings; " + RecordingStatusDir + "/{recorded,ended}/*.done; Resque rap: queues and workers"}
	if so.Drain {
		drain.Description = fmt.Sprintf("wait up to %s until no meeting runs and no recording is processing (poll every %s)", o.drainTimeout(s, so), s.Drain.Poll.D())
	}
	if stopped {
		drain.Skip = "BBB is stopped already"
	}
	end := &Step{Name: StepEnd, Description: "end the meetings left (API end), wait until they are gone", run: o.runEnd, Touches: "API end"}
	switch {
	case stopped:
		end.Skip = "BBB is stopped already"
	case !so.Force:
		end.Skip = "no --force: no meeting is ended"
	}
	stop := &Step{Name: StepStop, Description: "stop BBB (bbb-conf --stop) and verify its units are inactive", run: o.runStop,
		Touches: "ssh: sudo bbb-conf --stop"}
	if stopped {
		stop.Skip = "BBB is stopped already"
	}
	pl.Steps = append(pl.Steps, cordon, warn, drain, end, stop)
	if pl.opts.power && so.PowerOff {
		pw := &Step{Name: StepPowerOff, Description: "switch the machine off and verify SSH no longer answers", run: o.runPowerOff}
		if len(s.Power.Off) > 0 {
			pw.Touches = "local hook: " + strings.Join(expandHook(s.Power.Off, s), " ")
		} else {
			pw.Touches = "ssh: sudo poweroff"
		}
		pl.Steps = append(pl.Steps, pw)
	}
}

func (o *Operation) drainTimeout(s Server, so StopOptions) time.Duration {
	if so.DrainTimeout > 0 {
		return so.DrainTimeout
	}
	return s.Drain.Timeout.D()
}

// expandMessage fills {remaining} with a rounded duration.
func expandMessage(msg string, remaining time.Duration) string {
	r := remaining.Round(time.Minute)
	words := fmt.Sprintf("%d minutes", int(r.Minutes()))
	switch {
	case remaining < time.Minute:
		words = fmt.Sprintf("%d seconds", int(remaining.Seconds()))
	case r == time.Minute:
		words = "1 minute"
	}
	return strings.ReplaceAll(msg, "{remaining}", words)
}

// entries are the plan's Scalelite entries (every one with the server's URL).
func (p *Plan) entries() []*bbb.ScaleliteServer {
	if len(p.ScaleliteEntries) > 0 {
		return p.ScaleliteEntries
	}
	if p.Scalelite != nil {
		return []*bbb.ScaleliteServer{p.Scalelite}
	}
	return nil
}

// runCordon cordons every enabled entry with the server's URL.
func (o *Operation) runCordon(ctx context.Context, r *serverRun) error {
	ens := inState(r.plan.entries(), bbb.ScaleliteEnabled)
	if len(ens) == 0 {
		return skip("already %s in Scalelite", r.plan.Scalelite.State)
	}
	for _, en := range ens {
		if err := o.setScalelite(ctx, "cordon", en); err != nil {
			return err
		}
		r.cordoned = true
		if r.cordonedIDs == nil {
			r.cordonedIDs = map[string]bool{}
		}
		r.cordonedIDs[en.ID] = true
	}
	msg := fmt.Sprintf("cordoned in Scalelite (id %s)", ens[0].ID)
	if n := len(r.plan.entries()); n > 1 {
		msg = fmt.Sprintf("cordoned %d of the %d Scalelite entries that share this URL (ids %s)", len(ens), n, entryIDs(ens))
	}
	r.done(msg, nil, map[string]any{"scalelite_id": entryIDs(ens)})
	return nil
}

func (o *Operation) runWarn(ctx context.Context, r *serverRun) error {
	s, so := r.s, r.plan.opts.stop
	msg := so.Message
	if !so.MessageSet {
		msg = s.Drain.Message
	}
	msg = expandMessage(msg, o.drainTimeout(s, so))
	ms, err := o.meetings(ctx, s)
	if err != nil {
		return fmt.Errorf("reading the meetings to warn: %w", withoutServer(err))
	}
	if len(ms) == 0 {
		return skip("no meetings to warn")
	}
	c, err := o.Env.API(s)
	if err != nil {
		return err
	}
	var sent []MeetingRef
	var failed []string
	for _, m := range ms {
		err := o.call(ctx, func(ctx context.Context) error { return c.SendChatMessage(ctx, m.MeetingID, msg, "") })
		switch {
		case err == nil:
			sent = append(sent, meetingRefs([]bbb.Meeting{m})...)
		case bbb.IsUnknownCall(err):
			return skip("the server has no sendChatMessage (BBB before 3.0): no warning could be sent")
		case bbb.IsNotFound(err):
			// ended meanwhile
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			failed = append(failed, fmt.Sprintf("%q: %v", m.MeetingName, withoutServer(err)))
		}
	}
	note := fmt.Sprintf("warned %d %s", len(sent), plural(len(sent), "meeting", "meetings"))
	if len(failed) > 0 {
		note += "; not warned: " + strings.Join(failed, "; ")
	}
	r.done(note, sent, nil)
	return nil
}

// pendingRecordings lists the recording work files over SSH (reconnecting
// once when the connection dropped).
func (o *Operation) pendingRecordings(ctx context.Context, s Server) ([]string, error) {
	var res *ssh.Result
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, s, ssh.Command{Script: probeScript})
		return err
	})
	if err != nil {
		return nil, err
	}
	_, recs, _, rerr, _ := readProbe(string(res.Stdout))
	return recs, rerr
}

func (o *Operation) runDrain(ctx context.Context, r *serverRun) error {
	s, so := r.s, r.plan.opts.stop
	timeout := o.drainTimeout(s, so)
	if !so.Drain {
		timeout = 0 // one look only
	}
	poll := s.Drain.Poll.D()
	if poll <= 0 {
		poll = DefaultDrainPoll
	}
	deadline := time.Now().Add(timeout)
	start := time.Now()
	var lastMs []MeetingRef
	var lastRecs []string
	var seen []MeetingRef
	seenIDs := map[string]bool{}
	var lastErr error
	first := true
	lastKey, lastSent := "", time.Time{}
	for {
		// Recordings first, meetings last: the last look before the
		// stop is at the meetings (the stop step looks once more).
		recs, rerr := o.pendingRecordings(ctx, s)
		ms, err := o.meetings(ctx, s)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err != nil:
			lastErr = fmt.Errorf("getMeetings: %w", withoutServer(err))
		case rerr != nil:
			lastErr = fmt.Errorf("reading the recording status: %w", withoutServer(rerr))
		default:
			lastErr = nil
			lastMs, lastRecs = meetingRefs(ms), recs
			for _, m := range lastMs {
				if !seenIDs[m.ID] {
					seenIDs[m.ID] = true
					seen = append(seen, m)
				}
			}
			if len(lastMs) == 0 && len(lastRecs) == 0 {
				msg := "no meetings, no recording work"
				if !first {
					msg = fmt.Sprintf("empty after %s", time.Since(start).Round(100*time.Millisecond))
				}
				r.done(msg, seen, map[string]any{"waited_ms": time.Since(start).Milliseconds()})
				return nil
			}
		}
		if first && !so.Drain && lastErr != nil {
			if so.Force {
				return skip("%v: --force stops without looking", lastErr)
			}
			return lastErr
		}
		if first && !so.Drain {
			if so.Force {
				return skip("no --drain: %d meetings left for --force to end", len(lastMs))
			}
			// A meeting started after the plan was made.
			return &OpError{Server: s.Name, Step: StepDrain, Kind: KindRefused,
				Err: &MeetingsRunningError{Meetings: lastMs, Recordings: lastRecs}, Meetings: lastMs, Recordings: lastRecs}
		}
		first = false
		left := time.Until(deadline)
		if left <= 0 {
			if lastErr != nil && lastMs == nil {
				if so.Force {
					r.done(fmt.Sprintf("deadline passed without an answer (%v): --force stops", lastErr), seen, nil)
					return nil
				}
				return fmt.Errorf("drain deadline (%s) passed without an answer: %w", timeout, lastErr)
			}
			if so.Force {
				if len(lastMs) == 0 {
					// Only recording work is left: --force stops anyway.
					r.done(fmt.Sprintf("deadline passed; --force stops although recording processing is pending (%s); recover with `bbb-record --rebuild ID`",
						strings.Join(firstN(lastRecs, 3), ", ")), seen, nil)
					return nil
				}
				r.done(fmt.Sprintf("deadline passed with %d meetings left: --force ends them", len(lastMs)), seen, nil)
				return nil
			}
			return &OpError{Server: s.Name, Step: StepDrain, Kind: KindRefused,
				Err:      &MeetingsRunningError{Meetings: lastMs, Recordings: lastRecs, Deadline: timeout},
				Meetings: lastMs, Recordings: lastRecs}
		}
		msg := fmt.Sprintf("%d %s, %d %s, %d recordings pending; %s left", len(lastMs), plural(len(lastMs), "meeting", "meetings"),
			participants(lastMs), plural(participants(lastMs), "user", "users"), len(lastRecs), left.Round(time.Second))
		if lastErr != nil {
			msg = fmt.Sprintf("%v (retrying); %s left", lastErr, left.Round(time.Second))
		}
		// A progress event when something changed, else every 30 s.
		key := fmt.Sprintf("%d/%d/%d/%v", len(lastMs), participants(lastMs), len(lastRecs), lastErr)
		if key != lastKey || time.Since(lastSent) >= progressEvery {
			r.progress(msg, lastMs, map[string]any{"meetings": len(lastMs), "users": participants(lastMs), "recordings": len(lastRecs)})
			lastKey, lastSent = key, time.Now()
		}
		t := time.NewTimer(min(poll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (o *Operation) runEnd(ctx context.Context, r *serverRun) error {
	s := r.s
	ms, err := o.meetings(ctx, s)
	if err != nil {
		// bbb-web does not answer: its meetings are broken for their
		// users already, and --force asked to stop regardless.
		return skip("cannot read the meetings (getMeetings: %v): --force stops without ending them", withoutServer(err))
	}
	if len(ms) == 0 {
		return skip("no meetings left")
	}
	c, err := o.Env.API(s)
	if err != nil {
		return err
	}
	parents := map[string]bool{}
	for _, m := range ms {
		if !m.IsBreakout {
			parents[m.InternalMeetingID] = true
		}
	}
	var ended []MeetingRef
	for _, m := range ms {
		if m.IsBreakout && parents[m.ParentMeetingID] {
			continue // ending the parent ends its breakout rooms
		}
		pw := ""
		if !strings.HasPrefix(r.plan.Release, "3.") && !strings.HasPrefix(r.plan.Release, "4.") {
			pw = m.ModeratorPW // 2.7 may want it (reference §5)
		}
		err := o.call(ctx, func(ctx context.Context) error { return c.End(ctx, m.MeetingID, pw) })
		if err != nil && !bbb.IsNotFound(err) {
			return &OpError{Server: s.Name, Step: StepEnd, Kind: KindFailed, Meetings: meetingRefs(ms),
				Err: fmt.Errorf("end %q was rejected: %w; the server was not stopped", m.MeetingName, withoutServer(err))}
		}
		ended = append(ended, meetingRefs([]bbb.Meeting{m})...)
		r.ended++
	}
	// end is asynchronous: wait until they are gone.
	wait := o.callTimeout()
	deadline := time.Now().Add(wait)
	for {
		left, err := o.meetings(ctx, s)
		if err == nil && len(left) == 0 {
			r.done(fmt.Sprintf("ended %d %s", len(ended), plural(len(ended), "meeting", "meetings")), ended, nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("getMeetings after end: %w; the server was not stopped", withoutServer(err))
			}
			lr := meetingRefs(left)
			return &OpError{Server: s.Name, Step: StepEnd, Kind: KindFailed, Meetings: lr,
				Err: fmt.Errorf("%d %s did not end within %s: %s; the server was not stopped", len(lr), plural(len(lr), "meeting", "meetings"), wait, describeMeetings(lr, 5))}
		}
		t := time.NewTimer(min(250*time.Millisecond, time.Until(deadline)+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// lastLook reads getMeetings once more just before `bbb-conf --stop`: a
// meeting created since the drain's last look (Scalelite's cordon may come
// after a create was under way; a direct join link) refuses the stop, or
// with --force is ended first.
func (o *Operation) lastLook(ctx context.Context, r *serverRun) error {
	s, so := r.s, r.plan.opts.stop
	ms, err := o.meetings(ctx, s)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch {
	case err != nil && so.Force:
		return nil // --force stops without looking (as the drain does)
	case err != nil:
		e := &MeetingsRunningError{Unknown: fmt.Errorf("getMeetings just before the stop: %w", trimPrefixErr(err, s.Name))}
		return &OpError{Server: s.Name, Step: StepStop, Kind: KindRefused, Err: e}
	case len(ms) == 0:
		return nil
	case so.Force:
		r.progress(fmt.Sprintf("%d %s started since the drain: --force ends them first", len(ms), plural(len(ms), "meeting", "meetings")), meetingRefs(ms), nil)
		var se *skipError
		if err := o.runEnd(ctx, r); err != nil && !errors.As(err, &se) {
			return err
		}
		return nil
	}
	refs := meetingRefs(ms)
	e := &MeetingsRunningError{Meetings: refs}
	return &OpError{Server: s.Name, Step: StepStop, Kind: KindRefused,
		Err: fmt.Errorf("a meeting started just before the stop: %w; BBB was not stopped", e), Meetings: refs}
}

// bbbConf runs `sudo bbb-conf ARG`. Ctrl-C does not cut it off: a
// half-stopped BBB is worse than a finished stop, so it runs to its end
// (bounded by bbbConfTimeout) and the operation stops after it.
func (o *Operation) bbbConf(ctx context.Context, r *serverRun, arg string) error {
	s := r.s
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(bbbConfTimeout, o.callTimeout()))
	defer cancel()
	stopNote := context.AfterFunc(ctx, func() {
		r.progress(fmt.Sprintf("interrupted: letting bbb-conf %s finish (Ctrl-C again to leave at once)", arg), nil, nil)
	})
	defer stopNote()
	res, err := o.remote(cctx, s, ssh.Command{Argv: []string{"bbb-conf", arg}, Sudo: true})
	if err != nil {
		r.half = fmt.Sprintf("bbb-conf %s failed: units may be partly %s", arg, map[string]string{"--stop": "stopped", "--start": "started"}[arg])
		if res != nil && len(res.Stdout) > 0 {
			return fmt.Errorf("bbb-conf %s: %w (%s)", arg, withoutServer(err), firstLine(strings.TrimSpace(string(res.Stdout))))
		}
		return fmt.Errorf("bbb-conf %s: %w", arg, withoutServer(err))
	}
	return nil
}

func (o *Operation) units(ctx context.Context, s Server) ([]bbb.UnitStatus, error) {
	var res *ssh.Result
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, s, ssh.Command{Argv: []string{"bbb-conf", "--status"}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return bbb.ParseStatus(string(res.Stdout)), nil
}

func (o *Operation) runStop(ctx context.Context, r *serverRun) error {
	s := r.s
	if err := o.lastLook(ctx, r); err != nil {
		return err
	}
	if err := o.bbbConf(ctx, r, "--stop"); err != nil {
		return err
	}
	us, err := o.units(context.WithoutCancel(ctx), s)
	if err != nil {
		return fmt.Errorf("verifying the stop: %w", withoutServer(err))
	}
	if !unitsStopped(us) {
		var still []string
		for _, u := range us {
			if !sharedUnits[u.Unit] && u.State != "inactive" && u.State != "failed" {
				still = append(still, u.Unit+" "+u.State)
			}
		}
		r.half = "BBB partly stopped"
		return fmt.Errorf("bbb-conf --stop ran, but units are still up: %s", strings.Join(still, ", "))
	}
	r.stopped, r.half = true, ""
	r.done("BBB stopped; units inactive", nil, nil)
	return nil
}
