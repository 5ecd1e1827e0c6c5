package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/melbahja/goph"
	gossh "golang.org/x/crypto/ssh"
)

// maxSessions bounds the sessions one Client runs at once, below
// OpenSSH's default MaxSessions of 10; further Runs wait for a slot.
const maxSessions = 8

// Client is one SSH connection to one server (through its jump hosts, if
// any), reused for every Run. It is safe for concurrent use.
type Client struct {
	name  string
	user  string
	addr  string
	gc    *goph.Client
	jumps []*gossh.Client // its own (not a JumpPool's), outermost first
	sem   chan struct{}

	// Active Runs, and the cleanup in progress (see Run): while cleaning
	// is non-nil no Run starts, so the cleanup cannot kill its command.
	runMu    sync.Mutex
	runs     int
	cleaning chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Name is the server name errors are prefixed with.
func (c *Client) Name() string { return c.name }

// User is the remote login user.
func (c *Client) User() string { return c.user }

// Addr is the host:port connected to (after ~/.ssh/config).
func (c *Client) Addr() string { return c.addr }

// Goph returns the underlying goph client (for SFTP uploads). Its
// RunContext must not be used: it leaks a goroutine and ignores Sudo;
// use Run. Sessions opened through it are not Runs: the cancel cleanup of
// Run (root logins, forced commands) would end an external sftp-server
// process of this connection running at the same time.
func (c *Client) Goph() *goph.Client { return c.gc }

// Close closes the connection and its own connections to the jump hosts
// (not those of a JumpPool).
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.gc.Client.Close()
		for i := len(c.jumps) - 1; i >= 0; i-- {
			c.jumps[i].Close()
		}
		if c.closeErr != nil && errors.Is(c.closeErr, net.ErrClosed) {
			c.closeErr = nil
		}
	})
	return c.closeErr
}

// Dial connects and authenticates to the server cfg describes, checking
// its host key (and those of the jump hosts) against known_hosts. The TCP
// connect and the SSH handshake of every hop finish within cfg.Timeout (or
// ctx's deadline, if earlier); cancelling ctx aborts the dial.
//
// Each Client opens its own connections to its jump hosts; a JumpPool
// shares them among Clients.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	return dial(ctx, cfg, nil)
}

// dial is Dial, with the jump hosts taken from pool when it is not nil.
func dial(ctx context.Context, cfg Config, pool *JumpPool) (*Client, error) {
	r, err := resolve(cfg)
	if err != nil {
		name := cfg.Name
		if name == "" {
			name = cfg.Host
		}
		return nil, errorf(name, "%w", err)
	}
	hk, err := loadHostKeys(r.knownHosts, r.systemKnownHosts, r.policy)
	if err != nil {
		return nil, errorf(r.name, "%w", err)
	}
	hk.onRecord = cfg.OnHostKeyRecorded
	var jumps []*gossh.Client
	closeJumps := func() {
		for i := len(jumps) - 1; i >= 0; i-- {
			jumps[i].Close()
		}
	}
	var via *gossh.Client
	if pool != nil && len(r.jumps) > 0 {
		// Shared: the pool closes them, not this Client.
		if via, err = pool.via(ctx, r, hk); err != nil {
			return nil, err
		}
	}
	for _, ep := range r.jumps {
		if pool != nil {
			break
		}
		jc, err := dialHop(ctx, r, hk, ep, via, true)
		if err != nil {
			closeJumps()
			return nil, err
		}
		jumps = append(jumps, jc)
		via = jc
	}
	sc, err := dialHop(ctx, r, hk, r.target, via, false)
	if err != nil {
		closeJumps()
		return nil, err
	}
	gc := &goph.Client{Client: sc, Config: &goph.Config{
		User:     r.target.user,
		Addr:     r.target.hostname,
		Port:     uint(r.target.port),
		Timeout:  r.timeout,
		Callback: hk.callback(r.name, r.target),
	}}
	return &Client{
		name:  r.name,
		user:  r.target.user,
		addr:  r.target.addr(),
		gc:    gc,
		jumps: jumps,
		sem:   make(chan struct{}, maxSessions),
	}, nil
}

// dialHop opens one SSH connection to ep, directly or through via.
func dialHop(ctx context.Context, r *resolved, hk *hostKeys, ep endpoint, via *gossh.Client, isJump bool) (*gossh.Client, error) {
	addr := ep.addr()
	what := addr
	if isJump {
		what = "jump host " + addr
	} else if via != nil {
		what = addr + " (via jump host)"
	}
	fail := func(format string, args ...any) error {
		return errorf(r.name, "%s: %s", what, fmt.Sprintf(format, args...))
	}
	if err := ctx.Err(); err != nil {
		return nil, errorf(r.name, "%s: %w", what, err)
	}

	start := time.Now()
	deadline := start.Add(r.timeout)
	byCaller := false // the caller's deadline (ctx's) comes first
	if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
		deadline, byCaller = d, true
	}
	// timedOut names the limit that ended the login and its value.
	timedOut := func(phase, why string) error {
		e := &DialTimeoutError{Server: r.name, What: what, Phase: phase, Why: why, Elapsed: roundDur(time.Since(start))}
		if byCaller {
			e.Limit, e.caller = fmt.Sprintf("%s, %s left when the login started", r.deadlineName, roundDur(deadline.Sub(start))), true
		} else {
			e.Limit = fmt.Sprintf("ssh.timeout %s", r.timeout)
		}
		return e
	}
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	// The agent is asked under the same deadline and ctx.
	a := loadAuth(hctx, ep, r.agent, deadline)
	defer a.close()
	if err := ctx.Err(); err != nil {
		return nil, errorf(r.name, "%s: %w", what, err)
	}
	if len(a.signers) == 0 {
		return nil, taggedf(ErrNoKey, r.name, "no usable key for %s@%s; tried %s", ep.user, addr, a.describe())
	}

	var conn net.Conn
	var err error
	if via == nil {
		d := net.Dialer{Timeout: r.timeout}
		conn, err = d.DialContext(hctx, "tcp", addr)
	} else {
		conn, err = via.DialContext(hctx, "tcp", addr)
	}
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, errorf(r.name, "%s: %w", what, ctx.Err())
		case ctx.Err() != nil || hctx.Err() != nil || isTimeout(err):
			return nil, timedOut("TCP connect", "")
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, fail("connection refused (is sshd running there, and is the port right?)")
		default:
			return nil, fail("connect: %v", err)
		}
	}

	// The handshake must finish by the deadline: a server that accepts
	// TCP but never sends its banner must not hang us. A TCP conn takes a
	// deadline; a channel through a jump host does not, so a timer closes
	// the conn in both cases.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(hctx, func() { conn.Close() })

	ccfg := &gossh.ClientConfig{
		User:              ep.user,
		Auth:              a.methods(),
		HostKeyCallback:   hk.callback(r.name, ep),
		HostKeyAlgorithms: hk.algorithms(ep.hostKeyAddr()),
		Timeout:           r.timeout,
	}
	sc, chans, reqs, err := gossh.NewClientConn(conn, ep.hostKeyAddr(), ccfg)
	stopped := stop()
	if err == nil && !stopped {
		// The deadline fired just as the handshake completed.
		sc.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		conn.Close()
		var hke *HostKeyError
		switch {
		case errors.As(err, &hke):
			return nil, hke
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, errorf(r.name, "%s: %w", what, ctx.Err())
		case ctx.Err() != nil || hctx.Err() != nil || isTimeout(err):
			return nil, timedOut("SSH handshake", "TCP connected, but the server sent no SSH banner or stalled")
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, taggedf(ErrNoKey, r.name, "no accepted key for %s@%s; tried %s", ep.user, addr, a.describe())
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, timedOut("SSH handshake", "")
		default:
			return nil, errorf(r.name, "%s: %w", what, err) // the cause stays reachable (a host key check that failed)
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return gossh.NewClient(sc, chans, reqs), nil
}

// CallerDeadlineWords is how a DialTimeoutError names the caller's
// deadline when Config.DeadlineName does not.
const CallerDeadlineWords = "the caller's deadline"

// DialTimeoutError is an SSH login (TCP connect or handshake) that did
// not finish in time. Limit names the limit that ended it and its value:
// "ssh.timeout 10s", or the caller's deadline as Config.DeadlineName
// names it and the time that was left of it ("..., 1.2s left when the
// login started"); ByCaller tells the two apart.
type DialTimeoutError struct {
	Server, What, Phase, Why, Limit string
	Elapsed                         time.Duration
	caller                          bool
}

func (e *DialTimeoutError) Error() string { return e.Server + ": " + e.Detail() }

// ByCaller reports whether the caller's deadline, not ssh.timeout, ended
// the login.
func (e *DialTimeoutError) ByCaller() bool { return e.caller }

// Detail is the message without the server's name.
func (e *DialTimeoutError) Detail() string { return "ssh: " + e.Reason() }

// Reason is Detail without "ssh: ".
func (e *DialTimeoutError) Reason() string {
	why := ""
	if e.Why != "" {
		why = "; " + e.Why
	}
	return fmt.Sprintf("%s: %s timed out after %s (%s)%s", e.What, e.Phase, e.Elapsed, e.Limit, why)
}

// Unwrap is context.DeadlineExceeded when the caller's deadline ended the
// login, else os.ErrDeadlineExceeded.
func (e *DialTimeoutError) Unwrap() error {
	if e.caller {
		return context.DeadlineExceeded
	}
	return os.ErrDeadlineExceeded
}

// Timeout reports true, as net.Error does.
func (e *DialTimeoutError) Timeout() bool { return true }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func roundDur(d time.Duration) time.Duration {
	return d.Round(10 * time.Millisecond)
}
