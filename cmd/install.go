package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

type bbbInstallOptions struct {
	preflightOnly bool
	force         bool
	skipScalelite bool
	attach        bool
	register      bool
	waitLock      time.Duration
}

func newInstallCmd(app *App) *cobra.Command {
	var o bbbInstallOptions
	cmd := &cobra.Command{
		Use:   "install TARGETS",
		Short: "Install BigBlueButton with bbb-install.sh: preflight, detached run, live progress, verified, secret captured",
		Long: `Install (or upgrade within its series) BigBlueButton on the target servers
with bbb-install.sh, as configured under install: (series, email,
hostname, flags, script_url).

Preflight (one SSH command per server) checks the Ubuntu release against
the series, x86_64, memory (block < 8 GB, warn < 16 GB), cores (block
< 4, warn < 8), free disk (warn < 50 GB), that the hostname resolves to
the server's address (here and on the server), ports 80/443 (apache2),
IPv6, an existing BBB (same series: upgrade; another: refused), meetings
running (refused, exit 3, unless --force), sudo without a password and
that the server reaches the script URL. Any blocker: exit 1, and the
installer never starts on that server.

The installer runs detached from the SSH session (a systemd-run unit
bbbfleet-install-NAME; setsid nohup where systemd-run is missing), its
output kept in /var/log/bbbfleet/install-TIME.log on the server and
followed from here. Ctrl-C, a dropped connection or a closed laptop leave
it running: ` + "`bbbfleet install --attach NAME`" + ` follows it again, and a
second install on a server whose install runs attaches instead.

Its exit status is not taken as proof: every unit active, the API
answering, bbb-conf --check without problems and a BBB version of the
series are. On a server running BBB (an upgrade) with Scalelite
configured, the server is cordoned first (Scalelite not answering:
refused, exit 3, unless --skip-scalelite), its meetings and recording
work are looked at again right before the installer starts (any: refused,
exit 3, still cordoned, undo with ` + "`bbbfleet start NAME`" + `; unless
--force), and after verify it is enabled again if it was enabled before.
Then the secret is read (bbb-conf --secret), verified with a
signed call and written to the secrets file (0600), as secret fetch does.
--register then adds the server to Scalelite (the secret on stdin, never
on a command line) and enables it.

On failure: the installer's own error line (bbb-install: ...), its last
20 output lines and the log path on the server; the server is left as the
installer left it (re-running is bbb-install.sh's documented way on).

EXIT STATUS: 0 installed and verified, 1 blocked by preflight or failed,
2 usage, configuration or audit log error, 3 refused for safety
(meetings), 4 lock held, 130 interrupted (the installer goes on).`,
		Example: `  bbbfleet install new1 --preflight-only
  bbbfleet install @new --dry-run
  bbbfleet install @new --register
  bbbfleet install --attach new1`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.attach && o.preflightOnly {
				return &ExitError{Code: ExitUsage, Err: errorf("--attach follows an install that runs: it has no preflight")}
			}
			return runInstall(app, args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.preflightOnly, "preflight-only", false, "run the preflight checks only")
	f.BoolVar(&o.force, "force", false, "install even with meetings running (or when they cannot be seen)")
	f.BoolVar(&o.skipScalelite, "skip-scalelite", false, "upgrade a server running BBB without cordoning it in Scalelite (taken out by hand)")
	f.BoolVar(&o.attach, "attach", false, "follow the install that runs on the servers (or report the last one)")
	f.BoolVar(&o.register, "register", false, "once verified, add the server to Scalelite and enable it")
	addWaitLock(cmd, &o.waitLock)
	return cmd
}

func runInstall(app *App, args []string, o bbbInstallOptions) error {
	st, err := app.setupOperation(args, "install")
	if err != nil {
		return err
	}
	defer st.env.Close()
	format, servers, cfg, op := st.format, st.servers, st.cfg, st.op
	ctx := app.Context()
	io := fleet.InstallOptions{Force: o.force, Attach: o.attach, Register: o.register, SkipScalelite: o.skipScalelite}

	if app.DryRun || o.preflightOnly {
		plans := op.PlanInstall(ctx, servers, io)
		if err := app.renderPreflight(format, plans); err != nil {
			return err
		}
		if app.DryRun && !o.preflightOnly {
			if format != "json" {
				fmt.Fprintln(app.IO.Out)
			}
			if err := app.renderPlans(format, plans); err != nil {
				return err
			}
		}
		app.explainPreflight(plans)
		return planExit(plans)
	}

	guard, err := app.openGuard(ctx, cfg, o.waitLock)
	if err != nil {
		return err
	}
	defer guard.Close() // applyPlans closes it; a second Close does nothing
	plans := op.PlanInstall(ctx, servers, io)
	if err := app.renderPreflight(format, plans); err != nil {
		return err
	}
	if format != "json" {
		fmt.Fprintln(app.IO.Out)
	}
	outcomes, aerr := app.applyPlans(ctx, op, format, plans, guard)
	fleet.InstallOutcomes(outcomes)
	if err := app.renderOutcomes(format, plans, outcomes); err != nil {
		return err
	}
	app.explainInstall(outcomes)
	if aerr != nil {
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: error: %v\n", aerr)
	}
	return silentExit(operationExit(outcomes))
}

// preflightJSON is one line of -o json: a server's preflight.
type preflightJSON struct {
	Type   string                 `json:"type"` // "preflight"
	Server string                 `json:"server"`
	Checks []fleet.PreflightCheck `json:"checks"`
	Error  string                 `json:"error,omitempty"`
}

// renderPreflight shows each server's checks: one table with a SERVER
// column (check, status, detail).
func (app *App) renderPreflight(format string, plans []*fleet.Plan) error {
	if format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetEscapeHTML(false)
		for _, p := range plans {
			pj := preflightJSON{Type: "preflight", Server: p.Name, Checks: p.Preflight}
			if pj.Checks == nil {
				pj.Checks = []fleet.PreflightCheck{}
			}
			if p.Err != nil && len(p.Preflight) == 0 {
				pj.Error = ui.Clean(p.Err.Err.Error())
			}
			if err := enc.Encode(pj); err != nil {
				return err
			}
		}
		return nil
	}
	t := ui.Table{Headers: []string{"SERVER", "CHECK", "STATUS", "DETAIL"}}
	for _, p := range plans {
		if len(p.Preflight) == 0 && p.Err != nil {
			t.Rows = append(t.Rows, []string{p.Name, "preflight", "error", ui.Clean(p.Err.Err.Error())})
			continue
		}
		for _, c := range p.Preflight {
			t.Rows = append(t.Rows, []string{p.Name, c.Check, c.Status, ui.Clean(c.Detail)})
		}
	}
	t.Tone = func(_, col int, v string) ui.Tone {
		if col != 2 {
			return ui.Plain
		}
		switch v {
		case fleet.PreflightOK:
			return ui.Good
		case fleet.PreflightWarn:
			return ui.Warn
		}
		return ui.Bad
	}
	return app.render(format, t)
}

// explainPreflight says, on stderr, which servers preflight blocks or refuses.
func (app *App) explainPreflight(plans []*fleet.Plan) {
	w := app.IO.ErrOut
	for _, p := range plans {
		switch {
		case p.Err != nil:
			fmt.Fprintf(w, "bbbfleet: %s: %s\n", p.Name, ui.Clean(p.Err.Err.Error()))
		case p.Refused != nil:
			fmt.Fprintf(w, "bbbfleet: %s: refused: %s\n", p.Name, ui.Clean(p.Refused.Err.Error()))
			fmt.Fprintf(w, "bbbfleet: hint: wait until the meetings end, or install over them with --force\n")
		}
	}
}

// explainInstall adds what an install failure needs: the installer's last
// lines and where its log is, and how to go on.
func (app *App) explainInstall(outs []*fleet.Outcome) {
	w := app.IO.ErrOut
	for _, o := range outs {
		if o.Err == nil {
			continue
		}
		var fe *fleet.InstallFailedError
		switch {
		case errors.As(o.Err, &fe):
			if len(fe.Last) > 0 {
				fmt.Fprintf(w, "bbbfleet: %s: the installer's last %d lines:\n", o.Server, len(fe.Last))
				for _, l := range fe.Last {
					fmt.Fprintf(w, "  | %s\n", ui.Clean(l))
				}
			}
			fmt.Fprintf(w, "bbbfleet: %s: its whole output: %s on the server\n", o.Server, fe.Log)
			fmt.Fprintf(w, "bbbfleet: hint: fix the cause, then run `bbbfleet install %s` again (re-running bbb-install.sh is its documented way on)\n", o.Server)
		case o.Result == fleet.ResultInterrupted && strings.Contains(o.State, "installer"):
			fmt.Fprintf(w, "bbbfleet: hint: the installer goes on on %s; follow it again with `bbbfleet install --attach %s`\n", o.Server, o.Server)
		}
	}
}

// installHint is the way on after an install that did not end well (the
// installer's own failures are explained by explainInstall, after its
// last lines).
func installHint(o *fleet.Outcome) string {
	e := o.Err
	var mr *fleet.MeetingsRunningError
	var pe *fleet.PreflightError
	var ve *fleet.VerifyError
	var su *fleet.ScaleliteUnsafeError
	switch {
	case errors.As(e, &mr) && e.Step == fleet.StepRecheck:
		return fmt.Sprintf("the installer did not start; the server stays cordoned in Scalelite (undo: `bbbfleet start %s`); install when the meetings and recording work have ended, or over them with --force", o.Server)
	case errors.As(e, &su):
		return "nothing was changed; fix Scalelite (`bbbfleet check`), or, with the server taken out of Scalelite by hand, install with --skip-scalelite"
	case errors.As(e, &mr) && mr.Unknown != nil:
		return fmt.Sprintf("nothing was changed; fix the API access (`bbbfleet check %s`, `bbbfleet secret fetch %s`), or install without looking with --force", o.Server, o.Server)
	case errors.As(e, &mr):
		return fmt.Sprintf("nothing was changed; install when the meetings have ended (`bbbfleet stop %s --drain 45m` first), or over them with --force", o.Server)
	case errors.As(e, &pe):
		return "fix what blocks it (the preflight table shows each check), then run again; `--preflight-only` checks without installing"
	case errors.As(e, &ve):
		return fmt.Sprintf("look at the server (`bbbfleet check %s`, `sudo bbb-conf --check` there), then run `bbbfleet install %s` again", o.Server, o.Server)
	}
	return ""
}
