package fleet

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

// InstallSettings is how `bbbfleet install` installs BBB on a server
// (install: under defaults or per server).
type InstallSettings struct {
	// Series is bbb-install.sh's -v (default jammy-300).
	Series string `yaml:"series" json:"series,omitempty"`
	// Email is the Let's Encrypt address (-e).
	Email string `yaml:"email" json:"email,omitempty"`
	// Hostname is -s (default: the server's host).
	Hostname string `yaml:"hostname" json:"hostname,omitempty"`
	// Flags are more of bbb-install.sh's documented flags (reference §3).
	Flags []string `yaml:"flags" json:"flags,omitempty"`
	// ScriptURL is where bbb-install.sh is fetched from (default: the
	// official URL of the series).
	ScriptURL string `yaml:"script_url" json:"script_url,omitempty"`
	// Timeout bounds one install (default DefaultInstallTimeout).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`

	// Args are the flags as argv words (validated), set when loading.
	Args []string `yaml:"-" json:"-"`
}

// DefaultInstallTimeout bounds an install: bbb-install.sh takes 10–30
// minutes (reference §3).
const DefaultInstallTimeout = 45 * time.Minute

var emailRe = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$`)

// installSettings validates one install: block (defaults or a server's).
func (v *validator) installSettings(in *InstallSettings, at func(p ...any) int) {
	if in.Series != "" {
		if _, ok := bbb.Series[in.Series]; !ok {
			v.errf(at("install", "series"), "install series %q is not known: use one of %s", in.Series, strings.Join(bbb.SeriesNames(), ", "))
		}
	}
	if in.Email != "" {
		switch {
		case !emailRe.MatchString(in.Email):
			v.errf(at("install", "email"), "install email %q is not an e-mail address", in.Email)
		case bbb.IsPlaceholderEmail(in.Email):
			v.errf(at("install", "email"), "install email %q is a placeholder (example.com): Let's Encrypt needs a real address, and bbb-install.sh refuses it", in.Email)
		}
	}
	if in.Hostname != "" {
		switch {
		case !validHost(in.Hostname):
			v.errf(at("install", "hostname"), "install hostname %q is not a valid host name", in.Hostname)
		case strings.EqualFold(in.Hostname, bbb.PlaceholderHostname):
			v.errf(at("install", "hostname"), "install hostname %q is bbb-install.sh's placeholder: use the server's real DNS name", in.Hostname)
		}
	}
	if len(in.Flags) > 0 {
		args, err := bbb.ParseInstallFlags(in.Flags)
		if err != nil {
			v.errf(at("install", "flags"), "install flags: %v", err)
		}
		in.Args = args
	}
	if in.ScriptURL != "" {
		u, err := url.Parse(in.ScriptURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			v.errf(at("install", "script_url"), "install script_url %q is not an http(s) URL", in.ScriptURL)
		case strings.ContainsAny(in.ScriptURL, " '\"\\`$\n"):
			v.errf(at("install", "script_url"), "install script_url %q has characters bbbfleet does not put into a command", in.ScriptURL)
		}
	}
	if in.Timeout < 0 {
		v.errf(at("install", "timeout"), "install timeout must be positive")
	}
}

// mergeInstall fills the unset fields of s from d.
func mergeInstall(s, d InstallSettings) InstallSettings {
	orDefault(&s.Series, d.Series)
	orDefault(&s.Email, d.Email)
	orDefault(&s.Hostname, d.Hostname)
	if len(s.Flags) == 0 {
		s.Flags, s.Args = d.Flags, d.Args
	}
	orDefault(&s.ScriptURL, d.ScriptURL)
	orDefault(&s.Timeout, d.Timeout)
	return s
}

// installServer applies the built-in defaults that depend on the server
// (hostname: its host; script_url: the series' official URL) and checks
// what only the whole server shows (the host as a placeholder hostname).
func (v *validator) installServer(s *Server, i int) {
	in := &s.Install
	orDefault(&in.Series, bbb.DefaultSeries)
	orDefault(&in.Timeout, Duration(DefaultInstallTimeout))
	if in.Hostname == "" {
		in.Hostname = s.Host
		if strings.EqualFold(s.Host, bbb.PlaceholderHostname) {
			v.errf(v.line("servers", i, "host"), "server %q: host %q is bbb-install.sh's placeholder; set install.hostname to the real DNS name", s.Name, s.Host)
		}
	}
	if in.ScriptURL == "" {
		if se, ok := bbb.Series[in.Series]; ok {
			in.ScriptURL = se.ScriptURL
		}
	}
}
