package fleet

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The checks below are what ^[a-z0-9][a-z0-9._-]*$ (names and tags),
// ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ (host name labels) and
// ^[a-z_][a-z0-9_.-]*\$?$ (user names) say, without compiling regular
// expressions at every start (every TAB runs bbbfleet).

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validName reports whether s is a valid server name or tag.
func validName(s string) bool {
	if s == "" || !(isLower(s[0]) || isDigit(s[0])) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isLower(c) || isDigit(c) || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validLabel reports whether s is one label of a host name.
func validLabel(s string) bool {
	alnum := func(c byte) bool { return isLower(c) || isDigit(c) || c >= 'A' && c <= 'Z' }
	if len(s) == 0 || len(s) > 63 || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if !alnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// validUser reports whether s is a valid login user name.
func validUser(s string) bool {
	s = strings.TrimSuffix(s, "$")
	if s == "" || !(isLower(s[0]) || s[0] == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isLower(c) || isDigit(c) || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// lazyRegexp compiles a regular expression on first use, not at start-up
// (every TAB runs bbbfleet: start-up time counts).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

type validator struct {
	file    string
	root    *yaml.Node
	errs    ConfigErrors
	notices ConfigNotices
}

// notice records something config validate points out in a config that
// loads anyway: a warning (a risk) or a note (something the config should
// say otherwise, which bbbfleet understands anyway).
func (v *validator) notice(sev Severity, line int, format string, args ...any) {
	v.notices = append(v.notices, &ConfigNotice{Severity: sev, ConfigError: ConfigError{File: v.file, Line: line, Msg: fmt.Sprintf(format, args...)}})
}

func (v *validator) errf(line int, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{File: v.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// wrongKind is true when the value at path is there but not a list nor
// null (e.g. targets: "@nope"): its type error is reported already, and
// what follows from it ("has no targets") is not.
func (v *validator) wrongKind(path ...any) bool {
	n := v.node(path...)
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	return n.Tag != "!!null"
}

// node finds the YAML node at a path of mapping keys (string) and sequence
// indexes (int); it returns the deepest node found so that a line can always
// be named.
func (v *validator) node(path ...any) *yaml.Node {
	n := v.root
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return n
			}
		case int:
			if n.Kind != yaml.SequenceNode || p >= len(n.Content) {
				return n
			}
			n = n.Content[p]
		}
	}
	return n
}

func (v *validator) line(path ...any) int { return v.node(path...).Line }

// mistyped reports whether the node at path exists but is not a scalar
// (decoding reported it already).
func (v *validator) mistyped(path ...any) bool {
	if v.exactLine(path...) == 0 {
		return false
	}
	return v.node(path...).Kind != yaml.ScalarNode
}

// exactLine is the line of the node at path, 0 when the path is not in the
// document.
func (v *validator) exactLine(path ...any) int {
	n := v.root
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
			}
		}
		if next == nil {
			return 0
		}
		n = next
	}
	return n.Line
}

func (v *validator) build(fc *fileConfig) *Config {
	cfg := &Config{
		Path:      v.file,
		Defaults:  fc.Defaults,
		Scalelite: fc.Scalelite,
		Schedules: fc.Schedules,
		Check:     fc.Check,
	}
	v.settings(&cfg.Defaults, "defaults")
	if len(fc.Servers) == 0 {
		v.errf(v.line("servers"), "no servers: list at least one under `servers:` (name and host)")
	}
	seen := map[string]int{}
	envOwner := map[string]string{}
	for i, s := range fc.Servers {
		s.Line = v.line("servers", i)
		s.ChecksumLine = v.exactLine("servers", i, "api", "checksum")
		if s.ChecksumLine == 0 {
			s.ChecksumLine = v.exactLine("defaults", "api", "checksum")
		}
		switch {
		case s.Name == "" && v.mistyped("servers", i, "name"):
			// a list or mapping as the name: the decoding error says so
		case s.Name == "":
			v.errf(s.Line, "server %d has no name", i+1)
		case !validName(s.Name):
			v.errf(v.line("servers", i, "name"), "server name %q is not valid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", s.Name)
		case s.Name == "all":
			v.errf(v.line("servers", i, "name"), "server name \"all\" is reserved: it selects every server")
		}
		if env := SecretEnv(s.Name); s.Name != "" && envOwner[env] != "" && envOwner[env] != s.Name {
			v.errf(v.line("servers", i, "name"), "server names %q and %q share the secret variable %s: rename one", envOwner[env], s.Name, env)
		} else if s.Name != "" {
			envOwner[env] = s.Name
		}
		if prev, dup := seen[s.Name]; dup && s.Name != "" {
			v.errf(v.line("servers", i, "name"), "duplicate server name %q (first defined at line %d)", s.Name, prev)
		} else {
			seen[s.Name] = v.line("servers", i, "name")
		}
		if s.Host == "" && v.mistyped("servers", i, "host") {
			// the decoding error says what is wrong with it
		} else if s.Host == "" {
			v.errf(s.Line, "server %q has no host", s.Name)
		} else if !validHost(s.Host) {
			v.errf(v.line("servers", i, "host"), "server %q: host %q is not a valid host name or IP address", s.Name, s.Host)
		}
		for j, t := range s.Tags {
			if !validName(t) || t == "all" {
				v.errf(v.line("servers", i, "tags", j), "server %q: tag %q is not valid: use lower-case letters, digits, '.', '_' and '-' (and not \"all\")", s.Name, t)
			}
		}
		v.settings(&s.Settings, "servers", i)
		s.Settings = merge(s.Settings, cfg.Defaults)
		v.installServer(&s, i)
		if s.API.URL == "" {
			s.API.URL = "https://" + hostForURL(s.Host) + "/bigbluebutton/api/"
		}
		cfg.Servers = append(cfg.Servers, s)
	}
	v.schedules(cfg, fc)
	// Secrets file beside the config unless set.
	cfg.SecretsFile = fc.SecretsFile
	if cfg.SecretsFile == "" {
		cfg.SecretsFile = filepath.Join(filepath.Dir(v.file), "secrets.yaml")
	} else {
		cfg.SecretsFile = v.resolve(fc.SecretsFile)
	}
	v.check(&cfg.Check)
	if fc.AuditLog != "" {
		cfg.AuditLog = v.resolve(fc.AuditLog)
	}
	if fc.StateDir != "" {
		cfg.StateDir = v.resolve(fc.StateDir)
	}
	if cfg.Scalelite != nil {
		if cfg.Scalelite.SSH.IdentityFile != "" {
			cfg.Scalelite.SSH.IdentityFile = v.resolve(cfg.Scalelite.SSH.IdentityFile)
		}
		if cfg.Scalelite.SSH.KnownHosts != "" {
			cfg.Scalelite.SSH.KnownHosts = v.resolve(cfg.Scalelite.SSH.KnownHosts)
		}
	}
	if cfg.Scalelite != nil && cfg.Scalelite.SSHHost != "" && !validHost(cfg.Scalelite.SSHHost) {
		v.errf(v.line("scalelite", "ssh_host"), "scalelite: ssh_host %q is not a valid host name or IP address", cfg.Scalelite.SSHHost)
	}
	return cfg
}

func (v *validator) resolve(p string) string {
	p = ExpandHome(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(v.file), p)
	}
	return p
}

// settings validates one Settings block; path locates it in the document.
func (v *validator) settings(s *Settings, path ...any) {
	at := func(p ...any) int { return v.line(append(append([]any{}, path...), p...)...) }
	if s.SSH.Port < 0 || s.SSH.Port > 65535 {
		v.errf(at("ssh", "port"), "ssh port %d is out of range 1-65535", s.SSH.Port)
	}
	if s.SSH.User != "" && !validUser(s.SSH.User) {
		v.errf(at("ssh", "user"), "ssh user %q is not a valid user name", s.SSH.User)
	}
	switch s.SSH.HostKeyPolicy {
	case "", "strict", "accept-new":
	default:
		v.errf(at("ssh", "host_key_policy"), "host_key_policy %q is not one of strict, accept-new", s.SSH.HostKeyPolicy)
	}
	if s.SSH.ProxyJump != "" && !validJump(s.SSH.ProxyJump) {
		v.errf(at("ssh", "proxy_jump"), "proxy_jump %q is not [user@]host[:port]", s.SSH.ProxyJump)
	}
	if s.API.Checksum != "" {
		switch s.API.Checksum {
		case "sha1", "sha256", "sha384", "sha512":
		default:
			v.errf(at("api", "checksum"), "api checksum %q is not one of sha1, sha256, sha384, sha512", s.API.Checksum)
		}
	}
	if s.API.URL != "" {
		if !strings.HasPrefix(s.API.URL, "https://") && !strings.HasPrefix(s.API.URL, "http://") {
			v.errf(at("api", "url"), "api url %q must start with https:// or http://", s.API.URL)
		} else if strings.HasSuffix(strings.TrimRight(s.API.URL, "/"), "/bigbluebutton") {
			// bbb-conf --secret prints the URL without api/; BBB's API
			// is always below it, so the URL is read as its API and
			// config validate says to append api/.
			fixed := strings.TrimRight(s.API.URL, "/") + "/api/"
			v.notice(SeverityNote, at("api", "url"), "api url %q is the BigBlueButton URL that bbb-conf --secret prints; bbbfleet calls its API at %q: append api/",
				s.API.URL, fixed)
			s.API.URL = fixed
		} else if !strings.HasSuffix(s.API.URL, "/") {
			s.API.URL += "/"
		}
		if strings.HasPrefix(s.API.URL, "http://") {
			v.notice(SeverityWarning, at("api", "url"), "api url %q is plain http: signed API calls (whose checksums can be replayed) and their answers cross the network unencrypted; use https://", s.API.URL)
		}
	}
	v.installSettings(&s.Install, at)
	if s.Capacity.Participants < 0 {
		v.errf(at("capacity", "participants"), "capacity participants must not be negative")
	}
	// Relative paths are relative to the config file, not to wherever
	// cron happens to run bbbfleet.
	if s.SSH.IdentityFile != "" {
		s.SSH.IdentityFile = v.resolve(s.SSH.IdentityFile)
	}
	if s.SSH.KnownHosts != "" {
		s.SSH.KnownHosts = v.resolve(s.SSH.KnownHosts)
	}
	if s.API.CAFile != "" {
		s.API.CAFile = v.resolve(s.API.CAFile)
	}
}

func (v *validator) check(c *CheckThresholds) {
	d := DefaultCheckThresholds
	orDefault(&c.CertWarningDays, d.CertWarningDays)
	orDefault(&c.CertCriticalDays, d.CertCriticalDays)
	orDefault(&c.DiskWarningPct, d.DiskWarningPct)
	orDefault(&c.DiskCriticalPct, d.DiskCriticalPct)
	orDefault(&c.MemoryWarningPct, d.MemoryWarningPct)
	orDefault(&c.MemoryCriticalPct, d.MemoryCriticalPct)
	orDefault(&c.LoadWarningPerCPU, d.LoadWarningPerCPU)
	orDefault(&c.LoadCriticalPerCP, d.LoadCriticalPerCP)
	orDefault(&c.ClockSkewWarning, d.ClockSkewWarning)
	orDefault(&c.ClockSkewCritical, d.ClockSkewCritical)
	pct := func(name string, p int) {
		if p < 0 || p > 100 {
			v.errf(v.line("check", name), "check: %s %d is not a percentage (0-100)", name, p)
		}
	}
	pct("disk_warning_percent", c.DiskWarningPct)
	pct("disk_critical_percent", c.DiskCriticalPct)
	pct("memory_warning_percent", c.MemoryWarningPct)
	pct("memory_critical_percent", c.MemoryCriticalPct)
	if c.CertCriticalDays > c.CertWarningDays {
		v.errf(v.line("check", "certificate_critical_days"), "check: certificate_critical_days (%d) is more than certificate_warning_days (%d)", c.CertCriticalDays, c.CertWarningDays)
	}
	if c.DiskCriticalPct < c.DiskWarningPct {
		v.errf(v.line("check", "disk_critical_percent"), "check: disk_critical_percent (%d) is below disk_warning_percent (%d)", c.DiskCriticalPct, c.DiskWarningPct)
	}
	for _, d := range []struct {
		name string
		n    int
	}{{"certificate_warning_days", c.CertWarningDays}, {"certificate_critical_days", c.CertCriticalDays}} {
		if d.n < 0 {
			v.errf(v.line("check", d.name), "check: %s %d must not be negative", d.name, d.n)
		}
	}
	if c.MemoryCriticalPct < c.MemoryWarningPct {
		v.errf(v.line("check", "memory_critical_percent"), "check: memory_critical_percent (%d) is below memory_warning_percent (%d)", c.MemoryCriticalPct, c.MemoryWarningPct)
	}
	if c.LoadWarningPerCPU < 0 || c.LoadCriticalPerCP < 0 {
		v.errf(v.line("check", "load_warning_per_core"), "check: load thresholds per core must not be negative")
	} else if c.LoadCriticalPerCP < c.LoadWarningPerCPU {
		v.errf(v.line("check", "load_critical_per_core"), "check: load_critical_per_core (%g) is below load_warning_per_core (%g)", c.LoadCriticalPerCP, c.LoadWarningPerCPU)
	}
	if c.ClockSkewCritical < c.ClockSkewWarning {
		v.errf(v.line("check", "clock_skew_critical"), "check: clock_skew_critical (%s) is below clock_skew_warning (%s)", c.ClockSkewCritical.D(), c.ClockSkewWarning.D())
	}
}

// orDefault sets *p to d when *p is the zero value.
func orDefault[T comparable](p *T, d T) {
	var zero T
	if *p == zero {
		*p = d
	}
}

// merge fills every unset field of s from d, then from the built-in defaults.
func merge(s, d Settings) Settings {
	// User and port stay unset when neither the server nor defaults give
	// them: ~/.ssh/config decides then, else ssh's own defaults (the local
	// user, port 22), as `ssh HOST` would.
	orDefault(&s.SSH.User, d.SSH.User)
	orDefault(&s.SSH.Port, d.SSH.Port)
	orDefault(&s.SSH.IdentityFile, d.SSH.IdentityFile)
	orDefault(&s.SSH.KnownHosts, d.SSH.KnownHosts)
	orDefault(&s.SSH.HostKeyPolicy, d.SSH.HostKeyPolicy)
	orDefault(&s.SSH.HostKeyPolicy, "strict")
	orDefault(&s.SSH.ProxyJump, d.SSH.ProxyJump)
	orDefault(&s.SSH.Timeout, d.SSH.Timeout)
	orDefault(&s.SSH.Timeout, Duration(DefaultSSHTimeout))
	orDefault(&s.API.URL, d.API.URL)
	orDefault(&s.API.Checksum, d.API.Checksum)
	orDefault(&s.API.Checksum, DefaultChecksum)
	orDefault(&s.API.CAFile, d.API.CAFile)
	orDefault(&s.API.Timeout, d.API.Timeout)
	orDefault(&s.API.Timeout, Duration(DefaultAPITimeout))
	orDefault(&s.Capacity.Participants, d.Capacity.Participants)
	orDefault(&s.Capacity.Participants, DefaultParticipants)
	if len(s.Power.On) == 0 {
		s.Power.On = d.Power.On
	}
	if len(s.Power.Off) == 0 {
		s.Power.Off = d.Power.Off
	}
	orDefault(&s.Power.Timeout, d.Power.Timeout)
	orDefault(&s.Power.Timeout, Duration(DefaultPowerTimeout))
	orDefault(&s.Drain.Timeout, d.Drain.Timeout)
	orDefault(&s.Drain.Timeout, Duration(DefaultDrainTimeout))
	orDefault(&s.Drain.Poll, d.Drain.Poll)
	orDefault(&s.Drain.Poll, Duration(DefaultDrainPoll))
	orDefault(&s.Drain.Message, d.Drain.Message)
	orDefault(&s.Drain.Message, DefaultDrainMessage)
	s.Install = mergeInstall(s.Install, d.Install)
	return s
}

// validHost reports whether h is an IP address or an RFC 1123 host name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if !validLabel(l) {
			return false
		}
	}
	return true
}

func validJump(j string) bool {
	if at := strings.LastIndex(j, "@"); at >= 0 {
		if !validUser(j[:at]) {
			return false
		}
		j = j[at+1:]
	}
	if h, p, err := net.SplitHostPort(j); err == nil {
		var port int
		if _, err := fmt.Sscanf(p, "%d", &port); err != nil || port < 1 || port > 65535 {
			return false
		}
		j = h
	}
	return validHost(j)
}

func hostForURL(h string) string {
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}
