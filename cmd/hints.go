package cmd

import "github.com/bbbfleet/bbbfleet/pkg/fleet"

// The command line's words for what pkg/ returns as facts. pkg/ says a
// finding in the product's words and carries the rest as values: the
// remedy (fleet.Fix: fetch a server's secret), the limit that hit (the
// run's deadline, which this command line sets with --timeout), the way
// to skip a verification. These helpers put the flag names and command
// lines in: cliWords gives them to a run's Env (for errors that
// operations put into messages of their own), checkMessage and
// errText/errDetail use them where the check report and secret fetch are
// rendered.

const (
	// timeoutFlag names the run's deadline (fleet.RunOptions.Timeout).
	timeoutFlag = "--timeout"
	// noVerifyUse is how secret fetch skips its verification.
	noVerifyUse = "use --no-verify"
)

// runOptions are a run's limits, named as the command line sets them.
func (app *App) runOptions() fleet.RunOptions {
	return fleet.RunOptions{Parallel: app.Parallel, Timeout: app.Timeout, TimeoutName: timeoutFlag}
}

// cliWords makes env's errors name remedies as commands to run.
func cliWords(env *fleet.Env) {
	env.FixWords = fixText
	env.APIFixWords = apiFixText
}

// apiFixText is a fix as the command to run, as the API clients' errors
// have always quoted it (run "bbbfleet secret fetch NAME").
func apiFixText(f fleet.Fix) string {
	if f.Kind == fleet.FixFetchSecret {
		return `run "bbbfleet secret fetch ` + f.Server + `"`
	}
	return fixText(f)
}

// fixText is a fix as the command to run ("" for none).
func fixText(f fleet.Fix) string {
	switch f.Kind {
	case fleet.FixFetchSecret, fleet.FixThenFetchSecret:
		return "run `bbbfleet secret fetch " + f.Server + "`"
	case fleet.FixFetchSecretOrEnv:
		return "run `bbbfleet secret fetch " + f.Server + "` or set " + f.Env
	}
	return ""
}

// checkMessage is a check row's message followed by its fix.
func checkMessage(c fleet.CheckResult) string {
	switch f := fixText(c.Fix); c.Fix.Kind {
	case fleet.FixFetchSecret:
		return c.Message + ": " + f
	case fleet.FixFetchSecretOrEnv:
		return c.Message + " (" + f + ")"
	case fleet.FixThenFetchSecret:
		return c.Message + " and " + f
	}
	return c.Message
}

// errDetail is fleet.Detail (the message without the server's name) in
// the command line's words.
func errDetail(err error) string {
	switch e := err.(type) {
	case *fleet.ServerError:
		if e.Step == "" {
			return errDetail(e.Err)
		}
		return e.Step + ": " + errDetail(e.Err)
	case *fleet.SecretUnverifiedError:
		return e.DetailNaming(noVerifyUse)
	}
	return fleet.Detail(err)
}

// errText is err.Error() in the command line's words.
func errText(err error) string {
	switch e := err.(type) {
	case *fleet.ServerError:
		return e.Server + ": " + errDetail(err)
	case *fleet.SecretUnverifiedError:
		return e.Server + ": " + errDetail(err)
	}
	return err.Error()
}
