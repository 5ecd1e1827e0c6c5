package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

type restartOptions struct {
	drain         string
	message       string
	force         bool
	wait          time.Duration
	skipScalelite bool
	waitLock      time.Duration
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

func newRestartCmd(app *App) *cobra.Command {
	var o restartOptions
	cmd := &cobra.Command{
		Use:   "restart TARGETS",
		Short: "Rolling restart: drain, stop, start, ready, enable, one server at a time",
		Long: `Restart BBB on the target servers, one at a time (-j N for more at once):
each is drained as stop would (cordon, warn, wait; refused with meetings
unless --drain or --force), stopped, started, waited for until ready, and
enabled in Scalelite before the next one begins. The rollout stops at the
first server that fails or is refused: the rest are left untouched and
reported as not started.

EXIT STATUS: 0 every server restarted, 1 a server failed (the rollout
stopped), 2 usage, configuration or audit log error, 3 refused for safety,
4 lock held, 130 interrupted.`,
		Example: `  bbbfleet restart @pool --drain 30m
  bbbfleet restart all -j 2 --drain 10m --force`,
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
			if o.wait <= 0 {
				return &ExitError{Code: ExitUsage, Err: errorf("--wait must be positive, got %s", o.wait)}
			}
			stop := fleet.StopOptions{Drain: drain, DrainTimeout: d, Message: o.message, MessageSet: cmd.Flags().Changed("message"),
				Force: o.force, SkipScalelite: o.skipScalelite}
			start := fleet.StartOptions{Wait: o.wait, SkipScalelite: o.skipScalelite}
			par := 1
			if parallelFlagSet(app) {
				par = app.Parallel
			}
			return runOperation(app, args, opRun{action: "restart", waitLock: o.waitLock, parallel: par, stopOnFailure: true,
				plan: func(ctx context.Context, op *fleet.Operation, servers []fleet.Server) []*fleet.Plan {
					return op.PlanRestart(ctx, servers, stop, start)
				}})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.drain, "drain", "", "wait up to this long for meetings to end before each stop (a duration, or \"default\" for drain.timeout)")
	f.StringVar(&o.message, "message", "", "warning posted into every meeting when a drain starts (default: drain.message)")
	f.BoolVar(&o.force, "force", false, "end the meetings left and restart even with recordings processing")
	f.DurationVar(&o.wait, "wait", fleet.DefaultStartWait, "how long each server may take to be ready again")
	f.BoolVar(&o.skipScalelite, "skip-scalelite", false, "leave Scalelite alone")
	addWaitLock(cmd, &o.waitLock)
	return cmd
}
