package fleet

import (
	"context"
	"fmt"
	"os"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

// checksumAlgorithms are the algorithms bbb-web may accept, in the order
// they are tried when the configured one is rejected.
var checksumAlgorithms = []string{"sha256", "sha1", "sha512", "sha384"}

// SecretDiagnosis is why a server rejects signed calls, found by trying
// the other checksum algorithms and, when an environment variable
// overrides the secrets file, the file's secret.
type SecretDiagnosis struct {
	// Algorithm is an algorithm the server accepts the secret with when
	// api.checksum's is rejected ("" when none was found).
	Algorithm string
	// EnvRejected is true when the secret comes from the server's
	// BBBFLEET_SECRET_ variable and the server rejects it.
	EnvRejected bool
	// FileAccepted is true when the secrets file's secret (overridden by
	// the variable) is accepted.
	FileAccepted bool
	// Advice is what is wrong and what to change, in one sentence; when
	// the secret must be fetched from the server again, Fix says so
	// after it (FixFetchSecret, FixThenFetchSecret), else Advice says it
	// all.
	Advice string
	Fix    Fix
}

// signedCallAccepted makes a signed isMeetingRunning call with secret and
// algo: true when accepted, false when the checksum is rejected, an error
// for anything else (no answer, an HTTP error).
func (e *Env) signedCallAccepted(ctx context.Context, s Server, secret, algo string) (bool, error) {
	c, err := e.APIUnsigned(s)
	if err != nil {
		return false, err
	}
	c.Secret, c.Algorithm = secret, algo
	_, err = c.IsMeetingRunning(ctx, verifyMeetingID)
	if err == nil {
		return true, nil
	}
	if bbb.IsSecretRejected(err) {
		return false, nil
	}
	return false, err
}

// acceptedAlgorithm returns the first algorithm other than skip that the
// server accepts secret with ("" when none).
func (e *Env) acceptedAlgorithm(ctx context.Context, s Server, secret, skip string) (string, error) {
	for _, a := range checksumAlgorithms {
		if a == skip {
			continue
		}
		ok, err := e.signedCallAccepted(ctx, s, secret, a)
		if err != nil {
			return "", err
		}
		if ok {
			return a, nil
		}
	}
	return "", nil
}

// checksumAt names where to set api.checksum for s: the line that sets it
// now, else the server's entry.
func (e *Env) checksumAt(s Server) string {
	path := ""
	if e.Config != nil {
		path = e.Config.Path
	}
	line := s.ChecksumLine
	if line == 0 {
		line = s.Line
	}
	if path == "" {
		return ""
	}
	if line == 0 {
		return " in " + path
	}
	return fmt.Sprintf(" in %s:%d", path, line)
}

// DiagnoseRejectedSecret finds out why the server rejected a signed call
// made with secret and api.checksum: it tries the other checksum
// algorithms, and when secret came from the server's BBBFLEET_SECRET_
// variable, the secrets file's own secret. It makes at most seven signed
// calls, under ctx. An error means the server stopped answering.
func (e *Env) DiagnoseRejectedSecret(ctx context.Context, s Server, secret string) (SecretDiagnosis, error) {
	var d SecretDiagnosis
	configured := s.API.Checksum
	if configured == "" {
		configured = DefaultChecksum
	}
	env := SecretEnv(s.Name)
	envVal, envSet := os.LookupEnv(env)
	d.EnvRejected = envSet && envVal != "" && envVal == secret
	fileSecret := ""
	if e.Secrets != nil {
		fileSecret = e.Secrets.FromFile(s.Name)
	}
	algo, err := e.acceptedAlgorithm(ctx, s, secret, configured)
	if err != nil {
		return d, err
	}
	if algo != "" {
		d.Algorithm = algo
		d.EnvRejected = false
		d.Advice = fmt.Sprintf("the server accepts this secret with %s checksums, not %s: set `api.checksum: %s` for %s%s",
			algo, configured, algo, s.Name, e.checksumAt(s))
		return d, nil
	}
	if d.EnvRejected && fileSecret != "" && fileSecret != secret {
		ok, err := e.signedCallAccepted(ctx, s, fileSecret, configured)
		if err != nil {
			return d, err
		}
		fileAlgo := configured
		if !ok {
			if fileAlgo, err = e.acceptedAlgorithm(ctx, s, fileSecret, configured); err != nil {
				return d, err
			}
		}
		if fileAlgo != "" {
			d.FileAccepted = true
			d.Advice = fmt.Sprintf("%s is set and overrides the secrets file with a secret the server rejects; the file's secret is accepted: unset %s", env, env)
			if fileAlgo != configured {
				d.Algorithm = fileAlgo
				d.Advice += fmt.Sprintf(" and set `api.checksum: %s` for %s%s", fileAlgo, s.Name, e.checksumAt(s))
			}
			return d, nil
		}
	}
	if d.EnvRejected {
		d.Advice = fmt.Sprintf("the secret comes from %s, which overrides the secrets file, and the server rejects it with every checksum algorithm: unset %s", env, env)
		d.Fix = Fix{Kind: FixThenFetchSecret, Server: s.Name}
		return d, nil
	}
	d.Advice = "the server rejects this secret with every checksum algorithm"
	d.Fix = Fix{Kind: FixFetchSecret, Server: s.Name}
	return d, nil
}
