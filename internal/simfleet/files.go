package simfleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// HostSpec says how bbbfleet reaches one simulated server.
type HostSpec struct {
	Name     string
	Host     string // address, e.g. 127.0.0.2
	SSHPort  int
	SSHUser  string // default root
	APIURL   string
	Tags     []string
	Secret   string
	Checksum string // default: the config's default
	CAFile   string
}

// Files are the paths written by WriteFiles.
type Files struct {
	Dir        string
	Config     string
	Secrets    string
	KnownHosts string
	Key        string
}

// FileOptions are the fleet-wide settings of the written config.
type FileOptions struct {
	// Key is the client's private key file.
	Key string
	// KnownHostsLines are the lines of the known_hosts file to write.
	KnownHostsLines []string
	// SSHTimeout and APITimeout default to 5s.
	SSHTimeout, APITimeout string
	// Extra YAML appended to the config (schedules, check thresholds ...).
	Extra string
	// Capacity is capacity.participants in defaults (0: unset).
	Capacity int
	// Defaults is more YAML inside defaults: (indented two spaces, one
	// setting a line: drain, power ...).
	Defaults string
}

// WriteFiles writes fleet.yaml, secrets.yaml (mode 0600) and known_hosts
// into dir.
func WriteFiles(dir string, hosts []HostSpec, o FileOptions) (*Files, error) {
	f := &Files{Dir: dir, Config: filepath.Join(dir, "fleet.yaml"), Secrets: filepath.Join(dir, "secrets.yaml"),
		KnownHosts: filepath.Join(dir, "known_hosts"), Key: o.Key}
	if o.SSHTimeout == "" {
		o.SSHTimeout = "5s"
	}
	if o.APITimeout == "" {
		o.APITimeout = "5s"
	}
	var b strings.Builder
	b.WriteString("# A simulated fleet, written by bbbfleet.\n")
	fmt.Fprintf(&b, "defaults:\n  ssh: {user: root, identity_file: %q, known_hosts: %q, timeout: %s}\n  api: {timeout: %s}\n",
		o.Key, f.KnownHosts, o.SSHTimeout, o.APITimeout)
	if o.Capacity > 0 {
		fmt.Fprintf(&b, "  capacity: {participants: %d}\n", o.Capacity)
	}
	b.WriteString(o.Defaults)
	b.WriteString("servers:\n")
	var sec strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - name: %s\n    host: %s\n", h.Name, h.Host)
		if len(h.Tags) > 0 {
			fmt.Fprintf(&b, "    tags: [%s]\n", strings.Join(h.Tags, ", "))
		}
		ssh := fmt.Sprintf("port: %d", h.SSHPort)
		if h.SSHUser != "" {
			ssh += ", user: " + h.SSHUser
		}
		fmt.Fprintf(&b, "    ssh: {%s}\n", ssh)
		api := fmt.Sprintf("url: %q", h.APIURL)
		if h.Checksum != "" {
			api += ", checksum: " + h.Checksum
		}
		if h.CAFile != "" {
			api += fmt.Sprintf(", ca_file: %q", h.CAFile)
		}
		fmt.Fprintf(&b, "    api: {%s}\n", api)
		if h.Secret != "" {
			fmt.Fprintf(&sec, "%s: %q\n", h.Name, h.Secret)
		}
	}
	b.WriteString(o.Extra)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.Config, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.Secrets, []byte(sec.String()), 0o600); err != nil {
		return nil, err
	}
	if err := os.Chmod(f.Secrets, 0o600); err != nil {
		return nil, err
	}
	kh := strings.Join(o.KnownHostsLines, "\n")
	if kh != "" {
		kh += "\n"
	}
	if err := os.WriteFile(f.KnownHosts, []byte(kh), 0o644); err != nil {
		return nil, err
	}
	return f, nil
}

// Schedules is the schedule of a simulated fleet of n servers: the pool
// (every server when there is no pool) warms up before school on weekdays
// and shuts down at night, on the simulated day's clock (UTC).
func Schedules(n int) string {
	targets := `["@pool"]`
	if n <= 2 {
		targets = "[all]"
	}
	return "timezone: UTC  # the simulated school day's clock\n" +
		"schedules:\n" +
		"  - {name: warm-up, cron: \"30 6 * * 1-5\", action: start, targets: " + targets + "}\n" +
		"  - {name: shutdown, cron: \"0 22 * * *\", action: stop, targets: " + targets + ", drain: 45m}\n"
}
