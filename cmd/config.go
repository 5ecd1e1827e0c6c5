package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

func newConfigCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Work with the fleet config",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRunE,
	}
	c.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Check the config strictly; print ok and a summary, or every error with file:line",
		Long: `Check the fleet config strictly: unknown keys, wrong types, duplicate or
invalid server names, invalid hosts, durations, cron specs, time zones,
schedule targets and holidays. Prints ok and a summary, or every error with
file:line and exits 2. The secrets file is checked too (mode 0600).
Warnings (e.g. an http:// API URL: signed calls and their answers travel
unencrypted) go to stderr with file:line and do not change the exit code.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := app.outputFormat()
			if err != nil {
				return err
			}
			cfg, err := app.Config()
			var secrets *fleet.Secrets
			if err == nil {
				secrets, err = app.secrets()
			}
			if err != nil {
				return app.configInvalid(format, err)
			}
			// Warnings do not fail the validation (exit 0); they go to
			// stderr in every format, so -o json stays one document.
			app.printNotices(cfg.Notices.Of(fleet.SeverityWarning))
			app.printNotices(fleet.HookNotices(cfg))
			have := 0
			for _, s := range cfg.Servers {
				if _, ok := secrets.Get(s.Name); ok {
					have++
				}
			}
			notes := []configProblem{}
			for _, n := range cfg.Notices.Of(fleet.SeverityNote) {
				notes = append(notes, configProblem{File: n.File, Line: n.Line, Message: n.Msg})
			}
			if format == "json" {
				return app.IO.JSON(map[string]any{"ok": true, "config": cfg.Path, "servers": len(cfg.Servers),
					"tags": cfg.Tags(), "schedules": len(cfg.Schedules), "holidays": len(cfg.Holidays),
					"secrets_file": cfg.SecretsFile, "servers_with_secret": have, "notes": notes})
			}
			app.printNotices(cfg.Notices.Of(fleet.SeverityNote))
			fmt.Fprintf(app.IO.Out, "ok: %s\n", cfg.Path)
			fmt.Fprintf(app.IO.Out, "  servers:   %d (tags: %d)\n", len(cfg.Servers), len(cfg.Tags()))
			fmt.Fprintf(app.IO.Out, "  schedules: %d, holidays: %d\n", len(cfg.Schedules), len(cfg.Holidays))
			state := "present"
			if _, err := os.Stat(cfg.SecretsFile); errors.Is(err, os.ErrNotExist) {
				state = "missing"
			}
			fmt.Fprintf(app.IO.Out, "  secrets:   %s (%s); %d of %d servers have a secret\n", cfg.SecretsFile, state, have, len(cfg.Servers))
			return nil
		},
	})
	return c
}

// printNotices writes config notices to stderr, one a line:
// "bbbfleet: warning: FILE:LINE: MSG" or "bbbfleet: note: ...".
func (app *App) printNotices(ns fleet.ConfigNotices) {
	for _, n := range ns {
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s: %s\n", n.Severity, &n.ConfigError)
	}
}

// configProblem is one error of `config validate -o json`.
type configProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// configInvalid reports what config validate found wrong: with -o json a
// document {"ok": false, "errors": [...]} on stdout, else the errors on
// stderr, without the "check it with config validate" hint (this is it).
// Either way the run exits 2.
func (app *App) configInvalid(format string, err error) error {
	code, hint := classify(err, true)
	if code == ExitFailed {
		code = ExitUsage
	}
	if hint == hintValidate {
		hint = ""
	}
	if format != "json" {
		return &ExitError{Code: code, Err: err, Hint: hint}
	}
	var probs []configProblem
	var ces fleet.ConfigErrors
	var ce *fleet.ConfigError
	switch {
	case errors.As(err, &ces):
		for _, e := range ces {
			probs = append(probs, configProblem{File: e.File, Line: e.Line, Message: e.Msg})
		}
	case errors.As(err, &ce):
		probs = append(probs, configProblem{File: ce.File, Line: ce.Line, Message: ce.Msg})
	default:
		probs = append(probs, configProblem{Message: err.Error()})
	}
	path, _ := fleet.Find(app.ConfigPath, app.searchEnv())
	if jerr := app.IO.JSON(map[string]any{"ok": false, "config": path, "errors": probs}); jerr != nil {
		return jerr
	}
	return silentExit(code)
}

// secrets loads the fleet's secrets file once per run.
func (app *App) secrets() (*fleet.Secrets, error) {
	cfg, err := app.Config()
	if err != nil {
		return nil, err
	}
	return fleet.LoadSecrets(cfg.SecretsFile)
}

func (app *App) lookupEnvSecret(name string) (string, bool) {
	v, ok := app.lookupEnv(fleet.SecretEnv(name))
	return v, ok && v != ""
}
