package cmd

import (
	"context"
	"errors"
	"fmt"

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
       (for start, stop, restart and schedule apply also: the audit log
       cannot be written; nothing was changed)
  3    refused for safety: stop or restart with meetings running or
       recordings processing and no --drain/--force, a drain whose
       deadline passed (the server stays up and cordoned), Scalelite
       configured but unreachable (also when schedule apply stops a
       server); init would overwrite a config
  4    another changing run (start, stop, restart, install, schedule
       apply) holds the fleet lock; the message names it (pid, command,
       since); --wait-lock D waits
  130  interrupted (Ctrl-C); remote commands were cancelled (start, stop
       and restart let a running bbb-conf or power hook finish), nothing
       further was done, and each server's state and undo are printed.
       load --watch and demo --serve run until Ctrl-C and then exit 0;
       schedule run exits 0 on SIGTERM or SIGINT.

When servers end differently, start, stop, restart and schedule apply
exit with the most pressing code: 130 before 1 before 3.

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

// hintValidate is the hint after a config error; config validate itself
// leaves it out.
const hintValidate = "fix the config, then check it with `bbbfleet config validate`"

// classify maps an error returned by a command to an exit code and hint.
// Errors from cobra itself (flags, arguments, unknown commands) are usage
// errors, typed as *ExitError where cobra makes them (NewRootCmd, run);
// errors from a command's work are failures unless typed otherwise.
func classify(err error, runtime bool) (int, string) {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code, ee.Hint
	}
	var nf *fleet.NotFoundError
	if errors.As(err, &nf) && nf.Given {
		return ExitUsage, "create it with `bbbfleet init " + shellQuote(nf.Searched[0]) + "`, or check the path"
	}
	if errors.As(err, &nf) {
		return ExitUsage, "create one with `bbbfleet init`, or point to it with --config or $BBBFLEET_CONFIG"
	}
	var ue *fleet.UntrustedFileError
	if errors.As(err, &ue) {
		if ue.What == "config" {
			return ExitUsage, "or pass --config with a config file that you or root own and only the owner can write"
		}
		return ExitUsage, "or set secrets_file: to a file that you or root own, mode 0600"
	}
	var ce fleet.ConfigErrors
	var c1 *fleet.ConfigError
	if errors.As(err, &c1) && c1.Final {
		return ExitUsage, ""
	}
	if errors.As(err, &ce) || errors.As(err, &c1) {
		return ExitUsage, hintValidate
	}
	var te *fleet.TargetError
	if errors.As(err, &te) {
		return ExitUsage, ""
	}
	var lh *fleet.LockHeldError
	if errors.As(err, &lh) {
		return ExitLocked, "wait for it with --wait-lock 10m, or run again later"
	}
	var au *fleet.AuditUnwritableError
	if errors.As(err, &au) {
		return ExitUsage, "make it writable, or set audit_log: (or state_dir:) in the config"
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted, ""
	}
	if !runtime {
		// Not typed above, yet from cobra before the command ran (flags,
		// arguments and unknown commands are typed in NewRootCmd and run).
		return ExitUsage, ""
	}
	return ExitFailed, ""
}

// operationExit maps the outcomes of start, stop and restart to one exit
// code: interrupted (130) before failed (1) before refused (3) before ok.
func operationExit(outs []*fleet.Outcome) int {
	code := ExitOK
	rank := map[int]int{ExitOK: 0, ExitRefused: 1, ExitFailed: 2, ExitInterrupted: 3}
	for _, o := range outs {
		c := ExitOK
		switch o.Result {
		case fleet.ResultInterrupted:
			c = ExitInterrupted
		case fleet.ResultFailed:
			c = ExitFailed
		case fleet.ResultNotStarted:
			// the consequence of another server's failure or refusal
		case fleet.ResultRefused:
			c = ExitRefused
		}
		if rank[c] > rank[code] {
			code = c
		}
	}
	return code
}
