package fleet

import "fmt"

// Fix is a remedy as a value: what an administrator can do about a
// finding or an error, with the facts it needs. Messages of this package
// say the finding in the product's words; the remedy travels in a Fix
// (CheckResult.Fix, SecretDiagnosis.Fix, MissingSecretError.Fix), so a
// front end can word it its own way (the command line names the command
// to run). String words it for everyone else.
type Fix struct {
	Kind FixKind
	// Server is the server the fix is for.
	Server string
	// Env is the environment variable that may hold Server's secret
	// instead (FixFetchSecretOrEnv).
	Env string
}

// FixKind says what a Fix asks for.
type FixKind int

const (
	// FixNone: the message says all there is to do.
	FixNone FixKind = iota
	// FixFetchSecret: read Server's API secret from the server again
	// (over SSH, into the secrets file). The message before it ends with
	// the finding.
	FixFetchSecret
	// FixFetchSecretOrEnv: read Server's API secret from the server, or
	// set Env to it.
	FixFetchSecretOrEnv
	// FixThenFetchSecret: the message ends with a first step (unset a
	// variable); reading the secret from the server follows it.
	FixThenFetchSecret
)

// String is the fix in the product's words ("" for FixNone).
func (f Fix) String() string {
	switch f.Kind {
	case FixFetchSecret, FixThenFetchSecret:
		return fmt.Sprintf("fetch the API secret of %s from the server", f.Server)
	case FixFetchSecretOrEnv:
		return fmt.Sprintf("fetch the API secret of %s from the server or set %s", f.Server, f.Env)
	}
	return ""
}
