package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
	"github.com/bbbfleet/bbbfleet/pkg/schedule"
)

type runOptions struct {
	reapply   time.Duration
	waitLock  time.Duration
	startWait time.Duration
}

func newScheduleRunCmd(app *App) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [TARGETS]",
		Short: "The schedule daemon (systemd Type=simple): apply at start, at each firing and every 5 minutes",
		Long: `Run in the foreground as the schedule's daemon (for systemd, Type=simple;
` + "`bbbfleet schedule install --daemon`" + ` prints its unit): schedule apply at start,
then at each firing of a rule, and every --reapply (default 5m) after the
last apply, so a fault (a server that did not answer, a drain that ran
into its deadline) heals by itself.

Each apply is the one ` + "`schedule apply`" + ` makes: a fresh look at the servers,
the fleet lock taken for that apply only (so a manual ` + "`bbbfleet stop`" + ` can
run between firings; an apply that finds the lock held logs it and tries
again at the next wake, or waits --wait-lock), the audit log written.
Applies never overlap: a firing that passes while one runs is applied
right after it.

Signals:
  SIGTERM, SIGINT  finish the step under way (a running bbb-conf or power
                   hook ends; a drain stops waiting, its server stays up
                   and cordoned), then exit 0
  SIGHUP           reload the config; a config that does not load is
                   logged with file:line and the old one keeps running

Log: one timestamped line per event and per server result on stdout (the
journal), JSON lines with -o json ({"type": "log", "time", "level",
"message"} besides apply's event, result and summary lines).

EXIT STATUS: 0 after SIGTERM or SIGINT, 2 when the config does not load
at start.`,
		Example: `  bbbfleet schedule run
  bbbfleet schedule run --reapply 1m -o json`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.reapply <= 0 {
				return &ExitError{Code: ExitUsage, Err: errorf("--reapply must be positive, got %s", o.reapply)}
			}
			if o.startWait <= 0 {
				return &ExitError{Code: ExitUsage, Err: errorf("--wait must be positive, got %s", o.startWait)}
			}
			if app.DryRun {
				return &ExitError{Code: ExitUsage, Err: errors.New("schedule run has no --dry-run"),
					Hint: "see what an apply would do with `bbbfleet schedule apply --dry-run`"}
			}
			return runScheduleDaemon(app, args, o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.reapply, "reapply", schedule.DefaultReapply, "apply again this long after the last apply")
	f.DurationVar(&o.startWait, "wait", fleet.DefaultStartWait, "how long each server may take to be ready when started")
	f.DurationVar(&o.waitLock, "wait-lock", 0, "when another run holds the fleet lock, wait up to this long (default: skip this apply, try again at the next wake)")
	return cmd
}

// daemonLog writes the daemon's own lines: timestamped text, or JSON lines.
type daemonLog struct {
	mu   sync.Mutex
	app  *App
	json bool
}

func (l *daemonLog) printf(level, format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := fmt.Sprintf(format, a...)
	now := time.Now()
	if l.json {
		b, err := json.Marshal(map[string]any{"type": "log", "time": now, "level": level, "message": ui.CleanText(msg)})
		if err == nil {
			l.app.IO.Out.Write(append(b, '\n'))
		}
		return
	}
	lines := strings.Split(ui.CleanText(msg), "\n")
	ts := now.UTC().Format(time.RFC3339)
	for i, ln := range lines {
		if i > 0 {
			ln = "  " + ln
		}
		fmt.Fprintf(l.app.IO.Out, "%s %s %s\n", ts, level, ln)
	}
}

// daemonState is what a reload replaces: the config, its schedule and the
// servers the targets select. Nothing else is kept between applies.
type daemonState struct {
	cfg     *fleet.Config
	sched   *schedule.Schedule
	servers []fleet.Server
}

// count is "1 rule", "2 rules".
func count(n int, one, many string) string { return fmt.Sprintf("%d %s", n, plural(n, one, many)) }

// targeted is how many of the selected servers some rule targets.
func (st *daemonState) targeted() int {
	ruled := map[string]bool{}
	for _, r := range st.sched.Rules {
		for _, s := range r.Servers {
			ruled[s] = true
		}
	}
	n := 0
	for _, s := range st.servers {
		if ruled[s.Name] {
			n++
		}
	}
	return n
}

func loadDaemonState(app *App, path string, args []string) (*daemonState, error) {
	cfg, err := fleet.Load(path)
	if err != nil {
		return nil, err
	}
	s := cfg.Schedule
	if s == nil || len(s.Rules) == 0 {
		return nil, fmt.Errorf("%s has no schedules", cfg.Path)
	}
	words := args
	if len(words) == 0 {
		words = []string{"all"}
	}
	servers, err := cfg.Select(words)
	if err != nil {
		return nil, err
	}
	return &daemonState{cfg: cfg, sched: s, servers: servers}, nil
}

func runScheduleDaemon(app *App, args []string, o runOptions) error {
	format, err := app.outputFormat()
	if err != nil {
		return err
	}
	cfg, _, err := app.loadSchedule(true)
	if err != nil {
		return err
	}
	if w := cfg.UnsharedLockWarning(); w != "" && os.Geteuid() == 0 {
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: WARNING: %s\n", w)
	}
	st, err := loadDaemonState(app, cfg.Path, args)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	log := &daemonLog{app: app, json: format == "json"}
	ctx := app.Context()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}()

	var mu sync.Mutex // st is read by the loop only; mu documents the swap
	current := func() *daemonState { mu.Lock(); defer mu.Unlock(); return st }
	log.printf("info", "schedule run: started (pid %d, config %s, %s, %s targeted, re-apply every %s)",
		os.Getpid(), st.cfg.Path, count(len(st.sched.Rules), "rule", "rules"), count(st.targeted(), "server", "servers"), o.reapply)

	schedule.Loop(ctx, schedule.LoopOptions{
		Reapply:  o.reapply,
		Reload:   reload,
		Schedule: func() *schedule.Schedule { return current().sched },
		OnReload: func() bool {
			path := current().cfg.Path
			ns, err := loadDaemonState(app, path, args)
			if err != nil {
				log.printf("error", "reload: %v; the old config keeps running", err)
				return false
			}
			mu.Lock()
			st = ns
			mu.Unlock()
			log.printf("info", "reload: config %s loaded (%s, %s targeted)", ns.cfg.Path, count(len(ns.sched.Rules), "rule", "rules"), count(ns.targeted(), "server", "servers"))
			return true
		},
		Idle: func(next time.Time, why schedule.Wake, f *schedule.Firing) {
			zone := current().cfg.Zone()
			if f != nil {
				note := ""
				if f.Skipped {
					note = " (skipped: holiday " + f.Holiday.String() + "; an apply all the same)"
				}
				log.printf("info", "next: %s, rule `%s` (%s) fires%s", fmtTime(next, zone), f.Rule.Name, f.Rule.Action, note)
				return
			}
			log.printf("info", "next: %s, re-apply", fmtTime(next, zone))
		},
		Apply: func(ctx context.Context, why schedule.Wake, at time.Time, f *schedule.Firing) {
			s := current()
			what := string(why)
			if f != nil {
				what = fmt.Sprintf("rule `%s` fired at %s", f.Rule.Name, fmtTime(f.Time, f.Rule.Spec.Zone))
			}
			log.printf("info", "apply (%s) at %s", what, fmtTime(at, s.cfg.Zone()))
			code, err := app.scheduleApply(ctx, applyRun{cfg: s.cfg, sched: s.sched, servers: s.servers, at: at,
				format: format, waitLock: o.waitLock, startWait: o.startWait, daemon: true})
			var lh *fleet.LockHeldError
			switch {
			case errors.As(err, &lh):
				log.printf("warn", "apply skipped: %v; trying again at the next wake", err)
			case err != nil:
				log.printf("error", "apply: %v", err)
			case code != ExitOK:
				log.printf("warn", "apply ended with exit status %d (%s)", code, exitWords(code))
			}
			// Nothing of the apply is kept: give its memory back to the
			// system before the daemon sleeps for minutes.
			debug.FreeOSMemory()
		},
	})
	log.printf("info", "schedule run: stopping (signal); bye")
	return nil
}

func exitWords(code int) string {
	switch code {
	case ExitFailed:
		return "a server failed"
	case ExitRefused:
		return "refused for safety"
	case ExitInterrupted:
		return "interrupted"
	case ExitLocked:
		return "lock held"
	}
	return "see above"
}
