package fleet

import (
	"context"
	"fmt"
	"net/http"
	"sync"

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
	// SSHConfigFile overrides ~/.ssh/config ("none" disables it).
	SSHConfigFile string

	mu    sync.Mutex
	conns map[string]*conn
	https map[string]*http.Client
}

type conn struct {
	once sync.Once
	c    *ssh.Client
	err  error
}

// NewEnv returns an Env for cfg. secrets may be nil for commands that do
// not call the API.
func NewEnv(cfg *Config, secrets *Secrets, opts RunOptions) *Env {
	return &Env{Config: cfg, Secrets: secrets, Opts: opts}
}

// SSHConfig maps a server's settings to the SSH layer's.
func (e *Env) SSHConfig(s Server) ssh.Config {
	c := ssh.Config{
		Name:           s.Name,
		Host:           s.Host,
		Port:           s.SSH.Port,
		User:           s.SSH.User,
		KnownHostsFile: s.SSH.KnownHosts,
		HostKeyPolicy:  s.SSH.HostKeyPolicy,
		ProxyJump:      s.SSH.ProxyJump,
		Timeout:        s.SSH.Timeout.D(),
		SSHConfigFile:  e.SSHConfigFile,
	}
	if s.SSH.IdentityFile != "" {
		c.IdentityFiles = []string{s.SSH.IdentityFile}
	}
	return c
}

// SSH returns the run's connection to s, dialling it once.
func (e *Env) SSH(ctx context.Context, s Server) (*ssh.Client, error) {
	e.mu.Lock()
	if e.conns == nil {
		e.conns = map[string]*conn{}
	}
	cn, ok := e.conns[s.Name]
	if !ok {
		cn = &conn{}
		e.conns[s.Name] = cn
	}
	e.mu.Unlock()
	cn.once.Do(func() { cn.c, cn.err = ssh.Dial(ctx, e.SSHConfig(s)) })
	return cn.c, cn.err
}

// Remote runs one command on s over the run's connection.
func (e *Env) Remote(ctx context.Context, s Server, cmd ssh.Command) (*ssh.Result, error) {
	c, err := e.SSH(ctx, s)
	if err != nil {
		return nil, err
	}
	if e.Trace != nil {
		line := cmd.Script
		if line == "" {
			line = ssh.Quote(cmd.Argv)
		}
		if cmd.Sudo && c.User() != "root" {
			line = "sudo -n -- " + line
		}
		e.Trace(s.Name, line)
	}
	return c.Run(ctx, cmd)
}

// MissingSecretError says a server has no API secret and how to get one.
type MissingSecretError struct{ Server string }

func (e *MissingSecretError) Error() string {
	return fmt.Sprintf("%s: no API secret: run `bbbfleet secret fetch %s` or set %s", e.Server, e.Server, SecretEnv(e.Server))
}

// API returns a BBB API client for s with its secret.
func (e *Env) API(s Server) (*bbb.Client, error) {
	secret := ""
	if e.Secrets != nil {
		secret, _ = e.Secrets.Get(s.Name)
	}
	if secret == "" {
		return nil, &MissingSecretError{Server: s.Name}
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
	return &bbb.Client{BaseURL: s.API.URL, Algorithm: s.API.Checksum, HTTP: hc, Server: s.Name}, nil
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
		return nil, fmt.Errorf("%s: api: %w", s.Name, err)
	}
	if e.https == nil {
		e.https = map[string]*http.Client{}
	}
	e.https[key] = hc
	return hc, nil
}

// Close closes every connection of the run.
func (e *Env) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, cn := range e.conns {
		if cn.c != nil {
			cn.c.Close()
		}
	}
	e.conns = nil
}
