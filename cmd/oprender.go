package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// opRun is what start, stop and restart share: plan, dry run, audit, lock,
// apply, render. The commands differ only in how they plan.
type opRun struct {
	action   string
	waitLock time.Duration
	// parallel overrides -j when > 0 (restart rolls one at a time unless -j is given).
	parallel      int
	stopOnFailure bool
	plan          func(ctx context.Context, op *fleet.Operation, servers []fleet.Server) []*fleet.Plan
}

// openGuard takes the fleet lock and opens the audit log for a command
// that changes servers, recording this run's command line. An audit log
// that cannot be written keeps its type (exit 2, see classify) and says
// that nothing was changed.
func (app *App) openGuard(ctx context.Context, cfg *fleet.Config, waitLock time.Duration) (*fleet.Guard, error) {
	guard, err := fleet.OpenGuard(ctx, cfg, "bbbfleet "+quoteArgs(app.args), waitLock)
	if err != nil {
		var au *fleet.AuditUnwritableError
		if errors.As(err, &au) {
			return nil, fmt.Errorf("%w; nothing was changed", err)
		}
		return nil, err
	}
	return guard, nil
}

// addWaitLock adds --wait-lock to a changing command.
func addWaitLock(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "wait-lock", 0, "when another run holds the fleet lock, wait up to this long for it (default: exit 4 at once)")
}

// opSetup is what every command that changes servers starts with: the
// output format, the explicit targets, the config and one Env (the
// caller closes it) with an Operation for action.
type opSetup struct {
	format  string
	servers []fleet.Server
	cfg     *fleet.Config
	env     *fleet.Env
	op      *fleet.Operation
}

func (app *App) setupOperation(args []string, action string) (*opSetup, error) {
	format, err := app.outputFormat()
	if err != nil {
		return nil, err
	}
	servers, cfg, err := app.selectTargets(args, false)
	if err != nil {
		return nil, err
	}
	env, err := app.newEnv(true)
	if err != nil {
		return nil, err
	}
	return &opSetup{format: format, servers: servers, cfg: cfg, env: env, op: env.NewOperation(action)}, nil
}

// applyPlans runs the plans under the guard with the live renderer and the
// audit log subscribed, then closes the guard (its error, e.g. an audit
// line that could not be written, is returned for the caller to print
// after the results).
func (app *App) applyPlans(ctx context.Context, op *fleet.Operation, format string, plans []*fleet.Plan, guard *fleet.Guard) ([]*fleet.Outcome, error) {
	rd := newOpRenderer(app, format, plans)
	op.Subscribe(rd.event)
	op.Subscribe(guard.Audit.Subscriber())
	rd.begin()
	outcomes := op.Apply(ctx, plans)
	rd.end()
	return outcomes, guard.Close()
}

func runOperation(app *App, args []string, r opRun) error {
	st, err := app.setupOperation(args, r.action)
	if err != nil {
		return err
	}
	defer st.env.Close()
	format, servers, cfg, op := st.format, st.servers, st.cfg, st.op
	if r.parallel > 0 {
		op.Parallel = r.parallel
	}
	op.StopOnFailure = r.stopOnFailure
	ctx := app.Context()

	if app.DryRun {
		plans := r.plan(ctx, op, servers)
		if err := app.renderPlans(format, plans); err != nil {
			return err
		}
		if err := planConfigErrors(plans); err != nil {
			return err
		}
		return planExit(plans)
	}

	// Audit log and lock before anything is looked at or changed.
	guard, err := app.openGuard(ctx, cfg, r.waitLock)
	if err != nil {
		return err
	}
	defer guard.Close() // applyPlans closes it; a second Close does nothing

	plans := r.plan(ctx, op, servers)
	if err := planConfigErrors(plans); err != nil {
		return err // exit 2, before anything is changed
	}
	outcomes, aerr := app.applyPlans(ctx, op, format, plans, guard)
	if err := app.renderOutcomes(format, plans, outcomes); err != nil {
		return err
	}
	if aerr != nil {
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: error: %v\n", aerr)
	}
	return silentExit(operationExit(outcomes))
}

// planConfigErrors is the config problems (a power hook that cannot run
// here) found while planning: the whole run is refused (exit 2).
func planConfigErrors(plans []*fleet.Plan) error {
	var ces fleet.ConfigErrors
	for _, p := range plans {
		var ce *fleet.ConfigError
		if p.Err != nil && errors.As(p.Err, &ce) {
			ces = append(ces, ce)
		}
	}
	switch len(ces) {
	case 0:
		return nil
	case 1:
		return ces[0]
	}
	return ces
}

// planExit: a dry run exits 3 when a server would be refused, 1 when one
// cannot be planned, else 0.
func planExit(plans []*fleet.Plan) error {
	code := ExitOK
	for _, p := range plans {
		switch {
		case p.Err != nil:
			code = ExitFailed
		case p.Refused != nil && code == ExitOK:
			code = ExitRefused
		}
	}
	if code == ExitOK {
		return nil
	}
	return silentExit(code)
}

// ---- dry run ----

type planJSON struct {
	Type string `json:"type"`
	*fleet.Plan
	Refused string `json:"refused,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (app *App) renderPlans(format string, plans []*fleet.Plan) error {
	if format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetEscapeHTML(false)
		for _, p := range plans {
			pj := planJSON{Type: "plan", Plan: p}
			if p.Refused != nil {
				pj.Refused = p.Refused.Err.Error()
			}
			if p.Err != nil {
				pj.Error = p.Err.Err.Error()
			}
			if err := enc.Encode(pj); err != nil {
				return err
			}
		}
		return nil
	}
	out := app.IO.Out
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(out)
		}
		head := fmt.Sprintf("%s: %s", p.Name, p.Action)
		if p.Release != "" {
			head += " (BBB " + p.Release + ")"
		}
		fmt.Fprintln(out, app.IO.Bold(head)+" — dry run, nothing is changed")
		if p.MeetingsUnknown != "" {
			fmt.Fprintf(out, "  meetings: unknown (%s)\n", ui.Clean(p.MeetingsUnknown))
		} else {
			fmt.Fprintf(out, "  meetings: %s\n", meetingsLine(p.Meetings))
		}
		if len(p.Recordings) > 0 {
			fmt.Fprintf(out, "  recordings pending: %s\n", ui.Clean(strings.Join(p.Recordings, ", ")))
		}
		if p.Scalelite != nil {
			fmt.Fprintf(out, "  scalelite: %s, %s (id %s)\n", p.Scalelite.State, onlineWord(p.Scalelite.Online), ui.Clean(p.Scalelite.ID))
		}
		for _, n := range p.Notes {
			fmt.Fprintf(out, "  note: %s\n", ui.Clean(n))
		}
		switch {
		case p.Err != nil:
			fmt.Fprintf(out, "  %s %s\n", app.IO.Paint(ui.Bad, "cannot plan:"), ui.Clean(p.Err.Err.Error()))
			continue
		case p.Refused != nil:
			fmt.Fprintf(out, "  %s %s\n", app.IO.Paint(ui.Bad, "would refuse:"), ui.Clean(p.Refused.Err.Error()))
			continue
		}
		for j, s := range p.Steps {
			line := fmt.Sprintf("  %d. %-9s %s", j+1, s.Name, s.Description)
			if s.Skip != "" {
				line = fmt.Sprintf("  %d. %-9s %s", j+1, s.Name, app.IO.Paint(ui.Faint, "skip: "+s.Skip))
			}
			fmt.Fprintln(out, ui.Clean(line))
			if s.Skip == "" && s.Touches != "" {
				fmt.Fprintf(out, "     %s\n", app.IO.Paint(ui.Faint, ui.Clean(s.Touches)))
			}
		}
	}
	return nil
}

func onlineWord(b bool) string {
	if b {
		return "online"
	}
	return "offline"
}

func meetingsLine(ms []fleet.MeetingRef) string {
	if len(ms) == 0 {
		return "none"
	}
	var parts []string
	for _, m := range ms {
		name := m.Name
		if m.Breakout {
			name += " [breakout]"
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", ui.Clean(name), m.Participants))
	}
	users := 0
	for _, m := range ms {
		users += m.Participants
	}
	return fmt.Sprintf("%d running, %d users: %s", len(ms), users, strings.Join(parts, ", "))
}

// ---- live events ----

// maxLiveLines is the most servers shown as live lines on a terminal.
const maxLiveLines = 30

// opRenderer shows an operation's events: one live line per server on a
// terminal, timestamped lines on a pipe, JSON lines with -o json.
type opRenderer struct {
	app    *App
	format string
	out    io.Writer
	live   bool

	mu      sync.Mutex
	names   []string
	lines   map[string]*liveLine
	drawn   int
	stop    chan struct{}
	stopped chan struct{}
}

type liveLine struct {
	step    string
	msg     string
	since   time.Time
	started time.Time
	final   bool
	tone    ui.Tone
}

func newOpRenderer(app *App, format string, plans []*fleet.Plan) *opRenderer {
	rd := &opRenderer{app: app, format: format, out: app.IO.Out, lines: map[string]*liveLine{}}
	// Live lines fit a terminal; a long list scrolls as timestamped lines.
	rd.live = format == "table" && app.IO.OutTTY && len(plans) <= maxLiveLines
	for _, p := range plans {
		rd.names = append(rd.names, p.Name)
		rd.lines[p.Name] = &liveLine{msg: "waiting", tone: ui.Faint}
	}
	return rd
}

func (rd *opRenderer) begin() {
	if !rd.live {
		return
	}
	rd.stop, rd.stopped = make(chan struct{}), make(chan struct{})
	rd.mu.Lock()
	rd.draw()
	rd.mu.Unlock()
	go func() {
		defer close(rd.stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-rd.stop:
				return
			case <-t.C:
				rd.mu.Lock()
				rd.draw()
				rd.mu.Unlock()
			}
		}
	}()
}

func (rd *opRenderer) end() {
	if !rd.live {
		return
	}
	close(rd.stop)
	<-rd.stopped
	rd.mu.Lock()
	rd.draw()
	rd.mu.Unlock()
}

// eventJSON is one line of -o json: an event of the stable schema.
type eventJSON struct {
	Type string `json:"type"` // "event"
	fleet.Event
	DurationMS int64 `json:"duration_ms,omitempty"`
}

func (rd *opRenderer) event(ev fleet.Event) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	switch {
	case rd.format == "json":
		ev.Message = ui.Clean(ev.Message)
		d := ev.Duration
		ev.Duration = 0
		b, err := json.Marshal(eventJSON{Type: "event", Event: ev, DurationMS: d.Milliseconds()})
		if err == nil {
			rd.out.Write(append(b, '\n'))
		}
	case rd.live:
		l := rd.lines[ev.Server]
		if l == nil {
			return
		}
		if l.started.IsZero() {
			l.started = ev.Time
		}
		if ev.Step != l.step || ev.Phase == fleet.PhaseStarted {
			l.since = ev.Time
		}
		l.step = ev.Step
		l.msg = ui.Clean(ev.Message)
		l.tone = ui.Plain
		switch ev.Phase {
		case fleet.PhaseFailed:
			l.tone, l.final = ui.Bad, true
			if l.msg != ev.Result {
				l.msg = ev.Result + ": " + l.msg
			}
		case fleet.PhaseSkipped:
			l.tone = ui.Faint
		case fleet.PhaseDone:
			l.tone = ui.Good
		}
		rd.draw()
	default:
		ts := ev.Time.UTC().Format(time.RFC3339)
		msg := ui.Clean(ev.Message)
		line := fmt.Sprintf("%s %s %s %s", ts, ev.Server, ev.Step, ev.Phase)
		if ev.Phase == fleet.PhaseFailed && ev.Result != "" && ev.Result != "failed" {
			line = fmt.Sprintf("%s %s %s %s", ts, ev.Server, ev.Step, ev.Result)
			if msg == ev.Result {
				msg = "" // "drain interrupted", not "drain interrupted: interrupted"
			}
		}
		if msg != "" {
			line += ": " + msg
		}
		if ev.Duration > 0 {
			line += fmt.Sprintf(" (%s)", ev.Duration.Round(time.Millisecond))
		}
		fmt.Fprintln(rd.out, line)
	}
}

// draw redraws the live lines in place (the caller holds mu).
func (rd *opRenderer) draw() {
	var b strings.Builder
	if rd.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", rd.drawn)
	}
	width := 0
	for _, n := range rd.names {
		width = max(width, len(n))
	}
	now := time.Now()
	for _, n := range rd.names {
		l := rd.lines[n]
		el := ""
		if !l.since.IsZero() && !l.final {
			el = " " + now.Sub(l.since).Round(time.Second).String()
		}
		step := l.step
		if step == "" {
			step = "-"
		}
		prefix, msg := liveFit(fmt.Sprintf("%-*s  %-9s ", width, n, step), l.msg, &el, rd.app.IO.Width)
		fmt.Fprintf(&b, "\r\x1b[2K%s%s%s\x1b[K\n", prefix, rd.app.IO.Paint(l.tone, msg), rd.app.IO.Paint(ui.Faint, el))
	}
	rd.drawn = len(rd.names)
	io.WriteString(rd.out, b.String())
}

// ---- outcomes ----

type outcomeJSON struct {
	Type string `json:"type"` // "result"
	*fleet.Outcome
	ElapsedMS     int64              `json:"elapsed_ms"`
	TimeToReadyMS int64              `json:"time_to_ready_ms,omitempty"`
	Error         string             `json:"error,omitempty"`
	Step          string             `json:"failed_step,omitempty"`
	Meetings      []fleet.MeetingRef `json:"meetings,omitempty"`
}

func (app *App) renderOutcomes(format string, plans []*fleet.Plan, outs []*fleet.Outcome) error {
	if format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetEscapeHTML(false)
		for _, o := range outs {
			oj := outcomeJSON{Type: "result", Outcome: o, ElapsedMS: o.Elapsed.Milliseconds(), TimeToReadyMS: o.TimeToReady.Milliseconds()}
			if o.Err != nil {
				oj.Error, oj.Step, oj.Meetings = ui.Clean(o.Err.Err.Error()), o.Err.Step, o.Err.Meetings
			}
			if err := enc.Encode(oj); err != nil {
				return err
			}
		}
		app.explainOutcomes(outs)
		return nil
	}
	t := ui.Table{Headers: []string{"SERVER", "RESULT", "TIME", "STATE", "DETAIL"}}
	for _, o := range outs {
		tm := o.Elapsed.Round(100 * time.Millisecond).String()
		if o.TimeToReady > 0 {
			tm = o.TimeToReady.Round(100*time.Millisecond).String() + " to ready"
		}
		detail := o.Message
		if o.Err != nil {
			detail = o.Err.Err.Error()
			var mr *fleet.MeetingsRunningError
			if errors.As(o.Err, &mr) {
				detail = mr.Summary() // the meetings are listed on stderr
			}
			if o.Err.Step != "" {
				detail = o.Err.Step + ": " + detail
			}
		}
		detail, _, _ = strings.Cut(detail, "\n")
		if format == "table" {
			detail = shorten(detail, 100)
		}
		t.Rows = append(t.Rows, []string{o.Server, o.Result, tm, o.State, ui.Clean(detail)})
	}
	t.Tone = func(_, col int, v string) ui.Tone {
		if col != 1 {
			return ui.Plain
		}
		switch v {
		case fleet.ResultDone:
			return ui.Good
		case fleet.ResultUnchanged, fleet.ResultNotStarted:
			return ui.Faint
		case fleet.ResultRefused:
			return ui.Warn
		}
		return ui.Bad
	}
	if format == "table" && app.IO.OutTTY {
		fmt.Fprintln(app.IO.Out)
	}
	if err := app.render(format, t); err != nil {
		return err
	}
	app.explainOutcomes(outs)
	return nil
}

// explainOutcomes writes, on stderr, what each server that did not end
// well protects, what it was left as, and what to do: the hints with flag
// names live here, not in pkg/fleet.
func (app *App) explainOutcomes(outs []*fleet.Outcome) {
	w := app.IO.ErrOut
	var bad []string
	for _, o := range outs {
		if o.Err == nil {
			if o.Result == fleet.ResultNotStarted {
				bad = append(bad, o.Server)
			}
			continue
		}
		bad = append(bad, o.Server)
		e := o.Err
		lines := strings.Split(ui.CleanText(e.Error()), "\n")
		fmt.Fprintf(w, "bbbfleet: %s: %s\n", e.Kind, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "  %s\n", l)
		}
		for _, m := range e.Meetings {
			name := m.Name
			if m.Breakout {
				name += " [breakout]"
			}
			fmt.Fprintf(w, "  meeting %s: %d %s\n", ui.Clean(name), m.Participants, map[bool]string{true: "participant", false: "participants"}[m.Participants == 1])
		}
		for _, r := range e.Recordings {
			fmt.Fprintf(w, "  recording work pending: %s\n", ui.Clean(r))
		}
		if e.State != "" {
			fmt.Fprintf(w, "  left: %s\n", e.State)
		}
		if h := opHint(app, o); h != "" {
			fmt.Fprintf(w, "bbbfleet: hint: %s\n", h)
		}
	}
	if len(bad) > 0 && len(outs) > 1 {
		fmt.Fprintf(w, "bbbfleet: %d of %d servers did not finish: %s\n", len(bad), len(outs), strings.Join(bad, ", "))
	}
}

func opHint(app *App, o *fleet.Outcome) string {
	e := o.Err
	if o.Action == "install" {
		return installHint(o)
	}
	var mr *fleet.MeetingsRunningError
	var su *fleet.ScaleliteUnsafeError
	var he *fleet.HookError
	undo := ""
	if e.Undo != "" {
		undo = "; undo: `" + e.Undo + "`"
		if strings.Contains(e.State, "cordoned") && !strings.Contains(e.State, "stopped") {
			undo = "; undo (re-enables it in Scalelite): `" + e.Undo + "`"
		}
	}
	switch {
	case e.Kind == fleet.KindInterrupted:
		if e.Undo != "" {
			return "interrupted; nothing further was done" + undo
		}
		return "interrupted; nothing further was done"
	case errors.As(e, &mr) && mr.Deadline > 0:
		return fmt.Sprintf("not stopped: wait longer (`bbbfleet %s %s --drain 1h`) or end the meetings with --force%s", o.Action, o.Server, undo)
	case errors.As(e, &mr) && e.Step == fleet.StepStop && mr.Unknown == nil:
		return fmt.Sprintf("not stopped: a meeting started after the drain; run again with --drain to wait for it, or --force to end it%s", undo)
	case errors.As(e, &mr) && errors.Is(mr.Unknown, fleet.ErrResqueUnreadable):
		return fmt.Sprintf("check redis-cli on %s (`bbbfleet exec %s -- redis-cli --raw smembers resque:queues`), or stop without looking with --force%s", o.Server, o.Server, undo)
	case errors.As(e, &mr) && mr.Unknown != nil && e.Undo != "":
		return fmt.Sprintf("not stopped: fix the API access (`bbbfleet check %s`), or stop without looking with --force%s", o.Server, undo)
	case errors.As(e, &mr) && mr.Unknown != nil:
		return fmt.Sprintf("fix the API access (`bbbfleet check %s`), or stop without looking with --force", o.Server)
	case errors.As(e, &mr):
		return fmt.Sprintf("nothing was changed; wait for the meetings with `bbbfleet %s %s --drain 45m`, or end them with --force", o.Action, o.Server)
	case errors.As(e, &su):
		return "fix SSH to the Scalelite host (scalelite: in the config), or take the server out of Scalelite by hand and run again with --skip-scalelite"
	case errors.As(e, &he):
		return fmt.Sprintf("check power.%s of %s in the config (and power.timeout)%s", strings.TrimPrefix(he.Hook, "power."), o.Server, undo)
	}
	return strings.TrimPrefix(undo, "; ")
}

// parallelFlagSet reports whether -j (or BBBFLEET_PARALLEL) was given.
func parallelFlagSet(app *App) bool {
	if rootFlagChanged(app, "parallel") {
		return true
	}
	v, ok := os.LookupEnv("BBBFLEET_PARALLEL")
	return ok && strings.TrimSpace(v) != ""
}

// parseDrain reads --drain's value: "" (not given), "default" (each
// server's drain.timeout) or a duration. (A flag with an optional value
// would read `--drain 45m bbb1` as --drain alone and a target "45m".)
func parseDrain(v string) (bool, time.Duration, error) {
	switch v {
	case "":
		return false, 0, nil
	case "default":
		return true, 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return false, 0, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--drain %q: want a duration such as 45m, or \"default\" for drain.timeout", v)}
	}
	return true, d, nil
}

// shorten cuts s to n characters, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// liveFit cuts a live line (prefix, message, elapsed) so that it takes at
// most one row of a terminal cols wide: the message gives way first, then
// the elapsed time, then the prefix. The last column stays free so that no
// terminal wraps the line (the redraw moves up one row per server).
// cols 0 (unknown) cuts the message at 100 characters.
func liveFit(prefix, msg string, el *string, cols int) (string, string) {
	if cols <= 0 {
		return prefix, shorten(msg, 100)
	}
	room := cols - 1
	pw, ew := runewidth.StringWidth(prefix), runewidth.StringWidth(*el)
	if pw+ew >= room {
		*el = ""
		return runewidth.Truncate(prefix, room, "…"), ""
	}
	return prefix, runewidth.Truncate(msg, room-pw-ew, "…")
}
