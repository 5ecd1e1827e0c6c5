package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CheckStatus is the outcome of one check in the monitoring-plugin
// convention; its value is the plugin exit code.
type CheckStatus int

// Check statuses. Their numbers are Nagios' exit codes.
const (
	CheckOK       CheckStatus = 0
	CheckWarning  CheckStatus = 1
	CheckCritical CheckStatus = 2
	CheckUnknown  CheckStatus = 3
)

// String returns OK, WARNING, CRITICAL or UNKNOWN.
func (s CheckStatus) String() string {
	switch s {
	case CheckOK:
		return "OK"
	case CheckWarning:
		return "WARNING"
	case CheckCritical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// MarshalJSON writes the status as its name.
func (s CheckStatus) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a status name.
func (s *CheckStatus) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p, ok := ParseCheckStatus(v)
	if !ok {
		return fmt.Errorf("unknown check status %q", v)
	}
	*s = p
	return nil
}

// ParseCheckStatus reads OK, WARNING, CRITICAL or UNKNOWN (any case).
func ParseCheckStatus(v string) (CheckStatus, bool) {
	switch strings.ToUpper(v) {
	case "OK":
		return CheckOK, true
	case "WARNING":
		return CheckWarning, true
	case "CRITICAL":
		return CheckCritical, true
	case "UNKNOWN":
		return CheckUnknown, true
	}
	return CheckUnknown, false
}

// severity orders statuses for aggregation: CRITICAL > WARNING > UNKNOWN >
// OK (the monitoring-plugins' max_state_alt). A server whose only problem
// is a check that could not run is UNKNOWN; any real problem outranks it.
func (s CheckStatus) severity() int {
	switch s {
	case CheckOK:
		return 0
	case CheckUnknown:
		return 1
	case CheckWarning:
		return 2
	}
	return 3
}

// Worse reports whether s is more severe than o.
func (s CheckStatus) Worse(o CheckStatus) bool { return s.severity() > o.severity() }

// WorstStatus returns the most severe of the statuses (OK for none).
func WorstStatus(ss ...CheckStatus) CheckStatus {
	w := CheckOK
	for _, s := range ss {
		if s.Worse(w) {
			w = s
		}
	}
	return w
}

// The checks of `bbbfleet check`, in the order they are shown.
const (
	CheckSSH         = "ssh"
	CheckServices    = "services"
	CheckAPI         = "api"
	CheckSecret      = "secret"
	CheckVersion     = "version"
	CheckCertificate = "certificate"
	CheckDisk        = "disk"
	CheckMemory      = "memory"
	CheckLoad        = "load"
	CheckRecordings  = "recordings"
	CheckClock       = "clock"
	CheckScalelite   = "scalelite"
)

// CheckNames lists every check in display order.
var CheckNames = []string{
	CheckSSH, CheckServices, CheckAPI, CheckSecret, CheckVersion, CheckCertificate,
	CheckDisk, CheckMemory, CheckLoad, CheckRecordings, CheckClock,
}

// AllCheckNames is CheckNames and the fleet-level checks that only a fleet
// configured for them has (scalelite; see Config.ApplicableChecks).
var AllCheckNames = append(append([]string(nil), CheckNames...), CheckScalelite)

// sshChecks are the checks read from the one remote script.
var sshChecks = map[string]bool{
	CheckServices: true, CheckVersion: true, CheckDisk: true, CheckMemory: true,
	CheckLoad: true, CheckRecordings: true, CheckClock: true,
}

// NeedsSSH reports whether a check reads its data over SSH.
func NeedsSSH(name string) bool { return sshChecks[name] || name == CheckSSH }

// CheckResult is one check of one server.
type CheckResult struct {
	Name    string
	Status  CheckStatus
	Message string // one line
	Value   *float64
	Unit    string // "ms", "%", "days", "s" or "" (a count or a ratio)
	// Fix is the remedy that follows Message, as a value (FixNone when
	// Message says it all); see Fix.
	Fix Fix
}

// ServerCheck is every selected check of one server.
type ServerCheck struct {
	Server Server
	// Status is the worst status of Checks.
	Status CheckStatus
	Checks []CheckResult
	// Release is the BBB release read over SSH ("" when not read).
	Release string
	// Connections and RoundTrips count the SSH connections dialled and the
	// remote commands run for this server (1 and 1 when any SSH check ran).
	Connections, RoundTrips int
	Duration                time.Duration
}

// Get returns the named check, or nil when it was not selected.
func (sc *ServerCheck) Get(name string) *CheckResult {
	for i := range sc.Checks {
		if sc.Checks[i].Name == name {
			return &sc.Checks[i]
		}
	}
	return nil
}

// Problems returns the checks that are not OK, worst first (stable).
func (sc *ServerCheck) Problems() []CheckResult {
	var out []CheckResult
	for _, c := range sc.Checks {
		if c.Status != CheckOK {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Status.Worse(out[j].Status) })
	return out
}

func (sc *ServerCheck) summarize() {
	sc.Status = CheckOK
	for _, c := range sc.Checks {
		sc.Status = WorstStatus(sc.Status, c.Status)
	}
}

// UnknownCheckError is a check name that does not exist (--only, --skip).
type UnknownCheckError struct{ Name string }

func (e *UnknownCheckError) Error() string {
	return fmt.Sprintf("unknown check %q; the checks are %s", e.Name, strings.Join(AllCheckNames, ", "))
}

// ErrNoChecksLeft is SelectChecks' error when only and skip leave nothing
// to run (cmd/ names the flags that did it).
var ErrNoChecksLeft = errors.New("no checks left to run")

// SelectChecks returns the checks to run, in display order: only (all when
// empty) minus skip. Names are validated; an empty result is an error.
func SelectChecks(only, skip []string) ([]string, error) {
	valid := map[string]bool{}
	for _, n := range AllCheckNames {
		valid[n] = true
	}
	norm := func(list []string) (map[string]bool, error) {
		m := map[string]bool{}
		for _, item := range list {
			for n := range strings.SplitSeq(item, ",") {
				n = strings.ToLower(strings.TrimSpace(n))
				if n == "" {
					continue
				}
				if !valid[n] {
					return nil, &UnknownCheckError{Name: n}
				}
				m[n] = true
			}
		}
		return m, nil
	}
	o, err := norm(only)
	if err != nil {
		return nil, err
	}
	s, err := norm(skip)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range AllCheckNames {
		if (len(o) == 0 || o[n]) && !s[n] {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoChecksLeft
	}
	return out, nil
}

// ApplyVersionDrift compares the releases read over SSH across the
// servers: a server not on the fleet's most common release gets a WARNING
// version check naming both releases (unless it is already worse). On a
// tie the highest release counts as the fleet's. Servers whose release
// could not be read are left out.
func ApplyVersionDrift(results []*ServerCheck) { applyVersionDrift(results, nil) }

// applyVersionDrift is ApplyVersionDrift with the releases of servers that
// were not checked counted in the fleet too.
func applyVersionDrift(results []*ServerCheck, others []string) {
	count := map[string]int{}
	total := 0
	for _, rel := range others {
		count[rel]++
		total++
	}
	for _, r := range results {
		if r != nil && r.Release != "" {
			count[r.Release]++
			total++
		}
	}
	if len(count) < 2 {
		return
	}
	common := ""
	for rel, n := range count {
		if common == "" || n > count[common] || n == count[common] && CompareVersions(rel, common) > 0 {
			common = rel
		}
	}
	for _, r := range results {
		if r == nil || r.Release == "" {
			continue
		}
		c := r.Get(CheckVersion)
		if c == nil {
			continue
		}
		if r.Release == common {
			c.Message = fmt.Sprintf("%s (like %d of %d servers)", r.Release, count[common], total)
			continue
		}
		if CheckWarning.Worse(c.Status) {
			c.Status = CheckWarning
		}
		c.Message = fmt.Sprintf("%s, but %d of %d servers run %s", r.Release, count[common], total, common)
		r.summarize()
	}
}

// CompareVersions compares dotted release strings numerically where they
// are numbers ("3.0.10" > "3.0.9"), textually otherwise.
func CompareVersions(a, b string) int {
	as, bs := splitVersion(a), splitVersion(b)
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y string
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.Atoi(x)
		yn, yerr := strconv.Atoi(y)
		switch {
		case xerr == nil && yerr == nil:
			if xn != yn {
				if xn < yn {
					return -1
				}
				return 1
			}
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func splitVersion(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '-' || r == '~' || r == '+' })
}
