package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
	"github.com/bbbfleet/bbbfleet/pkg/schedule"
)

type applyOptions struct {
	at        string
	waitLock  time.Duration
	startWait time.Duration
}

const applyHelp = `Bring every server a schedule rule targets into its desired state at now
(or --at T): the action of the most recent firing at or before T, among
the rules that target it, that was not skipped for a holiday.

The servers are read first (read-only: the API root call and an SSH
login, in parallel). A server in its desired state is left alone. The
others go through the same operations as start, stop and restart, with the
deciding rule's drain, message and power:

  - desired down, BBB up: stop (cordon in Scalelite, warn with the rule's
    message, drain for the rule's drain, stop), then power off when the
    rule has power: true. A class is never cut: a server with meetings
    and no drain is refused (exit 3); at the drain's deadline the server
    stays up and cordoned (exit 3), and the next apply drains again.
  - desired down, BBB stopped, power: true: power off. A server that does
    not answer at all is taken as powered off, as it should be.
  - desired up, BBB down: start (power on first when it does not answer
    and the rule has power: true), wait until ready, enable in Scalelite.
  - restart rules: restart (rolling, one server at a time) only when BBB
    has not started since the firing (systemd's start time of bbb-web).

Servers that no rule targets are never touched, nor read. When every
server is in its desired state nothing is changed (no start or stop, no
Scalelite change, no power hook, no audit line) and the output says so, so
a run that cron started late, twice, or after the machine was off
converges to the same state.

Takes the fleet lock (exit 4 when another run holds it, or --wait-lock D)
and writes every step to the audit log. --dry-run reads the servers and
prints what each would go through, changing nothing.

Times: ` + schedule.WhenFormats + `.

Output: live lines on a terminal, timestamped lines on a pipe, JSON lines
with -o json ({"type": "event"} as start and stop print them, then one
{"type": "result", "server", "action", "result": done | unchanged |
refused | failed | interrupted | not-started, "message", "state"} per
server a rule decides, then {"type": "summary", "at", "changed",
"unchanged", "failed", "refused"}).

EXIT STATUS
  0 every server is in its desired state (or got there), 1 a server could
  not be read or reconciled, 2 usage or configuration error, 3 refused for
  safety (meetings running, drain deadline passed), 4 lock held,
  130 interrupted.`

func newScheduleApplyCmd(app *App) *cobra.Command {
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "apply [TARGETS]",
		Short: "Bring the servers the schedule targets into their desired state now (idempotent)",
		Long:  applyHelp,
		Example: `  bbbfleet schedule apply --dry-run
  bbbfleet schedule apply
  bbbfleet schedule apply --at "2026-12-07 06:45" @pool`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.startWait <= 0 {
				return &ExitError{Code: ExitUsage, Err: errorf("--wait must be positive, got %s", o.startWait)}
			}
			format, err := app.outputFormat()
			if err != nil {
				return err
			}
			cfg, s, err := app.loadSchedule(true)
			if err != nil {
				return err
			}
			if w := cfg.UnsharedLockWarning(); w != "" && os.Geteuid() == 0 {
				fmt.Fprintf(app.IO.ErrOut, "bbbfleet: WARNING: %s\n", w)
			}
			servers, _, err := app.selectTargets(args, true)
			if err != nil {
				return err
			}
			at := time.Now()
			if o.at != "" {
				if at, err = whenFlag("at", o.at, at, cfg.Zone()); err != nil {
					return err
				}
			}
			code, err := app.scheduleApply(app.Context(), applyRun{cfg: cfg, sched: s, servers: servers, at: at,
				format: format, waitLock: o.waitLock, startWait: o.startWait, dryRun: app.DryRun})
			if err != nil {
				return err
			}
			if code != ExitOK {
				return silentExit(code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.at, "at", "", "evaluate the schedule at this time instead of now ("+schedule.WhenFormats+")")
	f.DurationVar(&o.startWait, "wait", fleet.DefaultStartWait, "how long each server may take to be ready when started")
	addWaitLock(cmd, &o.waitLock)
	return cmd
}

// applyRun is one schedule apply, from the command or the daemon.
type applyRun struct {
	cfg       *fleet.Config
	sched     *schedule.Schedule
	servers   []fleet.Server
	at        time.Time
	format    string
	waitLock  time.Duration
	startWait time.Duration
	dryRun    bool
	// daemon: no live lines, one log line per server instead of a table.
	daemon bool
}

// envFor is newEnv for a given config (the daemon reloads it).
func (app *App) envFor(cfg *fleet.Config) (*fleet.Env, error) {
	secrets, err := fleet.LoadSecrets(cfg.SecretsFile)
	if err != nil {
		return nil, err
	}
	env := fleet.NewEnv(cfg, secrets, app.runOptions())
	cliWords(env)
	env.SSHConfigFile = app.sshConfigFile()
	return env, nil
}

// scheduleApply runs one apply: a fresh Env, the lock and the audit log
// for this apply only, the plans, the operations, the rendering. It returns
// the exit code of the outcomes; an error for what stops the apply as a
// whole (lock held, audit log unwritable, secrets unreadable).
func (app *App) scheduleApply(ctx context.Context, r applyRun) (int, error) {
	env, err := app.envFor(r.cfg)
	if err != nil {
		return ExitUsage, err
	}
	defer env.Close()
	so := fleet.ScheduleOptions{StartWait: r.startWait}

	if r.dryRun {
		run := env.PlanSchedule(ctx, r.sched, r.servers, r.at, so)
		if err := ctx.Err(); err != nil {
			return ExitInterrupted, err
		}
		return app.renderApplyDryRun(r, run)
	}

	guard, err := app.openGuard(ctx, r.cfg, r.waitLock)
	if err != nil {
		code, _ := classify(err, true)
		return code, err
	}
	defer guard.Close()

	run := env.PlanSchedule(ctx, r.sched, r.servers, r.at, so)
	plans := run.Plans()
	format := r.format
	if r.daemon && format != "json" {
		format = "tsv" // timestamped lines, never live lines
	}
	var rd *opRenderer
	if len(plans) > 0 {
		rd = newOpRenderer(app, format, plans)
		run.Subscribe(rd.event)
		run.Subscribe(guard.Audit.Subscriber())
		rd.begin()
	}
	outs := run.Apply(ctx)
	if rd != nil {
		rd.end()
	}
	// A server that could not be read is a failure worth a line in the
	// audit log too; one in its desired state is not (an apply every five
	// minutes would fill it with nothing).
	for _, o := range outs {
		if o.Result == fleet.ResultFailed && o.Err != nil && o.Err.Step == fleet.StepCheck && !hasPlan(plans, o.Server) {
			guard.Audit.Write(fleet.AuditRecord{Time: time.Now().UTC(), Server: o.Server, Action: "schedule", Step: fleet.StepCheck,
				Result: "failed", Message: o.Message})
		}
	}
	aerr := guard.Close()
	if err := app.renderApplyOutcomes(format, r, run, outs); err != nil {
		return ExitFailed, err
	}
	if aerr != nil {
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: error: %v\n", aerr)
	}
	return operationExit(outs), nil
}

func hasPlan(plans []*fleet.Plan, name string) bool {
	for _, p := range plans {
		if p.Name == name {
			return true
		}
	}
	return false
}

// applySummary is the last JSON line, and the last line of the table.
type applySummary struct {
	Type      string    `json:"type"` // "summary"
	At        time.Time `json:"at"`
	Changed   int       `json:"changed"`
	Unchanged int       `json:"unchanged"`
	Failed    int       `json:"failed"`
	Refused   int       `json:"refused"`
	// Untouched are the servers asked about that no rule decides.
	Untouched []string `json:"untouched"`
	DryRun    bool     `json:"dry_run,omitempty"`
}

func summarize(r applyRun, run *fleet.ScheduleRun, outs []*fleet.Outcome) applySummary {
	s := applySummary{Type: "summary", At: r.at.In(r.cfg.Zone()), Untouched: []string{}}
	for _, d := range run.Undecided {
		s.Untouched = append(s.Untouched, d.Server)
	}
	for _, o := range outs {
		switch o.Result {
		case fleet.ResultUnchanged:
			s.Unchanged++
		case fleet.ResultRefused:
			s.Refused++
		case fleet.ResultDone:
			s.Changed++
		default:
			s.Failed++
		}
	}
	return s
}

func (s applySummary) line(run *fleet.ScheduleRun) string {
	var b strings.Builder
	switch {
	case s.Changed == 0 && s.Failed == 0 && s.Refused == 0:
		fmt.Fprintf(&b, "nothing to do: every server the schedule decides (%d) is in its desired state; nothing was changed", s.Unchanged)
	default:
		fmt.Fprintf(&b, "%d changed, %d in their desired state already", s.Changed, s.Unchanged)
		if s.Refused > 0 {
			fmt.Fprintf(&b, ", %d refused for safety", s.Refused)
		}
		if s.Failed > 0 {
			fmt.Fprintf(&b, ", %d failed", s.Failed)
		}
	}
	if len(s.Untouched) > 0 {
		fmt.Fprintf(&b, "; not touched (no rule decides them): %s", strings.Join(s.Untouched, ", "))
	}
	return b.String()
}

func (app *App) renderApplyOutcomes(format string, r applyRun, run *fleet.ScheduleRun, outs []*fleet.Outcome) error {
	sum := summarize(r, run, outs)
	if r.daemon {
		return app.logOutcomes(format, sum, run, outs)
	}
	if len(outs) > 0 {
		if err := app.renderOutcomes(format, run.Plans(), outs); err != nil {
			return err
		}
	} else if format != "json" {
		fmt.Fprintln(app.IO.Out, "no server is decided by a schedule rule at this time")
	}
	if format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetEscapeHTML(false)
		return enc.Encode(sum)
	}
	w := app.IO.ErrOut
	if format == "table" {
		w = app.IO.Out
	}
	fmt.Fprintln(w, "bbbfleet: "+sum.line(run))
	return nil
}

// logOutcomes is the daemon's account of an apply: one timestamped line per
// server (one JSON line with -o json), then the summary.
func (app *App) logOutcomes(format string, sum applySummary, run *fleet.ScheduleRun, outs []*fleet.Outcome) error {
	if format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetEscapeHTML(false)
		for _, o := range outs {
			oj := outcomeJSON{Type: "result", Outcome: o, ElapsedMS: o.Elapsed.Milliseconds()}
			if o.Err != nil {
				oj.Error, oj.Step = ui.Clean(o.Err.Err.Error()), o.Err.Step
			}
			if err := enc.Encode(oj); err != nil {
				return err
			}
		}
		return enc.Encode(sum)
	}
	ts := time.Now().UTC().Format(time.RFC3339)
	for _, o := range outs {
		msg := o.Message
		if o.Err != nil {
			msg = o.Err.Err.Error()
			if o.Err.Step != "" {
				msg = o.Err.Step + ": " + msg
			}
			if o.Err.State != "" && o.Err.State != "untouched" {
				msg += "; left: " + o.Err.State
			}
		}
		fmt.Fprintf(app.IO.Out, "%s %s %s: %s\n", ts, o.Server, o.Result, ui.Clean(msg))
	}
	fmt.Fprintf(app.IO.Out, "%s apply: %s\n", ts, ui.Clean(sum.line(run)))
	return nil
}

// ---- dry run ----

type applyPlanJSON struct {
	Type     string   `json:"type"` // "server"
	Server   string   `json:"server"`
	Desired  string   `json:"desired"`
	Why      string   `json:"why"`
	Observed string   `json:"observed"`
	Detail   string   `json:"observed_detail,omitempty"`
	Change   []string `json:"change"`
	Reason   string   `json:"change_reason,omitempty"`
	Action   string   `json:"action,omitempty"`
	Failed   bool     `json:"failed"`
}

func (app *App) renderApplyDryRun(r applyRun, run *fleet.ScheduleRun) (int, error) {
	plans := run.Plans()
	failed := 0
	for _, ss := range run.Servers {
		if ss.Change.Failed {
			failed++
		}
	}
	code := ExitOK
	if err := planExit(plans); err != nil {
		code = err.(*ExitError).Code
	}
	if failed > 0 {
		code = ExitFailed
	}
	if r.format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetEscapeHTML(false)
		for _, ss := range run.Servers {
			j := applyPlanJSON{Type: "server", Server: ss.Server.Name, Desired: string(ss.Desired.State), Why: ss.Desired.Why(),
				Observed: string(ss.Observed.State), Detail: ui.Clean(ss.Observed.Detail), Change: []string{},
				Reason: ss.Change.Reason, Action: ss.Action, Failed: ss.Change.Failed}
			if ss.Action != "" {
				j.Change = ss.Change.Steps
			}
			if err := enc.Encode(j); err != nil {
				return ExitFailed, err
			}
		}
		if err := app.renderPlans("json", plans); err != nil {
			return ExitFailed, err
		}
		sum := applySummary{Type: "summary", At: r.at.In(r.cfg.Zone()), Changed: len(plans), Untouched: []string{}, DryRun: true}
		for _, d := range run.Undecided {
			sum.Untouched = append(sum.Untouched, d.Server)
		}
		sum.Failed = failed
		return code, enc.Encode(sum)
	}
	t := ui.Table{Headers: []string{"SERVER", "DESIRED", "NOW", "CHANGE", "WHY"}}
	for _, ss := range run.Servers {
		change := "none"
		switch {
		case ss.Change.Failed:
			change = "unknown"
		case ss.Action != "":
			change = ss.Change.String()
		}
		why := ss.Desired.Why()
		switch {
		case ss.Change.Failed:
			why = ss.Change.Reason
			if ss.Observed.Detail != "" && ss.Observed.State != schedule.ObservedUp {
				why += ": " + ss.Observed.Detail
			}
		case ss.Note != "":
			why = ss.Note
		}
		t.Rows = append(t.Rows, []string{ss.Server.Name, string(ss.Desired.State), string(ss.Observed.State), change, ui.Clean(why)})
	}
	t.Tone = func(_, col int, v string) ui.Tone {
		if col != 3 {
			return ui.Plain
		}
		switch v {
		case "none":
			return ui.Faint
		case "unknown":
			return ui.Bad
		}
		return ui.Warn
	}
	if format := r.format; format == "table" {
		fmt.Fprintln(app.IO.Out, app.IO.Bold(fmt.Sprintf("Desired state at %s (dry run, nothing is changed):", fmtTime(r.at, r.cfg.Zone()))))
	}
	if err := app.render(r.format, t); err != nil {
		return ExitFailed, err
	}
	if len(plans) > 0 {
		fmt.Fprintln(app.IO.Out)
		if err := app.renderPlans(r.format, plans); err != nil {
			return ExitFailed, err
		}
	}
	line := fmt.Sprintf("dry run: apply would change %d %s", len(plans), demoServerWord(len(plans)))
	if len(plans) == 0 {
		line = "dry run: nothing to do, every server the schedule decides is in its desired state"
	}
	if failed > 0 {
		line += fmt.Sprintf("; %d could not be read or reconciled", failed)
	}
	if len(run.Undecided) > 0 {
		var names []string
		for _, d := range run.Undecided {
			names = append(names, d.Server)
		}
		line += "; not touched (no rule decides them): " + strings.Join(names, ", ")
	}
	w := app.IO.ErrOut
	if r.format == "table" {
		w = app.IO.Out
	}
	fmt.Fprintln(w, "bbbfleet: "+line)
	return code, nil
}
