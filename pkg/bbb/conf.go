package bbb

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// UnitStatus is one line of "bbb-conf --status".
type UnitStatus struct {
	// Unit is the systemd unit name as bbb-conf prints it, e.g. "bbb-web".
	Unit string `json:"unit"`
	// State is what "systemctl is-active" printed: active, inactive,
	// failed, activating, ...
	State string `json:"state"`
	// OK is true for a ✔ line; bbb-conf prints ✔ exactly when State is active.
	OK bool `json:"ok"`
}

// Units30 are the units "bbb-conf --status" lists on BBB 3.0 (bbb-webhooks,
// bbb-transcription-controller and livekit-server appear in addition when
// installed).
var Units30 = []string{
	"nginx", "freeswitch", "redis-server", "bbb-apps-akka", "bbb-fsesl-akka",
	"bbb-graphql-actions", "bbb-graphql-middleware", "bbb-graphql-server",
	"bbb-webrtc-sfu", "bbb-webrtc-recorder", "etherpad", "bbb-web", "bbb-pads",
	"bbb-export-annotations", "bbb-rap-caption-inbox", "bbb-rap-resque-worker",
	"bbb-rap-starter",
}

// Units27 are the units "bbb-conf --status" lists on BBB 2.7: no graphql
// units, but mongod, bbb-html5 (plus bbb-html5-backend@N/-frontend@N
// instances) and kurento-media-server.
var Units27 = []string{
	"nginx", "freeswitch", "redis-server", "bbb-apps-akka", "bbb-fsesl-akka",
	"mongod", "bbb-html5", "bbb-webrtc-sfu", "bbb-webrtc-recorder",
	"kurento-media-server", "etherpad", "bbb-web", "bbb-pads",
	"bbb-export-annotations", "bbb-rap-caption-inbox", "bbb-rap-resque-worker",
	"bbb-rap-starter",
}

// statusArrow is bbb-conf's line='—————————————————————————————►':
// 29 EM DASH (U+2014) and one BLACK RIGHT-POINTING POINTER (U+25BA).
var statusArrow = []rune(strings.Repeat("—", 29) + "►")

// statusRe is the regex of the reference, except that the arrow part may be
// empty: bash's ${line:${#unit}} is empty for a unit name of 30 or more
// characters, and then bbb-conf prints two spaces.
var statusRe = lazyRegexp(`^(\S+) (?:\S+)? ?\[(✔|✘) - ([a-z-]+)\]$`)

// unitNameRe is what a systemd unit name may contain.
var unitNameRe = lazyRegexp(`^[A-Za-z0-9:_.@\\-]+$`)

// ParseStatus parses the output of "bbb-conf --status". Lines that are not
// unit lines are ignored, and so is a line whose unit name holds anything a
// systemd unit name cannot (escape sequences and other controls, bidi
// overrides): such a name is not bbb-conf's, and no caller shows it. It also reads output produced in a C locale, where
// bash slices the arrow by bytes. bbb-conf always exits 0: a unit is healthy
// only if its OK is true.
func ParseStatus(out string) []UnitStatus {
	var units []UnitStatus
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimRight(line, "\r \t")
		if !strings.Contains(line, "[") {
			continue
		}
		m := statusRe().FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if !unitNameRe().MatchString(m[1]) {
			continue
		}
		units = append(units, UnitStatus{Unit: m[1], State: m[3], OK: m[2] == "✔"})
	}
	return units
}

// FormatStatus renders units exactly as "bbb-conf --status" does in a UTF-8
// locale:
//
//	line='—————————————————————————————►'
//	printf "%s %s [✔ - %s]\n" $unit "${line:${#unit}}" $status
//
// (✘ instead of ✔ when not OK). ${line:${#unit}} drops as many characters of
// the arrow as the unit name has, so the brackets line up.
func FormatStatus(units []UnitStatus) string {
	var b strings.Builder
	for _, u := range units {
		n := len([]rune(u.Unit))
		arrow := ""
		if n < len(statusArrow) {
			arrow = string(statusArrow[n:])
		}
		mark := "✘"
		if u.OK {
			mark = "✔"
		}
		fmt.Fprintf(&b, "%s %s [%s - %s]\n", u.Unit, arrow, mark, u.State)
	}
	return b.String()
}

var (
	secretURLRe = lazyRegexp(`(?m)^[ \t]*URL:[ \t]*(\S+)`)
	secretRe    = lazyRegexp(`(?m)^[ \t]*(?:Secret|Salt):[ \t]*(\S+)`)
)

// ParseSecret parses "bbb-conf --secret": the "URL:" line and the "Secret:"
// (older docs: "Salt:") line, labels left or right aligned. url is what
// bbb-conf prints (https://HOST/bigbluebutton/, without "api/").
func ParseSecret(out string) (url, secret string, err error) {
	out = strings.ReplaceAll(out, "\r", "")
	if m := secretURLRe().FindStringSubmatch(out); m != nil {
		url = m[1]
	}
	if m := secretRe().FindStringSubmatch(out); m != nil {
		secret = m[1]
	}
	switch {
	case url == "" && secret == "":
		return "", "", errors.New(`no "URL:" and no "Secret:" line in bbb-conf --secret output`)
	case url == "":
		return "", secret, errors.New(`no "URL:" line in bbb-conf --secret output`)
	case secret == "":
		return url, "", errors.New(`no "Secret:" line in bbb-conf --secret output`)
	}
	return url, secret, nil
}

// printable reports whether s holds only printable characters (no
// controls, C1 included, no bidi or other format characters, no invalid
// UTF-8).
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ParseRelease reads the version from /etc/bigbluebutton/bigbluebutton-release
// (BIGBLUEBUTTON_RELEASE=3.0.x), e.g. "3.0.4". A value with control, format
// (bidi) or non-UTF-8 characters is an error, not a release: the value
// travels into tables, labels and comparisons across the fleet.
func ParseRelease(content string) (string, error) {
	for line := range strings.SplitSeq(content, "\n") {
		line = strings.TrimSpace(line)
		v, ok := strings.CutPrefix(line, "BIGBLUEBUTTON_RELEASE=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if v == "" {
			return "", errors.New("BIGBLUEBUTTON_RELEASE is empty")
		}
		if !printable(v) {
			return "", fmt.Errorf("BIGBLUEBUTTON_RELEASE %s has control or non-printable characters", strconv.QuoteToASCII(shorten(v, 40)))
		}
		return v, nil
	}
	return "", errors.New("no BIGBLUEBUTTON_RELEASE= line in bigbluebutton-release")
}

var versionRe = lazyRegexp(`^BigBlueButton Server (\S+)(?: \((\S+)\))?`)

// ParseVersion reads the version from the first line of "bbb-conf
// --version", "BigBlueButton Server 3.0.4 (1234)", and returns "3.0.4". A
// version with control or non-printable characters is an error.
func ParseVersion(out string) (string, error) {
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := versionRe().FindStringSubmatch(line)
		if m == nil || !printable(m[1]) {
			return "", fmt.Errorf("bbb-conf --version: unexpected first line %s", strconv.QuoteToASCII(shorten(line, 80)))
		}
		return m[1], nil
	}
	return "", errors.New("bbb-conf --version printed nothing")
}

// lazyRegexp compiles a regular expression on first use, not at start-up.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
