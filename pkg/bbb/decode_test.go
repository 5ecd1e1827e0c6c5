package bbb

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type expectedCounts struct {
	IsBreakout            bool `json:"isBreakout"`
	ParticipantCount      int  `json:"participantCount"`
	ListenerCount         int  `json:"listenerCount"`
	VoiceParticipantCount int  `json:"voiceParticipantCount"`
	VideoCount            int  `json:"videoCount"`
	ModeratorCount        int  `json:"moderatorCount"`
	Attendees             int  `json:"attendees"`
}

type expectedFile struct {
	File                  string          `json:"file"`
	Call                  string          `json:"call"`
	Bytes                 int             `json:"bytes"`
	Parse                 string          `json:"parse"`
	ReturnCode            *string         `json:"returncode"`
	MessageKey            *string         `json:"messageKey"`
	Meetings              *int            `json:"meetings"`
	BreakoutMeetings      *int            `json:"breakoutMeetings"`
	NonBreakoutMeetings   *int            `json:"nonBreakoutMeetings"`
	ParticipantCount      *int            `json:"participantCount"`
	ListenerCount         *int            `json:"listenerCount"`
	VoiceParticipantCount *int            `json:"voiceParticipantCount"`
	VideoCount            *int            `json:"videoCount"`
	ModeratorCount        *int            `json:"moderatorCount"`
	Attendees             *int            `json:"attendees"`
	ResponseAsMeeting     *expectedCounts `json:"responseAsMeeting"`
}

func loadExpected(t testing.TB) []expectedFile {
	t.Helper()
	raw, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var es []expectedFile
	if err := json.Unmarshal(raw, &es); err != nil {
		t.Fatal(err)
	}
	return es
}

func TestFixturesCoveredByExpected(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	es := loadExpected(t)
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.File] = true
	}
	if len(files) != len(es) || len(files) != 12 {
		t.Fatalf("%d XML files, %d expected.json entries, want 12 each", len(files), len(es))
	}
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no expected.json entry", f)
		}
	}
}

func TestDecodeFixtures(t *testing.T) {
	for _, e := range loadExpected(t) {
		t.Run(e.File, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", e.File))
			if err != nil {
				t.Fatal(err)
			}
			if len(body) != e.Bytes {
				t.Fatalf("file is %d bytes, expected.json says %d (line endings changed by git?)", len(body), e.Bytes)
			}

			r, rerr := decodeResponse(body)
			if e.Parse == "malformed" {
				var me *MalformedXMLError
				if !errors.As(rerr, &me) {
					t.Fatalf("decodeResponse: err %v, want *MalformedXMLError", rerr)
				}
				if !strings.Contains(rerr.Error(), "line 10") {
					t.Errorf("error %q does not name line 10", rerr)
				}
				if _, err := DecodeMeetings(body); !errors.As(err, &me) {
					t.Errorf("DecodeMeetings: err %v, want *MalformedXMLError", err)
				}
				return
			}
			if rerr != nil {
				t.Fatalf("decodeResponse: %v", rerr)
			}
			if e.ReturnCode == nil || r.ReturnCode != *e.ReturnCode {
				t.Errorf("returncode %q, want %v", r.ReturnCode, deref(e.ReturnCode))
			}
			wantKey := ""
			if e.MessageKey != nil {
				wantKey = *e.MessageKey
			}
			if r.MessageKey != wantKey {
				t.Errorf("messageKey %q, want %q", r.MessageKey, wantKey)
			}

			// Counts over <meeting> elements.
			var got struct{ meetings, breakout, nonBreakout, pc, lc, vpc, vc, mc, att int }
			for _, m := range r.Meetings {
				got.meetings++
				if m.IsBreakout {
					got.breakout++
				} else {
					got.nonBreakout++
				}
				got.pc += m.ParticipantCount
				got.lc += m.ListenerCount
				got.vpc += m.VoiceParticipantCount
				got.vc += m.VideoCount
				got.mc += m.ModeratorCount
				got.att += len(m.Attendees)
			}
			got.att += len(r.Top.Attendees)
			checks := []struct {
				name string
				got  int
				want *int
			}{
				{"meetings", got.meetings, e.Meetings},
				{"breakoutMeetings", got.breakout, e.BreakoutMeetings},
				{"nonBreakoutMeetings", got.nonBreakout, e.NonBreakoutMeetings},
				{"participantCount", got.pc, e.ParticipantCount},
				{"listenerCount", got.lc, e.ListenerCount},
				{"voiceParticipantCount", got.vpc, e.VoiceParticipantCount},
				{"videoCount", got.vc, e.VideoCount},
				{"moderatorCount", got.mc, e.ModeratorCount},
				{"attendees", got.att, e.Attendees},
			}
			for _, c := range checks {
				if c.want == nil || c.got != *c.want {
					t.Errorf("%s = %d, want %v", c.name, c.got, deref(c.want))
				}
			}

			// The public entry points.
			switch {
			case *e.ReturnCode == "FAILED":
				var ae *APIError
				var err error
				if e.Call == "getMeetings" {
					_, err = DecodeMeetings(body)
				} else {
					_, err = DecodeMeetingInfo(body)
				}
				if !errors.As(err, &ae) || ae.MessageKey != wantKey {
					t.Errorf("err %v, want *APIError %s", err, wantKey)
				}
			case e.Call == "getMeetings":
				ms, err := DecodeMeetings(body)
				if err != nil || ms == nil || len(ms) != *e.Meetings {
					t.Errorf("DecodeMeetings: %d meetings (nil %v), err %v", len(ms), ms == nil, err)
				}
			case e.Call == "getMeetingInfo":
				m, err := DecodeMeetingInfo(body)
				if err != nil {
					t.Fatal(err)
				}
				w := e.ResponseAsMeeting
				if w == nil {
					t.Fatal("expected.json has no responseAsMeeting")
				}
				g := expectedCounts{m.IsBreakout, m.ParticipantCount, m.ListenerCount,
					m.VoiceParticipantCount, m.VideoCount, m.ModeratorCount, len(m.Attendees)}
				if g != *w {
					t.Errorf("responseAsMeeting = %+v, want %+v", g, *w)
				}
				if m.MeetingID == "" || m.InternalMeetingID == "" || m.CreateTime == 0 {
					t.Errorf("meeting IDs/createTime missing: %+v", m)
				}
			}
		})
	}
}

func deref(p any) any {
	v := reflect.ValueOf(p)
	if v.IsNil() {
		return "null"
	}
	return v.Elem().Interface()
}

// Field-level checks of the fixtures' peculiarities (see SOURCES.md).
func TestDecodeFixtureDetails(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("bbbdocs10 getMeetingInfo trims CRLF inside internalMeetingID", func(t *testing.T) {
		m, err := DecodeMeetingInfo(read("getMeetingInfo-bbbdocs10-1.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if m.InternalMeetingID != "183f0bf3a0982a127bdb8161e0c44eb696b3e75c-1411067830029" {
			t.Errorf("internalMeetingID %q", m.InternalMeetingID)
		}
		if m.MaxUsers != 20 || m.Attendees[1].Role != "MODERATOR" || !m.Attendees[1].IsListeningOnly || m.Attendees[0].CustomData != nil {
			t.Errorf("unexpected %+v", m)
		}
	})

	t.Run("bbbdocs getMeetingInfo 3.0", func(t *testing.T) {
		m, err := DecodeMeetingInfo(read("getMeetingInfo-bbbdocs-1.xml"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"bbb-origin-version":      "summit2024-6d8120x",
			"bbb-origin-server-name":  "test30.bigbluebutton.org",
			"bbb-recording-ready-url": "https://test30.bigbluebutton.org/recording_ready",
			"bbb-origin":              "greenlight",
			"endcallbackurl":          "https://test30.bigbluebutton.org/meeting_ended",
		}
		if !reflect.DeepEqual(m.Metadata, want) {
			t.Errorf("metadata %v", m.Metadata)
		}
		if m.MeetingName != "Anton G's Room" || m.CreateTime != 1715261728123 || m.StartTime != 1715261728142 ||
			!m.Running || !m.Recording || m.DialNumber != "613-555-1234" || m.VoiceBridge != "66052" {
			t.Errorf("fields %+v", m)
		}
		a := m.Attendees[0]
		if a.UserID != "w_ftcrsyuh44oj" || a.FullName != "Anton G" || !a.IsModerator() || !a.IsPresenter ||
			!a.HasJoinedVoice || !a.HasVideo || a.ClientType != "HTML5" || a.CustomData != nil {
			t.Errorf("attendee %+v", a)
		}
		if got := m.Created().UnixMilli(); got != 1715261728123 {
			t.Errorf("Created %d", got)
		}
	})

	t.Run("phpapi getMeetingInfo customdata and metadata", func(t *testing.T) {
		m, err := DecodeMeetingInfo(read("getMeetingInfo-phpapi-1.xml"))
		if err != nil {
			t.Fatal(err)
		}
		cd := m.Attendees[1].CustomData
		wantCD := map[string]string{"skipCheck": "true", "backgroundColor": "#FF0033", "customStyle": "a:focus{color:#0181eb}"}
		if !reflect.DeepEqual(cd, wantCD) || m.Attendees[1].ClientType != "FLASH" {
			t.Errorf("customdata %v clientType %s", cd, m.Attendees[1].ClientType)
		}
		if len(m.Metadata) != 10 {
			t.Errorf("%d metadata keys, want 10: %v", len(m.Metadata), m.Metadata)
		}
		if v := m.Metadata["bn-recording-ready-url"]; v != "http://bigbluebutton.org/moodle/mod/bigbluebuttonbn/bbb_broker.php?action=recording_ready" {
			t.Errorf("multi-line metadata value %q", v)
		}
		if v := m.Metadata["bbb-recording-name"]; v != `Bigbluebutton "Mock meeting for testing getMeetingInfo"` {
			t.Errorf("quoted metadata value %q", v)
		}
		if v, ok := m.Metadata["bbb-recording-tags"]; !ok || v != "" {
			t.Errorf("empty metadata value %q %v", v, ok)
		}
		if m.EndTime != 1453206325002 || m.Duration != 20 {
			t.Errorf("endTime %d duration %d", m.EndTime, m.Duration)
		}
	})

	t.Run("phpapi getMeetings breakouts", func(t *testing.T) {
		ms, err := DecodeMeetings(read("getMeetings-phpapi-1.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if b := ms[1]; !b.IsBreakout || b.ParentMeetingID != "ParentMeetingId" || b.Sequence != 1 || b.FreeJoin {
			t.Errorf("breakout %+v", b)
		}
		if got := ms[2].BreakoutRooms; !reflect.DeepEqual(got, []string{"breakout-room-id-1", "breakout-room-id-2", "breakout-room-id-3"}) {
			t.Errorf("breakoutRooms %v", got)
		}
		if ms[2].ModeratorPW != `n:"zWc##Bi.y,d^s,mMF` || ms[0].ModeratorPW != "$is=CM}xF;108o!Jqd" {
			t.Errorf("passwords %q %q", ms[2].ModeratorPW, ms[0].ModeratorPW)
		}
		for i, m := range ms {
			if len(m.Attendees) != 0 {
				t.Errorf("meeting %d: whitespace-only <attendees> gave %d", i, len(m.Attendees))
			}
		}
	})

	t.Run("bbbdocs10 getMeetings old schema", func(t *testing.T) {
		ms, err := DecodeMeetings(read("getMeetings-bbbdocs10-1.xml"))
		if err != nil {
			t.Fatal(err)
		}
		m := ms[0]
		if m.MeetingID != "Demo Meeting" || m.VoiceBridge != "74518" || m.IsBreakout || m.ModeratorCount != 0 || m.InternalMeetingID != "" {
			t.Errorf("%+v", m)
		}
	})

	t.Run("b3lb noMeetings", func(t *testing.T) {
		ms, err := DecodeMeetings(read("getMeetings-b3lb-1.xml"))
		if err != nil || ms == nil || len(ms) != 0 {
			t.Errorf("got %v (nil %v), %v", ms, ms == nil, err)
		}
	})

	t.Run("infraautoscaler checksumError", func(t *testing.T) {
		_, err := DecodeMeetings(read("getMeetings-infraautoscaler-2.xml"))
		if !IsSecretRejected(err) {
			t.Errorf("IsSecretRejected(%v) = false", err)
		}
	})

	t.Run("marsha notFound", func(t *testing.T) {
		_, err := DecodeMeetingInfo(read("getMeetingInfo-marsha-2.xml"))
		if !IsNotFound(err) || IsSecretRejected(err) {
			t.Errorf("err %v", err)
		}
		if want := "getMeetingInfo"; strings.Contains(err.Error(), want) {
			t.Errorf("call name set without a client: %v", err)
		}
	})
}
