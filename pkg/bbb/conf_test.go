package bbb

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func readStatus(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The test files are bash's own output of bbb-conf's print loop (see
// testdata/bbb-conf-status.md).
func TestParseStatus(t *testing.T) {
	status30 := readStatus(t, "bbb-conf-status-30-utf8.txt")
	units := ParseStatus("\n\x1b[0mBigBlueButton status\r\n" + status30 + "\n# some other line [x]\n")
	if len(units) != len(Units30) {
		t.Fatalf("%d units, want %d", len(units), len(Units30))
	}
	bad := map[string]string{"bbb-graphql-server": "activating", "bbb-web": "failed", "bbb-rap-starter": "inactive"}
	for i, u := range units {
		if u.Unit != Units30[i] {
			t.Errorf("unit %d = %q, want %q", i, u.Unit, Units30[i])
		}
		want, isBad := bad[u.Unit]
		if !isBad {
			want = "active"
		}
		if u.State != want || u.OK == isBad {
			t.Errorf("%s: %+v", u.Unit, u)
		}
	}
	if FormatStatus(units) != status30 {
		t.Errorf("FormatStatus does not reproduce bbb-conf's output:\n%s", FormatStatus(units))
	}
	if got := ParseStatus(readStatus(t, "bbb-conf-status-30-C.txt")); !reflect.DeepEqual(got, units) {
		t.Errorf("C locale output parsed as %+v", got)
	}
	long := readStatus(t, "bbb-conf-status-long-utf8.txt")
	lu := ParseStatus(long)
	if len(lu) != 2 || lu[0].Unit != "a-very-long-unit-name-of-31-chr" || !lu[0].OK || lu[1].State != "inactive" {
		t.Errorf("long names: %+v", lu)
	}
	if FormatStatus(lu) != long {
		t.Errorf("FormatStatus(long) = %q, want %q", FormatStatus(lu), long)
	}
}

func TestFormatStatusBytes(t *testing.T) {
	// ${line:${#unit}} drops #unit characters of the 30-character arrow line.
	got := FormatStatus([]UnitStatus{{Unit: "nginx", State: "active", OK: true}})
	want := "nginx " + strings.Repeat("—", 24) + "► [✔ - active]\n"
	if got != want {
		t.Errorf("got %q want %q", got, want)
	}
	// The brackets line up: every line has the same number of characters
	// before '['.
	for _, line := range strings.Split(strings.TrimSuffix(FormatStatus(unitsOf(append(Units30, Units27...), "active")), "\n"), "\n") {
		if n := len([]rune(line[:strings.Index(line, "[")])); n != 32 {
			t.Errorf("%q: '[' at rune %d, want 32", line, n)
		}
	}
}

func unitsOf(names []string, state string) []UnitStatus {
	var us []UnitStatus
	for _, n := range names {
		us = append(us, UnitStatus{Unit: n, State: state, OK: state == "active"})
	}
	return us
}

func TestStatusRoundTrip(t *testing.T) {
	tests := [][]UnitStatus{
		unitsOf(Units30, "active"),
		unitsOf(Units27, "failed"),
		unitsOf([]string{"bbb-html5-backend@1", "bbb-html5-frontend@2", "bbb-transcription-controller", "livekit-server", "bbb-webhooks"}, "inactive"),
		// 30+ characters: bash's slice is empty and two spaces remain.
		{{Unit: "a-very-long-unit-name-of-31-chr", State: "active", OK: true}, {Unit: "x", State: "deactivating"}},
		nil,
	}
	for i, units := range tests {
		out := FormatStatus(units)
		got := ParseStatus(out)
		if !reflect.DeepEqual(got, units) {
			t.Errorf("case %d: round trip\n%q\ngave %+v", i, out, got)
		}
	}
}

// In a C locale (SSH without LANG) bash slices the arrow by bytes and may
// cut a '—' in the middle; the lines must still parse.
func TestParseStatusCLocale(t *testing.T) {
	line := "—————————————————————————————►"
	var out strings.Builder
	for _, u := range Units27 {
		out.WriteString(u + " " + line[len(u):] + " [✔ - active]\n")
	}
	got := ParseStatus(out.String())
	if !reflect.DeepEqual(got, unitsOf(Units27, "active")) {
		t.Errorf("%+v", got)
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name, out, url, secret string
		err                    bool
	}{
		{"3.0 right aligned", "\n       URL: https://bbb.example.org/bigbluebutton/\n    Secret: 330a8b08c3b4c61533e1d0c5ce1ac88f\n\n      Link to the API-Mate:\n      https://mconf.github.io/api-mate/#server=...\n",
			"https://bbb.example.org/bigbluebutton/", "330a8b08c3b4c61533e1d0c5ce1ac88f", false},
		{"old Salt left aligned CRLF", "URL: http://10.0.0.5/bigbluebutton/\r\nSalt: abcdef\r\n", "http://10.0.0.5/bigbluebutton/", "abcdef", false},
		{"tabs", "\tURL:\thttps://h/bigbluebutton/\n\tSecret:\tS3\n", "https://h/bigbluebutton/", "S3", false},
		{"no secret", "URL: https://h/bigbluebutton/\n", "https://h/bigbluebutton/", "", true},
		{"no url", "Secret: x\n", "", "x", true},
		{"need root", "Need to be root to run this option\n", "", "", true},
		{"empty value", "URL: https://h/\nSecret:\n", "https://h/", "", true},
	}
	for _, tt := range tests {
		u, s, err := ParseSecret(tt.out)
		if u != tt.url || s != tt.secret || (err != nil) != tt.err {
			t.Errorf("%s: got %q %q %v", tt.name, u, s, err)
		}
	}
}

func TestParseReleaseAndVersion(t *testing.T) {
	rel := []struct {
		in, want string
		err      bool
	}{
		{"BIGBLUEBUTTON_RELEASE=3.0.4\n", "3.0.4", false},
		{"# comment\r\nBIGBLUEBUTTON_RELEASE=2.7.12\r\n", "2.7.12", false},
		{`BIGBLUEBUTTON_RELEASE="3.0.0-rc.1"`, "3.0.0-rc.1", false},
		{"BIGBLUEBUTTON_RELEASE=\n", "", true},
		{"", "", true},
		{"cat: /etc/bigbluebutton/bigbluebutton-release: No such file or directory", "", true},
	}
	for _, tt := range rel {
		got, err := ParseRelease(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseRelease(%q) = %q, %v", tt.in, got, err)
		}
	}
	ver := []struct {
		in, want string
		err      bool
	}{
		{"BigBlueButton Server 3.0.4 (3245)\nii  bbb-web  1:3.0-23 ...\n", "3.0.4", false},
		{"\nBigBlueButton Server 2.7.12 (2786)\r\n", "2.7.12", false},
		{"BigBlueButton Server 3.0.0\n", "3.0.0", false},
		{"Need to be root to run this option\n", "", true},
		{"", "", true},
	}
	for _, tt := range ver {
		got, err := ParseVersion(tt.in)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseVersion(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestUnitLists(t *testing.T) {
	has := func(list []string, u string) bool {
		for _, x := range list {
			if x == u {
				return true
			}
		}
		return false
	}
	for _, u := range []string{"mongod", "bbb-html5", "kurento-media-server"} {
		if has(Units30, u) || !has(Units27, u) {
			t.Errorf("%s: 3.0 %v 2.7 %v", u, has(Units30, u), has(Units27, u))
		}
	}
	for _, u := range Units30 {
		if strings.HasPrefix(u, "bbb-graphql") == has(Units27, u) {
			t.Errorf("%s in both or graphql in 2.7", u)
		}
	}
}

// An empty Secret: line must not capture the next line's first word.
func TestParseSecretEmptyValue(t *testing.T) {
	_, _, err := ParseSecret("\n    URL: https://bbb1.example.org/bigbluebutton/\n    Secret:\n\n    Link to the API-Mate:\n")
	if err == nil {
		t.Fatal("an empty Secret: line was accepted")
	}
}

// TestParseRejectsControls: bbb-conf output with escape sequences, C1 or
// bidi controls in a unit name or a version keeps none of them.
func TestParseRejectsControls(t *testing.T) {
	hostile := []string{"\x1b]0;owned\x07\x1b[2J", "\r", "\u009b2J", "\u202e", "\xff"}
	for _, h := range hostile {
		out := FormatStatus([]UnitStatus{{Unit: "nginx", State: "active", OK: true}, {Unit: "bbb-web" + h, State: "failed"}})
		units := ParseStatus(out)
		if len(units) != 1 || units[0].Unit != "nginx" {
			t.Errorf("%q: %+v", h, units)
		}
		// A trailing CR is a CRLF line end, trimmed; anything else is
		// an error that does not quote the controls raw.
		v, err := ParseRelease("BIGBLUEBUTTON_RELEASE=3.0.4" + h + "\n")
		if h == "\r" {
			if v != "3.0.4" || err != nil {
				t.Errorf("ParseRelease with CRLF: %q %v", v, err)
			}
		} else if err == nil || v != "" {
			t.Errorf("ParseRelease kept %q (%v)", v, err)
		} else if strings.ContainsAny(err.Error(), "\x1b\r\u009b\u202e\xff") {
			t.Errorf("error quotes the controls raw: %q", err)
		}
		v, err = ParseVersion("BigBlueButton Server 3.0.4" + h + " (1)\n")
		if h == "\r" {
			if v != "3.0.4" {
				t.Errorf("ParseVersion with CR: %q %v", v, err)
			}
		} else if err == nil || v != "" {
			t.Errorf("ParseVersion kept %q (%v)", v, err)
		} else if strings.ContainsAny(err.Error(), "\x1b\r\u009b\u202e\xff") {
			t.Errorf("error quotes the controls raw: %q", err)
		}
	}
}
