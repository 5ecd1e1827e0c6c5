package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
	"github.com/bbbfleet/bbbfleet/pkg/schedule"
)

const scheduleHelp = `Schedules start, stop or restart servers at set times: a warm-up before
school, a shutdown at night, nothing over the holidays.

Rules live in the config under schedules: (name, cron, action start, stop
or restart, targets, and for the start/stop operations drain, message and
power); holidays: and holidays_file: (an iCal file, e.g. from OpenHolidays)
list the days on which rules with skip_holidays (the default) do not fire.

The desired state of a server at a time T is the action of the most recent
firing at or before T, among the rules that target it, that was not
skipped for a holiday (a firing is on a holiday when its date in the rule's
zone is). So a run that cron started late, twice, or not at all converges
to the same state. Servers that no rule targets are never touched. When two
rules fire at the same minute for the same server with different actions,
the rule listed later in the config wins; plan shows it.

Time zones: CRON_TZ=Zone before the five fields, else the config's
timezone:, else this machine's zone. Around daylight-saving changes a rule
fires as cron daemons do: a time the clocks skip (02:30 on the
spring-forward day) fires when the clocks resume (03:00); a time that
happens twice (02:30 on the fall-back day) fires once, the first time.`

func newScheduleCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "schedule",
		Short: "Cron schedules for the fleet: list the rules, plan a day, apply them, run the daemon, install cron or systemd entries",
		Long:  scheduleHelp,
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRunE,
	}
	c.AddCommand(newScheduleListCmd(app), newSchedulePlanCmd(app), newScheduleInstallCmd(app))
	c.AddCommand(newScheduleApplyCmd(app), newScheduleRunCmd(app))
	return c
}

// loadSchedule returns the config and its schedule; a config without
// rules is a usage error for the commands that need them.
func (app *App) loadSchedule(needRules bool) (*fleet.Config, *schedule.Schedule, error) {
	cfg, err := app.Config()
	if err != nil {
		return nil, nil, err
	}
	s := cfg.Schedule
	if s == nil {
		s = schedule.New(nil, nil)
	}
	if needRules && len(s.Rules) == 0 {
		return nil, nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s has no schedules", cfg.Path),
			Hint: "add rules under `schedules:` (see `bbbfleet schedule --help`)"}
	}
	return cfg, s, nil
}

// whenFlag parses a time flag in the config's zone.
func whenFlag(name, v string, now time.Time, zone *time.Location) (time.Time, error) {
	t, err := schedule.ParseWhen(v, now, zone)
	if err != nil {
		return time.Time{}, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--%s: %w", name, err)}
	}
	return t, nil
}

// fmtTime shows a time in zone with its weekday and zone abbreviation.
func fmtTime(t time.Time, zone *time.Location) string {
	return t.In(zone).Format("Mon 2006-01-02 15:04 MST")
}

// zoneName names a zone for a table; the machine's zone says which it is.
func zoneName(loc *time.Location) string {
	if loc == time.Local {
		return "local (" + time.Now().Format("MST") + ")"
	}
	return loc.String()
}

// ---- list ----

type scheduleFiringJSON struct {
	Time         time.Time `json:"time"`
	Rule         string    `json:"rule,omitempty"`
	Action       string    `json:"action,omitempty"`
	Targets      []string  `json:"targets,omitempty"`
	Skipped      bool      `json:"skipped"`
	Holiday      *string   `json:"holiday"`
	OverriddenBy []string  `json:"overridden_by,omitempty"`
}

type scheduleRuleJSON struct {
	Name         string               `json:"name"`
	Cron         string               `json:"cron"`
	Zone         string               `json:"zone"`
	Action       string               `json:"action"`
	Targets      []string             `json:"targets"`
	Servers      []string             `json:"servers"`
	SkipHolidays bool                 `json:"skip_holidays"`
	Drain        string               `json:"drain,omitempty"`
	Message      string               `json:"message,omitempty"`
	Power        bool                 `json:"power"`
	Line         int                  `json:"line"`
	Next         []scheduleFiringJSON `json:"next"`
}

func firingJSON(f schedule.Firing, withRule bool) scheduleFiringJSON {
	j := scheduleFiringJSON{Time: f.Local(), Skipped: f.Skipped}
	if withRule {
		j.Rule, j.Action, j.Targets = f.Rule.Name, string(f.Rule.Action), f.Rule.Targets
	}
	if f.OnHoliday {
		h := f.Holiday.String()
		j.Holiday = &h
	}
	for _, r := range f.OverriddenBy {
		j.OverriddenBy = append(j.OverriddenBy, r.Name)
	}
	return j
}

func newScheduleListCmd(app *App) *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "The schedule rules: zone, cron, action, targets and the next 3 firings",
		Long: `List every schedule rule with its zone, cron spec, action, targets and its
next three firings (a firing on a holiday is marked "skipped"; with
skip_holidays: false it is marked "holiday" and fires). --at lists the
firings after another time. Nothing is read from the servers.

JSON (-o json): {"time", "timezone", "rules": [{"name", "cron", "zone",
"action", "targets", "servers", "skip_holidays", "drain", "message",
"power", "line", "next": [{"time", "skipped", "holiday"}]}], "holidays":
[{"from", "to", "name", "source"}]}.`,
		Example: `  bbbfleet schedule list
  bbbfleet schedule list --at "2026-12-18 12:00" -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := app.outputFormat()
			if err != nil {
				return err
			}
			cfg, s, err := app.loadSchedule(false)
			if err != nil {
				return err
			}
			now := time.Now()
			if at != "" {
				if now, err = whenFlag("at", at, now, cfg.Zone()); err != nil {
					return err
				}
			}
			return app.renderScheduleList(format, cfg, s, now)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "list the firings after this time instead of now ("+schedule.WhenFormats+")")
	return cmd
}

func (app *App) renderScheduleList(format string, cfg *fleet.Config, s *schedule.Schedule, now time.Time) error {
	if format == "json" {
		out := struct {
			Time     time.Time          `json:"time"`
			Timezone string             `json:"timezone"`
			Rules    []scheduleRuleJSON `json:"rules"`
			Holidays []map[string]any   `json:"holidays"`
		}{Time: now.In(cfg.Zone()), Timezone: cfg.Zone().String(), Rules: []scheduleRuleJSON{}, Holidays: []map[string]any{}}
		for _, r := range s.Rules {
			j := scheduleRuleJSON{Name: r.Name, Cron: r.Spec.Text, Zone: r.Spec.Zone.String(), Action: string(r.Action),
				Targets: r.Targets, Servers: r.Servers, SkipHolidays: r.SkipHolidays, Message: r.Message, Power: r.Power,
				Line: r.Line, Next: []scheduleFiringJSON{}}
			if r.Drain > 0 {
				j.Drain = r.Drain.String()
			}
			for _, f := range s.NextFirings(r, now, 3) {
				j.Next = append(j.Next, firingJSON(f, false))
			}
			out.Rules = append(out.Rules, j)
		}
		for _, h := range s.Holidays.List() {
			out.Holidays = append(out.Holidays, map[string]any{"from": h.From.Format(time.DateOnly), "to": h.To.Format(time.DateOnly),
				"name": h.Text, "source": h.Source})
		}
		return app.IO.JSON(out)
	}
	t := ui.Table{Headers: []string{"RULE", "ZONE", "CRON", "ACTION", "TARGETS", "NEXT"}}
	for _, r := range s.Rules {
		var next []string
		for _, f := range s.NextFirings(r, now, 3) {
			n := fmtTime(f.Time, r.Spec.Zone)
			switch {
			case f.Skipped:
				n += " (skipped: holiday)"
			case f.OnHoliday:
				n += " (holiday)"
			}
			next = append(next, n)
		}
		if len(next) == 0 {
			next = []string{"never"}
		}
		action := string(r.Action)
		if r.Power {
			action += "+power"
		}
		spec := r.Spec.Text
		if i := strings.IndexAny(spec, " \t"); r.Spec.ZoneSet && i > 0 {
			spec = strings.TrimSpace(spec[i:])
		}
		sep := "; "
		if format == "table" && app.IO.OutTTY {
			sep = "\n" // a boxed table: one firing per line, none cut off
		}
		t.Rows = append(t.Rows, []string{r.Name, zoneName(r.Spec.Zone), spec, action, strings.Join(r.Targets, ","), strings.Join(next, sep)})
	}
	t.Columns = []ui.Column{5: {Wrap: true}}
	t.Tone = func(_, col int, v string) ui.Tone {
		if col == 5 && strings.Contains(v, "skipped") {
			return ui.Warn
		}
		return ui.Plain
	}
	if err := app.render(format, t); err != nil {
		return err
	}
	if len(s.Rules) == 0 {
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s has no schedules\n", cfg.Path)
	}
	return nil
}

// ---- plan ----

type planOptions struct {
	at, from, to string
	offline      bool
}

type planServerJSON struct {
	Server         string     `json:"server"`
	Targeted       bool       `json:"targeted"`
	Desired        *string    `json:"desired"`
	Action         string     `json:"action,omitempty"`
	Rule           string     `json:"rule,omitempty"`
	Since          *time.Time `json:"since"`
	Why            string     `json:"why"`
	SkippedFirings int        `json:"skipped_firings"`
	Overridden     []string   `json:"overridden,omitempty"`
	Observed       *string    `json:"observed"`
	ObservedDetail string     `json:"observed_detail,omitempty"`
	Change         []string   `json:"change"`
	ChangeReason   string     `json:"change_reason,omitempty"`
	Failed         bool       `json:"failed"`
}

type schedulePlanJSON struct {
	At       time.Time            `json:"at"`
	From     time.Time            `json:"from"`
	To       time.Time            `json:"to"`
	Timezone string               `json:"timezone"`
	Offline  bool                 `json:"offline"`
	Firings  []scheduleFiringJSON `json:"firings"`
	Servers  []planServerJSON     `json:"servers"`
	Changes  int                  `json:"changes"`
	Failed   int                  `json:"failed"`
}

const planJSONDoc = `JSON (-o json):
  {"at", "from", "to": RFC 3339 in the config's zone, "timezone",
   "offline": true when the servers were not read,
   "firings": [{"time", "rule", "action", "targets", "skipped": on a
      holiday and skipped, "holiday": the holiday or null,
      "overridden_by": later rules at the same minute with another action}],
   "servers": [{"server", "targeted": some rule targets it,
      "desired": "up" | "down" | null (no rule decides), "action", "rule",
      "since": the deciding firing, "why": one line, "skipped_firings": N,
      "overridden": rules that lost at the same minute,
      "observed": "up" | "down" | "unreachable" | "unknown" (the API
      answers wrongly, e.g. TLS) | null (not read),
      "observed_detail", "change": steps apply would take (e.g. ["stop",
      "power-off"]; [] for none), "change_reason", "failed": true when the
      server did not answer and no power hook explains it}],
   "changes": servers apply would change, "failed": servers not read}`

func newSchedulePlanCmd(app *App) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan [TARGETS]",
		Short: "The firings of a window, each server's desired state and why, and what apply would change",
		Long: `Show what the schedule does, without changing anything:

  - the firings in a window (default: the next 24 hours; --from/--to, or
    the 24 hours from --at), holidays marked as skipped;
  - each server's desired state at T (now, --at, or --from) and why: the
    rule and firing that decide it, the holiday firings skipped since, a
    rule that lost at the same minute;
  - what apply would change now: each targeted server is read (the API
    root call, and an SSH login when the API does not answer at once; in
    parallel, bounded by --timeout) and compared with its desired state.
    --offline skips reading the servers.

A server that does not answer is reported as unreachable (exit 1), unless
its rule powers it off and it should be off; one whose API answers wrongly
(e.g. an expired certificate) as unknown (exit 1).

Times: ` + schedule.WhenFormats + `.

` + planJSONDoc + `

EXIT STATUS
  0 when every server read answered (or --offline), 1 when one did not,
  2 on usage and configuration errors.`,
		Example: `  bbbfleet schedule plan
  bbbfleet schedule plan --at "tomorrow 06:30" --offline
  bbbfleet schedule plan --from "2026-12-18 12:00" --to "2027-01-08 12:00" --offline -o json`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSchedulePlan(app, args, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.at, "at", "", "the time to plan for (default now); the window is the 24 hours after it")
	f.StringVar(&o.from, "from", "", "start of the window of firings (the desired state is shown at this time)")
	f.StringVar(&o.to, "to", "", "end of the window of firings (default: 24 hours after --from)")
	f.BoolVar(&o.offline, "offline", false, "do not read the servers (no SSH, no API)")
	return cmd
}

// planWindow works out T and the window from the flags.
func planWindow(o planOptions, now time.Time, zone *time.Location) (at, from, to time.Time, err error) {
	if o.at != "" && (o.from != "" || o.to != "") {
		return at, from, to, &ExitError{Code: ExitUsage, Err: errors.New("--at and --from/--to do not go together"),
			Hint: "use --at T for a time and the 24 hours after it, or --from T --to T for a window"}
	}
	at = now
	switch {
	case o.at != "":
		if at, err = whenFlag("at", o.at, now, zone); err != nil {
			return
		}
	case o.from != "":
		if at, err = whenFlag("from", o.from, now, zone); err != nil {
			return
		}
	}
	from, to = at, at.Add(24*time.Hour)
	if o.to != "" {
		if to, err = whenFlag("to", o.to, now, zone); err != nil {
			return
		}
		if !to.After(from) {
			return at, from, to, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--to %s is not after %s", fmtTime(to, zone), fmtTime(from, zone))}
		}
		if to.Sub(from) > schedule.LookBack {
			return at, from, to, &ExitError{Code: ExitUsage, Err: fmt.Errorf("the window from %s to %s is longer than %d days", fmtTime(from, zone), fmtTime(to, zone), int(schedule.LookBack.Hours()/24))}
		}
	}
	return at, from, to, nil
}

func runSchedulePlan(app *App, args []string, o planOptions) error {
	format, err := app.outputFormat()
	if err != nil {
		return err
	}
	cfg, s, err := app.loadSchedule(true)
	if err != nil {
		return err
	}
	servers, _, err := app.selectTargets(args, true)
	if err != nil {
		return err
	}
	zone := cfg.Zone()
	at, from, to, err := planWindow(o, time.Now(), zone)
	if err != nil {
		return err
	}
	names := make([]string, len(servers))
	selected := map[string]bool{}
	for i, sv := range servers {
		names[i] = sv.Name
		selected[sv.Name] = true
	}
	// A firing at T itself is in the window and decides the state at T.
	var firings []schedule.Firing
	for _, f := range s.Firings(from.Add(-time.Nanosecond), to) {
		for _, n := range f.Rule.Servers {
			if selected[n] {
				firings = append(firings, f)
				break
			}
		}
	}
	desired := s.DesiredAll(names, at)

	// Read the servers a rule decides.
	observed := make([]schedule.Observed, len(servers))
	details := make([]string, len(servers))
	if !o.offline {
		var read []fleet.Server
		var idx []int
		for i, d := range desired {
			if d.OK {
				read = append(read, servers[i])
				idx = append(idx, i)
			}
		}
		if len(read) > 0 {
			env, err := app.newEnv(false)
			if err != nil {
				return err
			}
			obs := env.Observe(app.Context(), read)
			env.Close()
			if err := app.Context().Err(); err != nil {
				return err
			}
			for j, ob := range obs {
				observed[idx[j]], details[idx[j]] = ob.State, ob.Detail
			}
		}
	}
	rep := schedulePlanJSON{At: at.In(zone), From: from.In(zone), To: to.In(zone), Timezone: zone.String(), Offline: o.offline,
		Firings: []scheduleFiringJSON{}, Servers: []planServerJSON{}}
	for _, f := range firings {
		rep.Firings = append(rep.Firings, firingJSON(f, true))
	}
	changes := make([]schedule.Change, len(servers))
	for i, d := range desired {
		c := schedule.Reconcile(d, observed[i])
		changes[i] = c
		j := planServerJSON{Server: d.Server, Targeted: d.Targeted, Why: d.Why(), SkippedFirings: d.SkippedCount,
			ObservedDetail: ui.Clean(details[i]), Change: []string{}, ChangeReason: c.Reason, Failed: c.Failed}
		if c.Steps != nil {
			j.Change = c.Steps
		}
		if d.OK {
			st := string(d.State)
			since := d.Since.In(d.Rule.Spec.Zone)
			j.Desired, j.Action, j.Rule, j.Since = &st, string(d.Action), d.Rule.Name, &since
			for _, r := range d.Overridden {
				j.Overridden = append(j.Overridden, r.Name)
			}
		} else {
			j.ChangeReason = ""
		}
		if observed[i] != schedule.ObservedNotRead {
			ob := string(observed[i])
			j.Observed = &ob
		}
		if len(c.Steps) > 0 {
			rep.Changes++
		}
		if c.Failed {
			rep.Failed++
		}
		rep.Servers = append(rep.Servers, j)
	}
	if format == "json" {
		if err := app.IO.JSON(rep); err != nil {
			return err
		}
	} else if err := app.renderPlan(format, rep, firings, desired, changes, zone); err != nil {
		return err
	}
	if rep.Failed > 0 {
		return silentExit(ExitFailed)
	}
	return nil
}

func (app *App) renderPlan(format string, rep schedulePlanJSON, firings []schedule.Firing, desired []schedule.Desired, changes []schedule.Change, zone *time.Location) error {
	out := app.IO.Out
	table := format == "table"
	if table {
		fmt.Fprintf(out, "%s\n", app.IO.Bold(fmt.Sprintf("Firings from %s to %s:", fmtTime(rep.From, zone), fmtTime(rep.To, zone))))
	}
	ft := ui.Table{Headers: []string{"TIME", "RULE", "ACTION", "TARGETS", "NOTE"}}
	for _, f := range firings {
		note := ""
		switch {
		case f.Skipped:
			note = "skipped: holiday " + f.Holiday.String()
		case f.OnHoliday:
			note = "holiday " + f.Holiday.String() + " (skip_holidays: false)"
		}
		if len(f.OverriddenBy) > 0 {
			var ns []string
			for _, r := range f.OverriddenBy {
				ns = append(ns, "`"+r.Name+"`")
			}
			note = strings.TrimPrefix(note+"; overridden by "+strings.Join(ns, ", ")+" (listed later, same minute)", "; ")
		}
		ft.Rows = append(ft.Rows, []string{fmtTime(f.Time, f.Rule.Spec.Zone), f.Rule.Name, string(f.Rule.Action), strings.Join(f.Rule.Targets, ","), note})
	}
	ft.Tone = func(_, col int, v string) ui.Tone {
		if col == 4 && v != "" {
			return ui.Warn
		}
		return ui.Plain
	}
	if len(firings) == 0 && table {
		fmt.Fprintln(out, "  (none)")
	} else if err := app.render(format, ft); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if table {
		fmt.Fprintf(out, "%s\n", app.IO.Bold(fmt.Sprintf("Desired state at %s:", fmtTime(rep.At, zone))))
	}
	st := ui.Table{Headers: []string{"SERVER", "DESIRED", "NOW", "CHANGE", "WHY"}}
	for i, d := range desired {
		want, now := "-", "-"
		if d.OK {
			want = string(d.State)
		}
		if rep.Servers[i].Observed != nil {
			now = *rep.Servers[i].Observed
		} else if rep.Offline && d.OK {
			now = "not read"
		}
		change := changes[i].String()
		if !d.OK || (rep.Offline && !changes[i].Failed) {
			change = "-"
		}
		why := d.Why()
		if changes[i].Failed {
			why = rep.Servers[i].ObservedDetail
		} else if len(changes[i].Steps) > 0 && changes[i].Reason != "" && d.Action == schedule.Restart {
			change += " (" + changes[i].Reason + ")"
		}
		st.Rows = append(st.Rows, []string{d.Server, want, now, change, why})
	}
	st.Tone = func(_, col int, v string) ui.Tone {
		switch col {
		case 2:
			return ui.ToneOf(v)
		case 3:
			switch v {
			case "none", "-":
				return ui.Faint
			case "unknown":
				return ui.Bad
			}
			return ui.Warn
		}
		return ui.Plain
	}
	if err := app.render(format, st); err != nil {
		return err
	}
	summary := "apply would change nothing"
	switch {
	case rep.Offline:
		summary = "servers not read (--offline): run without it to see what apply would change"
	case rep.Changes > 0:
		var parts []string
		for i, c := range changes {
			if len(c.Steps) > 0 {
				parts = append(parts, desired[i].Server+" "+c.String())
			}
		}
		summary = fmt.Sprintf("apply would change %d %s: %s", rep.Changes, demoServerWord(rep.Changes), strings.Join(parts, ", "))
	}
	if rep.Failed > 0 {
		summary += fmt.Sprintf("; %d %s did not answer", rep.Failed, demoServerWord(rep.Failed))
	}
	if table {
		fmt.Fprintln(out, summary)
	} else {
		fmt.Fprintln(app.IO.ErrOut, "bbbfleet: "+summary)
	}
	return nil
}

// ---- install ----

type installOptions struct {
	cron, systemd, daemon bool
	write, force          bool
	root, binary, user    string
}

var cronUserRe = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)

func newScheduleInstallCmd(app *App) *cobra.Command {
	var o installOptions
	cmd := &cobra.Command{
		Use:   "install --cron | --systemd | --daemon",
		Short: "Print (or --write) the cron entry or systemd units that run the schedule",
		Long: `Print the entries that run the fleet's schedules on this machine, or
install them with --write:

  --cron     ` + schedule.CronFile + `: schedule apply every five minutes, as
             root (--user), wrapped in flock -n so that a run still draining
             a server is never overlapped by the next (cron itself has no
             overlap protection; cron.d file names may not contain dots)
  --systemd  ` + schedule.ServiceFile + ` (Type=oneshot, schedule
             apply) and ` + filepath.Base(schedule.TimerFile) + `: one OnCalendar= per firing pattern of the
             rules, in each rule's zone, plus every five minutes;
             Persistent=true runs a missed activation at boot, and a timer
             never starts a second copy of a running service
  --daemon   ` + schedule.DaemonFile + ` (Type=simple) for the
             long-running schedule run

The entries run this binary (--binary) with the config's absolute path.
--write refuses to replace a different existing file unless --force; an
identical file is left alone. It does not run systemctl: the next steps are
printed.

EXIT STATUS
  0 printed or written, 2 usage or configuration error, 3 refused to
  overwrite a different file (use --force).`,
		Example: `  bbbfleet schedule install --cron
  sudo bbbfleet schedule install --systemd --write
  bbbfleet schedule install --daemon --binary /usr/bin/bbbfleet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScheduleInstall(app, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.cron, "cron", false, "a crontab file for /etc/cron.d")
	f.BoolVar(&o.systemd, "systemd", false, "a systemd service and timer")
	f.BoolVar(&o.daemon, "daemon", false, "the systemd unit of the schedule run daemon")
	f.BoolVar(&o.write, "write", false, "install the files instead of printing them")
	f.BoolVar(&o.force, "force", false, "with --write: replace different existing files")
	f.StringVar(&o.binary, "binary", "", "path of bbbfleet in the entries (default: this binary)")
	f.StringVar(&o.user, "user", "root", "user the cron entry runs as")
	f.StringVar(&o.root, "root", "/", "install under this directory instead of / (for packaging and tests)")
	_ = f.MarkHidden("root")
	return cmd
}

func runScheduleInstall(app *App, o installOptions) error {
	n := 0
	for _, b := range []bool{o.cron, o.systemd, o.daemon} {
		if b {
			n++
		}
	}
	if n != 1 {
		return &ExitError{Code: ExitUsage, Err: errors.New("say what to install: one of --cron, --systemd, --daemon")}
	}
	if !cronUserRe.MatchString(o.user) {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--user %q is not a user name", o.user)}
	}
	cfg, s, err := app.loadSchedule(true)
	if err != nil {
		return err
	}
	conf, err := filepath.Abs(cfg.Path)
	if err != nil {
		return err
	}
	bin := o.binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("finding this binary's path: %w (give --binary)", err)
		}
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	io := schedule.InstallOptions{Binary: bin, Config: conf, User: o.user, StopWait: cfg.StopWait()}
	// The units run as root: without state_dir their fleet lock would not
	// be the one an administrator's own runs take.
	if w := cfg.UnsharedLockWarning(); w != "" {
		if o.write && !app.DryRun {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("refusing to install the schedule's units: %s", w),
				Hint: "add `state_dir: /var/lib/bbbfleet` (or another directory shared by root and the administrators) to " + cfg.Path + ", then run again"}
		}
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: warning: %s; --write refuses until it is set\n", w)
	}
	var files []schedule.File
	var next string
	switch {
	case o.cron:
		files = []schedule.File{schedule.Cron(io)}
		next = "cron reads " + schedule.CronFile + " by itself; the runs log to /var/log/bbbfleet-schedule.log"
	case o.systemd:
		files = schedule.Systemd(s, io)
		next = "systemctl daemon-reload && systemctl enable --now " + filepath.Base(schedule.TimerFile)
	case o.daemon:
		files = []schedule.File{schedule.Daemon(io)}
		next = "systemctl daemon-reload && systemctl enable --now " + filepath.Base(schedule.DaemonFile)
	}
	if !o.write || app.DryRun {
		for i, f := range files {
			if i > 0 {
				fmt.Fprintln(app.IO.Out)
			}
			fmt.Fprintf(app.IO.Out, "# %s\n%s", f.Path, f.Content)
		}
		if app.DryRun && o.write {
			fmt.Fprintln(app.IO.ErrOut, "bbbfleet: --dry-run: nothing written")
		}
		return nil
	}
	// Refuse before writing anything.
	var refused []string
	for _, f := range files {
		p := filepath.Join(o.root, f.Path)
		old, err := os.ReadFile(p)
		if err == nil && !bytes.Equal(old, []byte(f.Content)) && !o.force {
			refused = append(refused, p)
		}
	}
	if len(refused) > 0 {
		return &ExitError{Code: ExitRefused, Err: fmt.Errorf("%s already %s with other content", strings.Join(refused, ", "), map[bool]string{true: "exists", false: "exist"}[len(refused) == 1]),
			Hint: "compare with the printed version (without --write), then use --force to replace"}
	}
	for _, f := range files {
		p := filepath.Join(o.root, f.Path)
		old, err := os.ReadFile(p)
		if err == nil && bytes.Equal(old, []byte(f.Content)) {
			fmt.Fprintf(app.IO.Out, "unchanged %s\n", p)
			continue
		}
		if err := writeFileAtomic(p, []byte(f.Content), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(app.IO.Out, "wrote %s\n", p)
	}
	fmt.Fprintf(app.IO.Out, "next: %s\n", next)
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so cron or
// systemd never read half a file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bbbfleet-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
