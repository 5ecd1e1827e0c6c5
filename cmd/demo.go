package cmd

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

type demoOptions struct {
	seed    int64
	speed   float64
	servers int
	at      string
	serve   bool
}

func newDemoCmd(app *App) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The tool at work on a simulated fleet of BBB servers (no servers needed)",
		Long: `Start a fleet of simulated BigBlueButton 3.0 servers inside this process,
on 127.0.0.1 with random free ports: each answers SSH (its own host key,
public-key login) like a BBB server and serves the BBB API. A load model
plays a school day on them: lessons start on the hour from 8:00 to 15:00,
most in the morning, with breakout rooms, listen-only and video users. One
server has a problem planted on purpose (a failed unit, an older release, a
failed recording).

demo writes a fleet config, secrets file, known_hosts and client key into
a temporary directory, runs the real commands against the fleet as a short
tour, and removes everything it wrote.

demo --serve keeps the fleet running and prints the config path: every
command of bbbfleet works against it from another terminal, including the
ones that change servers. Ctrl-C stops the fleet and removes its files.

The servers' clocks are real; only the school day runs --speed times faster
(meeting ages follow the simulated day).`,
		Example: `  bbbfleet demo
  bbbfleet demo --serve
  bbbfleet demo --serve --speed 600 --at 07:45
  bbbfleet demo -n 12 --seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(app, o)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&o.seed, "seed", 1, "seed of the simulated school day (same seed, same meetings)")
	f.Float64Var(&o.speed, "speed", 60, "how much faster than real time the school day runs (60: a minute per second)")
	f.IntVarP(&o.servers, "servers", "n", 6, "how many servers to simulate (1-50)")
	f.StringVar(&o.at, "at", "09:25", "simulated time of day to start at, on a Tuesday (HH:MM)")
	f.BoolVar(&o.serve, "serve", false, "keep the fleet running for other bbbfleet commands until Ctrl-C")
	return cmd
}

func runDemo(app *App, o demoOptions) error {
	if o.servers < 1 || o.servers > 50 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--servers must be between 1 and 50, got %d", o.servers)}
	}
	if o.speed <= 0 || o.speed > 100000 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--speed must be above 0 and at most 100000, got %g", o.speed)}
	}
	at, err := time.Parse("15:04", o.at)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--at %q: want HH:MM, e.g. 09:25", o.at)}
	}
	d := simfleet.DefaultStart
	start := time.Date(d.Year(), d.Month(), d.Day(), at.Hour(), at.Minute(), 0, 0, d.Location())

	ctx := app.Context()
	f, err := simfleet.Start(ctx, simfleet.Options{N: o.servers, Seed: o.seed, Speed: o.speed, Start: start,
		// The tour starts without API secrets and fetches them; --serve
		// starts ready to use.
		NoSecrets: !o.serve,
		// A boot and bbb-conf --start take a moment, as on a real server.
		StartDelay: 300 * time.Millisecond, BootDelay: 300 * time.Millisecond,
		// --serve has a server without BBB for `install`.
		NewServer: o.serve})
	if err != nil {
		return fmt.Errorf("starting the simulated fleet: %w", err)
	}
	defer f.Close()
	if o.serve {
		return serveDemo(app, f, o)
	}
	return tour(app, f, o)
}

// demoStep is one command of the tour: why, what, and the exit codes that
// mean the command did its job (check reports the planted problem).
type demoStep struct {
	why  string
	args []string
	ok   []int
	// before prepares the simulated fleet for the step (not the tool).
	before func() error
}

func demoServerCount(n int) string { return fmt.Sprintf("%d %s", n, demoServerWord(n)) }

func demoServerWord(n int) string {
	if n == 1 {
		return "server"
	}
	return "servers"
}

func demoTags(f *simfleet.Fleet) string {
	var tags []string
	for _, h := range f.Hosts {
		for _, t := range h.Tags {
			if !slices.Contains(tags, "@"+t) {
				tags = append(tags, "@"+t)
			}
		}
	}
	return strings.Join(tags, " and ")
}

func problemName(f *simfleet.Fleet) string {
	if f.Problem < 0 {
		return ""
	}
	return f.Hosts[f.Problem].Name
}

func demoSteps(app *App, f *simfleet.Fleet) []demoStep {
	bad := problemName(f)
	steps := []demoStep{{
		why:  fmt.Sprintf("The inventory: %s in one strict YAML file, tagged %s.", demoServerCount(len(f.Hosts)), demoTags(f)),
		args: []string{"servers"}, ok: []int{ExitOK},
	}, {
		why:  "API secrets are kept apart from the inventory: read them over SSH with bbb-conf --secret, verify them with a signed API call, store them in a 0600 file.",
		args: []string{"secret", "fetch", "all"}, ok: []int{ExitOK},
	}}
	why := "Health of every server at once, over SSH and the API"
	if bad != "" {
		why += fmt.Sprintf("; %s has a problem planted on purpose", bad)
	}
	steps = append(steps, demoStep{why: why + ".", args: []string{"check"}, ok: []int{0, 1, 2}})
	steps = append(steps,
		demoStep{why: fmt.Sprintf("Load at simulated %s, from every server's getMeetings: lessons start on the hour.", f.SimNow().Format("15:04")),
			args: []string{"load"}, ok: []int{ExitOK}},
		meetingsStep(f),
	)
	if bad != "" {
		steps = append(steps, demoStep{
			why:  fmt.Sprintf("A command on many servers over SSH: which one lost %s?", simfleet.ProblemUnit),
			args: []string{"exec", "all", "--", "systemctl", "is-active", simfleet.ProblemUnit}, ok: []int{ExitOK, ExitFailed}})
	}
	view := f.Hosts[0].Name
	if bad != "" {
		view = bad
	}
	steps = append(steps, demoStep{
		why:  "The schedule: warm-up before school, shutdown at night. plan shows the next firings, each server's desired state and why, and what apply would change.",
		args: []string{"schedule", "plan", "--at", f.SimNow().Format("2006-01-02 15:04")}, ok: []int{ExitOK}})
	steps = append(steps, demoStep{
		why:  fmt.Sprintf("BBB's own view of %s: bbb-conf, run over SSH like any command.", view),
		args: []string{"exec", view, "--", "bbb-conf", "--status"}, ok: []int{ExitOK, ExitFailed}})
	i := drainServer(f)
	name := f.Hosts[i].Name
	steps = append(steps, demoStep{
		why: fmt.Sprintf("Shut %s down for the night without cutting a class: cordon it in Scalelite, post a warning into its meetings, "+
			"wait until its last lesson ends (within a second here), stop BBB, power it off with its power hook. Every step goes to the audit log.", name),
		args:   []string{"stop", name, "--drain", "2m", "--power-off", "--message", "This server shuts down in {remaining}. Please save your work."},
		ok:     []int{ExitOK},
		before: func() error { f.EndClassesWhenCordoned(i, 900*time.Millisecond); return nil },
	}, demoStep{
		why: fmt.Sprintf("And back in the morning: power %s on, wait for SSH, wait until every unit is up and the API accepts the secret, "+
			"enable it in Scalelite.", name),
		args: []string{"start", name}, ok: []int{ExitOK},
	}, demoStep{
		why:  "schedule apply brings each server the schedule targets into its desired state; at this hour every one is, so nothing would change (--dry-run changes nothing anyway).",
		args: []string{"schedule", "apply", "--dry-run", "--at", f.SimNow().Format("2006-01-02 15:04")}, ok: []int{ExitOK},
	})
	return steps
}

// drainServer is the server the tour stops and starts: the last one
// without the planted problem.
func drainServer(f *simfleet.Fleet) int {
	for i := len(f.Hosts) - 1; i >= 0; i-- {
		if i != f.Problem {
			return i
		}
	}
	return 0
}

// meetingsStep lists the meetings of the server with the most breakout
// rooms, or of @core when no lesson is in group work.
func meetingsStep(f *simfleet.Fleet) demoStep {
	best, most := "", 0
	for _, h := range f.Hosts {
		st, err := h.Sim.State()
		if err != nil {
			continue
		}
		n := 0
		for _, m := range st.Meetings {
			if m.IsBreakout {
				n++
			}
		}
		if n > most {
			best, most = h.Name, n
		}
	}
	if best == "" {
		return demoStep{why: "The meetings on the @core servers, largest first.",
			args: []string{"meetings", "@core"}, ok: []int{ExitOK}}
	}
	return demoStep{why: fmt.Sprintf("The meetings on %s, largest first: group work in breakout rooms, each with its parent.", best),
		args: []string{"meetings", best}, ok: []int{ExitOK}}
}

// quoteArgs shows a command line as a user would type it.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

func tour(app *App, f *simfleet.Fleet, o demoOptions) error {
	// The tour reaches its own servers: no ~/.ssh/config rules apply.
	// Its commands get that as their environment; the process's stays.
	env := maps.Clone(app.envOverrides)
	if _, set := app.lookupEnv("BBBFLEET_SSH_CONFIG"); !set {
		if env == nil {
			env = map[string]string{}
		}
		env["BBBFLEET_SSH_CONFIG"] = "none"
	}
	out := app.IO.Out
	ctx := app.Context()
	fmt.Fprintf(out, "%s %d simulated BBB 3.0 %s on 127.0.0.1 (SSH and API), a school day from %s (seed %d, %g× real time).\n",
		app.IO.Bold("bbbfleet demo:"), len(f.Hosts), demoServerWord(len(f.Hosts)), f.SimNow().Format("Mon 15:04"), o.seed, o.speed)
	fmt.Fprintf(out, "Every command below runs as `bbbfleet -c %s ...`.\n", f.Config)
	steps := demoSteps(app, f)
	var broken []string
	for i, s := range steps {
		if ctx.Err() != nil {
			return silentExit(ExitInterrupted) // the interrupted command said so
		}
		fmt.Fprintf(out, "\n%s %s\n", app.IO.Paint(ui.Faint, fmt.Sprintf("▸ %d/%d", i+1, len(steps))), s.why)
		fmt.Fprintf(out, "%s\n", app.IO.Bold("$ bbbfleet "+quoteArgs(s.args)))
		if s.before != nil {
			if err := s.before(); err != nil {
				return fmt.Errorf("preparing the simulated fleet: %w", err)
			}
		}
		// The tour's commands read no input (exec would send on whatever
		// stdin holds, and wait for it to end).
		sub := &ui.IO{In: strings.NewReader(""), Out: app.IO.Out, ErrOut: app.IO.ErrOut, OutTTY: app.IO.OutTTY, Color: app.IO.Color, Width: app.IO.Width}
		start := time.Now()
		code := runWithEnv(ctx, append([]string{"-c", f.Config}, s.args...), sub, env)
		if app.Verbose {
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet demo: %s: exit %d in %s\n", s.args[0], code, time.Since(start).Round(time.Millisecond))
		}
		if !slices.Contains(s.ok, code) {
			broken = append(broken, fmt.Sprintf("`bbbfleet %s` exited %d", quoteArgs(s.args), code))
		}
	}
	if ctx.Err() != nil {
		return silentExit(ExitInterrupted)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "That was the real bbbfleet on simulated servers. Keep them running and try any command:\n  bbbfleet demo --serve\n")
	if len(broken) > 0 {
		return &ExitError{Code: ExitFailed, Err: errors.New("the tour went wrong: " + strings.Join(broken, "; "))}
	}
	return nil
}

func serveDemo(app *App, f *simfleet.Fleet, o demoOptions) error {
	out := app.IO.Out
	ctx := app.Context()
	bad := problemName(f)
	fmt.Fprintf(out, "%s %d simulated BBB 3.0 %s running on 127.0.0.1, a school day from %s at %g× real time (seed %d).\n\n",
		app.IO.Bold("bbbfleet demo --serve:"), len(f.Hosts), map[bool]string{true: "server is", false: "servers are"}[len(f.Hosts) == 1], f.SimNow().Format("Mon 15:04"), o.speed, o.seed)
	fmt.Fprintf(out, "config: %s\n\n", f.Config)
	fmt.Fprintf(out, "In another terminal (or pass -c %s to each command):\n\n", f.Config)
	fmt.Fprintf(out, "  export BBBFLEET_CONFIG=%s\n", shellQuote(f.Config))
	try := [][2]string{
		{"bbbfleet check", "health of every server"},
		{"bbbfleet load --watch 2s", "the school day going by"},
		{"bbbfleet meetings", "every meeting, largest first"},
		{"bbbfleet exec all -- bbb-conf --status", "a command on every server over SSH"},
		{"bbbfleet secret fetch all", "read the API secrets over SSH into secrets.yaml"},
	}
	// A file to push: push copies it atomically, and says when it is in
	// place already.
	if motd := filepath.Join(f.Dir, "motd"); os.WriteFile(motd, []byte("This BigBlueButton server is managed with bbbfleet.\n"), 0o644) == nil {
		try = append(try, [2]string{"bbbfleet push all " + shellQuote(motd) + " /etc/motd", "copy a file to every server (run it twice: unchanged)"})
	}
	if bad != "" {
		try = append(try, [2]string{"bbbfleet exec " + bad + " -- systemctl restart " + simfleet.ProblemUnit, "fix " + bad + " (it changes the server), then check again"})
	}
	ds := f.Hosts[drainServer(f)].Name
	night := f.SimNow().Format("2006-01-02") + " 23:00" // the simulated day's night
	try = append(try,
		[2]string{"bbbfleet stop " + ds + " --dry-run", "what a stop would do: steps, meetings"},
		[2]string{"bbbfleet stop " + ds + " --drain 5m --power-off", "cordon, warn, wait for the lessons to end, stop, power off"},
		[2]string{"bbbfleet start " + ds, "power on, start, wait until ready, enable in Scalelite"},
		[2]string{"bbbfleet servers", "with each server's Scalelite state"},
		[2]string{fmt.Sprintf("bbbfleet schedule apply --dry-run --at %q", night), "what the schedule's night shutdown would do to each server"},
		[2]string{fmt.Sprintf("bbbfleet schedule apply --at %q", night), "apply it: drain the pool (it waits for the lessons to end: about a minute), stop; run it twice"})
	if f.New != nil {
		try = append(try,
			[2]string{"bbbfleet install " + f.New.Name + " --preflight-only", "is " + f.New.Name + " (no BBB yet) fit for BBB 3.0?"},
			[2]string{"bbbfleet install @new", "install BBB on it: live progress, verified, secret saved (about 15 s)"})
	}
	width := 0
	for _, t := range try {
		width = max(width, len(t[0]))
	}
	for _, t := range try {
		fmt.Fprintf(out, "  %-*s  %s\n", width, t[0], app.IO.Paint(ui.Faint, "# "+t[1]))
	}
	fmt.Fprintf(out, "\nCtrl-C stops the servers and removes %s.\n", f.Dir)
	if s, ok := out.(interface{ Sync() error }); ok {
		_ = s.Sync()
	}

	// One line per simulated hour, so the day can be seen going by.
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := f.SimNow().Truncate(time.Hour)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(app.IO.ErrOut, "\nbbbfleet demo: stopping the simulated servers\n")
			if err := f.Close(); err != nil {
				return err
			}
			return nil
		case <-t.C:
			now := f.SimNow()
			if h := now.Truncate(time.Hour); h.After(last) {
				last = h
				m, u := f.Load()
				fmt.Fprintf(app.IO.ErrOut, "%s %s: %d meetings (breakout rooms included), %d users\n",
					app.IO.Paint(ui.Faint, "simulated"), now.Format("Mon 15:04"), m, u)
			}
		}
	}
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$&;|<>*?()[]{}\\`!#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
