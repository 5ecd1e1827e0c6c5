package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	goccyparser "github.com/goccy/go-yaml/parser"
	"go.yaml.in/yaml/v3"

	"github.com/bbbfleet/bbbfleet/pkg/schedule"
)

// Duration is a time.Duration written in YAML as "30s", "5m" or "1h30m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string and names the line on error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	// A *yaml.TypeError lets the decoder go on, so that every other
	// problem of the file is reported in the same run.
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a duration such as 30s or 5m", n.Line)}}
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil || v < 0 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: invalid duration %q (use e.g. 30s, 5m, 1h30m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in Go notation.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// SSHSettings is how to reach a server over SSH.
type SSHSettings struct {
	User          string   `yaml:"user" json:"user,omitempty"`
	Port          int      `yaml:"port" json:"port,omitempty"`
	IdentityFile  string   `yaml:"identity_file" json:"identity_file,omitempty"`
	KnownHosts    string   `yaml:"known_hosts" json:"known_hosts,omitempty"`
	HostKeyPolicy string   `yaml:"host_key_policy" json:"host_key_policy,omitempty"`
	ProxyJump     string   `yaml:"proxy_jump" json:"proxy_jump,omitempty"`
	Timeout       Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// APISettings is how to reach a server's BBB API.
type APISettings struct {
	URL      string   `yaml:"url" json:"url,omitempty"`
	Checksum string   `yaml:"checksum" json:"checksum,omitempty"`
	Timeout  Duration `yaml:"timeout" json:"timeout,omitempty"`
	CAFile   string   `yaml:"ca_file" json:"ca_file,omitempty"`
}

// Capacity is what a server is sized for.
type Capacity struct {
	Participants int `yaml:"participants" json:"participants,omitempty"`
}

// Power holds the commands, run on the admin machine, that power a server on
// or off (e.g. [hcloud, server, poweron, bbb2]).
type Power struct {
	On  []string `yaml:"on" json:"on,omitempty"`
	Off []string `yaml:"off" json:"off,omitempty"`
	// Timeout bounds one run of a hook (default DefaultPowerTimeout).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Drain is how `stop --drain` waits for meetings to end.
type Drain struct {
	// Timeout is the drain's deadline when --drain gives none.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Poll is how often getMeetings is asked during a drain.
	Poll Duration `yaml:"poll" json:"poll,omitempty"`
	// Message is posted into every meeting at the start of a drain
	// (BBB 3.0+); {remaining} becomes the time left.
	Message string `yaml:"message" json:"message,omitempty"`
}

// Settings are the per-server settings that may also be set under defaults.
type Settings struct {
	SSH      SSHSettings `yaml:"ssh" json:"ssh"`
	API      APISettings `yaml:"api" json:"api"`
	Capacity Capacity    `yaml:"capacity" json:"capacity"`
	Power    Power       `yaml:"power" json:"power"`
	Drain    Drain       `yaml:"drain" json:"drain"`
}

// Server is one BBB server of the fleet, with defaults merged in.
type Server struct {
	Name     string   `yaml:"name" json:"name"`
	Host     string   `yaml:"host" json:"host"`
	Tags     []string `yaml:"tags" json:"tags"`
	Settings `yaml:",inline"`

	// Line is where the server's entry starts in the config file.
	Line int `yaml:"-" json:"-"`
	// ChecksumLine is the line that sets the server's api.checksum (its
	// own or the defaults'), 0 when neither does.
	ChecksumLine int `yaml:"-" json:"-"`
}

// Scalelite is the load balancer in front of the fleet, if any.
type Scalelite struct {
	SSHHost   string `yaml:"ssh_host" json:"ssh_host,omitempty"`
	Container string `yaml:"container" json:"container,omitempty"`
	// SSH reaches the Scalelite host; unset fields come from defaults.ssh.
	SSH SSHSettings `yaml:"ssh" json:"ssh"`
}

// Schedule is one cron rule.
type Schedule struct {
	Name    string   `yaml:"name" json:"name"`
	Cron    string   `yaml:"cron" json:"cron"`
	Action  string   `yaml:"action" json:"action"`
	Targets []string `yaml:"targets" json:"targets"`
	Drain   Duration `yaml:"drain" json:"drain,omitempty"`
	Message string   `yaml:"message" json:"message,omitempty"`
	Power   bool     `yaml:"power" json:"power,omitempty"`
	// SkipHolidays defaults to true (nil).
	SkipHolidays *bool `yaml:"skip_holidays" json:"skip_holidays,omitempty"`
	Line         int   `yaml:"-" json:"-"`
}

// CheckThresholds are the limits of `bbbfleet check`.
type CheckThresholds struct {
	CertWarningDays   int      `yaml:"certificate_warning_days" json:"certificate_warning_days"`
	CertCriticalDays  int      `yaml:"certificate_critical_days" json:"certificate_critical_days"`
	DiskWarningPct    int      `yaml:"disk_warning_percent" json:"disk_warning_percent"`
	DiskCriticalPct   int      `yaml:"disk_critical_percent" json:"disk_critical_percent"`
	MemoryWarningPct  int      `yaml:"memory_warning_percent" json:"memory_warning_percent"`
	MemoryCriticalPct int      `yaml:"memory_critical_percent" json:"memory_critical_percent"`
	LoadWarningPerCPU float64  `yaml:"load_warning_per_core" json:"load_warning_per_core"`
	LoadCriticalPerCP float64  `yaml:"load_critical_per_core" json:"load_critical_per_core"`
	ClockSkewWarning  Duration `yaml:"clock_skew_warning" json:"clock_skew_warning"`
	ClockSkewCritical Duration `yaml:"clock_skew_critical" json:"clock_skew_critical"`
}

// DefaultCheckThresholds are used for every threshold the config leaves out.
var DefaultCheckThresholds = CheckThresholds{
	CertWarningDays: 14, CertCriticalDays: 3,
	DiskWarningPct: 85, DiskCriticalPct: 95,
	MemoryWarningPct: 90, MemoryCriticalPct: 97,
	LoadWarningPerCPU: 1.5, LoadCriticalPerCP: 3,
	ClockSkewWarning: Duration(2 * time.Second), ClockSkewCritical: Duration(30 * time.Second),
}

// fileConfig is the YAML document as written.
type fileConfig struct {
	Defaults     Settings        `yaml:"defaults"`
	Servers      []Server        `yaml:"servers"`
	Scalelite    *Scalelite      `yaml:"scalelite"`
	Schedules    []Schedule      `yaml:"schedules"`
	Holidays     []string        `yaml:"holidays"`
	SecretsFile  string          `yaml:"secrets_file"`
	Check        CheckThresholds `yaml:"check"`
	Timezone     string          `yaml:"timezone"`
	HolidaysFile string          `yaml:"holidays_file"`
	AuditLog     string          `yaml:"audit_log"`
	StateDir     string          `yaml:"state_dir"`
}

// Holiday is an inclusive range of dates on which schedules do not fire.
type Holiday = schedule.Holiday

// Config is a loaded and validated fleet inventory.
type Config struct {
	Path        string          `json:"path"`
	Defaults    Settings        `json:"defaults"`
	Servers     []Server        `json:"servers"`
	Scalelite   *Scalelite      `json:"scalelite,omitempty"`
	Schedules   []Schedule      `json:"schedules"`
	Holidays    []Holiday       `json:"-"`
	SecretsFile string          `json:"secrets_file"`
	Check       CheckThresholds `json:"check"`
	// Timezone is the zone of schedules without CRON_TZ= (nil: the
	// machine's local zone); HolidaysFile the resolved holidays_file.
	Timezone     *time.Location `json:"-"`
	HolidaysFile string         `json:"holidays_file,omitempty"`
	// Schedule is the schedules with their targets resolved and the
	// holidays (nil when the config has no schedules).
	Schedule *schedule.Schedule `json:"-"`
	// Notices are what `config validate` points out in a config that
	// loads: warnings (e.g. a plain http API URL) and notes (e.g. an
	// api.url without api/, read as the API below it), in line order of
	// their checks.
	Notices ConfigNotices `json:"-"`
	// AuditLog and StateDir are the config's audit_log and state_dir
	// (resolved against the config's directory); empty means the default
	// (see StateDir, AuditLogPath).
	AuditLog string `json:"audit_log,omitempty"`
	StateDir string `json:"state_dir,omitempty"`
}

// Built-in defaults, applied after the config's own defaults.
const (
	DefaultChecksum     = "sha256"
	DefaultAPITimeout   = 10 * time.Second
	DefaultSSHTimeout   = 10 * time.Second
	DefaultParticipants = 250
	DefaultPowerTimeout = 10 * time.Minute
	DefaultDrainTimeout = 30 * time.Minute
	DefaultDrainPoll    = 10 * time.Second
	DefaultDrainMessage = "This server shuts down in {remaining}. Please save your work."
)

// ConfigError is one problem in a config file, at a line when known.
type ConfigError struct {
	File string
	Line int
	Msg  string
	// Final is true when Msg itself says the fix (e.g. chmod 600): no
	// "check it with config validate" hint follows it.
	Final bool
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ConfigErrors is every problem found in one config file.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Severity says how much a ConfigNotice matters.
type Severity int

const (
	// SeverityWarning is a risk the config takes (e.g. plain http).
	SeverityWarning Severity = iota
	// SeverityNote is something the config should say otherwise, which
	// bbbfleet understands anyway.
	SeverityNote
)

func (s Severity) String() string {
	if s == SeverityNote {
		return "note"
	}
	return "warning"
}

// ConfigNotice is a warning or a note about a config that loads: where
// (File, Line) and what (Msg), as a ConfigError, with its severity.
type ConfigNotice struct {
	Severity Severity
	ConfigError
}

// ConfigNotices is every notice about one config file.
type ConfigNotices []*ConfigNotice

// Of returns the notices of one severity, in order.
func (ns ConfigNotices) Of(sev Severity) ConfigNotices {
	var out ConfigNotices
	for _, n := range ns {
		if n.Severity == sev {
			out = append(out, n)
		}
	}
	return out
}

// NotFoundError says no config file was found and where it was looked for.
type NotFoundError struct{ Searched []string }

func (e *NotFoundError) Error() string {
	return "no fleet config found; searched: " + strings.Join(e.Searched, ", ")
}

var (
	lineRe = lazyRegexp(`^(?:yaml: )?line (\d+): (.*)$`)
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

// SearchEnv is what the config search reads from the environment; the
// caller reads it (the package reads no environment variables for it).
type SearchEnv struct {
	Config        string // $BBBFLEET_CONFIG
	XDGConfigHome string // $XDG_CONFIG_HOME
}

// SearchPaths lists where a config is looked for, in order, after --config.
func SearchPaths(env SearchEnv) []string {
	var ps []string
	if v := env.Config; v != "" {
		ps = append(ps, ExpandHome(v))
	}
	ps = append(ps, "bbbfleet.yaml")
	xdg := env.XDGConfigHome
	if xdg == "" {
		if h, err := os.UserHomeDir(); err == nil {
			xdg = filepath.Join(h, ".config")
		}
	}
	if xdg != "" {
		ps = append(ps, filepath.Join(xdg, "bbbfleet", "fleet.yaml"))
	}
	return append(ps, "/etc/bbbfleet/fleet.yaml")
}

// Find returns the config path to use: explicit if set, else the first of
// SearchPaths that exists.
func Find(explicit string, env SearchEnv) (string, error) {
	if explicit != "" {
		return ExpandHome(explicit), nil
	}
	ps := SearchPaths(env)
	for _, p := range ps {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", &NotFoundError{Searched: ps}
}

// ExpandHome replaces a leading ~ with the user's home directory.
func ExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return p
}

// Load reads, decodes and validates the config at path.
// A config owned by another user than the current one or root, or that
// group or others can write, is refused with an *UntrustedFileError.
func Load(path string) (*Config, error) {
	data, err := readConfig(path)
	if err != nil {
		var ue *UntrustedFileError
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, &NotFoundError{Searched: []string{path}}
		case errors.As(err, &ue):
			return nil, err
		}
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	return Parse(path, data)
}

// readConfig reads the config file once it is known to be trusted.
func readConfig(path string) ([]byte, error) {
	f, _, err := openTrusted("config", path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Parse decodes and validates config bytes; path is used in messages and to
// resolve relative paths.
func Parse(path string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if se := syntaxError(path, data); se != nil {
			return nil, ConfigErrors{se}
		}
		return nil, tabAdvice(data, yamlErrors(path, err))
	}
	if len(root.Content) == 0 {
		return nil, ConfigErrors{{File: path, Line: 1, Msg: "the config is empty; run `bbbfleet init` for a commented starter"}}
	}
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// Decoding goes on past type errors (unknown keys, wrong types, bad
	// durations) and leaves those fields unset; the validator then checks
	// the rest, so that one run reports every problem of the file.
	var decodeErrs ConfigErrors
	if err := dec.Decode(&fc); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, yamlErrors(path, err)
		}
		decodeErrs = yamlErrors(path, err).(ConfigErrors)
	}
	v := &validator{file: path, root: root.Content[0]}
	cfg := v.build(&fc)
	if errs := mergeErrors(decodeErrs, v.errs); len(errs) > 0 {
		return nil, errs
	}
	cfg.Notices = v.notices
	return cfg, nil
}

// mergeErrors puts decoding and validation errors in line order. A
// validation error on a line that already has a decoding error is a
// consequence of it (a field left unset) and is dropped.
func mergeErrors(decoded, validated ConfigErrors) ConfigErrors {
	bad := map[int]bool{}
	for _, e := range decoded {
		bad[e.Line] = true
	}
	out := append(ConfigErrors{}, decoded...)
	for _, e := range validated {
		if !bad[e.Line] || e.Line == 0 {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// tabAdvice rewrites the syntax error a tab in the indentation causes into
// advice, at the line and column of the tab.
func tabAdvice(data []byte, err error) error {
	ces, ok := err.(ConfigErrors)
	if !ok || len(ces) != 1 {
		return err
	}
	ce := ces[0]
	if !strings.Contains(ce.Msg, "cannot start any token") && !strings.Contains(ce.Msg, "'\t'") {
		return err
	}
	lines := strings.Split(string(data), "\n")
	try := func(i int) bool {
		if i < 0 || i >= len(lines) {
			return false
		}
		col := strings.IndexByte(lines[i], '\t')
		if col < 0 {
			return false
		}
		ce.Line = i + 1
		ce.Msg = fmt.Sprintf("a tab at column %d: YAML indents with spaces, never tabs", col+1)
		return true
	}
	if try(ce.Line - 1) {
		return ces
	}
	for i := range lines {
		if try(i) {
			return ces
		}
	}
	return err
}

var goccyPosRe = lazyRegexp(`^\[(\d+):(\d+)\] (.*)$`)

// syntaxError locates a YAML syntax error precisely. yaml.v3 reports the
// line where the enclosing block starts, not where the problem is, so the
// position comes from goccy/go-yaml's parser instead.
func syntaxError(path string, data []byte) *ConfigError {
	_, err := goccyparser.ParseBytes(data, 0)
	if err == nil {
		return nil
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	sm := goccyPosRe().FindStringSubmatch(strings.TrimSpace(first))
	if sm == nil {
		return nil
	}
	ce := &ConfigError{File: path, Msg: "YAML syntax error at column " + sm[2] + ": " + sm[3]}
	fmt.Sscanf(sm[1], "%d", &ce.Line)
	if adv, ok := tabAdvice(data, ConfigErrors{ce}).(ConfigErrors); ok {
		return adv[0]
	}
	return ce
}

// yamlErrors turns yaml.v3 errors into file:line errors with plain words.
func yamlErrors(path string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out ConfigErrors
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		ce := &ConfigError{File: path, Msg: m}
		if sm := lineRe().FindStringSubmatch(m); sm != nil {
			fmt.Sscanf(sm[1], "%d", &ce.Line)
			ce.Msg = sm[2]
		}
		ce.Msg = friendlyYAML(ce.Msg)
		out = append(out, ce)
	}
	return out
}

var (
	unknownFieldRe = lazyRegexp(`^field (\S+) not found in type (\S+)$`)
	cannotRe       = lazyRegexp("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// sectionKeys names the keys allowed in each section, for "did you mean" help.
var sectionKeys = map[string]string{
	"fleet.fileConfig":      "defaults, servers, scalelite, schedules, holidays, holidays_file, timezone, secrets_file, check, audit_log, state_dir",
	"fleet.Server":          "name, host, tags, ssh, api, capacity, power, drain",
	"fleet.Settings":        "ssh, api, capacity, power, drain",
	"fleet.Drain":           "timeout, poll, message",
	"fleet.SSHSettings":     "user, port, identity_file, known_hosts, host_key_policy, proxy_jump, timeout",
	"fleet.APISettings":     "url, checksum, timeout, ca_file",
	"fleet.Capacity":        "participants",
	"fleet.Power":           "on, off, timeout",
	"fleet.Scalelite":       "ssh_host, container, ssh",
	"fleet.Schedule":        "name, cron, action, targets, drain, message, power, skip_holidays",
	"fleet.CheckThresholds": "certificate_warning_days, certificate_critical_days, disk_warning_percent, disk_critical_percent, memory_warning_percent, memory_critical_percent, load_warning_per_core, load_critical_per_core, clock_skew_warning, clock_skew_critical",
}

// listSections names the sections that are lists of named entries.
var listSections = map[string]string{"[]fleet.Server": "servers", "[]fleet.Schedule": "schedules"}

func friendlyYAML(m string) string {
	if sm := unknownFieldRe().FindStringSubmatch(m); sm != nil {
		if keys, ok := sectionKeys[sm[2]]; ok {
			return fmt.Sprintf("unknown key %q (valid here: %s)", sm[1], keys)
		}
		return fmt.Sprintf("unknown key %q", sm[1])
	}
	if sm := cannotRe().FindStringSubmatch(m); sm != nil {
		if sect, ok := listSections[sm[3]]; ok && sm[1] == "map" {
			return fmt.Sprintf("%s is a list: start each entry with `- name:`", sect)
		}
		want := sm[3]
		switch {
		case strings.HasPrefix(want, "int"), strings.HasPrefix(want, "float"):
			want = "a number"
		case want == "string":
			want = "a string"
		case want == "bool":
			want = "true or false"
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		default:
			want = "a mapping (" + strings.TrimPrefix(want, "fleet.") + ")"
		}
		kind := map[string]string{"str": "a string", "int": "a number", "float": "a number", "map": "a mapping", "seq": "a list", "bool": "a boolean"}[sm[1]]
		if kind == "" {
			kind = sm[1]
		}
		if sm[2] != "" && sm[1] != "map" && sm[1] != "seq" {
			kind += fmt.Sprintf(" (%q)", sm[2])
		}
		return fmt.Sprintf("expected %s, got %s", want, kind)
	}
	return m
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

// Server returns the server with the given name.
func (c *Config) Server(name string) (*Server, bool) {
	for i := range c.Servers {
		if c.Servers[i].Name == name {
			return &c.Servers[i], true
		}
	}
	return nil, false
}

// Tags returns every tag used in the fleet, in order of first use.
func (c *Config) Tags() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range c.Servers {
		for _, t := range s.Tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}
