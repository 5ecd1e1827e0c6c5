package fleet

import (
	"fmt"
	"strings"
	"time"

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
	SSH      SSHSettings     `yaml:"ssh" json:"ssh"`
	API      APISettings     `yaml:"api" json:"api"`
	Capacity Capacity        `yaml:"capacity" json:"capacity"`
	Power    Power           `yaml:"power" json:"power"`
	Drain    Drain           `yaml:"drain" json:"drain"`
	Install  InstallSettings `yaml:"install" json:"install"`
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
