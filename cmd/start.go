package cmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

type startOptions struct {
	wait          time.Duration
	skipScalelite bool
	waitLock      time.Duration
}

func newStartCmd(app *App) *cobra.Command {
	var o startOptions
	cmd := &cobra.Command{
		Use:   "start TARGETS",
		Short: "Bring servers to ready and taking meetings: power on, start BBB, enable in Scalelite",
		Long: `Bring the target servers to "ready and taking meetings".

A server that does not answer SSH and has a power.on hook gets it run (on
this machine), then start waits for SSH like Ansible's wait_for_connection
(5 s connect timeout, 1 s between attempts). sudo bbb-conf --start runs
unless every unit is active already. Ready means every unit active, the
API answering and the secret accepted. Then the server is enabled in
Scalelite (when configured). The time to ready is reported per server.

A server that is running and enabled already is left alone, and the
output says so. --wait bounds the whole start of each server.

EXIT STATUS: 0 ready, 1 a server failed, 2 usage, configuration or audit
log error, 4 lock held, 130 interrupted.`,
		Example: `  bbbfleet start @pool
  bbbfleet start bbb3 --wait 15m`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.wait <= 0 {
				return &ExitError{Code: ExitUsage, Err: errorf("--wait must be positive, got %s", o.wait)}
			}
			so := fleet.StartOptions{Wait: o.wait, SkipScalelite: o.skipScalelite}
			return runOperation(app, args, opRun{action: "start", waitLock: o.waitLock,
				plan: func(ctx context.Context, op *fleet.Operation, servers []fleet.Server) []*fleet.Plan {
					return op.PlanStart(ctx, servers, so)
				}})
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.wait, "wait", fleet.DefaultStartWait, "how long each server may take to be ready (power-on, SSH, units, API)")
	f.BoolVar(&o.skipScalelite, "skip-scalelite", false, "leave Scalelite alone")
	addWaitLock(cmd, &o.waitLock)
	return cmd
}
