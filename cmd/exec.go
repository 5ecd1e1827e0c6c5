package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// execJSON is the stable -o json schema of `bbbfleet exec`, one per server.
type execJSON struct {
	Server     string  `json:"server"`
	OK         bool    `json:"ok"`
	ExitStatus *int    `json:"exit_status"`
	Stdout     string  `json:"stdout"`
	Stderr     string  `json:"stderr"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

type execOptions struct {
	Sudo   bool
	Stream bool
}

func newExecCmd(app *App) *cobra.Command {
	var opts execOptions
	cmd := &cobra.Command{
		Use:   "exec TARGETS -- CMD [ARGS...]",
		Short: "Run a command on servers in parallel",
		Long: `Run a command on the selected servers in parallel, over one SSH connection
per server. The command and its arguments are shell-quoted: each argument
arrives as one literal word. With --sudo a non-root login runs it with
"sudo -n" (passwordless sudo is required).

Each server's run (connect and command) is bounded by --timeout, 30s by
default: raise it for long work, e.g. --timeout 30m. Ctrl-C stops the
remote commands.

Output is grouped per server; --stream interleaves lines live, prefixed
with the server name; -o json gives stdout, stderr, exit status and
duration per server.

EXIT STATUS
  0 when the command succeeded on every server, 1 otherwise, 2 on usage
  errors, 130 when interrupted.`,
		Example: `  bbbfleet exec @pool -- bbb-conf --status
  bbbfleet exec all --sudo -- systemctl restart nginx
  bbbfleet exec bbb1 bbb2 --stream -- journalctl -n 20 -u bbb-web`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 || dash == len(args) {
				return &ExitError{Code: ExitUsage, Err: errors.New("no command given"), Hint: "put the command after --, e.g. `bbbfleet exec @pool -- bbb-conf --status`"}
			}
			return runExec(app, args[:dash], args[dash:], opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Sudo, "sudo", false, "run the command as root (sudo -n for a non-root login)")
	cmd.Flags().BoolVar(&opts.Stream, "stream", false, "print output lines live, prefixed with the server name")
	return cmd
}

// targetsEnv selects the targets (see selectTargets) and builds the run's
// environment for them.
func (app *App) targetsEnv(args []string, defaultAll, withSecrets bool) ([]fleet.Server, *fleet.Env, error) {
	servers, _, err := app.selectTargets(args, defaultAll)
	if err != nil {
		return nil, nil, err
	}
	env, err := app.newEnv(withSecrets)
	if err != nil {
		return nil, nil, err
	}
	return servers, env, nil
}

// sshConfigFile is BBBFLEET_SSH_CONFIG: another ssh_config file, or
// "none"; empty means ~/.ssh/config.
func (app *App) sshConfigFile() string { return app.SSHConfigFile }

// newEnv builds the run's environment from the global flags.
func (app *App) newEnv(withSecrets bool) (*fleet.Env, error) {
	cfg, err := app.Config()
	if err != nil {
		return nil, err
	}
	var secrets *fleet.Secrets
	if withSecrets {
		if secrets, err = app.secrets(); err != nil {
			return nil, err
		}
	}
	env := fleet.NewEnv(cfg, secrets, fleet.RunOptions{Parallel: app.Parallel, Timeout: app.Timeout})
	env.SSHConfigFile = app.sshConfigFile()
	app.reportHostKeys(env)
	if app.Verbose {
		var mu sync.Mutex
		env.Trace = func(server, line string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(app.IO.ErrOut, "%s $ %s\n", server, line)
		}
	}
	return env, nil
}

func runExec(app *App, targets, argv []string, opts execOptions) error {
	format, err := app.outputFormat()
	if err != nil {
		return err
	}
	servers, _, err := app.selectTargets(targets, false)
	if err != nil {
		return err
	}
	if app.DryRun {
		type planJSON struct {
			Server  string `json:"server"`
			Target  string `json:"target"`
			Command string `json:"command"`
		}
		plan := []planJSON{}
		for _, s := range servers {
			tg, err := ssh.Resolve(fleet.SSHConfig(s, app.sshConfigFile()))
			if err != nil {
				return fmt.Errorf("%s: ssh: %w", s.Name, err)
			}
			line := ssh.Quote(argv)
			if opts.Sudo && tg.User != "root" {
				line = "sudo -n -- " + line
			}
			plan = append(plan, planJSON{Server: s.Name, Target: tg.String(), Command: line})
		}
		if format == "json" {
			return app.IO.JSON(plan)
		}
		for _, p := range plan {
			fmt.Fprintf(app.IO.Out, "would run on %s (%s): %s\n", p.Server, p.Target, p.Command)
		}
		return nil
	}
	env, err := app.newEnv(false)
	if err != nil {
		return err
	}
	defer env.Close()

	var outMu sync.Mutex
	width := 0
	for _, s := range servers {
		width = max(width, len(s.Name))
	}
	results := fleet.Run(app.Context(), servers, env.Opts, func(ctx context.Context, s fleet.Server) (*ssh.Result, error) {
		c := ssh.Command{Argv: argv, Sudo: opts.Sudo}
		if opts.Stream && format != "json" {
			prefix := app.IO.Paint(ui.Plain, fmt.Sprintf("%-*s", width, s.Name)) + " | "
			c.Stdout = &lineWriter{mu: &outMu, w: app.IO.Out, prefix: prefix}
			c.Stderr = &lineWriter{mu: &outMu, w: app.IO.Out, prefix: prefix}
			defer c.Stdout.(*lineWriter).Flush()
			defer c.Stderr.(*lineWriter).Flush()
		}
		return env.Remote(ctx, s, c)
	})
	if err := app.Context().Err(); err != nil {
		return err
	}

	failed := 0
	var js []execJSON
	for _, r := range results {
		j := execJSON{Server: r.Server.Name, DurationMS: float64(r.Duration.Microseconds()) / 1000}
		if r.Value != nil {
			if st := r.Value.ExitStatus; st >= 0 { // -1: the command never reported one
				j.ExitStatus = &st
			}
			j.Stdout, j.Stderr = string(r.Value.Stdout), string(r.Value.Stderr)
		}
		j.OK = r.Err == nil
		if r.Err != nil {
			failed++
			j.Error = r.Err.Error()
		}
		js = append(js, j)
	}
	switch {
	case format == "json":
		if err := app.IO.JSON(js); err != nil {
			return err
		}
	case opts.Stream:
		for _, j := range js {
			if !j.OK {
				// stderr may be a file while stdout is a terminal: no colour
				fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s: %s\n", j.Server, strings.TrimPrefix(j.Error, j.Server+": "))
			}
		}
	default:
		for i, j := range js {
			status := "ok"
			if !j.OK {
				status = "failed"
				var te *fleet.ErrTimeout
				if errors.As(results[i].Err, &te) {
					status = "timed out"
				}
				if j.ExitStatus != nil {
					status = fmt.Sprintf("exit %d", *j.ExitStatus)
				}
			}
			hdr := fmt.Sprintf("── %s (%s, %s)", j.Server, status, time.Duration(j.DurationMS*float64(time.Millisecond)).Round(time.Millisecond))
			tone := ui.Good
			if !j.OK {
				tone = ui.Bad
			}
			fmt.Fprintln(app.IO.Out, app.IO.Paint(tone, app.IO.Bold(hdr)))
			io.WriteString(app.IO.Out, ensureNL(j.Stdout))
			if j.Stderr != "" {
				io.WriteString(app.IO.Out, ensureNL(j.Stderr))
			}
			if !j.OK && (j.ExitStatus == nil || !strings.Contains(j.Error, "exit")) {
				fmt.Fprintf(app.IO.Out, "error: %s\n", results[i].Err)
			}
		}
	}
	if failed > 0 {
		if format != "json" {
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %d of %d servers failed\n", failed, len(results))
		}
		return silentExit(ExitFailed)
	}
	return nil
}

func ensureNL(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

// lineWriter prefixes each complete line and writes it under a shared lock
// so that lines of different servers never mix.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

// The shared lock also guards buf: after a cancelled command the SSH
// layer's output copy may still be writing when Flush runs.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		io.WriteString(l.w, l.prefix)
		l.w.Write(l.buf.Next(i + 1))
	}
	// A "line" without end (cat of a binary file) is written in pieces
	// rather than held in memory until --timeout.
	if l.buf.Len() >= maxStreamLine {
		io.WriteString(l.w, l.prefix)
		l.w.Write(l.buf.Next(l.buf.Len()))
		io.WriteString(l.w, "\n")
	}
	return len(p), nil
}

// maxStreamLine is the longest partial line --stream holds back.
const maxStreamLine = 64 << 10

// Flush writes a last line without a newline.
func (l *lineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() == 0 {
		return
	}
	io.WriteString(l.w, l.prefix)
	l.w.Write(l.buf.Bytes())
	io.WriteString(l.w, "\n")
	l.buf.Reset()
}
