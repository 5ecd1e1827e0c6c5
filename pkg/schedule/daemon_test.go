package schedule

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeClock is the loop's clock in tests: After advances it at once.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

type wake struct {
	why Wake
	at  time.Time
}

// runLoop runs Loop from start until the clock passes end and returns
// every apply.
func runLoop(t *testing.T, s *Schedule, start, end time.Time, reapply time.Duration, reload chan struct{}, onReload func() bool) []wake {
	t.Helper()
	c := &fakeClock{now: start}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []wake
	Loop(ctx, LoopOptions{
		Reapply: reapply, Now: c.Now, After: c.After, Reload: reload, OnReload: onReload,
		Schedule: func() *Schedule { return s },
		Apply: func(ctx context.Context, why Wake, at time.Time, f *Firing) {
			if why == WakeFiring && (f == nil || !f.Time.Equal(at)) {
				t.Errorf("firing wake at %s without its firing (%v)", at, f)
			}
			got = append(got, wake{why, at})
			if !c.now.Before(end) || len(got) > 1000 {
				cancel()
			}
		},
	})
	return got
}

func firingsOf(ws []wake, z *time.Location) []string {
	var out []string
	for _, w := range ws {
		if w.why == WakeFiring {
			out = append(out, w.at.In(z).Format("01-02 15:04 MST"))
		}
	}
	return out
}

func TestLoopAppliesAtStartFiringsAndReapply(t *testing.T) {
	s, be := school(t)
	start := time.Date(2026, 12, 7, 21, 50, 0, 0, be) // a Monday
	ws := runLoop(t, s, start, start.Add(8*time.Hour+40*time.Minute), time.Hour, nil, nil)
	if ws[0].why != WakeStart || !ws[0].at.Equal(start) {
		t.Fatalf("first apply %+v, want start at %s", ws[0], start)
	}
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "%s %s\n", w.why, w.at.In(be).Format("15:04"))
	}
	want := "start 21:50\nfiring 22:00\nreapply 23:00\nreapply 00:00\nreapply 01:00\nreapply 02:00\nreapply 03:00\nreapply 04:00\nreapply 05:00\nreapply 06:00\nfiring 06:30\n"
	if b.String() != want {
		t.Errorf("applies:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestLoopDST: a 02:30 rule in Berlin fires once on the fall-back day (the
// first 02:30) and at 03:00 on the spring-forward day, as Desired counts it.
func TestLoopDST(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{rule(t, "night", "30 2 * * *", be, Restart, "bbb1")}, nil)
	fall := time.Date(2026, 10, 24, 12, 0, 0, 0, be)
	got := firingsOf(runLoop(t, s, fall, fall.Add(48*time.Hour), 6*time.Hour, nil, nil), be)
	if strings.Join(got, ", ") != "10-25 02:30 CEST, 10-26 02:30 CET" {
		t.Errorf("fall-back firings: %v", got)
	}
	spring := time.Date(2026, 3, 28, 12, 0, 0, 0, be)
	got = firingsOf(runLoop(t, s, spring, spring.Add(48*time.Hour), 6*time.Hour, nil, nil), be)
	if strings.Join(got, ", ") != "03-29 03:00 CEST, 03-30 02:30 CEST" {
		t.Errorf("spring-forward firings: %v", got)
	}
	// Each firing is the one Desired takes as the most recent.
	d := s.Desired("bbb1", time.Date(2026, 10, 25, 2, 45, 0, 0, time.UTC))
	if !d.OK || d.Since.In(be).Format("01-02 15:04 MST") != "10-25 02:30 CEST" {
		t.Errorf("desired after the fall-back firings: %s", d.Why())
	}
}

// TestLoopReload: a successful reload applies at once; a failed one does
// not and the loop goes on waiting.
func TestLoopReload(t *testing.T) {
	for _, ok := range []bool{false, true} {
		s, be := school(t)
		c := &fakeClock{now: time.Date(2026, 12, 8, 10, 0, 0, 0, be)}
		reload := make(chan struct{}, 1)
		ctx, cancel := context.WithCancel(context.Background())
		var whys []Wake
		waits, reloads := 0, 0
		Loop(ctx, LoopOptions{
			Reapply: time.Hour, Now: c.Now, Reload: reload, Schedule: func() *Schedule { return s },
			OnReload: func() bool { reloads++; return ok },
			After: func(d time.Duration) <-chan time.Time {
				waits++
				if waits == 1 {
					// the first wait is interrupted by a SIGHUP
					reload <- struct{}{}
					return make(chan time.Time)
				}
				return c.After(d)
			},
			Apply: func(ctx context.Context, why Wake, at time.Time, f *Firing) {
				whys = append(whys, why)
				if len(whys) == 2 {
					cancel()
				}
			},
		})
		cancel()
		want := WakeReapply
		if ok {
			want = WakeReload
		}
		if reloads != 1 || len(whys) != 2 || whys[1] != want {
			t.Errorf("reload ok=%v: %d reloads, applies %v; want the second to be %s", ok, reloads, whys, want)
		}
	}
}

// TestLoopStopsOnCancel: a cancelled context ends the loop while it waits.
func TestLoopStopsOnCancel(t *testing.T) {
	s, _ := school(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Loop(ctx, LoopOptions{Reapply: time.Hour, Schedule: func() *Schedule { return s },
			Apply: func(context.Context, Wake, time.Time, *Firing) {}})
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Loop did not return after cancel")
	}
}
