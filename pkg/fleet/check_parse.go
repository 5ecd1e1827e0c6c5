package fleet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The SSH checks read everything in one round trip: one constant script
// (built only from the fragments below, nothing from the config) prints
// delimited sections that ParseSections splits again:
//
//	@@bbbfleet:begin NAME
//	...output of the section's command, stdout and stderr...
//	@@bbbfleet:end NAME EXIT-STATUS
//
// The end marker is preceded by a newline of its own, so output without a
// final newline cannot swallow it. Sections run in this order; bbb-conf,
// the slowest, comes last so that a hanging systemctl costs only itself.
const (
	sectionBegin = "@@bbbfleet:begin "
	sectionEnd   = "@@bbbfleet:end "
)

// Script sections and the checks that need them.
const (
	secClock      = "clock"
	secRelease    = "release"
	secLoadavg    = "loadavg"
	secNproc      = "nproc"
	secMeminfo    = "meminfo"
	secDf         = "df"
	secRecordings = "recordings"
	secStatus     = "status"
)

// The paths df reports on: the root file system and the one holding the
// recordings.
const (
	recordingsRoot = "/var/bigbluebutton"
	failDir        = "/var/bigbluebutton/recording/status"
)

type scriptSection struct {
	name   string
	cmd    string // a constant command line
	checks []string
}

var scriptSections = []scriptSection{
	// The clock first, printed in one write together with its markers so
	// that the first byte received bounds when date ran.
	{secClock, "", []string{CheckClock}},
	{secRelease, "cat /etc/bigbluebutton/bigbluebutton-release", []string{CheckVersion}},
	{secLoadavg, "cat /proc/loadavg", []string{CheckLoad}},
	{secNproc, "nproc", []string{CheckLoad}},
	{secMeminfo, "cat /proc/meminfo", []string{CheckMemory}},
	{secDf, "df -P -k / " + recordingsRoot, []string{CheckDisk}},
	{secRecordings, "find " + failDir + " -type f -name '*.fail'", []string{CheckRecordings}},
	{secStatus, "bbb-conf --status", []string{CheckServices}},
}

// CheckScript returns the remote script for the selected checks ("" when
// none needs SSH). It is a constant per selection: no configuration value
// is ever part of it.
func CheckScript(checks []string) string {
	want := map[string]bool{}
	for _, c := range checks {
		want[c] = true
	}
	var b strings.Builder
	for _, s := range scriptSections {
		need := false
		for _, c := range s.checks {
			need = need || want[c]
		}
		if !need {
			continue
		}
		if s.name == secClock {
			b.WriteString(`t=$(date +%s.%N); printf '` + sectionBegin + secClock + `\n%s\n` + sectionEnd + secClock + ` %s\n' "$t" "$?"` + "\n")
			continue
		}
		fmt.Fprintf(&b, "echo '%s%s'; %s 2>&1; printf '\\n%s%s %%s\\n' \"$?\"\n", sectionBegin, s.name, s.cmd, sectionEnd, s.name)
	}
	return b.String()
}

// Section is one section of the script's output.
type Section struct {
	Body string
	// Exit is the exit status of the section's command (-1 until Done).
	Exit int
	// Done is true when the end marker was seen.
	Done bool
}

// maxSectionBytes bounds what is kept of one section.
const maxSectionBytes = 1 << 20

// ParseSections splits the script's output into its sections. Text outside
// sections is ignored; a section without its end marker (the script was cut
// off) has Done false; a repeated section keeps its first occurrence. It
// never fails: whatever the input, it returns what it could recognise.
func ParseSections(out string) map[string]Section {
	secs := map[string]Section{}
	var cur string
	var body []string
	size := 0
	open := false
	flush := func(exit int, done bool) {
		if _, seen := secs[cur]; !seen {
			if done && len(body) > 0 && body[len(body)-1] == "" {
				body = body[:len(body)-1] // the newline printed before the end marker
			}
			secs[cur] = Section{Body: strings.Join(body, "\n"), Exit: exit, Done: done}
		}
		open, body, size = false, nil, 0
	}
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.HasPrefix(line, sectionBegin):
			if open {
				flush(-1, false)
			}
			cur = strings.TrimSpace(line[len(sectionBegin):])
			open = true
		case open && isEnd(line, cur):
			f := strings.Fields(line[len(sectionEnd):])
			exit := -1
			if len(f) > 1 {
				if n, err := strconv.Atoi(f[1]); err == nil && n >= 0 && n < 256 {
					exit = n
				}
			}
			flush(exit, true)
		case open:
			if size < maxSectionBytes {
				body = append(body, line)
				size += len(line) + 1
			}
		}
	}
	if open {
		flush(-1, false)
	}
	return secs
}

// isEnd reports whether line is the end marker of section cur (another
// section's end marker is just output).
func isEnd(line, cur string) bool {
	if !strings.HasPrefix(line, sectionEnd) {
		return false
	}
	f := strings.Fields(line[len(sectionEnd):])
	return len(f) > 0 && f[0] == cur
}

// firstLine returns the first non-empty line of s, whole: messages are
// shortened only where they are shown in a table cell.
func firstLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" {
			return l
		}
	}
	return ""
}

// oneLine joins the non-empty lines of an error message with "; ", so that
// a message of several lines keeps every line in a one-line field.
func oneLine(s string) string {
	var parts []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// ParseEpoch reads `date +%s.%N` ("1767600000.123456789"; "1767600000.N"
// where %N is not supported).
func ParseEpoch(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}, fmt.Errorf("not a time: %q", shortQ(s))
	}
	ns := int64(0)
	if len(frac) > 0 && frac[0] >= '0' && frac[0] <= '9' {
		digits := frac
		for i, r := range digits {
			if r < '0' || r > '9' {
				digits = digits[:i]
				break
			}
		}
		if len(digits) > 9 {
			digits = digits[:9]
		}
		v, _ := strconv.ParseInt(digits, 10, 64)
		for i := len(digits); i < 9; i++ {
			v *= 10
		}
		ns = v
	}
	return time.Unix(n, ns), nil
}

// ParseLoadavg reads /proc/loadavg: "0.42 0.35 0.30 2/380 48213".
func ParseLoadavg(s string) ([3]float64, error) {
	var l [3]float64
	f := strings.Fields(s)
	if len(f) < 3 {
		return l, fmt.Errorf("not /proc/loadavg: %q", shortQ(s))
	}
	for i := range 3 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || v < 0 || v != v || v > 1e9 {
			return l, fmt.Errorf("not /proc/loadavg: %q", shortQ(s))
		}
		l[i] = v
	}
	return l, nil
}

// ParseNproc reads the output of nproc.
func ParseNproc(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 1<<20 {
		return 0, fmt.Errorf("nproc printed %q", shortQ(s))
	}
	return n, nil
}

// ParseMeminfo reads MemTotal and MemAvailable (bytes) from /proc/meminfo.
// Kernels before 3.14 have no MemAvailable: MemFree + Buffers + Cached
// stands in.
func ParseMeminfo(s string) (total, avail uint64, err error) {
	kv := map[string]uint64{}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || n > 1<<50 {
			continue
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n *= 1024
		}
		kv[strings.TrimSpace(k)] = n
	}
	total, ok := kv["MemTotal"]
	if !ok || total == 0 {
		return 0, 0, errors.New("no MemTotal in /proc/meminfo")
	}
	avail, ok = kv["MemAvailable"]
	if !ok {
		avail = kv["MemFree"] + kv["Buffers"] + kv["Cached"]
	}
	return total, min(avail, total), nil
}

// DfRow is one file system line of `df -P -k`, sizes in bytes.
type DfRow struct {
	Device, Mount     string
	Size, Used, Avail uint64
}

// UsedPercent is used / (used + available), as df computes Capacity
// (space reserved for root does not count as available).
func (r DfRow) UsedPercent() float64 {
	if r.Used+r.Avail == 0 {
		return 0
	}
	return float64(r.Used) * 100 / float64(r.Used+r.Avail)
}

// ParseDf reads `df -P -k PATH...`: a header, then one line per path in the
// order given. Lines that are not file system lines (errors, the header)
// are skipped; the device and mount point may contain spaces.
func ParseDf(s string) []DfRow {
	var rows []DfRow
	for line := range strings.SplitSeq(s, "\n") {
		f := strings.Fields(line)
		for i := 1; i+4 < len(f); i++ {
			size, e1 := strconv.ParseUint(f[i], 10, 64)
			used, e2 := strconv.ParseUint(f[i+1], 10, 64)
			avail, e3 := strconv.ParseUint(f[i+2], 10, 64)
			pct := f[i+3]
			if e1 != nil || e2 != nil || e3 != nil || !strings.HasSuffix(pct, "%") && pct != "-" || size > 1<<50 || used > 1<<50 || avail > 1<<50 {
				continue
			}
			rows = append(rows, DfRow{
				Device: strings.Join(f[:i], " "), Mount: strings.Join(f[i+4:], " "),
				Size: size * 1024, Used: used * 1024, Avail: avail * 1024,
			})
			break
		}
	}
	return rows
}

// ParseFails reads find's output: the *.fail files (relative to the status
// directory) and the lines that were errors.
func ParseFails(s string) (fails, errs []string) {
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasSuffix(line, ".fail") && strings.HasPrefix(line, failDir+"/"):
			fails = append(fails, strings.TrimPrefix(line, failDir+"/"))
		default:
			errs = append(errs, line)
		}
	}
	return fails, errs
}

func shortQ(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
}
