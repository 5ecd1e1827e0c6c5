package cmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

type stopOptions struct {
	drain         string
	message       string
	force         bool
	powerOff      bool
	skipScalelite bool
	waitLock      time.Duration
}

func newStopCmd(app *App) *cobra.Command {
	var o stopOptions
	cmd := &cobra.Command{
		Use:   "stop TARGETS",
		Short: "Stop BBB on servers without cutting a class: cordon, warn, drain, stop, power off",
		Long: `Stop BigBlueButton (sudo bbb-conf --stop, verified) on the target servers.

A server with meetings running, or with recording processing pending, is
never stopped without --drain or --force: stop refuses at once (exit 3),
lists the meetings, and changes nothing.

Before anything else the server is cordoned in Scalelite (when scalelite:
is configured; the server is matched by its API URL, the task runs over
SSH as docker exec CONTAINER bin/rake servers:cordon[ID]). When Scalelite
cannot be asked, stop refuses (exit 3): Scalelite might still send the
server new meetings (--skip-scalelite when it was taken out by hand).

--drain D posts the message into every meeting (BBB 3.0+; on 2.7 there is
no way to, and stop says so), then polls getMeetings every drain.poll
until no meeting runs (breakout rooms count) and no recording is
processing, and stops. --drain default waits drain.timeout. When the
deadline passes, the server is not stopped: it stays up and cordoned
(exit 3); ` + "`bbbfleet start NAME`" + ` re-enables it.

--force ends the meetings left with the API's end call (at once, or at
the drain's deadline), waits until they are gone, then stops, also with
recording processing pending.

--power-off then runs the server's power.off hook on this machine ({name}
and {host} expanded, bounded by power.timeout), or sudo poweroff over SSH
without one, and waits until SSH no longer answers. A server that answers
neither SSH nor the API and has a power.off hook is taken as off already
(unchanged, no hook run). A hook whose program is not found (or not
executable) on this machine refuses the stop before anything changes
(exit 2, config file:line).

Every step is appended to the audit log; one changing run holds the fleet
lock at a time (exit 4, or --wait-lock). --dry-run shows each server's
steps and meetings and changes nothing. Ctrl-C stops at once (a running
bbb-conf --stop or power hook is let finish) and says what each server
was left as and how to undo it.

EXIT STATUS: 0 stopped (or stopped already), 1 a server failed, 2 usage,
configuration or audit log error, 3 refused for safety, 4 lock held,
130 interrupted.`,
		Example: `  bbbfleet stop bbb3 --dry-run
  bbbfleet stop @pool --drain 45m --message "This server shuts down in {remaining}."
  bbbfleet stop bbb3 --drain 10m --force --power-off`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			drain, d, err := parseDrain(o.drain)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("message") && !drain {
				return &ExitError{Code: ExitUsage, Err: errorf("--message is posted when a drain starts: it needs --drain D")}
			}
			so := fleet.StopOptions{Drain: drain, DrainTimeout: d, Message: o.message, MessageSet: cmd.Flags().Changed("message"),
				Force: o.force, PowerOff: o.powerOff, SkipScalelite: o.skipScalelite}
			return runOperation(app, args, opRun{action: "stop", waitLock: o.waitLock,
				plan: func(ctx context.Context, op *fleet.Operation, servers []fleet.Server) []*fleet.Plan {
					return op.PlanStop(ctx, servers, so)
				}})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.drain, "drain", "", "wait up to this long for meetings to end (a duration, or \"default\" for drain.timeout from the config)")
	f.StringVar(&o.message, "message", "", "warning posted into every meeting when the drain starts; {remaining} is the time left (default: drain.message)")
	f.BoolVar(&o.force, "force", false, "end the meetings left (at once, or at the drain's deadline) and stop even with recordings processing")
	f.BoolVar(&o.powerOff, "power-off", false, "switch the machine off after the stop (power.off hook, or sudo poweroff)")
	f.BoolVar(&o.skipScalelite, "skip-scalelite", false, "leave Scalelite alone (the server was taken out of it by hand)")
	addWaitLock(cmd, &o.waitLock)
	return cmd
}
