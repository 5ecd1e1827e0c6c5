package bbb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// FuzzDecodeMeetings checks that no input makes the decoders panic and that
// what they return stays proportional to the input (the client caps the
// input at MaxBody).
func FuzzDecodeMeetings(f *testing.F) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(handmadeGetMeetings))
	f.Add([]byte(`<response><returncode>FAILED</returncode><errors><error><key>k</key><message>m</message></error></errors></response>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><response><returncode>SUCCESS</returncode><running>true</running></response>`))

	f.Add([]byte(hostileGetMeetings))
	f.Add([]byte("<response><returncode>SUCCESS</returncode><meetings><meeting><meetingName>&#x00001b;\x1b&#27</meetingName></meeting></meetings></response>"))

	f.Fuzz(func(t *testing.T, body []byte) {
		if int64(len(body)) > DefaultMaxBody {
			t.Skip()
		}
		// The character filter: nothing XML forbids survives it, reading
		// one byte at a time changes nothing, and a body without anything
		// to repair passes byte for byte.
		in := utf8Body(body)
		out := filterAll(t, bytes.NewReader(in))
		checkFiltered(t, out)
		if one := filterAll(t, iotest.OneByteReader(bytes.NewReader(in))); !bytes.Equal(one, out) {
			t.Fatalf("one byte at a time: %q, at once: %q", one, out)
		}
		if !bytes.Contains(in, []byte("&#")) && utf8.Valid(in) && !bytes.ContainsFunc(in, func(r rune) bool {
			return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
		}) && !bytes.Equal(in, out) {
			t.Fatalf("clean body changed: %q -> %q", in, out)
		}
		ms, err := DecodeMeetings(body)
		if err != nil {
			_ = err.Error()
			_ = Reason(err)
			_ = IsSecretRejected(err)
		} else {
			if ms == nil {
				t.Fatal("nil slice without error")
			}
			// Every meeting and attendee needs at least "<meeting/>" or
			// "<attendee/>" in the input.
			att := 0
			for i := range ms {
				att += len(ms[i].Attendees)
			}
			if len(ms)*len("<meeting/>") > len(body) || att*len("<attendee/>") > len(body) {
				t.Fatalf("%d meetings, %d attendees from %d bytes", len(ms), att, len(body))
			}
			_ = Summarize(ms, time.Time{})
		}
		if m, err := DecodeMeetingInfo(body); err == nil && m == nil {
			t.Fatal("nil meeting without error")
		}
		_ = ParseStatus(string(body))
		_, _, _ = ParseSecret(string(body))
		_, _ = ParseVersion(string(body))
		_, _ = ParseRelease(string(body))
		_ = looksHTML(body, "")
	})
}
