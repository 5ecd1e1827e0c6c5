package ssh

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// Host-key policies accepted in Config.HostKeyPolicy.
const (
	// PolicyStrict refuses a host whose key is not in known_hosts.
	PolicyStrict = "strict"
	// PolicyAcceptNew records the key of a host not yet in known_hosts
	// (trust on first use). A changed key is refused under every policy.
	PolicyAcceptNew = "accept-new"
)

// DefaultTimeout bounds the TCP dial and the SSH handshake when
// Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config says how to reach one server.
//
// Precedence, highest first, for every setting that ~/.ssh/config can also
// carry (HostName, User, Port, IdentityFile, ProxyJump, UserKnownHostsFile):
//
//  1. a non-zero value in Config (it comes from the fleet config);
//  2. the value ~/.ssh/config (or SSHConfigFile) gives for Host, looked up
//     the way ssh(1) does: Host is the alias, HostName replaces it for the
//     network and for known_hosts;
//  3. the built-in default: port 22, the local user name,
//     ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa,
//     ~/.ssh/known_hosts, no jump host.
//
// The first source that names identity files wins; lists are not merged
// (as with ssh(1), where IdentityFile replaces the default keys).
// The identity files' keys are offered first (through ssh-agent when it
// holds them), then the agent's other keys unless NoAgent is set or
// ssh_config says IdentitiesOnly yes.
type Config struct {
	// Name is the server's name in the fleet; it prefixes every error
	// ("bbb3: ssh: ..."). Host is used when empty.
	Name string
	// Host is the host name, address or ~/.ssh/config alias.
	Host string
	// Port is the TCP port; 0 means ~/.ssh/config or 22.
	Port int
	// User is the login user; "" means ~/.ssh/config or the local user.
	User string
	// IdentityFiles are private key files, offered before the agent's
	// other keys.
	IdentityFiles []string
	// KnownHostsFile is the known_hosts file to check and (with
	// accept-new) extend; default ssh_config's UserKnownHostsFile, or
	// ~/.ssh/known_hosts (and, read only, ~/.ssh/known_hosts2). The
	// system-wide files (ssh_config's GlobalKnownHostsFile, default
	// /etc/ssh/ssh_known_hosts and /etc/ssh/ssh_known_hosts2) are always
	// read too, never written; a key recorded in any of them counts.
	KnownHostsFile string
	// HostKeyPolicy is "strict" (default) or "accept-new".
	HostKeyPolicy string
	// ProxyJump is one or more jump hosts, [user@]host[:port], separated
	// by commas, dialled in order; "none" disables one from ~/.ssh/config.
	ProxyJump string
	// Timeout bounds the TCP dial and the SSH handshake of every hop
	// (default 10s).
	Timeout time.Duration
	// DeadlineName is how a DialTimeoutError names the caller's deadline
	// (ctx's) when it ends a login before Timeout does: the caller says
	// it its own way (bbbfleet's command line: its flag); "" is
	// CallerDeadlineWords.
	DeadlineName string
	// SSHConfigFile is the ssh_config file to honour; default
	// ~/.ssh/config; "none" disables it.
	SSHConfigFile string
	// NoAgent skips ssh-agent even when SSH_AUTH_SOCK is set.
	NoAgent bool
	// OnHostKeyRecorded, when set, is told each host key accept-new adds
	// to known_hosts (once per key, also when dials run in parallel); the
	// package itself prints nothing. It may be called from any goroutine.
	OnHostKeyRecorded func(RecordedHostKey)
}

// endpoint is one fully resolved SSH hop.
type endpoint struct {
	alias    string // what the user wrote (Config.Host or the jump spec host)
	hostname string // where to connect (HostName)
	port     int
	user     string
	keyFiles []string // identity files to try, already expanded
	keySrc   string   // where keyFiles came from, for messages
	// keyAlias is ssh_config's HostKeyAlias: the name known_hosts lists
	// the host under instead of host name and port.
	keyAlias string
	// identitiesOnly is ssh_config's IdentitiesOnly: of the agent's keys,
	// offer only those of keyFiles.
	identitiesOnly bool
}

func (e endpoint) addr() string {
	return joinHostPort(e.hostname, e.port)
}

// hostKeyAddr is the host:port the host is looked up under in known_hosts
// and recorded under by accept-new, as ssh(1) does: the host name
// lower-cased and without one trailing dot ("LocalHost." is
// "localhost"), or HostKeyAlias, which stands alone (port 22: it is
// written without a port).
func (e endpoint) hostKeyAddr() string {
	if e.keyAlias != "" {
		return joinHostPort(e.keyAlias, 22)
	}
	return joinHostPort(hostKeyName(e.hostname), e.port)
}

// hostKeyName is how ssh(1) names a host in known_hosts: host names are
// case-insensitive, and "example.org." is "example.org".
func hostKeyName(host string) string {
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// resolved is a Config with every default and ~/.ssh/config value applied.
type resolved struct {
	name       string
	target     endpoint
	jumps      []endpoint
	knownHosts []string // first is the one accept-new writes to
	// systemKnownHosts are read-only: GlobalKnownHostsFile, or
	// systemKnownHostsFiles.
	systemKnownHosts []string
	policy           string
	timeout          time.Duration
	deadlineName     string
	agent            bool
}

var defaultKeyFiles = []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}

// maxJumps bounds the ProxyJump chain.
const maxJumps = 8

func resolve(cfg Config) (*resolved, error) {
	r := &resolved{name: cfg.Name, timeout: cfg.Timeout, deadlineName: cfg.DeadlineName, agent: !cfg.NoAgent}
	if r.deadlineName == "" {
		r.deadlineName = CallerDeadlineWords
	}
	if r.name == "" {
		r.name = cfg.Host
	}
	if cfg.Host == "" {
		return nil, errors.New("no host given")
	}
	if strings.ContainsAny(cfg.Host, " \t\r\n\x00@/") {
		return nil, fmt.Errorf("invalid host %q", cfg.Host)
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	switch cfg.HostKeyPolicy {
	case "", PolicyStrict:
		r.policy = PolicyStrict
	case PolicyAcceptNew:
		r.policy = PolicyAcceptNew
	default:
		return nil, fmt.Errorf("unknown host key policy %q (want %q or %q)", cfg.HostKeyPolicy, PolicyStrict, PolicyAcceptNew)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("invalid port %d", cfg.Port)
	}

	sc, err := loadSSHConfig(cfg.SSHConfigFile)
	if err != nil {
		return nil, err
	}

	r.target, err = resolveEndpoint(sc, cfg.Host, cfg.User, cfg.Port, cfg.IdentityFiles)
	if err != nil {
		return nil, err
	}

	// Known hosts: Config, then UserKnownHostsFile, then the default.
	if cfg.KnownHostsFile != "" {
		r.knownHosts = []string{expandPath(cfg.KnownHostsFile, r.target)}
	} else if v := sc.get(cfg.Host, "UserKnownHostsFile"); v != "" && !strings.EqualFold(v, "none") {
		for _, f := range strings.Fields(v) {
			r.knownHosts = append(r.knownHosts, expandPath(f, r.target))
		}
	}
	if len(r.knownHosts) == 0 {
		r.knownHosts = []string{expandPath("~/.ssh/known_hosts", r.target), expandPath("~/.ssh/known_hosts2", r.target)}
	}
	if v := sc.get(cfg.Host, "GlobalKnownHostsFile"); v != "" {
		if !strings.EqualFold(v, "none") {
			for _, f := range strings.Fields(v) {
				r.systemKnownHosts = append(r.systemKnownHosts, expandPath(f, r.target))
			}
		}
	} else {
		r.systemKnownHosts = slices.Clone(systemKnownHostsFiles)
	}

	jump := cfg.ProxyJump
	if jump == "" {
		jump = sc.get(cfg.Host, "ProxyJump")
	}
	if jump != "" && !strings.EqualFold(jump, "none") {
		specs := strings.Split(jump, ",")
		if len(specs) > maxJumps {
			return nil, fmt.Errorf("ProxyJump %q: more than %d hops", jump, maxJumps)
		}
		for _, spec := range specs {
			juser, jhost, jport, err := parseJump(strings.TrimSpace(spec))
			if err != nil {
				return nil, err
			}
			// A jump host is looked up in ssh_config like any host; the
			// fleet's identity files apply to it too.
			ep, err := resolveEndpoint(sc, jhost, juser, jport, cfg.IdentityFiles)
			if err != nil {
				return nil, err
			}
			r.jumps = append(r.jumps, ep)
		}
	}
	return r, nil
}

func resolveEndpoint(sc *sshConfig, alias, user string, port int, keyFiles []string) (endpoint, error) {
	ep := endpoint{alias: alias, hostname: alias, port: port, user: user}
	if hn := sc.get(alias, "HostName"); hn != "" {
		ep.hostname = strings.ReplaceAll(hn, "%h", alias)
	}
	if ep.user == "" {
		ep.user = sc.get(alias, "User")
	}
	if ep.user == "" {
		ep.user = localUser()
	}
	if ep.port == 0 {
		if p := sc.get(alias, "Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return ep, fmt.Errorf("%s: Port %q for %s is not a port", sc.file, p, alias)
			}
			ep.port = n
		}
	}
	if ep.port == 0 {
		ep.port = 22
	}
	ep.keyAlias = strings.ToLower(sc.get(alias, "HostKeyAlias"))
	ep.identitiesOnly = strings.EqualFold(sc.get(alias, "IdentitiesOnly"), "yes")
	switch {
	case len(keyFiles) > 0:
		ep.keySrc = "config"
	case len(sc.getAll(alias, "IdentityFile")) > 0:
		keyFiles = sc.getAll(alias, "IdentityFile")
		ep.keySrc = sc.file
	default:
		keyFiles = defaultKeyFiles
		ep.keySrc = "default"
	}
	for _, f := range keyFiles {
		if strings.EqualFold(f, "none") {
			continue
		}
		ep.keyFiles = append(ep.keyFiles, expandPath(f, ep))
	}
	return ep, nil
}

// parseJump parses [user@]host[:port] (host may be a bracketed IPv6 address).
func parseJump(spec string) (user, host string, port int, err error) {
	if spec == "" {
		return "", "", 0, errors.New("empty ProxyJump hop")
	}
	if strings.HasPrefix(spec, "ssh://") {
		spec = strings.TrimPrefix(spec, "ssh://")
	}
	if i := strings.LastIndex(spec, "@"); i >= 0 {
		user, spec = spec[:i], spec[i+1:]
	}
	host = spec
	if strings.HasPrefix(spec, "[") {
		end := strings.Index(spec, "]")
		if end < 0 {
			return "", "", 0, fmt.Errorf("ProxyJump hop %q: missing ]", spec)
		}
		host = spec[1:end]
		rest := spec[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", 0, fmt.Errorf("ProxyJump hop %q: bad port", spec)
			}
			port, err = strconv.Atoi(rest[1:])
		}
	} else if i := strings.LastIndex(spec, ":"); i >= 0 {
		host = spec[:i]
		port, err = strconv.Atoi(spec[i+1:])
	}
	if err != nil || port < 0 || port > 65535 {
		return "", "", 0, fmt.Errorf("ProxyJump hop %q: bad port", spec)
	}
	if host == "" || strings.ContainsAny(host, " \t/@") {
		return "", "", 0, fmt.Errorf("ProxyJump hop %q: bad host", spec)
	}
	return user, host, port, nil
}

// sshConfig wraps a decoded ssh_config file (nil-safe).
type sshConfig struct {
	file string
	cfg  *ssh_config.Config
}

func (s *sshConfig) get(alias, key string) string {
	if s == nil || s.cfg == nil {
		return ""
	}
	v, err := s.cfg.Get(alias, key)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v)
}

func (s *sshConfig) getAll(alias, key string) []string {
	if s == nil || s.cfg == nil {
		return nil
	}
	v, err := s.cfg.GetAll(alias, key)
	if err != nil {
		return nil
	}
	return v
}

func loadSSHConfig(file string) (*sshConfig, error) {
	explicit := file != ""
	if file == "none" {
		return &sshConfig{}, nil
	}
	if file == "" {
		file = "~/.ssh/config"
	}
	file = expandTilde(file)
	f, err := os.Open(file)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return &sshConfig{}, nil
		}
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	c, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", file, err)
	}
	return &sshConfig{file: file, cfg: c}, nil
}

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

func expandTilde(p string) string {
	if p == "~" {
		return homeDir()
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(homeDir(), p[2:])
	}
	return p
}

// expandPath expands ~ and the ssh_config tokens %d %u %h %r %p %%.
func expandPath(p string, ep endpoint) string {
	p = expandTilde(p)
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+1 == len(p) {
			b.WriteByte(p[i])
			continue
		}
		i++
		switch p[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(homeDir())
		case 'u':
			b.WriteString(localUser())
		case 'h':
			b.WriteString(ep.hostname)
		case 'n':
			b.WriteString(ep.alias)
		case 'r':
			b.WriteString(ep.user)
		case 'p':
			b.WriteString(strconv.Itoa(ep.port))
		default:
			b.WriteByte('%')
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// tildePath shortens a path under the home directory to ~/..., for messages.
func tildePath(p string) string {
	h := homeDir()
	if h != "/" && h != "" && strings.HasPrefix(p, h+"/") {
		return "~/" + strings.TrimPrefix(p, h+"/")
	}
	return p
}
