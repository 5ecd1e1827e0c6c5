package fleet

import (
	"context"
	"errors"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

// Server states in load results.
const (
	StateUp    = "up"
	StateDown  = "down"
	StateError = "error"
)

// ServerLoad is one server's answer to getMeetings, summed up.
type ServerLoad struct {
	State    string
	Reason   string // short reason when not up
	Load     bbb.Load
	Capacity int
	// Utilization is Participants / Capacity (0 when capacity is unset).
	Utilization float64
	Meetings    []bbb.Meeting
	Latency     time.Duration
}

// Load polls getMeetings on every server in parallel. A server that fails
// is reported with its state and reason; its error is in the Result too.
func (e *Env) Load(ctx context.Context, servers []Server, now time.Time) []Result[*ServerLoad] {
	return Run(ctx, servers, e.Opts, func(ctx context.Context, s Server) (*ServerLoad, error) {
		sl := &ServerLoad{Capacity: s.Capacity.Participants}
		c, err := e.API(s)
		if err != nil {
			sl.State, sl.Reason = StateError, LoadReason(err) // no secret, or a bad CA file
			return sl, err
		}
		start := time.Now()
		ms, err := c.GetMeetings(ctx)
		sl.Latency = time.Since(start)
		if err != nil {
			sl.State, sl.Reason = LoadState(err), LoadReason(err)
			return sl, withChecksumHint(s, err)
		}
		sl.State = StateUp
		sl.Meetings = ms
		sl.Load = bbb.Summarize(ms, now)
		if sl.Capacity > 0 {
			sl.Utilization = float64(sl.Load.Participants) / float64(sl.Capacity)
		}
		return sl, nil
	})
}

// DefaultAPIParallel is how many servers API-only commands (load,
// meetings) poll at once unless -j is given. An API call costs the client
// one HTTP request and a body buffer, unlike an SSH session's handshake and
// remote process, so more of them can be in flight than the SSH default of
// 16: a fleet of up to 64 servers is polled in one round.
const DefaultAPIParallel = 64

// LoadState says whether an API error means the server is down (no
// answer, or nginx without bbb-web behind it) or answering wrongly. A TLS
// failure is an error, not down: something answers, with a certificate
// that needs an administrator.
func LoadState(err error) string {
	var te *bbb.TransportError
	var he *bbb.HTTPStatusError
	switch {
	case errors.As(err, &te):
		switch te.Kind {
		case bbb.TLSNameMismatch, bbb.TLSExpired, bbb.TLSUnknownAuthority, bbb.TLSOther:
			return StateError
		}
		return StateDown
	case errors.As(err, &he) && he.StatusCode >= 500:
		return StateDown
	case errors.Is(err, context.DeadlineExceeded):
		return StateDown
	}
	var to *ErrTimeout
	if errors.As(err, &to) {
		return StateDown
	}
	return StateError
}

// LoadReason is a short reason for a failed load, for tables: bbb.Reason,
// plus the fleet's own errors.
func LoadReason(err error) string {
	var to *ErrTimeout
	var ms *MissingSecretError
	switch {
	case errors.As(err, &to):
		return "timeout"
	case errors.As(err, &ms):
		return "no API secret"
	}
	return bbb.Reason(err)
}

// ChecksumHintError adds to a rejected secret that the server may rather
// have disabled the configured sha1 checksums (bbb-web answers
// checksumError for both, reference §1).
type ChecksumHintError struct{ Err error }

func (e *ChecksumHintError) Error() string {
	return e.Err.Error() + `, or the server no longer accepts sha1 checksums: set api.checksum to sha256`
}

func (e *ChecksumHintError) Unwrap() error { return e.Err }

func withChecksumHint(s Server, err error) error {
	if s.API.Checksum == "sha1" && bbb.IsSecretRejected(err) {
		return &ChecksumHintError{Err: err}
	}
	return err
}
