package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// execJSON is the stable -o json schema of `bbbfleet exec`, one per server.
type execJSON struct {
	Server string `json:"server"`
	OK     bool   `json:"ok"`
	// Status is ok, failed, timed_out, interrupted or not_run.
	Status          string  `json:"status"`
	ExitStatus      *int    `json:"exit_status"`
	Stdout          string  `json:"stdout"`
	Stderr          string  `json:"stderr"`
	StdoutTruncated bool    `json:"stdout_truncated"`
	StderrTruncated bool    `json:"stderr_truncated"`
	DurationMS      float64 `json:"duration_ms"`
	Error           string  `json:"error,omitempty"`
	// detail is Error without the server's name (asked of the error).
	detail string
}

type execOptions struct {
	Sudo        bool
	Stream      bool
	Raw         bool
	NoStdin     bool
	Batch       int
	StopOnError bool
}

// Limits of exec, documented in its help and the README.
const (
	// maxExecStdin is the most exec reads from its stdin to send on.
	maxExecStdin = 64 << 20
	// execKeep is what exec keeps of each stream of each server for grouped,
	// TSV and JSON output; execKeepTotal bounds it across servers.
	execKeep      = 1 << 20
	execKeepTotal = 32 << 20
	// execSSHKeep is what the SSH layer keeps besides (for its error
	// messages: a sudo password prompt, the first line of stderr).
	execSSHKeep = 8 << 10
	// stdinNotice is how long exec waits for stdin before saying so.
	stdinNotice = 2 * time.Second
)

func newExecCmd(app *App) *cobra.Command {
	var opts execOptions
	cmd := &cobra.Command{
		Use:   "exec TARGETS -- CMD [ARGS...]",
		Short: "Run a command on servers in parallel",
		Long: `Run a command on the selected servers in parallel, over one SSH connection
per server. The command and its arguments are shell-quoted: each argument
arrives as one literal word. With --sudo a non-root login runs it with
"sudo -n" (passwordless sudo is required).

Standard input, when it is not a terminal, is read once (at most 64 MiB;
more is an error and nothing runs) and sent to the command on every
server, as ssh and parallel-ssh -I do:
  printf 'important=1\n' | bbbfleet exec @pool --sudo -- tee /etc/x.conf
-n/--no-stdin sends none (the command reads end of file), for scripts
whose stdin is not meant for the servers. Copy files with bbbfleet push.

Each server's run (connect and command) is bounded by --timeout, 30s by
default: raise it for long work, e.g. --timeout 30m. A command that
outlives it, or Ctrl-C, is stopped on the server with everything it
started (for a root login, through sudo and behind ForceCommand alike);
what it printed until then is kept and shown. Ctrl-C shows the results
that arrived, marks the others interrupted and exits 130.

--batch N rolls through the servers N at a time, in config order, each
batch starting when the one before it has finished; with --stop-on-error
the rollout stops after the first batch with a failure, and the later
servers are reported as not run.

Output is grouped per server, in config order, each server's block shown
as soon as it and those before it are done; --stream interleaves lines
live, prefixed with the server name; -o json gives status, stdout,
stderr, exit status and duration per server; -o tsv one line per server
(SERVER STATUS EXIT DURATION_MS STDOUT STDERR ERROR; the output's final
newline dropped, then backslash, tab, newline and carriage return written
as \\ \t \n \r and other control characters as \xNN).

Limits: grouped, TSV and JSON output keep the first 1 MiB of each
server's stdout and of its stderr, and 32 MiB across servers; what is cut
is marked (a note in the block, "stdout_truncated"/"stderr_truncated" in
JSON, a line on stderr). --stream keeps nothing and shows everything.

Text from servers is shown to a terminal with control characters, bidi
controls and invalid UTF-8 as visible escapes (\x1b, \u202e, \xff), in
--stream lines always, so no server can rewrite another's line; --raw
passes the bytes through unchanged. Grouped output on a pipe is not
altered; JSON escapes everything.

EXIT STATUS
  0 when the command succeeded on every server, 1 otherwise (including
  servers not run after --stop-on-error), 2 on usage errors (stdin over
  64 MiB included), 130 when interrupted.`,
		Example: `  bbbfleet exec @pool -- bbb-conf --status
  bbbfleet exec all --sudo -- systemctl restart nginx
  bbbfleet exec bbb1 bbb2 --stream -- journalctl -n 20 -u bbb-web
  bbbfleet exec all --batch 2 --stop-on-error --sudo --timeout 30m -- apt-get -y upgrade
  printf 'important=1\n' | bbbfleet exec @pool --sudo -- tee /etc/x.conf`,
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
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "show the servers' output bytes unchanged (no escaping of control characters)")
	cmd.Flags().BoolVarP(&opts.NoStdin, "no-stdin", "n", false, "send no standard input to the servers")
	cmd.Flags().IntVar(&opts.Batch, "batch", 0, "roll through the servers `N` at a time, batch after batch")
	cmd.Flags().BoolVar(&opts.StopOnError, "stop-on-error", false, "with --batch: stop after the first batch with a failure")
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
	env := fleet.NewEnv(cfg, secrets, app.runOptions())
	cliWords(env)
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

// readStdin reads what exec sends to the servers: nothing from a terminal
// or with --no-stdin, else all of stdin up to limit bytes (more is a usage
// error). A stdin that stays open is announced after a moment; Ctrl-C
// ends the wait.
func (app *App) readStdin(noStdin bool, limit int64) ([]byte, error) {
	if noStdin || app.IO.InTTY || app.IO.In == nil {
		return nil, nil
	}
	type got struct {
		b   []byte
		err error
	}
	ch := make(chan got, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(app.IO.In, limit+1))
		ch <- got{b, err}
	}()
	notice := time.NewTimer(stdinNotice)
	defer notice.Stop()
	for {
		select {
		case g := <-ch:
			if g.err != nil {
				return nil, fmt.Errorf("reading stdin: %w", g.err)
			}
			if int64(len(g.b)) > limit {
				return nil, &ExitError{Code: ExitUsage,
					Err:  fmt.Errorf("stdin holds more than %s: exec sends at most %s of input to the servers, and ran nothing", sizeText(limit), sizeText(limit)),
					Hint: "copy files with `bbbfleet push TARGETS LOCAL REMOTE`; pass -n (--no-stdin) when the command reads no input"}
			}
			if len(g.b) == 0 {
				return nil, nil
			}
			return g.b, nil
		case <-notice.C:
			fmt.Fprintln(app.IO.ErrOut, "bbbfleet: reading stdin to send to the servers (end it with Ctrl-D, or pass -n to send none)")
		case <-app.Context().Done():
			return nil, app.Context().Err()
		}
	}
}

func runExec(app *App, targets, argv []string, opts execOptions) error {
	format, err := app.outputFormat()
	if err != nil {
		return err
	}
	if opts.Batch < 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--batch must be at least 1, got %d", opts.Batch)}
	}
	if opts.StopOnError && opts.Batch == 0 {
		return &ExitError{Code: ExitUsage, Err: errors.New("--stop-on-error needs --batch N"), Hint: "e.g. --batch 1 --stop-on-error for one server at a time"}
	}
	servers, _, err := app.selectTargets(targets, false)
	if err != nil {
		return err
	}
	stdin, err := app.readStdin(opts.NoStdin, maxExecStdin)
	if err != nil {
		return err
	}
	if app.DryRun {
		return execPlan(app, format, servers, argv, opts, len(stdin))
	}
	env, err := app.newEnv(false)
	if err != nil {
		return err
	}
	defer env.Close()

	v := &execView{app: app, format: format, opts: opts, total: len(servers),
		clean: !opts.Raw && app.IO.OutTTY, tsv: strings.EqualFold(app.Output, "tsv"),
		budget: newByteBudget(execKeepTotal)}
	stream := opts.Stream && format != "json"
	var outMu sync.Mutex
	width := 0
	for _, s := range servers {
		width = max(width, len(s.Name))
	}
	caps := make(map[string]*execCapture, len(servers))
	for _, s := range servers {
		caps[s.Name] = &execCapture{out: v.budget.capture(execKeep), err: v.budget.capture(execKeep)}
	}

	type indexed struct {
		i int
		r fleet.Result[*ssh.Result]
	}
	resCh := make(chan indexed, len(servers))
	go func() {
		defer close(resCh)
		fleet.RunRolling(app.Context(), servers, env.Opts, fleet.Rollout{Batch: opts.Batch, StopOnError: opts.StopOnError},
			func(ctx context.Context, s fleet.Server) (*ssh.Result, error) {
				c := ssh.Command{Argv: argv, Sudo: opts.Sudo, MaxOutput: execSSHKeep}
				if stdin != nil {
					c.Stdin = bytes.NewReader(stdin)
				}
				if stream {
					prefix := app.IO.Paint(ui.Plain, fmt.Sprintf("%-*s", width, s.Name)) + " | "
					lo := ui.NewLineWriter(&outMu, app.IO.Out, prefix, !opts.Raw)
					le := ui.NewLineWriter(&outMu, app.IO.Out, prefix, !opts.Raw)
					c.Stdout, c.Stderr = lo, le
					defer lo.Flush()
					defer le.Flush()
				} else {
					cp := caps[s.Name]
					c.Stdout, c.Stderr = cp.out, cp.err
				}
				return env.Remote(ctx, s, c)
			},
			func(i int, r fleet.Result[*ssh.Result]) { resCh <- indexed{i, r} })
	}()

	// Each server is shown as soon as it and those before it are done
	// (config order), and its buffers are freed.
	got := make([]*fleet.Result[*ssh.Result], len(servers))
	next := 0
	for ir := range resCh {
		r := ir.r
		got[ir.i] = &r
		for next < len(servers) && got[next] != nil {
			cp := caps[servers[next].Name]
			if err := v.show(*got[next], cp); err != nil {
				return err
			}
			cp.out.free()
			cp.err.free()
			got[next] = nil
			next++
		}
	}
	return v.finish()
}

// execPlan prints what exec would run (--dry-run).
func execPlan(app *App, format string, servers []fleet.Server, argv []string, opts execOptions, stdinBytes int) error {
	type planJSON struct {
		Server     string `json:"server"`
		Target     string `json:"target"`
		Command    string `json:"command"`
		Batch      int    `json:"batch,omitempty"`
		StdinBytes int    `json:"stdin_bytes,omitempty"`
	}
	plan := []planJSON{}
	for i, s := range servers {
		tg, err := ssh.Resolve(fleet.SSHConfig(s, app.sshConfigFile()))
		if err != nil {
			return fmt.Errorf("%s: ssh: %w", s.Name, err)
		}
		line, err := ssh.CommandLine(ssh.Command{Argv: argv, Sudo: opts.Sudo}, tg.User)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("the command: %w", err)}
		}
		p := planJSON{Server: s.Name, Target: tg.String(), Command: line, StdinBytes: stdinBytes}
		if opts.Batch > 0 {
			p.Batch = i/opts.Batch + 1
		}
		plan = append(plan, p)
	}
	if format == "json" {
		return app.IO.JSON(plan)
	}
	for _, p := range plan {
		extra := ""
		if p.Batch > 0 {
			extra = fmt.Sprintf(", batch %d", p.Batch)
		}
		fmt.Fprintf(app.IO.Out, "would run on %s (%s%s): %s", p.Server, p.Target, extra, p.Command)
		if p.StdinBytes > 0 {
			fmt.Fprintf(app.IO.Out, " (stdin: %d bytes)", p.StdinBytes)
		}
		fmt.Fprintln(app.IO.Out)
	}
	return nil
}

// execView renders exec's results one server at a time.
type execView struct {
	app    *App
	format string
	opts   execOptions
	total  int
	clean  bool // escape control characters (a terminal, no --raw)
	tsv    bool // -o tsv given: one line per server
	budget *byteBudget

	shown       int
	failed      int
	notRun      int
	interrupted int
	truncated   []string
	streamErrs  []execJSON
	started     bool // the JSON array or the TSV header is written
}

// execCapture is what exec keeps of one server's output.
type execCapture struct{ out, err *boundedBuffer }

// show renders one server's result.
func (v *execView) show(r fleet.Result[*ssh.Result], cp *execCapture) error {
	j := execJSON{Server: r.Server.Name, DurationMS: float64(r.Duration.Microseconds()) / 1000}
	if r.Value != nil {
		if st := r.Value.ExitStatus; st >= 0 { // -1: the command never reported one
			j.ExitStatus = &st
		}
	}
	var outSeen, errSeen int64
	if !v.opts.Stream || v.format == "json" {
		j.Stdout, j.StdoutTruncated, outSeen = cp.out.snapshot()
		j.Stderr, j.StderrTruncated, errSeen = cp.err.snapshot()
	}
	j.OK = r.Err == nil
	header := "ok"
	var nr *fleet.NotRunError
	var te *fleet.ErrTimeout
	switch {
	case r.Err == nil:
		j.Status = "ok"
	case errors.As(r.Err, &nr):
		j.Status, header = "not_run", "not run"
		j.Error, j.detail = r.Err.Error(), fleet.Detail(r.Err)
		v.notRun++
	case errors.Is(r.Err, context.Canceled) && v.app.Context().Err() != nil:
		j.Status, header = "interrupted", "interrupted"
		j.Error = r.Server.Name + ": interrupted"
		v.interrupted++
	default:
		j.Status, header = "failed", "failed"
		if errors.As(r.Err, &te) {
			j.Status, header = "timed_out", "timed out"
		}
		if j.ExitStatus != nil {
			header = fmt.Sprintf("exit %d", *j.ExitStatus)
		}
		j.Error, j.detail = r.Err.Error(), fleet.Detail(r.Err)
		v.failed++
	}
	if j.StdoutTruncated || j.StderrTruncated {
		v.truncated = append(v.truncated, j.Server)
	}
	v.shown++
	switch {
	case v.format == "json":
		return v.jsonItem(j)
	case v.opts.Stream:
		if j.Status == "failed" || j.Status == "timed_out" || j.Status == "not_run" {
			v.streamErrs = append(v.streamErrs, j)
		}
		return nil
	case v.tsv:
		return v.tsvRow(j)
	}
	o := v.app.IO
	hdr := fmt.Sprintf("── %s (%s, %s)", j.Server, header, r.Duration.Round(time.Millisecond))
	tone := ui.Good
	if !j.OK {
		tone = ui.Bad
	}
	fmt.Fprintln(o.Out, o.Paint(tone, o.Bold(hdr)))
	io.WriteString(o.Out, ensureNL(v.text(j.Stdout)))
	if j.Stderr != "" {
		io.WriteString(o.Out, ensureNL(v.text(j.Stderr)))
	}
	for _, t := range []struct {
		name      string
		truncated bool
		kept      int
		seen      int64
	}{{"stdout", j.StdoutTruncated, len(j.Stdout), outSeen}, {"stderr", j.StderrTruncated, len(j.Stderr), errSeen}} {
		if t.truncated {
			fmt.Fprintln(o.Out, o.Paint(ui.Warn, fmt.Sprintf("[bbbfleet: %s cut: the first %s of %s shown; exec keeps %s per stream, %s in all; --stream shows everything]",
				t.name, sizeText(int64(t.kept)), sizeText(t.seen), sizeText(execKeep), sizeText(execKeepTotal))))
		}
	}
	var xe *ssh.ExitError
	plainExit := errors.As(r.Err, &xe) && r.Err == error(xe) && xe.Signal == ""
	if !j.OK && !plainExit && j.Status != "interrupted" {
		fmt.Fprintf(o.Out, "error: %s\n", v.text(r.Err.Error()))
	}
	return nil
}

// text is server text as shown: escaped for a terminal unless --raw.
func (v *execView) text(s string) string {
	if v.clean {
		return ui.CleanText(s)
	}
	return s
}

// jsonItem writes one object of the JSON array, formatted as ui.IO.JSON
// formats the whole array, so the document is the same as if it had been
// written at once.
func (v *execView) jsonItem(j execJSON) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(j); err != nil {
		return err
	}
	sep := ",\n  "
	if !v.started {
		sep = "[\n  "
		v.started = true
	}
	_, err := io.WriteString(v.app.IO.Out, sep+strings.TrimSuffix(b.String(), "\n"))
	return err
}

var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// tsvField is server text as one TSV field (see the help).
func tsvField(s string) string {
	return ui.Clean(tsvEscaper.Replace(s))
}

func (v *execView) tsvRow(j execJSON) error {
	out := v.app.IO.Out
	if !v.started {
		v.started = true
		if _, err := io.WriteString(out, "SERVER\tSTATUS\tEXIT\tDURATION_MS\tSTDOUT\tSTDERR\tERROR\n"); err != nil {
			return err
		}
	}
	exit := ""
	if j.ExitStatus != nil {
		exit = strconv.Itoa(*j.ExitStatus)
	}
	_, err := fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Server, j.Status, exit,
		strconv.FormatFloat(j.DurationMS, 'f', 1, 64),
		tsvField(strings.TrimSuffix(j.Stdout, "\n")), tsvField(strings.TrimSuffix(j.Stderr, "\n")), tsvField(j.Error))
	return err
}

// finish ends the output and returns the run's outcome.
func (v *execView) finish() error {
	o := v.app.IO
	if v.format == "json" {
		end := "\n]\n"
		if !v.started {
			end = "[]\n"
		}
		if _, err := io.WriteString(o.Out, end); err != nil {
			return err
		}
	}
	for _, j := range v.streamErrs {
		// stderr may be a file while stdout is a terminal: no colour
		fmt.Fprintf(o.ErrOut, "bbbfleet: %s: %s\n", j.Server, ui.CleanText(j.detail))
	}
	if v.format != "json" && len(v.truncated) > 0 && (v.tsv || v.opts.Stream) {
		fmt.Fprintf(o.ErrOut, "bbbfleet: output of %s cut to its first %s per stream (%s in all); --stream shows everything\n",
			strings.Join(v.truncated, ", "), sizeText(execKeep), sizeText(execKeepTotal))
	}
	if v.interrupted > 0 || v.app.Context().Err() != nil {
		return v.app.Context().Err()
	}
	if v.failed > 0 || v.notRun > 0 {
		if v.format != "json" {
			msg := ui.ServersFailed(v.failed, v.total)
			if v.notRun > 0 {
				msg += fmt.Sprintf("; %d not run (--stop-on-error)", v.notRun)
			}
			fmt.Fprintf(o.ErrOut, "bbbfleet: %s\n", msg)
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

// sizeText is a byte count for people: 512 bytes, 1 MiB, 37.5 MiB.
func sizeText(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<10)), ".0") + " KiB"
	case n < 1<<30:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MiB"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<30)), ".0") + " GiB"
}

// byteBudget is what the captures of one run may hold together.
type byteBudget struct{ left atomic.Int64 }

func newByteBudget(n int64) *byteBudget {
	b := &byteBudget{}
	b.left.Store(n)
	return b
}

// take reserves up to n bytes and returns how many it got.
func (b *byteBudget) take(n int) int {
	for {
		left := b.left.Load()
		k := min(int64(n), left)
		if k <= 0 {
			return 0
		}
		if b.left.CompareAndSwap(left, left-k) {
			return int(k)
		}
	}
}

func (b *byteBudget) give(n int) { b.left.Add(int64(n)) }

func (b *byteBudget) capture(limit int) *boundedBuffer {
	return &boundedBuffer{limit: limit, budget: b}
}

// boundedBuffer keeps the first limit bytes written to it, within its
// budget, and counts the rest. It is safe for concurrent use; after free
// it keeps nothing (an abandoned command may still be writing).
type boundedBuffer struct {
	mu        sync.Mutex
	b         []byte
	limit     int
	seen      int64
	truncated bool
	freed     bool
	budget    *byteBudget
}

func (w *boundedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen += int64(len(p))
	if w.freed {
		return len(p), nil
	}
	n := min(len(p), w.limit-len(w.b))
	if n > 0 {
		n = w.budget.take(n)
	}
	w.b = append(w.b, p[:n]...)
	if n < len(p) {
		w.truncated = true
	}
	return len(p), nil
}

// snapshot returns what is kept, whether some was cut, and how many bytes
// were written in all.
func (w *boundedBuffer) snapshot() (string, bool, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b), w.truncated, w.seen
}

// free gives the buffer's bytes back to the budget.
func (w *boundedBuffer) free() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.budget.give(len(w.b))
	w.b, w.freed = nil, true
}
