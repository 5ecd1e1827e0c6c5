package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// Env is what one run of a fleet command works with: the inventory, the
// secrets, the limits, and one SSH connection per server, dialled on first
// use and reused for every command of the run.
type Env struct {
	Config  *Config
	Secrets *Secrets
	Opts    RunOptions
	// Trace, when set, is told every remote command line (for --verbose).
	Trace func(server, command string)
	// FixWords, when set, says a Fix in the front end's words (the command
	// to run) in errors that carry one (MissingSecretError.Remedy).
	FixWords func(Fix) string
	// APIFixWords, when set, says a Fix for the API clients' errors
	// (bbb.Client.SecretRemedy: a missing or rejected secret).
	APIFixWords func(Fix) string
	// SSHConfigFile overrides ~/.ssh/config ("none" disables it).
	SSHConfigFile string
	// OnHostKeyRecorded, when set, is told each host key that accept-new
	// records during the run (from the dialling goroutine).
	OnHostKeyRecorded func(ssh.RecordedHostKey)

	mu     sync.Mutex
	closed bool
	jumps  *ssh.JumpPool
	// running counts Remote calls under way, for Close.
	running sync.WaitGroup
	conns   map[string]*conn
	https   map[string]*http.Client
	// recorded lists the host keys accept-new recorded, in order.
	recorded []ssh.RecordedHostKey
}

// conn is one server's connection; c and err are set, under Env.mu,
// before done is closed.
type conn struct {
	done chan struct{}
	c    *ssh.Client
	err  error
}

// ErrEnvClosed is returned for a connection asked for after Close.
var ErrEnvClosed = errors.New("the run is over (connections closed)")

// NewEnv returns an Env for cfg. secrets may be nil for commands that do
// not call the API.
func NewEnv(cfg *Config, secrets *Secrets, opts RunOptions) *Env {
	return &Env{Config: cfg, Secrets: secrets, Opts: opts}
}

// SSHConfig maps a server's settings to the SSH layer's.
func (e *Env) SSHConfig(s Server) ssh.Config {
	c := SSHConfig(s, e.SSHConfigFile)
	c.OnHostKeyRecorded = e.hostKeyRecorded
	c.DeadlineName = e.Opts.TimeoutName
	return c
}

func (e *Env) hostKeyRecorded(r ssh.RecordedHostKey) {
	e.mu.Lock()
	e.recorded = append(e.recorded, r)
	e.mu.Unlock()
	if e.OnHostKeyRecorded != nil {
		e.OnHostKeyRecorded(r)
	}
}

// HostKeysRecorded returns the host keys accept-new recorded so far in
// this run, in the order they were recorded.
func (e *Env) HostKeysRecorded() []ssh.RecordedHostKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]ssh.RecordedHostKey(nil), e.recorded...)
}

// SSHConfig maps a server's settings to the SSH layer's; sshConfigFile
// overrides ~/.ssh/config ("none" disables it).
func SSHConfig(s Server, sshConfigFile string) ssh.Config {
	c := ssh.Config{
		Name:           s.Name,
		Host:           s.Host,
		Port:           s.SSH.Port,
		User:           s.SSH.User,
		KnownHostsFile: s.SSH.KnownHosts,
		HostKeyPolicy:  s.SSH.HostKeyPolicy,
		ProxyJump:      s.SSH.ProxyJump,
		Timeout:        s.SSH.Timeout.D(),
		SSHConfigFile:  sshConfigFile,
	}
	if s.SSH.IdentityFile != "" {
		c.IdentityFiles = []string{s.SSH.IdentityFile}
	}
	return c
}

// SSH returns the run's connection to s, dialling it once. A dial still
// under way when Close is called is closed as soon as it completes, so an
// abandoned (timed out, cancelled) operation never leaves a connection
// open after the run.
func (e *Env) SSH(ctx context.Context, s Server) (*ssh.Client, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, &ssh.Error{Server: s.Name, Err: ErrEnvClosed}
	}
	if e.conns == nil {
		e.conns = map[string]*conn{}
	}
	cn, ok := e.conns[s.Name]
	if ok {
		e.mu.Unlock()
		select {
		case <-cn.done:
			return cn.c, cn.err
		case <-ctx.Done():
			return nil, &ssh.Error{Server: s.Name, Err: ctx.Err()}
		}
	}
	cn = &conn{done: make(chan struct{})}
	e.conns[s.Name] = cn
	e.mu.Unlock()

	c, err := e.jumpPool().Dial(ctx, e.SSHConfig(s))
	e.mu.Lock()
	if e.closed && c != nil {
		c.Close()
		c, err = nil, &ssh.Error{Server: s.Name, Err: ErrEnvClosed}
	}
	cn.c, cn.err = c, err
	e.mu.Unlock()
	close(cn.done)
	return c, err
}

// Remote runs one command on s over the run's connection.
func (e *Env) Remote(ctx context.Context, s Server, cmd ssh.Command) (*ssh.Result, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, &ssh.Error{Server: s.Name, Err: ErrEnvClosed}
	}
	e.running.Add(1)
	e.mu.Unlock()
	defer e.running.Done()
	c, err := e.SSH(ctx, s)
	if err != nil {
		return nil, err
	}
	if e.Trace != nil {
		// A command Run refuses (empty, NUL byte) is not shown: Run says why.
		if line, err := ssh.CommandLine(cmd, c.User()); err == nil {
			e.Trace(s.Name, line)
		}
	}
	return c.Run(ctx, cmd)
}

// closeGrace bounds how long Close waits for commands still stopping.
const closeGrace = 4 * time.Second

// MissingSecretError says a server has no API secret and how to get one:
// Fix is the remedy as a value, Remedy the same in the words of the front
// end that asked (Env.FixWords), so the message reads right also where an
// operation puts it into a message of its own.
type MissingSecretError struct {
	Server string
	// Remedy is Fix as Env.FixWords says it ("" is Fix().String()).
	Remedy string
}

func (e *MissingSecretError) Error() string {
	return e.Server + ": " + e.Detail()
}

// Detail is the message without the server's name in front.
func (e *MissingSecretError) Detail() string {
	if e.Remedy != "" {
		return "no API secret: " + e.Remedy
	}
	return "no API secret: " + e.Fix().String()
}

// Fix is how to get the secret: fetch it from the server, or set the
// server's environment variable.
func (e *MissingSecretError) Fix() Fix {
	return Fix{Kind: FixFetchSecretOrEnv, Server: e.Server, Env: SecretEnv(e.Server)}
}

// API returns a BBB API client for s with its secret.
func (e *Env) API(s Server) (*bbb.Client, error) {
	secret := ""
	if e.Secrets != nil {
		secret, _ = e.Secrets.Get(s.Name)
	}
	if secret == "" {
		me := &MissingSecretError{Server: s.Name}
		if e.FixWords != nil {
			me.Remedy = e.FixWords(me.Fix())
		}
		return nil, me
	}
	c, err := e.APIUnsigned(s)
	if err != nil {
		return nil, err
	}
	c.Secret = secret
	return c, nil
}

// APIUnsigned returns an API client without a secret, for the root call.
func (e *Env) APIUnsigned(s Server) (*bbb.Client, error) {
	hc, err := e.httpClient(s)
	if err != nil {
		return nil, err
	}
	c := &bbb.Client{BaseURL: s.API.URL, Algorithm: s.API.Checksum, HTTP: hc, Server: s.Name, DeadlineName: e.Opts.TimeoutName}
	if e.APIFixWords != nil {
		c.SecretRemedy = e.APIFixWords(Fix{Kind: FixFetchSecret, Server: s.Name})
	}
	return c, nil
}

// httpClient shares one HTTP client per CA file and timeout.
func (e *Env) httpClient(s Server) (*http.Client, error) {
	key := fmt.Sprintf("%s|%s", s.API.CAFile, s.API.Timeout.D())
	e.mu.Lock()
	defer e.mu.Unlock()
	if hc, ok := e.https[key]; ok {
		return hc, nil
	}
	hc, err := bbb.NewHTTPClient(s.API.CAFile, s.API.Timeout.D())
	if err != nil {
		return nil, serverErr(s.Name, "api", err)
	}
	if e.https == nil {
		e.https = map[string]*http.Client{}
	}
	e.https[key] = hc
	return hc, nil
}

// Close closes every connection of the run, and those still being
// dialled as soon as they are up. Later SSH calls fail with ErrEnvClosed.
func (e *Env) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	// A command the runner gave up on (its server's deadline passed) may
	// still be stopping its remote process, which needs the connection
	// (for a root login, a cleanup session). Give that a bounded moment.
	done := make(chan struct{})
	go func() { e.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, cn := range e.conns {
		if cn.c != nil {
			cn.c.Close()
		}
	}
	if e.jumps != nil {
		e.jumps.Close() // after the servers' connections that run through it
	}
	// The API's kept-alive connections go with the run (the schedule
	// daemon makes a new Env per apply).
	for _, hc := range e.https {
		hc.CloseIdleConnections()
	}
}

// jumpPool shares one connection per jump host among the run's servers:
// 16 parallel handshakes on a bastion would trip its MaxStartups, and one
// login per run is what an administrator expects.
func (e *Env) jumpPool() *ssh.JumpPool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jumps == nil {
		e.jumps = ssh.NewJumpPool()
	}
	return e.jumps
}
