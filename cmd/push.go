package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// pushJSON is the stable -o json schema of `bbbfleet push`, one per server.
type pushJSON struct {
	Server string `json:"server"`
	OK     bool   `json:"ok"`
	// Status is created, changed, unchanged, would-create, would-change,
	// failed or interrupted.
	Status  string   `json:"status"`
	Changed bool     `json:"changed"`
	Changes []string `json:"changes"`
	// SHA256Before is null when the file did not exist (or was not read).
	SHA256Before *string `json:"sha256_before"`
	// SHA256After is the file's checksum after the push (before it, for a
	// dry run or an unchanged file); null when unknown.
	SHA256After *string `json:"sha256_after"`
	Mode        string  `json:"mode,omitempty"`
	Owner       string  `json:"owner,omitempty"`
	DurationMS  float64 `json:"duration_ms"`
	Error       string  `json:"error,omitempty"`
	// detail is Error without the server's name (asked of the error).
	detail string
}

type pushOptions struct {
	Sudo     bool
	Mode     string
	Owner    string
	WaitLock time.Duration
}

func newPushCmd(app *App) *cobra.Command {
	var opts pushOptions
	cmd := &cobra.Command{
		Use:   "push TARGETS LOCAL REMOTE",
		Short: "Copy a file to servers atomically and report what changed",
		Long: `Copy the local file LOCAL to the absolute path REMOTE on the selected servers,
in parallel, and report per server whether it changed (sha256 before and
after).

Each server first reports the file's sha256, mode and owner; a server that
already has it as asked is left alone (nothing is sent). Otherwise the
content is written to a temporary file in REMOTE's directory, its sha256
checked (a copy cut short is never installed), owner and mode applied,
and renamed over REMOTE: programs reading REMOTE see the old file or the
new one, never a part. With --sudo a non-root login writes through
"sudo -n" (for root-owned paths such as /etc/...).

Without --mode an existing file keeps its mode and a new one gets 0644;
without --owner an existing file keeps its owner (when written as root)
and a new one belongs to the writing user. REMOTE's directory must exist;
a REMOTE that is a symbolic link or not a regular file is refused.

--dry-run reads the servers' checksums and shows which would change,
writing nothing. Output: a table on a terminal, TSV on a pipe (full
checksums), -o json.

The file travels over the SSH session's standard input to a fixed shell
script (sha256sum, mktemp, chown, chmod, mv on the server), not over SFTP:
an SFTP server runs as the login user and cannot sudo.

EXIT STATUS
  0 when every server has the file as asked, 1 when a server failed, 2 on
  usage errors (LOCAL not a regular file, REMOTE not absolute, bad
  --mode or --owner), 4 when another run holds the fleet lock, 130 when
  interrupted.

Except with --dry-run, push holds the fleet lock (as start, stop and
install do; --wait-lock D waits for it) and appends one line per server
to the audit log: what changed and the sha256 before and after, never
the file's content.`,
		Example: `  bbbfleet push @pool ./nginx-bbb.conf /etc/bigbluebutton/nginx/custom.nginx --sudo
  bbbfleet push all ./settings.yml /etc/bigbluebutton/bbb-html5.yml --sudo --mode 0644 --owner root:root --dry-run`,
		Args: cobra.ExactArgs(3),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return app.completeTargets(cmd, args, toComplete)
			case 1:
				return nil, cobra.ShellCompDirectiveDefault
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(app, args[0], args[1], args[2], opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Sudo, "sudo", false, "write as root (sudo -n for a non-root login)")
	cmd.Flags().StringVar(&opts.Mode, "mode", "", "file mode to set, octal (e.g. 0644)")
	cmd.Flags().StringVar(&opts.Owner, "owner", "", "owner to set: user or user:group")
	addWaitLock(cmd, &opts.WaitLock)
	return cmd
}

func runPush(app *App, targets, local, remote string, opts pushOptions) error {
	format, err := app.outputFormat()
	if err != nil {
		return err
	}
	spec := fleet.PushSpec{Local: local, Remote: remote, Mode: -1, Owner: opts.Owner, Sudo: opts.Sudo, DryRun: app.DryRun}
	if err := fleet.CheckRemotePath(remote); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if opts.Mode != "" {
		if spec.Mode, err = fleet.ParseMode(opts.Mode); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	if opts.Owner != "" {
		if err := fleet.CheckOwner(opts.Owner); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	servers, cfg, err := app.selectTargets([]string{targets}, false)
	if err != nil {
		return err
	}
	if spec.Size, spec.SHA256, err = fleet.PrepareLocal(local); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("LOCAL: %w", err), Hint: "push copies one regular file; for a directory, push its files one by one"}
	}
	env, err := app.newEnv(false)
	if err != nil {
		return err
	}
	defer env.Close()
	// A push changes servers: it holds the fleet lock (exit 4 when another
	// run holds it) and writes one audit line per server.
	var guard *fleet.Guard
	if !app.DryRun {
		guard, err = app.openGuard(app.Context(), cfg, opts.WaitLock)
		if err != nil {
			return err
		}
		defer guard.Close()
	}
	results := fleet.Run(app.Context(), servers, env.Opts, func(ctx context.Context, s fleet.Server) (*fleet.PushResult, error) {
		return env.Push(ctx, s, spec)
	})
	if guard != nil {
		for _, r := range results {
			guard.Audit.PushAudit(r.Server.Name, spec, r.Value, r.Err, r.Duration)
		}
	}
	// After Ctrl-C the results that arrived are shown too; the others say
	// interrupted, and the run exits 130.
	interrupted := app.Context().Err()

	var js []pushJSON
	failed, changed := 0, 0
	for _, r := range results {
		js = append(js, pushItem(r, spec, interrupted != nil))
		if r.Err != nil {
			failed++
		} else if js[len(js)-1].Changed {
			changed++
		}
	}
	if format == "json" {
		if err := app.IO.JSON(js); err != nil {
			return err
		}
	} else {
		if err := app.render(format, pushTable(js, format == "table")); err != nil {
			return err
		}
		ok := len(js) - failed
		switch {
		case app.DryRun:
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: dry run: %d of %d servers would change%s; nothing written\n", changed, len(js), unread(failed))
		default:
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s: %d changed, %d unchanged\n", remote, changed, ok-changed)
		}
		if failed > 0 && interrupted == nil {
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s\n", ui.ServersFailed(failed, len(js)))
		}
	}
	if interrupted != nil {
		return interrupted
	}
	if failed > 0 {
		return silentExit(ExitFailed)
	}
	return nil
}

func pushItem(r fleet.Result[*fleet.PushResult], spec fleet.PushSpec, interrupted bool) pushJSON {
	j := pushJSON{Server: r.Server.Name, OK: r.Err == nil, Changes: []string{},
		DurationMS: float64(r.Duration.Microseconds()) / 1000}
	p := r.Value
	if p != nil {
		if p.Changes != nil {
			j.Changes = p.Changes
		}
		state := p.Before
		if p.After != nil {
			state = p.After
		}
		if p.Before != nil {
			j.SHA256Before = &p.Before.SHA256
		}
		if state != nil {
			j.SHA256After = &state.SHA256
			j.Mode = fmt.Sprintf("%04o", state.Mode)
			j.Owner = state.User + ":" + state.Group
		}
	}
	switch {
	case r.Err != nil && interrupted && errors.Is(r.Err, context.Canceled):
		j.Status, j.Error, j.detail = "interrupted", "interrupted", "interrupted"
	case r.Err != nil:
		j.Status, j.Error, j.detail = "failed", fleet.Detail(r.Err), fleet.Detail(r.Err)
		var te *fleet.ErrTimeout
		if errors.As(r.Err, &te) {
			j.Error, j.detail = te.Detail(), te.Detail()
		}
	case len(j.Changes) == 0:
		j.Status = "unchanged"
	case spec.DryRun:
		j.Status, j.Changed = "would-change", true
		if p.Before == nil {
			j.Status = "would-create"
		}
	default:
		j.Status, j.Changed = "changed", true
		if p.Before == nil {
			j.Status = "created"
		}
	}
	return j
}

// pushTable is the table (short checksums) or TSV (full ones) of a push.
func pushTable(js []pushJSON, short bool) ui.Table {
	sum := func(s *string) string {
		if s == nil {
			return "-"
		}
		if short {
			return (*s)[:12]
		}
		return *s
	}
	t := ui.Table{Headers: []string{"SERVER", "STATUS", "CHANGES", "SHA256 BEFORE", "SHA256 AFTER", "MODE", "OWNER", "NOTE"}}
	for _, j := range js {
		changes := strings.Join(j.Changes, ",")
		if changes == "" {
			changes = "-"
		}
		after := j.SHA256After
		if j.Status == "failed" || strings.HasPrefix(j.Status, "would-") {
			after = nil
		}
		note := ""
		if j.Error != "" {
			note = ui.Clean(j.detail)
		}
		t.Rows = append(t.Rows, []string{j.Server, j.Status, changes, sum(j.SHA256Before), sum(after),
			orDash(j.Mode), orDash(ui.Clean(j.Owner)), note})
	}
	return t
}

// unread says how many servers a dry run could not read ("" for none).
func unread(failed int) string {
	if failed == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d could not be read)", failed)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
