package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// Exit codes, documented in `bbbfleet help exit-codes`.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitRefused     = 3
	ExitLocked      = 4
	ExitInterrupted = 130
)

const exitCodesHelp = `bbbfleet exits with one of these codes:

  0    ok: every selected server did what was asked
  1    at least one server failed (its error is shown with the others' results)
  2    usage or configuration error: bad flag, unknown target, invalid config
  3    refused for safety: e.g. init would overwrite a config
  4    another bbbfleet run holds the fleet lock (reserved for scheduled
       runs; no command takes the lock yet)
  130  interrupted (Ctrl-C); remote commands were cancelled. load --watch
       and demo --serve run until Ctrl-C and then exit 0.

bbbfleet check follows the monitoring-plugin convention instead, in every
output mode: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (with -o nagios, a usage
or configuration error also exits 3, and so does SIGINT or SIGTERM, after a
"BBBFLEET UNKNOWN - interrupted ..." line).
`

// ExitError carries an exit code, an optional message and a hint.
// A nil Err with a code exits silently (the output already said why).
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an error with a code and a hint.
func exitf(code int, hint string, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...), Hint: hint}
}

// silentExit ends the run with code and prints nothing more.
func silentExit(code int) error { return &ExitError{Code: code} }

// classify maps an error returned by a command to an exit code and hint.
// Errors from cobra itself (flags, arguments, unknown commands) are usage
// errors; errors from a command's work are failures unless typed otherwise.
func classify(err error, runtime bool) (int, string) {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code, ee.Hint
	}
	var nf *fleet.NotFoundError
	if errors.As(err, &nf) {
		return ExitUsage, "create one with `bbbfleet init`, or point to it with --config or $BBBFLEET_CONFIG"
	}
	var ce fleet.ConfigErrors
	var c1 *fleet.ConfigError
	if errors.As(err, &c1) && c1.Final {
		return ExitUsage, ""
	}
	if errors.As(err, &ce) || errors.As(err, &c1) {
		return ExitUsage, "fix the config, then check it with `bbbfleet config validate`"
	}
	var te *fleet.TargetError
	if errors.As(err, &te) {
		return ExitUsage, ""
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted, ""
	}
	if !runtime {
		msg := err.Error()
		if strings.Contains(msg, "unknown command") || strings.Contains(msg, "flag") || strings.Contains(msg, "arg") {
			return ExitUsage, "run `bbbfleet --help` for usage"
		}
		return ExitUsage, ""
	}
	return ExitFailed, ""
}
