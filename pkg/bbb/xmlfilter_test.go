package bbb

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/bbbfleet/bbbfleet/pkg/bbb/bbbtest"
)

// hostileGetMeetings has, in names, attendee names and metadata, every kind
// of character XML 1.0 forbids, raw and as character references.
const hostileGetMeetings = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><returncode>SUCCESS</returncode><meetings>" +
	"<meeting><meetingName>Raw \x1b]0;owned\x07\x1b[2J</meetingName><meetingID>m1</meetingID><participantCount>2</participantCount><moderatorCount>1</moderatorCount>" +
	"<attendees><attendee><fullName>NUL\x00 and \x0b</fullName><role>MODERATOR</role></attendee><attendee><fullName>&#27;[31mred</fullName><role>VIEWER</role></attendee></attendees>" +
	"<metadata><bbb-context>ctx &#0; &#x0000001B; &#xFFFE; &#1114112; \xff\xfe bad utf8</bbb-context></metadata></meeting>" +
	"<meeting><meetingName>Ref &#x1b;]0;owned&#x7;&#X;</meetingName><meetingID>m2</meetingID><participantCount>3</participantCount></meeting>" +
	"<meeting><meetingName>Fine &#65;&#x42;&#0067; &amp; &#9;tab &#xD800; \u00e4</meetingName><meetingID>m3</meetingID><participantCount>4</participantCount></meeting>" +
	"</meetings></response>"

func TestDecodeForbiddenCharacters(t *testing.T) {
	ms, err := DecodeMeetings([]byte(strings.Replace(hostileGetMeetings, "&#X;", "", 1)))
	if err != nil {
		t.Fatalf("one hostile name hides the server: %v", err)
	}
	if len(ms) != 3 {
		t.Fatalf("%d meetings, want 3", len(ms))
	}
	if l := Summarize(ms, ms[0].Created()); l.Meetings != 3 || l.Participants != 9 || l.Moderators != 1 {
		t.Errorf("load %+v", l)
	}
	const r = "\uFFFD"
	want := []struct{ got, want string }{
		{ms[0].MeetingName, "Raw " + r + "]0;owned" + r + r + "[2J"},
		{ms[0].Attendees[0].FullName, "NUL" + r + " and " + r},
		{ms[0].Attendees[1].FullName, r + "[31mred"},
		{ms[0].Metadata["bbb-context"], "ctx " + r + " " + r + " " + r + " " + r + " " + r + r + " bad utf8"},
		{ms[1].MeetingName, "Ref " + r + "]0;owned" + r},
		{ms[2].MeetingName, "Fine ABC & \ttab " + r + " ä"},
	}
	for i, w := range want {
		if w.got != w.want {
			t.Errorf("%d: %q, want %q", i, w.got, w.want)
		}
	}
	// A reference without digits stays malformed XML (the server's
	// escaping is broken, not a name): an error, never a panic.
	var me *MalformedXMLError
	if _, err := DecodeMeetings([]byte(hostileGetMeetings)); !errors.As(err, &me) {
		t.Errorf("&#X;: %T %v, want a MalformedXMLError", err, err)
	}
	// getMeetingInfo and the attendee list there too.
	m, err := DecodeMeetingInfo([]byte("<response><returncode>SUCCESS</returncode><meetingName>a\x1bb&#x1b;</meetingName><participantCount>1</participantCount></response>"))
	if err != nil || m.MeetingName != "a"+r+"b"+r || m.ParticipantCount != 1 {
		t.Errorf("%+v %v", m, err)
	}
	// An API error message with a forbidden character is still an API error.
	_, err = DecodeMeetings([]byte("<response><returncode>FAILED</returncode><messageKey>x</messageKey><message>bad \x1b[2J</message></response>"))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "bad "+r+"[2J" {
		t.Errorf("%v", err)
	}
}

func TestDecodeForbiddenLatin1(t *testing.T) {
	body := []byte("<?xml version='1.0' encoding='ISO-8859-1'?><response><returncode>SUCCESS</returncode><meetings><meeting><meetingName>K\xe4se\x1b&#27;</meetingName></meeting></meetings></response>")
	ms, err := DecodeMeetings(body)
	if err != nil || len(ms) != 1 || ms[0].MeetingName != "Käse\uFFFD\uFFFD" {
		t.Fatalf("%+v %v", ms, err)
	}
}

func filterAll(t testing.TB, r io.Reader) []byte {
	t.Helper()
	out, err := io.ReadAll(newCharFilter(r))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCharFilterTransparent: a well-formed body passes byte for byte, in
// one read or one byte at a time.
func TestCharFilterTransparent(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.xml")
	bodies := [][]byte{[]byte(handmadeGetMeetings), bbbtest.GetMeetingsXML(30, 500)}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	for i, b := range bodies {
		if got := filterAll(t, bytes.NewReader(b)); !bytes.Equal(got, b) {
			t.Errorf("body %d changed by the filter", i)
		}
		if got := filterAll(t, iotest.OneByteReader(bytes.NewReader(b))); !bytes.Equal(got, b) {
			t.Errorf("body %d changed by the filter reading one byte at a time", i)
		}
	}
}

func TestCharFilterCases(t *testing.T) {
	long := strings.Repeat("0", 100000)
	tests := []struct{ in, want string }{
		{"a\x1bb", "a\uFFFDb"},
		{"\t\n\r", "\t\n\r"},
		{"&#27;", "&#xFFFD;"},
		{"&#x1B;&#x1b;&#X1b;", "&#xFFFD;&#xFFFD;&#X1b;"}, // &#X is not a reference
		{"&#9;&#10;&#13;&#32;", "&#9;&#10;&#13;&#32;"},
		{"&#x" + long + "1b;", "&#xFFFD;"},
		{"&#" + long + "65;", "&#65;"},
		{"&#" + long + ";", "&#xFFFD;"}, // NUL, however many zeros
		{"&#x110000;&#99999999999999999999;", "&#xFFFD;&#xFFFD;"},
		{"&#xFFFD;&#xfffe;&#65535;", "&#xFFFD;&#xFFFD;&#xFFFD;"},
		{"&amp;&lt;&#", "&amp;&lt;&#"},
		{"&#27 x", "&#27 x"},
		{"&#;&#x;", "&#;&#x;"},
		{"&", "&"},
		{"\xef\xbf\xbe\xef\xbf\xbf", "\uFFFD\uFFFD"},
		{"\xe6\x97", "\uFFFD\uFFFD"}, // truncated at EOF
		{"\xe6\x97\xa5", "日"},
	}
	for _, tt := range tests {
		for _, one := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if one {
				r = iotest.OneByteReader(r)
			}
			if got := string(filterAll(t, r)); got != tt.want {
				t.Errorf("%.40q (one byte at a time: %v): %.60q, want %.60q", tt.in, one, got, tt.want)
			}
		}
	}
}

// checkFiltered asserts that the filter's output holds nothing XML 1.0
// forbids.
func checkFiltered(t *testing.T, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("invalid UTF-8 left: %q", out)
	}
	for _, r := range string(out) {
		if !(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF) {
			t.Fatalf("forbidden %U left in %q", r, out)
		}
	}
}
