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

// wait_for_connection's rhythm (reference §6): a 5 s connect timeout and
// 1 s between attempts.
const (
	sshWaitConnect = 5 * time.Second
	sshWaitSleep   = time.Second
	readyPoll      = 250 * time.Millisecond
)

func (o *Operation) startSteps(pl *Plan, slUsable bool, sl *scaleliteView, reachable bool) {
	s, so := pl.Server, pl.opts.start
	p := pl.probe
	if !pl.opts.doStop && !reachable {
		pl.Steps = append(pl.Steps,
			&Step{Name: StepPowerOn, Description: "switch the machine on", run: o.runPowerOn,
				Touches: "local hook: " + strings.Join(expandHook(s.Power.On, s), " ")},
			&Step{Name: StepWaitSSH, Description: fmt.Sprintf("wait for SSH (up to --wait %s)", so.Wait), run: o.runWaitSSH})
	}
	start := &Step{Name: StepStart, Description: "start BBB (bbb-conf --start) unless every unit is active", run: o.runStart,
		Touches: "ssh: sudo bbb-conf --start"}
	ready := &Step{Name: StepReady, Description: "wait until every unit is active, the API answers and accepts the secret", run: o.runReady,
		Touches: "ssh: bbb-conf --status; API root call, isMeetingRunning"}
	alreadyReady := !pl.opts.doStop && reachable && unitsActive(p.units) && p.apiErr == nil
	if !pl.opts.doStop && reachable && unitsActive(p.units) {
		start.Skip = "every unit is active"
	}
	if alreadyReady {
		ready.Skip = "ready already: units active, API answers, secret accepted"
	}
	enable := &Step{Name: StepEnable, Description: "take meetings again (Scalelite enable)", run: o.runEnable}
	switch {
	case o.Env.Config.Scalelite == nil:
		enable.Skip = "Scalelite is not configured"
	case so.SkipScalelite || pl.opts.stop.SkipScalelite:
		enable.Skip = "--skip-scalelite: Scalelite is left alone"
	case slUsable && pl.Scalelite == nil:
		enable.Skip = "not registered in Scalelite"
	case slUsable && len(inState(pl.entries(), bbb.ScaleliteEnabled)) == len(pl.entries()) && !pl.opts.doStop:
		enable.Skip = "enabled in Scalelite already"
	case slUsable && pl.opts.doStop && len(inState(pl.entries(), bbb.ScaleliteEnabled)) == 0:
		// A restart puts the server back as it was: one the
		// administrator cordoned or disabled stays so.
		pl.slLeft = pl.Scalelite.State
		enable.Skip = fmt.Sprintf("left %s in Scalelite as it was before the restart", pl.Scalelite.State)
	case slUsable:
		h, _ := o.Env.Config.ScaleliteHost()
		var cmds []string
		for _, en := range pl.entries() {
			if pl.opts.doStop && en.State != bbb.ScaleliteEnabled {
				continue // a restart enables only what it cordons
			}
			if !pl.opts.doStop && en.State == bbb.ScaleliteEnabled {
				continue
			}
			cmds = append(cmds, ssh.Quote(bbb.RakeArgv(o.Env.Config.ScaleliteContainer(), "servers:enable", en.ID)))
		}
		enable.Touches = fmt.Sprintf("Scalelite on %s: %s", h.Host, strings.Join(cmds, "; "))
	default:
		enable.Touches = "Scalelite (could not be asked: " + sl.err.Error() + ")"
	}
	pl.Steps = append(pl.Steps, start, ready, enable)
}

// startDeadline is when --wait runs out for this server.
func (r *serverRun) startDeadline() time.Time {
	w := r.plan.opts.start.Wait
	if w <= 0 {
		w = DefaultStartWait
	}
	return r.startedAt.Add(w)
}

func (o *Operation) runPowerOn(ctx context.Context, r *serverRun) error {
	if err := o.runHook(ctx, r.s, "power.on", r.s.Power.On); err != nil {
		return err
	}
	r.poweredOn = true
	r.done("power.on hook ran", nil, nil)
	return nil
}

func (o *Operation) runWaitSSH(ctx context.Context, r *serverRun) error {
	deadline := r.startDeadline()
	attempts := 0
	start := time.Now()
	for {
		attempts++
		left := time.Until(deadline)
		err := o.sshAnswers(ctx, r.s, min(sshWaitConnect, max(left, 100*time.Millisecond)))
		if err == nil {
			r.done(fmt.Sprintf("SSH answers after %s (%d %s)", time.Since(start).Round(100*time.Millisecond), attempts, plural(attempts, "attempt", "attempts")), nil, nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Until(deadline) <= 0 {
			return fmt.Errorf("SSH did not answer within --wait %s: %w", r.plan.opts.start.Wait, withoutServer(err))
		}
		if attempts%5 == 1 {
			r.progress(fmt.Sprintf("waiting for SSH (%s)", sshWaitReason(err)), nil, nil)
		}
		t := time.NewTimer(min(sshWaitSleep, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (o *Operation) runStart(ctx context.Context, r *serverRun) error {
	s := r.s
	if !r.plan.opts.doStop {
		// After a power-on the units may be coming up by themselves.
		if us, err := o.units(ctx, s); err == nil && unitsActive(us) {
			return skip("every unit is active")
		}
	}
	if err := o.bbbConf(ctx, r, "--start"); err != nil {
		return err
	}
	r.stopped, r.half = false, ""
	r.done("bbb-conf --start ran", nil, nil)
	return nil
}

func (o *Operation) runReady(ctx context.Context, r *serverRun) error {
	s := r.s
	deadline := r.startDeadline()
	var why error
	for {
		why = o.readyOnce(ctx, s)
		if why == nil {
			r.readyAt = time.Now()
			r.stopped = false
			r.done(fmt.Sprintf("ready %s after the first step", r.readyAt.Sub(r.startedAt).Round(100*time.Millisecond)), nil,
				map[string]any{"time_to_ready_ms": r.readyAt.Sub(r.startedAt).Milliseconds()})
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ms *MissingSecretError
		if errors.As(why, &ms) || bbb.IsSecretRejected(why) {
			return why // waiting does not fix a secret
		}
		if time.Until(deadline) <= 0 {
			return fmt.Errorf("not ready within --wait %s: %w", r.plan.opts.start.Wait, why)
		}
		t := time.NewTimer(min(readyPoll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// readyOnce: every unit active, the API answers, the secret is accepted.
func (o *Operation) readyOnce(ctx context.Context, s Server) error {
	us, err := o.units(ctx, s)
	if err != nil {
		return withoutServer(err)
	}
	if !unitsActive(us) {
		return fmt.Errorf("units not active: %s", strings.Join(firstN(notActive(us), 4), ", "))
	}
	c, err := o.Env.API(s)
	if err != nil {
		return err
	}
	err = o.call(ctx, func(ctx context.Context) error {
		if _, err := c.Root(ctx); err != nil {
			return err
		}
		_, err := c.IsMeetingRunning(ctx, secretProbeMeeting)
		return err
	})
	if err != nil {
		if bbb.IsSecretRejected(err) {
			return fmt.Errorf("the API rejects the secret: %w", withoutServer(err))
		}
		return fmt.Errorf("API: %w", withoutServer(err))
	}
	return nil
}

func (o *Operation) runEnable(ctx context.Context, r *serverRun) error {
	v := o.scalelite(ctx)
	if v == nil {
		return skip("Scalelite is not configured")
	}
	if v.err != nil {
		return fmt.Errorf("the server runs but could not be enabled in Scalelite: %w", v.err)
	}
	all := v.entries(r.s)
	if len(all) == 0 {
		return skip("not registered in Scalelite")
	}
	var ens []*bbb.ScaleliteServer
	for _, en := range all {
		// A restart enables only the entries it cordoned (one the
		// administrator had cordoned or disabled stays so); start
		// enables every entry with the server's URL.
		if en.State != bbb.ScaleliteEnabled && (!r.plan.opts.doStop || r.cordonedIDs[en.ID]) {
			ens = append(ens, en)
		}
	}
	if len(ens) == 0 {
		if r.plan.opts.doStop && len(inState(all, bbb.ScaleliteEnabled)) == 0 {
			r.plan.slLeft = all[0].State
			return skip("left %s in Scalelite as it was before the restart", all[0].State)
		}
		return skip("enabled in Scalelite already")
	}
	for _, en := range ens {
		if err := o.setScalelite(ctx, "enable", en); err != nil {
			return fmt.Errorf("the server runs but could not be enabled in Scalelite: %w", err)
		}
	}
	r.cordoned, r.enabled = false, true
	msg := fmt.Sprintf("enabled in Scalelite (id %s)", ens[0].ID)
	if len(all) > 1 {
		msg = fmt.Sprintf("enabled %d of the %d Scalelite entries that share this URL (ids %s)", len(ens), len(all), entryIDs(ens))
	}
	r.done(msg, nil, map[string]any{"scalelite_id": entryIDs(ens)})
	return nil
}

// IsInterrupted reports whether an outcome error is an interruption.
func IsInterrupted(err error) bool {
	var oe *OpError
	return errors.As(err, &oe) && oe.Kind == KindInterrupted
}
