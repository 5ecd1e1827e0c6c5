package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// Outcomes of fetching one server's secret.
const (
	SecretNew       = "new"       // the file had no secret for the server
	SecretChanged   = "changed"   // the file held another secret
	SecretUnchanged = "unchanged" // the file already holds this secret
	SecretFailed    = "failed"    // not read, not verified, or not written
)

// SecretFetch is the outcome of reading one server's secret with
// "bbb-conf --secret". It never holds the secret in a printable field.
type SecretFetch struct {
	Server string
	// Status is SecretNew, SecretChanged, SecretUnchanged or SecretFailed.
	Status string
	// Change is what the fetched secret is compared with the file (new,
	// changed, unchanged), also when Status is failed because the secret
	// did not pass verification; "" when nothing was read.
	Change string
	// ReportedURL is the URL bbb-conf printed (https://HOST/bigbluebutton/).
	ReportedURL string
	// ConfiguredURL is the server's api.url, which is what bbbfleet calls.
	ConfiguredURL string
	// URLDiffers is true when ReportedURL + "api/" is not ConfiguredURL
	// (bbbfleet keeps using ConfiguredURL; the config is not changed).
	URLDiffers bool
	// Verified is true when a signed isMeetingRunning call to ConfiguredURL
	// with the fetched secret succeeded.
	Verified bool
	// EnvOverride names the environment variable that overrides the file
	// for this server, if it is set.
	EnvOverride string
	// EnvDiffers is true when EnvOverride holds another secret than the
	// one bbb-conf printed: every other command uses that stale secret.
	EnvDiffers bool
	// Err says why Status is failed. Its text never contains the secret.
	Err error

	secret string
}

// Secret returns the fetched secret (empty when none was read). Never print it.
func (f *SecretFetch) Secret() string { return f.secret }

// SecretFetchOptions tune FetchSecrets.
type SecretFetchOptions struct {
	// NoVerify skips the signed API call.
	NoVerify bool
}

// verifyMeetingID is the meeting asked about by the verification call; any
// ID works, the answer (running or not) does not matter, only that the
// checksum is accepted.
const verifyMeetingID = "bbbfleet-secret-check"

// FetchSecrets reads the API URL and secret of every server with
// "bbb-conf --secret" over SSH, in parallel, compares the secret with the
// secrets file and, unless opts.NoVerify, verifies it with a signed
// isMeetingRunning call to the configured api.url. It changes nothing:
// SaveFetchedSecrets writes the results.
//
// A secret that the API rejects, or that cannot be verified because the API
// does not answer, has Status failed and is not saved: a fetched secret
// bbb-web does not accept (bbb-web not restarted after "bbb-conf
// --setsecret", or api.url pointing at another server) would only replace a
// working secret with a broken one. Unchanged secrets are verified too, so
// that a secret that is right in the file but rejected by the API is
// reported instead of looking fine.
func (e *Env) FetchSecrets(ctx context.Context, servers []Server, opts SecretFetchOptions) []*SecretFetch {
	results := Run(ctx, servers, e.Opts, func(ctx context.Context, s Server) (*SecretFetch, error) {
		f := e.fetchSecret(ctx, s, opts)
		return f, f.Err
	})
	out := make([]*SecretFetch, len(results))
	for i, r := range results {
		f := r.Value
		if f == nil { // not started (Ctrl-C) or abandoned after its deadline
			f = &SecretFetch{Server: r.Server.Name, ConfiguredURL: r.Server.API.URL}
		}
		if r.Err != nil {
			f.Status, f.Err = SecretFailed, r.Err
		}
		out[i] = f
	}
	return out
}

func (e *Env) fetchSecret(ctx context.Context, s Server, opts SecretFetchOptions) *SecretFetch {
	f := &SecretFetch{Server: s.Name, ConfiguredURL: s.API.URL, Status: SecretFailed}
	if v, ok := os.LookupEnv(SecretEnv(s.Name)); ok && v != "" {
		f.EnvOverride = SecretEnv(s.Name)
	}
	res, err := e.Remote(ctx, s, ssh.Command{Argv: []string{"bbb-conf", "--secret"}})
	if err != nil {
		f.Err = secretCommandError(s.Name, res, err)
		return f
	}
	reported, secret, err := bbb.ParseSecret(string(res.Stdout))
	f.ReportedURL = reported
	if err != nil {
		f.Err = &ServerError{Server: s.Name, Err: fmt.Errorf("cannot read the secret: %w", err)}
		return f
	}
	if !validSecret(secret) {
		f.Err = &ServerError{Server: s.Name, Err: fmt.Errorf("bbb-conf --secret printed a secret bbbfleet cannot use (%d characters, expected printable ASCII)", len(secret))}
		return f
	}
	f.secret = secret
	if f.EnvOverride != "" {
		f.EnvDiffers = os.Getenv(f.EnvOverride) != secret
	}
	f.URLDiffers = !sameAPIURL(reported, s.API.URL)
	old := ""
	if e.Secrets != nil {
		old = e.Secrets.FromFile(s.Name)
	}
	switch {
	case old == "":
		f.Change = SecretNew
	case old == secret:
		f.Change = SecretUnchanged
	default:
		f.Change = SecretChanged
	}
	if !opts.NoVerify {
		if err := e.verifySecret(ctx, s, secret); err != nil {
			f.Err = err
			return f
		}
		f.Verified = true
	}
	f.Status = f.Change
	return f
}

// verifySecret makes a signed isMeetingRunning call with secret.
func (e *Env) verifySecret(ctx context.Context, s Server, secret string) error {
	c, err := e.APIUnsigned(s)
	if err != nil {
		return err
	}
	c.Secret = secret
	_, err = c.IsMeetingRunning(ctx, verifyMeetingID)
	if err == nil {
		return nil
	}
	if bbb.IsSecretRejected(err) {
		re := &SecretRejectedError{Server: s.Name, URL: s.API.URL, SHA1: s.API.Checksum == "sha1", Err: err}
		if d, derr := e.DiagnoseRejectedSecret(ctx, s, secret); derr == nil && d.Algorithm != "" {
			re.Advice = d.Advice
		}
		return re
	}
	return &SecretUnverifiedError{Server: s.Name, Err: err}
}

// SecretRejectedError is a fetched secret that the API at api.url rejects.
type SecretRejectedError struct {
	Server, URL string
	SHA1        bool // api.checksum is sha1, which the server may have disabled
	// Advice is the fix found by trying the other checksum algorithms.
	Advice string
	Err    error
}

func (e *SecretRejectedError) Error() string { return e.Server + ": " + e.Detail() }

// Detail is the message without the server's name in front.
func (e *SecretRejectedError) Detail() string {
	if e.Advice != "" {
		return fmt.Sprintf("the API at %s rejects the secret bbb-conf printed, so it was not saved: %s", e.URL, e.Advice)
	}
	msg := fmt.Sprintf("the API at %s rejects the secret bbb-conf printed, so it was not saved: "+
		"restart bbb-web if the secret was just changed (bbb-conf --restart), or check that api.url points at this server", e.URL)
	if e.SHA1 {
		msg += ", or set api.checksum to sha256 if the server no longer accepts sha1"
	}
	return msg
}

func (e *SecretRejectedError) Unwrap() error { return e.Err }

// SecretUnverifiedError is a fetched secret that could not be verified
// because the API call failed for another reason.
type SecretUnverifiedError struct {
	Server string
	Err    error
}

func (e *SecretUnverifiedError) Error() string { return e.Server + ": " + e.Detail() }

// Detail is the message without the server's name: the cause is asked
// for its own message without it.
func (e *SecretUnverifiedError) Detail() string {
	return e.DetailNaming("skip the verification")
}

// DetailNaming is Detail with skip as the way to skip the verification
// (the command line: its flag).
func (e *SecretUnverifiedError) DetailNaming(skip string) string {
	return "cannot verify the secret, so it was not saved (" + skip + " to save it anyway): " + Detail(e.Err)
}

func (e *SecretUnverifiedError) Unwrap() error { return e.Err }

// secretCommandError describes a failed "bbb-conf --secret" without
// quoting its standard output, which may hold the secret.
func secretCommandError(name string, res *ssh.Result, err error) error {
	var xe *ssh.ExitError
	if !errors.As(err, &xe) {
		return err
	}
	msg := fmt.Sprintf("bbb-conf --secret exited with status %d", xe.Status)
	if res != nil {
		out := string(res.Stdout) + "\n" + string(res.Stderr)
		switch {
		case strings.Contains(out, "Need to be root"):
			msg += ": it needs root on this server; log in as root (ssh.user)"
		case xe.Status == 127 || strings.Contains(out, "not found"):
			msg += ": bbb-conf is not installed (is this a BigBlueButton server?)"
		default:
			// Only stderr, first line, and only when it cannot carry a
			// secret line.
			line, _, _ := strings.Cut(strings.TrimSpace(string(res.Stderr)), "\n")
			if line != "" && !strings.Contains(line, "Secret") && !strings.Contains(line, "Salt") && len(line) <= 200 {
				msg += ": " + line
			}
		}
	}
	return &ServerError{Server: name, Err: errors.New(msg)}
}

func validSecret(s string) bool {
	if len(s) < 8 || len(s) > 512 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// sameAPIURL reports whether bbb-conf's URL (https://HOST/bigbluebutton/)
// names the same API as apiURL (https://HOST/bigbluebutton/api/): same
// scheme, host (case-insensitive), port (default ports implied) and path.
func sameAPIURL(reported, apiURL string) bool {
	r, err1 := url.Parse(reported)
	a, err2 := url.Parse(apiURL)
	if err1 != nil || err2 != nil {
		return false
	}
	rp := strings.TrimSuffix(r.Path, "/")
	if !strings.HasSuffix(rp, "/api") {
		rp += "/api"
	}
	ap := strings.TrimSuffix(a.Path, "/")
	return strings.EqualFold(r.Scheme, a.Scheme) && strings.EqualFold(r.Hostname(), a.Hostname()) &&
		portOf(r) == portOf(a) && rp == ap
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// ExpectedAPIURL is the api.url that matches what bbb-conf reports.
func ExpectedAPIURL(reported string) string {
	u := strings.TrimSuffix(reported, "/")
	if !strings.HasSuffix(u, "/api") {
		u += "/api"
	}
	return u + "/"
}

// SaveFetchedSecrets writes the secrets of every new or changed result to
// the secrets file (atomically, mode 0600) and returns how many it wrote.
// It re-reads the file first, so that entries written by another run since
// this one started are kept. Nothing is written when nothing changed.
func (e *Env) SaveFetchedSecrets(fs []*SecretFetch) (int, error) {
	n := 0
	for _, f := range fs {
		if f.Status == SecretNew || f.Status == SecretChanged {
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if e.Secrets == nil || e.Secrets.Path == "" {
		return 0, errors.New("no secrets file configured")
	}
	err := e.Secrets.Update(func(s *Secrets) {
		for _, f := range fs {
			if f.Status == SecretNew || f.Status == SecretChanged {
				s.Set(f.Server, f.secret)
			}
		}
	})
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", e.Secrets.Path, err)
	}
	return n, nil
}
