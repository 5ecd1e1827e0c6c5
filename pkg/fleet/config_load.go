package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	goccyparser "github.com/goccy/go-yaml/parser"
	"go.yaml.in/yaml/v3"
)

var (
	lineRe = lazyRegexp(`^(?:yaml: )?line (\d+): (.*)$`)
)

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
		var nr *notRegularError
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, &NotFoundError{Searched: []string{path}, Given: true}
		case errors.As(err, &ue):
			return nil, err
		case errors.As(err, &nr):
			return nil, &ConfigError{File: path, Msg: nr.detail(), Final: true}
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
