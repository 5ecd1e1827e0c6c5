package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// Set with -ldflags "-X github.com/bbbfleet/bbbfleet/cmd.version=..." at release.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// App is the state of one run shared by every command.
type App struct {
	IO *ui.IO

	ConfigPath string
	Output     string
	Parallel   int
	Timeout    time.Duration
	DryRun     bool
	Verbose    bool
	Exclude    []string
	NoColor    bool
	// SSHConfigFile is BBBFLEET_SSH_CONFIG: another ssh_config file, or
	// "none"; empty means ~/.ssh/config.
	SSHConfigFile string

	// envOverrides replace variables of the process environment for this
	// run only (the demo runs its tour with BBBFLEET_SSH_CONFIG=none);
	// see lookupEnv.
	envOverrides map[string]string

	v   *viper.Viper
	cfg *fleet.Config
	ctx context.Context

	// args are the run's raw arguments; usageHooks let a command render
	// its own usage and configuration errors (see onUsageError).
	args       []string
	root       *cobra.Command
	usageHooks map[*cobra.Command]usageHook
	// keepCode is set by a usage hook whose exit code must stand even
	// after Ctrl-C or SIGTERM (check -o nagios exits 3 then, not 130).
	keepCode bool
}

// usageHook sees an error of its command's run with the exit code Run
// would use; when it returns true it has reported the error itself and
// the run exits with the code it returns.
type usageHook func(err error, code int) (int, bool)

// onUsageError registers h for errors of cmd's runs, flag errors included
// (check -o nagios prints them as a plugin's UNKNOWN line and exits 3).
func (app *App) onUsageError(cmd *cobra.Command, h usageHook) {
	if app.usageHooks == nil {
		app.usageHooks = map[*cobra.Command]usageHook{}
	}
	app.usageHooks[cmd] = h
}

// Main runs bbbfleet with the process's arguments and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C cancels the run, a second one kills at once.
	context.AfterFunc(ctx, stop)
	code, app := runMain(ctx, os.Args[1:], ui.System(false))
	if ctx.Err() != nil && code != ExitOK && !app.keepCode {
		return ExitInterrupted
	}
	return code
}

// Run executes one command line and returns its exit code. Errors are
// printed once, as "bbbfleet: error: ..." with an optional hint.
func Run(ctx context.Context, args []string, io *ui.IO) int {
	return runWithEnv(ctx, args, io, nil)
}

// runWithEnv is Run with some environment variables replaced for this run
// (never for the process: other runs, goroutines and a daemon's later
// runs see the real environment).
func runWithEnv(ctx context.Context, args []string, io *ui.IO, env map[string]string) int {
	app := &App{IO: io, ctx: ctx, args: args, envOverrides: env}
	return app.run(args)
}

func runMain(ctx context.Context, args []string, io *ui.IO) (int, *App) {
	app := &App{IO: io, ctx: ctx, args: args}
	return app.run(args), app
}

func (app *App) run(args []string) int {
	io, ctx := app.IO, app.Context()
	root := NewRootCmd(app)
	root.SetArgs(args)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetIn(io.In)
	ranCmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	runtime := ranCmd != nil && ranCmd.Annotations["ran"] == "yes"
	if !runtime {
		// An unknown command is the one error cobra makes before any
		// hook of ours can type it (while finding the command, with
		// suggestions it builds itself): finding the command again
		// says whether that is what happened.
		if _, _, ferr := root.Find(args); ferr != nil && !errors.As(err, new(*ExitError)) {
			err = usageError(err)
		}
	}
	code, hint := classify(err, runtime)
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return code
	}
	if h := app.usageHooks[ranCmd]; h != nil {
		if c, done := h(err, code); done {
			return c
		}
	}
	if code == ExitInterrupted {
		fmt.Fprintln(io.ErrOut, "bbbfleet: interrupted")
		return code
	}
	printError(io, err, hint)
	return code
}

func printError(io *ui.IO, err error, hint string) {
	var ces fleet.ConfigErrors
	if errors.As(err, &ces) && len(ces) > 1 {
		fmt.Fprintf(io.ErrOut, "bbbfleet: error: %d problems:\n", len(ces))
		for _, ce := range ces {
			fmt.Fprintf(io.ErrOut, "  %s\n", ui.CleanText(ce.Error()))
		}
	} else {
		// One error; a message that spans lines keeps them, indented.
		lines := strings.Split(strings.TrimRight(err.Error(), "\n"), "\n")
		// An error may quote a server (an API message, a certificate
		// name): each line is cleaned for the terminal.
		fmt.Fprintf(io.ErrOut, "bbbfleet: error: %s\n", ui.CleanText(lines[0]))
		for _, l := range lines[1:] {
			fmt.Fprintf(io.ErrOut, "  %s\n", ui.CleanText(l))
		}
	}
	if hint != "" {
		fmt.Fprintf(io.ErrOut, "bbbfleet: hint: %s\n", hint)
	}
}

// NewRootCmd builds the command tree.
func NewRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "bbbfleet",
		Short: "Run a fleet of BigBlueButton servers from one command line",
		Long: `bbbfleet keeps the inventory of a BigBlueButton fleet in one validated
YAML file and runs fleet-wide work over SSH and the BBB API: health checks,
load, meetings, secrets and commands, in parallel and bounded by deadlines.

Targets are server names, @tag or all, also as a comma list; a word
starting with ! excludes ('all,!bbb3', '@pool,!@broken'), as does the
quote-free --exclude NAME|@TAG (repeatable). Read-only commands default to
all servers; commands that change servers need explicit targets.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			cmd.Annotations = ensure(cmd.Annotations)
			cmd.Annotations["ran"] = "yes"
			if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
				// TAB must work even when an environment override is
				// wrong; the command itself will say so when it runs.
				_ = app.bind()
				return nil
			}
			return app.bind()
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	app.root = root
	app.v = viper.New()
	f := root.PersistentFlags()
	f.StringVarP(&app.ConfigPath, "config", "c", "", "fleet config file (default: $BBBFLEET_CONFIG, ./bbbfleet.yaml, $XDG_CONFIG_HOME/bbbfleet/fleet.yaml, /etc/bbbfleet/fleet.yaml)")
	f.StringVarP(&app.Output, "output", "o", "", "output format: table, tsv or json (some commands add nagios, prometheus); default table on a terminal, tsv on a pipe")
	f.IntVarP(&app.Parallel, "parallel", "j", 16, "how many servers to work on at once (load and meetings poll 64 unless set)")
	f.DurationVar(&app.Timeout, "timeout", 30*time.Second, "deadline for each server's work")
	f.BoolVar(&app.DryRun, "dry-run", false, "print what would change and touch nothing")
	f.BoolVarP(&app.Verbose, "verbose", "v", false, "show the remote commands that run")
	f.BoolVar(&app.NoColor, "no-color", false, "no colour in output (also: NO_COLOR=1)")
	f.StringSliceVar(&app.Exclude, "exclude", nil, "leave out these servers or @tags from TARGETS (repeatable, or a comma list; the same as TARGETS words !NAME, without quoting)")
	_ = root.RegisterFlagCompletionFunc("exclude", app.completeExclude)
	for _, name := range []string{"config", "output", "parallel", "timeout"} {
		_ = app.v.BindPFlag(name, f.Lookup(name))
	}
	app.v.SetEnvPrefix("BBBFLEET")
	app.v.AutomaticEnv()
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "tsv", "json", "nagios", "prometheus"}, cobra.ShellCompDirectiveNoFileComp))

	// Every command, in one list (help sorts them by name).
	root.AddCommand(
		newVersionCmd(app),
		newInitCmd(app),
		newServersCmd(app),
		newConfigCmd(app),
		newScheduleCmd(app),
		newExitCodesTopic(),
		newCheckCmd(app),
		newDemoCmd(app),
		newExecCmd(app),
		newPushCmd(app),
		newLoadCmd(app),
		newMeetingsCmd(app),
		newSecretCmd(app),
		newStartCmd(app), newStopCmd(app), newRestartCmd(app),
		newInstallCmd(app),
	)
	installCompletionCmd(root)
	// Usage errors cobra finds before a command runs are typed here, so
	// that classify needs no look at their text: bad flags (through the
	// flag error hook) and wrong arguments (every Args validator).
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err, Hint: fmt.Sprintf("run `%s --help` for usage", c.CommandPath())}
	})
	typeArgsErrors(root)
	return root
}

// typeArgsErrors wraps the Args validator of c and its subcommands so that
// a wrong argument count is an *ExitError (usage, with the --help hint).
func typeArgsErrors(c *cobra.Command) {
	if v := c.Args; v != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := v(cmd, args); err != nil {
				return usageError(err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		typeArgsErrors(sub)
	}
}

// usageError is err as an error in the command line: exit 2, with the hint
// to read the help.
func usageError(err error) error {
	return &ExitError{Code: ExitUsage, Err: err, Hint: "run `bbbfleet --help` for usage"}
}

// groupRunE is the RunE of a command that only groups subcommands: alone
// it prints its help; an unknown subcommand is a usage error (without a
// RunE, cobra would print the help and exit 0, and `bbbfleet config
// validat && deploy` would go on).
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &ExitError{Code: ExitUsage, Err: errors.New(msg),
		Hint: fmt.Sprintf("run `%s --help` for its commands", cmd.CommandPath())}
}

func ensure(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// lookupEnv is where bbbfleet reads the environment variables that viper
// does not bind (viper reads BBBFLEET_CONFIG, _OUTPUT, _PARALLEL and
// _TIMEOUT for their flags): the run's overrides first, then the process.
func (app *App) lookupEnv(key string) (string, bool) {
	if v, ok := app.envOverrides[key]; ok {
		return v, true
	}
	return os.LookupEnv(key)
}

// searchEnv is what the config search reads from the environment.
func (app *App) searchEnv() fleet.SearchEnv {
	cfg, _ := app.lookupEnv("BBBFLEET_CONFIG")
	xdg, _ := app.lookupEnv("XDG_CONFIG_HOME")
	return fleet.SearchEnv{Config: cfg, XDGConfigHome: xdg}
}

// bind applies environment overrides through viper and the colour rules.
func (app *App) bind() error {
	if app.NoColor {
		app.IO.DisableColor()
	}
	app.ConfigPath = app.v.GetString("config")
	app.Output = app.v.GetString("output")
	// viper turns a value it cannot parse into 0: say which was wrong.
	for _, name := range []string{"parallel", "timeout"} {
		env := "BBBFLEET_" + strings.ToUpper(name)
		v, set := app.lookupEnv(env)
		if !set || strings.TrimSpace(v) == "" || rootFlagChanged(app, name) {
			continue
		}
		var err error
		if name == "parallel" {
			_, err = strconv.Atoi(strings.TrimSpace(v))
		} else {
			_, err = time.ParseDuration(strings.TrimSpace(v))
		}
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s=%q is not a valid --%s", env, v, name)}
		}
	}
	app.SSHConfigFile, _ = app.lookupEnv("BBBFLEET_SSH_CONFIG")
	app.Parallel = app.v.GetInt("parallel")
	app.Timeout = app.v.GetDuration("timeout")
	if app.Parallel < 1 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s must be at least 1, got %d", app.flagOrEnv("parallel"), app.Parallel)}
	}
	if app.Timeout <= 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s must be positive, got %s", app.flagOrEnv("timeout"), app.Timeout)}
	}
	return nil
}

// flagOrEnv names where a global setting's value came from: "--name", or
// BBBFLEET_NAME when the environment variable set it.
func (app *App) flagOrEnv(name string) string {
	if !rootFlagChanged(app, name) {
		env := "BBBFLEET_" + strings.ToUpper(name)
		if v, set := app.lookupEnv(env); set && strings.TrimSpace(v) != "" {
			return env
		}
	}
	return "--" + name
}

// rootFlagChanged reports whether a global flag was given on the command
// line (which wins over its environment variable).
func rootFlagChanged(app *App, name string) bool {
	return app.root != nil && app.root.PersistentFlags().Changed(name)
}

// Config loads the fleet config once.
func (app *App) Config() (*fleet.Config, error) {
	if app.cfg != nil {
		return app.cfg, nil
	}
	explicit := app.ConfigPath
	if explicit == "" && app.v != nil {
		explicit = app.v.GetString("config")
	}
	path, err := fleet.Find(explicit, app.searchEnv())
	if err != nil {
		return nil, err
	}
	cfg, err := fleet.Load(path)
	if err != nil {
		return nil, err
	}
	if app.Verbose {
		shown := path
		if abs, err := filepath.Abs(path); err == nil {
			shown = abs
		}
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: using config %s\n", ui.Clean(shown))
	}
	app.cfg = cfg
	return cfg, nil
}

// Context is the run's context (cancelled by Ctrl-C).
func (app *App) Context() context.Context {
	if app.ctx == nil {
		return context.Background()
	}
	return app.ctx
}

// outputFormat validates -o against what a command supports; "" means the
// default for the stream (table on a terminal, tsv otherwise).
func (app *App) outputFormat(allowed ...string) (string, error) {
	o := strings.ToLower(app.Output)
	if o == "" {
		if app.IO.OutTTY {
			return "table", nil
		}
		return "tsv", nil
	}
	all := append([]string{"table", "tsv", "json"}, allowed...)
	for _, a := range all {
		if o == a {
			return o, nil
		}
	}
	if src := app.flagOrEnv("output"); src != "--output" {
		return "", &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s=%q: unknown output format; this command supports %s", src, app.Output, strings.Join(all, ", "))}
	}
	return "", &ExitError{Code: ExitUsage, Err: fmt.Errorf("unknown output format %q; this command supports %s", app.Output, strings.Join(all, ", "))}
}

// render writes a table in the chosen format (table or tsv).
func (app *App) render(format string, t ui.Table) error {
	switch format {
	case "table":
		t.Boxed = true
	case "tsv":
		t.TSV = true
	}
	return app.IO.Render(t)
}

// selectTargets resolves target words. Read-only commands pass
// defaultAll=true to select every server when no target is given; commands
// that change servers refuse to run without explicit targets.
func (app *App) selectTargets(words []string, defaultAll bool) ([]fleet.Server, *fleet.Config, error) {
	cfg, err := app.Config()
	if err != nil {
		return nil, nil, err
	}
	if len(words) == 0 {
		if !defaultAll {
			return nil, nil, &ExitError{Code: ExitUsage,
				Err:  errors.New("this command changes servers and needs explicit targets"),
				Hint: "name servers, @tag or all; valid targets: " + strings.Join(cfg.Targets(), ", ")}
		}
		words = []string{"all"}
	}
	for _, x := range app.Exclude {
		for _, x := range strings.Split(x, ",") {
			if x = strings.TrimSpace(x); x != "" {
				words = append(words, "!"+strings.TrimPrefix(x, "!"))
			}
		}
	}
	servers, err := cfg.Select(words)
	if err != nil {
		return nil, nil, err
	}
	return servers, cfg, nil
}

// completeTargets completes server names and @tags from the config only:
// no network, nothing printed to stdout.
func (app *App) completeTargets(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if slices.Contains(app.args, "--") {
		// after `--` comes the remote command: not a target (cobra does
		// not parse flags for __complete, so ArgsLenAtDash cannot tell)
		return nil, cobra.ShellCompDirectiveDefault
	}
	cfg, err := app.Config()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	used := map[string]bool{}
	for _, a := range args {
		for _, w := range strings.Split(a, ",") {
			used[w] = true
		}
	}
	// The word may come with the quoting typed ('all,!bb or all,\!bb, as
	// the README writes exclusions): match without it, keep it in what is
	// offered.
	prefix := ""
	if strings.HasPrefix(toComplete, "'") || strings.HasPrefix(toComplete, `"`) {
		prefix, toComplete = toComplete[:1], toComplete[1:]
	}
	// "bbb1,bb<TAB>": complete the last word of a comma list.
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		for _, w := range strings.Split(toComplete[:i], ",") {
			used[strings.TrimPrefix(strings.TrimPrefix(w, `\`), "!")] = true
		}
		prefix, toComplete = prefix+toComplete[:i+1], toComplete[i+1:]
	}
	// "all,!bb<TAB>": an exclusion completes the same names and tags.
	for _, bang := range []string{"!", `\!`} {
		if strings.HasPrefix(toComplete, bang) {
			prefix, toComplete = prefix+bang, toComplete[len(bang):]
			used["all"] = true
			break
		}
	}
	var out []string
	for _, t := range cfg.Targets() {
		if used[t] || !strings.HasPrefix(t, toComplete) {
			continue
		}
		t = prefix + t
		desc, word := "", strings.TrimPrefix(t, prefix)
		if s, ok := cfg.Server(word); ok {
			desc = s.Host
		} else if strings.HasPrefix(word, "@") {
			n, _ := cfg.Select([]string{word})
			desc = fmt.Sprintf("tag: %d %s", len(n), plural(len(n), "server", "servers"))
		} else if word == "all" {
			desc = fmt.Sprintf("all %d %s", len(cfg.Servers), plural(len(cfg.Servers), "server", "servers"))
		}
		if desc != "" {
			t += "\t" + desc
		}
		out = append(out, t)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeExclude completes --exclude: server names and @tags, the last
// word of a comma list.
func (app *App) completeExclude(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg, err := app.Config()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	prefix := ""
	used := map[string]bool{"all": true}
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix, toComplete = toComplete[:i+1], toComplete[i+1:]
		for _, w := range strings.Split(prefix, ",") {
			used[w] = true
		}
	}
	var out []string
	for _, t := range cfg.Targets() {
		if !used[t] && strings.HasPrefix(t, toComplete) {
			out = append(out, prefix+t)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
