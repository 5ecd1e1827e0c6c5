package schedule

import (
	"context"
	"time"
)

// The daemon loop of `schedule run`. It is its own timer loop over the
// schedule's firings rather than robfig/cron's runner: the firings are the
// ones Prev/Desired evaluate (the same DST rule: a skipped time fires when
// the clocks resume, a repeated time fires once, where robfig/cron's runner
// fires it twice), the schedule can be swapped on a reload without
// rebuilding a cron instance, and the clock can be injected in tests. One
// goroutine runs the applies, so two never overlap (what SkipIfStillRunning
// gives); a firing that passes while an apply runs is not dropped: the
// next apply starts right after, at the firing's time or later.

// Wake says why the loop applies.
type Wake string

// Reasons to apply.
const (
	WakeStart   Wake = "start"
	WakeFiring  Wake = "firing"
	WakeReapply Wake = "reapply"
	WakeReload  Wake = "reload"
)

// LoopOptions drive Loop.
type LoopOptions struct {
	// Apply reconciles the fleet at `at` (the wake's firing time, or now
	// when later). It runs in the loop's goroutine.
	Apply func(ctx context.Context, why Wake, at time.Time, f *Firing)
	// Schedule returns the schedule in force (it changes on a reload).
	Schedule func() *Schedule
	// Reload is signalled to reload the config; OnReload does it and
	// reports whether a new schedule is in force (then the loop applies).
	Reload   <-chan struct{}
	OnReload func() bool
	// Reapply is the period of the re-apply that heals faults (default 5m).
	Reapply time.Duration
	// Now and After are the clock (default time.Now, time.After); tests
	// inject their own.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Idle, when set, is told the next wake before the loop sleeps.
	Idle func(next time.Time, why Wake, f *Firing)
}

// DefaultReapply is the period of the re-apply.
const DefaultReapply = 5 * time.Minute

// NextFiring is the earliest firing of any rule after t (skipped ones
// included: an apply at a skipped firing changes nothing), looking at most
// LookBack ahead.
func (s *Schedule) NextFiring(t time.Time) (Firing, bool) {
	var best Firing
	ok := false
	for _, r := range s.Rules {
		fs := s.NextFirings(r, t, 1)
		if len(fs) == 0 {
			continue
		}
		if !ok || fs[0].Time.Before(best.Time) {
			best, ok = fs[0], true
		}
	}
	return best, ok
}

// Loop applies at once, then at each firing and every Reapply after the
// last apply, until ctx ends (it returns then, after the apply under way).
func Loop(ctx context.Context, o LoopOptions) {
	if o.Reapply <= 0 {
		o.Reapply = DefaultReapply
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	why, at := WakeStart, o.Now()
	var firing *Firing
	for {
		if ctx.Err() != nil {
			return
		}
		now := o.Now()
		if at.Before(now) {
			at = now
		}
		o.Apply(ctx, why, at, firing)
		if ctx.Err() != nil {
			return
		}
		// What comes next: the first firing after the time just applied
		// (one that passed during the apply is due at once), or the
		// re-apply.
		applied := at
		next, nwhy := o.Now().Add(o.Reapply), WakeReapply
		firing = nil
		if f, ok := o.Schedule().NextFiring(applied); ok && !f.Time.After(next) {
			next, nwhy, firing = f.Time, WakeFiring, &f
		}
		if o.Idle != nil {
			o.Idle(next, nwhy, firing)
		}
		for {
			d := next.Sub(o.Now())
			if d <= 0 {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-o.Reload:
				if o.OnReload != nil && o.OnReload() {
					next, nwhy, firing = o.Now(), WakeReload, nil
				}
				continue
			case <-o.After(d):
			}
		}
		why, at = nwhy, next
	}
}
