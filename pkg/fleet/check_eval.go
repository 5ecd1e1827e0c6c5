package fleet

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

// The functions in this file turn what was read from a server into a check
// result against the thresholds. They are pure: no I/O, no clock.

func val(v float64) *float64 { return &v }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// NotChecked is an UNKNOWN result saying why a check could not run.
func NotChecked(name, why string) CheckResult {
	return CheckResult{Name: name, Status: CheckUnknown, Message: "not checked: " + why}
}

// EvalServices judges the units of `bbb-conf --status` (2.7 and 3.0 unit
// sets alike): failed or inactive is CRITICAL, activating (or any other
// state that is not active) is WARNING; the message names the units.
func EvalServices(units []bbb.UnitStatus) CheckResult {
	r := CheckResult{Name: CheckServices}
	if len(units) == 0 {
		r.Status, r.Message = CheckUnknown, "bbb-conf --status listed no units"
		return r
	}
	var crit, warn []string
	for _, u := range units {
		switch {
		case u.State == "active" && u.OK:
		case u.State == "failed" || u.State == "inactive":
			crit = append(crit, u.Unit+" "+u.State)
		default:
			warn = append(warn, u.Unit+" "+u.State)
		}
	}
	switch {
	case len(crit) > 0:
		r.Status = CheckCritical
	case len(warn) > 0:
		r.Status = CheckWarning
	default:
		r.Message = fmt.Sprintf("%d units active", len(units))
		return r
	}
	r.Message = strings.Join(append(summarizeUnits(crit), summarizeUnits(warn)...), ", ")
	return r
}

// summarizeUnits keeps a few "unit state" entries as they are and folds
// longer runs of one state (a stopped server has 15 inactive units) into
// "15 units inactive: a, b, c and 12 more".
func summarizeUnits(entries []string) []string {
	const keep = 4
	var states []string
	byState := map[string][]string{}
	for _, e := range entries {
		unit, state, _ := strings.Cut(e, " ")
		if _, ok := byState[state]; !ok {
			states = append(states, state)
		}
		byState[state] = append(byState[state], unit)
	}
	var out []string
	for _, st := range states {
		units := byState[st]
		if len(units) <= keep {
			for _, u := range units {
				out = append(out, u+" "+st)
			}
			continue
		}
		out = append(out, fmt.Sprintf("%d units %s: %s and %d more", len(units), st, strings.Join(units[:3], ", "), len(units)-3))
	}
	return out
}

// EvalDisk judges the file systems of / and /var/bigbluebutton (rows in
// that order; the same file system is shown once) by the percentage used.
// The value is the highest percentage.
func EvalDisk(rows []DfRow, th CheckThresholds) CheckResult {
	r := CheckResult{Name: CheckDisk}
	if len(rows) == 0 {
		r.Status, r.Message = CheckUnknown, "df printed no file system"
		return r
	}
	labels := []string{"/", recordingsRoot}
	worst := 0.0
	var parts []string
	seen := map[string]int{}
	for i, row := range rows {
		label := row.Mount
		if i < len(labels) {
			label = labels[i]
		}
		key := row.Device + "\x00" + row.Mount
		if j, dup := seen[key]; dup {
			parts[j] += " (also " + label + ")"
			continue
		}
		pct := row.UsedPercent()
		worst = max(worst, pct)
		seen[key] = len(parts)
		parts = append(parts, fmt.Sprintf("%s %.0f%% used, %s free", label, pct, gib(row.Avail)))
	}
	r.Value, r.Unit = val(round(worst, 1)), "%"
	r.Message = strings.Join(parts, "; ")
	switch {
	case worst >= float64(th.DiskCriticalPct):
		r.Status = CheckCritical
	case worst >= float64(th.DiskWarningPct):
		r.Status = CheckWarning
	}
	if len(rows) < 2 {
		r.Status = WorstStatus(r.Status, CheckWarning)
		r.Message += "; " + recordingsRoot + " not found"
	}
	return r
}

func gib(b uint64) string {
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// EvalMemory judges the memory in use: total minus available.
func EvalMemory(total, avail uint64, th CheckThresholds) CheckResult {
	r := CheckResult{Name: CheckMemory}
	if total == 0 {
		r.Status, r.Message = CheckUnknown, "no memory size"
		return r
	}
	avail = min(avail, total)
	pct := float64(total-avail) * 100 / float64(total)
	r.Value, r.Unit = val(round(pct, 1)), "%"
	r.Message = fmt.Sprintf("%.0f%% used, %s of %s available", pct, gib(avail), gib(total))
	switch {
	case pct >= float64(th.MemoryCriticalPct):
		r.Status = CheckCritical
	case pct >= float64(th.MemoryWarningPct):
		r.Status = CheckWarning
	}
	return r
}

// EvalLoad judges the 5-minute load average per core (less jumpy than the
// 1-minute one for a check run every few minutes).
func EvalLoad(load [3]float64, cores int, th CheckThresholds) CheckResult {
	r := CheckResult{Name: CheckLoad}
	if cores < 1 {
		r.Status, r.Message = CheckUnknown, "no core count"
		return r
	}
	per := load[1] / float64(cores)
	r.Value = val(round(per, 3))
	r.Message = fmt.Sprintf("%.2f per core over 5 min (load %.2f %.2f %.2f, %d cores)", per, load[0], load[1], load[2], cores)
	switch {
	case per >= th.LoadCriticalPerCP:
		r.Status = CheckCritical
	case per >= th.LoadWarningPerCPU:
		r.Status = CheckWarning
	}
	return r
}

// EvalRecordings: any *.fail file under the recording status directory is
// a WARNING with the count (paths relative to the status directory).
func EvalRecordings(fails []string) CheckResult {
	r := CheckResult{Name: CheckRecordings, Value: val(float64(len(fails)))}
	if len(fails) == 0 {
		r.Message = "no failed recording steps"
		return r
	}
	sorted := append([]string(nil), fails...)
	sort.Strings(sorted)
	shown := sorted
	if len(shown) > 3 {
		shown = shown[:3]
	}
	more := ""
	if len(sorted) > len(shown) {
		more = fmt.Sprintf(", +%d more", len(sorted)-len(shown))
	}
	word := "steps"
	if len(fails) == 1 {
		word = "step"
	}
	r.Status = CheckWarning
	r.Message = fmt.Sprintf("%d failed recording %s: %s%s (bbb-record --rebuild ID)", len(fails), word, strings.Join(shown, ", "), more)
	return r
}

// EvalClock judges the server's clock offset from ours. The offset is known
// to within ±uncertainty (half the time the answer took); the status uses
// the smallest offset consistent with the measurement, so a slow link never
// makes a clock look wrong. The value is the offset in seconds (positive:
// the server is ahead).
func EvalClock(offset, uncertainty time.Duration, th CheckThresholds) CheckResult {
	r := CheckResult{Name: CheckClock, Unit: "s"}
	r.Value = val(round(offset.Seconds(), 3))
	abs := offset.Abs()
	least := abs - uncertainty.Abs()
	dir := "ahead of"
	if offset < 0 {
		dir = "behind"
	}
	switch {
	case least > th.ClockSkewCritical.D():
		r.Status = CheckCritical
	case least > th.ClockSkewWarning.D():
		r.Status = CheckWarning
	}
	if r.Status == CheckOK {
		r.Message = fmt.Sprintf("offset %+.3f s (±%.3f s)", offset.Seconds(), uncertainty.Abs().Seconds())
	} else {
		r.Message = fmt.Sprintf("%.1f s %s ours (±%.3f s)", abs.Seconds(), dir, uncertainty.Abs().Seconds())
	}
	return r
}

// CertInfo is what the TLS handshake with the API host showed.
type CertInfo struct {
	// Host is the host name (or IP) the certificate must be valid for.
	Host string
	// Leaf is the server's certificate; nil when none was received.
	Leaf *x509.Certificate
	// NotAfter is the earliest expiry in the presented chain (leaf and
	// intermediates): what breaks first.
	NotAfter time.Time
	// VerifyErr is the result of verifying the chain against the system
	// roots plus api.ca_file, for Host, at the time of the check.
	VerifyErr error
}

// EvalCertificate judges the certificate: expired, not yet valid, wrong
// name or an unknown authority are CRITICAL; otherwise the days left
// against certificate_warning_days and certificate_critical_days. The value
// is the days left (negative once expired).
func EvalCertificate(ci CertInfo, now time.Time, th CheckThresholds) CheckResult {
	r := CheckResult{Name: CheckCertificate, Unit: "days"}
	if ci.Leaf == nil {
		r.Status, r.Message, r.Unit = CheckCritical, "no certificate received", ""
		return r
	}
	notAfter := ci.NotAfter
	if notAfter.IsZero() {
		notAfter = ci.Leaf.NotAfter
	}
	days := notAfter.Sub(now).Hours() / 24
	r.Value = val(round(days, 1))
	date := notAfter.UTC().Format(time.DateOnly)
	var (
		he x509.HostnameError
		ie x509.CertificateInvalidError
		ue x509.UnknownAuthorityError
	)
	switch {
	case now.After(notAfter):
		r.Status = CheckCritical
		r.Message = fmt.Sprintf("expired %s ago, on %s", daysText(-days), date)
		return r
	case now.Before(ci.Leaf.NotBefore):
		r.Status = CheckCritical
		r.Message = fmt.Sprintf("not valid before %s (check the clocks)", ci.Leaf.NotBefore.UTC().Format(time.RFC3339))
		return r
	case errors.As(ci.VerifyErr, &he):
		r.Status = CheckCritical
		r.Message = fmt.Sprintf("wrong name: valid for %s, not %s", certNames(ci.Leaf), ci.Host)
		return r
	case errors.As(ci.VerifyErr, &ie) && ie.Reason == x509.Expired:
		r.Status = CheckCritical
		r.Message = "a certificate of the chain has expired or is not yet valid"
		return r
	case errors.As(ci.VerifyErr, &ue):
		r.Status = CheckCritical
		r.Message = "signed by an unknown authority (for a private CA, set api.ca_file)"
		return r
	case ci.VerifyErr != nil:
		r.Status = CheckCritical
		r.Message = "invalid: " + firstLine(ci.VerifyErr.Error())
		return r
	}
	switch {
	case days < float64(th.CertCriticalDays):
		r.Status = CheckCritical
	case days < float64(th.CertWarningDays):
		r.Status = CheckWarning
	}
	if r.Status == CheckOK {
		r.Message = fmt.Sprintf("valid for %s, until %s", daysText(days), date)
	} else {
		r.Message = fmt.Sprintf("expires in %s, on %s", daysText(days), date)
	}
	return r
}

func daysText(d float64) string {
	if d < 1 {
		return fmt.Sprintf("%.0f hours", d*24)
	}
	n := int(d)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func certNames(c *x509.Certificate) string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		if c.Subject.CommonName != "" {
			return c.Subject.CommonName + " (common name only)"
		}
		return "no names"
	}
	return strings.Join(names, ", ")
}

// ClockReading is when the server's date was read: the server's time and
// the local interval in which it must have been taken.
type ClockReading struct {
	Sent, Received time.Time
}

// EvalSections turns the remote script's sections into the results of the
// selected SSH checks (in CheckNames order). A section that is missing or
// was cut off gives an UNKNOWN result saying why (incomplete).
func EvalSections(checks []string, secs map[string]Section, clock ClockReading, th CheckThresholds, incomplete string) ([]CheckResult, string) {
	release := ""
	var out []CheckResult
	need := func(name string, r *CheckResult, sections ...string) bool {
		for _, s := range sections {
			if sec, ok := secs[s]; !ok || !sec.Done {
				*r = NotChecked(name, incomplete)
				return false
			}
		}
		return true
	}
	failed := func(name string, sec Section) CheckResult {
		msg := firstLine(sec.Body)
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", sec.Exit)
		}
		return CheckResult{Name: name, Status: CheckUnknown, Message: "cannot read: " + msg}
	}
	for _, name := range checks {
		if !sshChecks[name] {
			continue
		}
		var r CheckResult
		switch name {
		case CheckServices:
			if !need(name, &r, secStatus) {
				break
			}
			sec := secs[secStatus]
			units := bbb.ParseStatus(sec.Body)
			if sec.Exit == 127 && len(units) == 0 {
				r = CheckResult{Name: name, Status: CheckCritical, Message: "bbb-conf not found: is BigBlueButton installed?"}
				break
			}
			r = EvalServices(units)
			if len(units) == 0 && firstLine(sec.Body) != "" {
				r.Message += ": " + firstLine(sec.Body)
			}
		case CheckVersion:
			if !need(name, &r, secRelease) {
				break
			}
			sec := secs[secRelease]
			if sec.Exit != 0 {
				r = failed(name, sec)
				break
			}
			rel, err := bbb.ParseRelease(sec.Body)
			if err != nil {
				r = CheckResult{Name: name, Status: CheckUnknown, Message: err.Error()}
				break
			}
			release = rel
			r = CheckResult{Name: name, Message: rel}
		case CheckDisk:
			if !need(name, &r, secDf) {
				break
			}
			rows := ParseDf(secs[secDf].Body)
			if len(rows) == 0 {
				r = failed(name, secs[secDf])
				break
			}
			r = EvalDisk(rows, th)
		case CheckMemory:
			if !need(name, &r, secMeminfo) {
				break
			}
			total, avail, err := ParseMeminfo(secs[secMeminfo].Body)
			if err != nil {
				r = failed(name, secs[secMeminfo])
				break
			}
			r = EvalMemory(total, avail, th)
		case CheckLoad:
			if !need(name, &r, secLoadavg, secNproc) {
				break
			}
			l, err := ParseLoadavg(secs[secLoadavg].Body)
			if err != nil {
				r = failed(name, secs[secLoadavg])
				break
			}
			n, err := ParseNproc(secs[secNproc].Body)
			if err != nil {
				r = failed(name, secs[secNproc])
				break
			}
			r = EvalLoad(l, n, th)
		case CheckRecordings:
			if !need(name, &r, secRecordings) {
				break
			}
			sec := secs[secRecordings]
			fails, errs := ParseFails(sec.Body)
			if sec.Exit != 0 && len(fails) == 0 {
				r = failed(name, sec)
				break
			}
			r = EvalRecordings(fails)
			if len(errs) > 0 && r.Status == CheckOK {
				r.Status = CheckUnknown
				r.Message = "partly unreadable: " + firstLine(errs[0])
			}
		case CheckClock:
			if !need(name, &r, secClock) {
				break
			}
			remote, err := ParseEpoch(secs[secClock].Body)
			if err != nil || clock.Sent.IsZero() || clock.Received.Before(clock.Sent) {
				r = failed(name, secs[secClock])
				break
			}
			half := clock.Received.Sub(clock.Sent) / 2
			mid := clock.Sent.Add(half)
			r = EvalClock(remote.Sub(mid), half, th)
		}
		out = append(out, r)
	}
	return out, release
}
