package bbb

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// A realistic 3.0 getMeetings body built from the reference template: a
// parent with two breakout rooms, one flat (2.4+) and one in the old
// wrapped form, escaped and non-ASCII names, metadata with CDATA, and an
// empty <attendees/>.
const handmadeGetMeetings = `<?xml version="1.0" encoding="UTF-8"?>
<response>
  <returncode>SUCCESS</returncode>
  <meetings>
    <meeting>
      <meetingName>Mathe &amp; Physik &lt;9b&gt; "Gruppe" 'A' – Übung 日本</meetingName>
      <meetingID>math&amp;phys-9b</meetingID>
      <internalMeetingID>a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2-1715261728123</internalMeetingID>
      <createTime>1715261728123</createTime>
      <createDate>Thu May 09 13:35:28 UTC 2024</createDate>
      <voiceBridge>66052</voiceBridge>
      <dialNumber>613-555-1234</dialNumber>
      <attendeePW>ap&amp;1</attendeePW>
      <moderatorPW>mp&lt;2</moderatorPW>
      <running>true</running>
      <duration>0</duration>
      <hasUserJoined>true</hasUserJoined>
      <recording>true</recording>
      <hasBeenForciblyEnded>false</hasBeenForciblyEnded>
      <startTime>1715261728142</startTime>
      <endTime>0</endTime>
      <participantCount>3</participantCount>
      <listenerCount>1</listenerCount>
      <voiceParticipantCount>1</voiceParticipantCount>
      <videoCount>2</videoCount>
      <maxUsers>50</maxUsers>
      <moderatorCount>1</moderatorCount>
      <attendees>
        <attendee>
          <userID>w_aaaa</userID>
          <fullName>Jürgen Ä. Müller</fullName>
          <role>MODERATOR</role>
          <isPresenter>true</isPresenter>
          <isListeningOnly>false</isListeningOnly>
          <hasJoinedVoice>true</hasJoinedVoice>
          <hasVideo>true</hasVideo>
          <clientType>HTML5</clientType>
          <customdata><bbb_auto_join_audio>true</bbb_auto_join_audio></customdata>
        </attendee>
        <attendee>
          <userID>w_bbbb</userID>
          <fullName>山田 太郎</fullName>
          <role>VIEWER</role>
          <isPresenter>false</isPresenter>
          <isListeningOnly>true</isListeningOnly>
          <hasJoinedVoice>false</hasJoinedVoice>
          <hasVideo>false</hasVideo>
          <clientType>HTML5</clientType>
          <customdata/>
        </attendee>
        <attendee>
          <userID>w_cccc</userID>
          <fullName>O'Brien &amp; "Sons" &lt;guest&gt;</fullName>
          <role>VIEWER</role>
          <isPresenter>false</isPresenter>
          <isListeningOnly>false</isListeningOnly>
          <hasJoinedVoice>false</hasJoinedVoice>
          <hasVideo>true</hasVideo>
          <clientType>HTML5</clientType>
          <customdata></customdata>
        </attendee>
      </attendees>
      <metadata>
        <bbb-origin>Moodle</bbb-origin>
        <bbb-context><![CDATA[Kurs <Mathe> & Physik]]></bbb-context>
        <bbb-recording-name>
          <![CDATA[Übung 日本]]>
        </bbb-recording-name>
        <empty/>
      </metadata>
      <isBreakout>false</isBreakout>
      <breakoutRooms>
        <breakout>brk-1-1715261800000</breakout>
        <breakout>brk-2-1715261800001</breakout>
      </breakoutRooms>
    </meeting>
    <meeting>
      <meetingName>Mathe &amp; Physik (Room 1)</meetingName>
      <meetingID>brk-1</meetingID>
      <internalMeetingID>brk-1-1715261800000</internalMeetingID>
      <createTime>1715261800000</createTime>
      <running>true</running>
      <participantCount>2</participantCount>
      <moderatorCount>0</moderatorCount>
      <attendees/>
      <metadata/>
      <isBreakout>true</isBreakout>
      <parentMeetingID>a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2-1715261728123</parentMeetingID>
      <sequence>1</sequence>
      <freeJoin>true</freeJoin>
    </meeting>
    <meeting>
      <meetingName>Mathe &amp; Physik (Room 2)</meetingName>
      <meetingID>brk-2</meetingID>
      <internalMeetingID>brk-2-1715261800001</internalMeetingID>
      <createTime>1715261800001</createTime>
      <participantCount>1</participantCount>
      <attendees>
      </attendees>
      <metadata>
      </metadata>
      <isBreakout>true</isBreakout>
      <breakout>
        <parentMeetingID>a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2-1715261728123</parentMeetingID>
        <sequence>2</sequence>
        <freeJoin>false</freeJoin>
      </breakout>
    </meeting>
  </meetings>
</response>
`

func TestDecodeHandmadeGetMeetings(t *testing.T) {
	ms, err := DecodeMeetings([]byte(handmadeGetMeetings))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("%d meetings", len(ms))
	}
	p := ms[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"meetingName", p.MeetingName, `Mathe & Physik <9b> "Gruppe" 'A' – Übung 日本`},
		{"meetingID", p.MeetingID, "math&phys-9b"},
		{"attendeePW", p.AttendeePW, "ap&1"},
		{"moderatorPW", p.ModeratorPW, "mp<2"},
		{"maxUsers", p.MaxUsers, 50},
		{"videoCount", p.VideoCount, 2},
		{"attendees", len(p.Attendees), 3},
		{"fullName 0", p.Attendees[0].FullName, "Jürgen Ä. Müller"},
		{"fullName 1", p.Attendees[1].FullName, "山田 太郎"},
		{"fullName 2", p.Attendees[2].FullName, `O'Brien & "Sons" <guest>`},
		{"customdata 0", p.Attendees[0].CustomData, map[string]string{"bbb_auto_join_audio": "true"}},
		{"customdata 1", p.Attendees[1].CustomData, map[string]string(nil)},
		{"customdata 2", p.Attendees[2].CustomData, map[string]string(nil)},
		{"listenOnly 1", p.Attendees[1].IsListeningOnly, true},
		{"metadata", p.Metadata, map[string]string{
			"bbb-origin": "Moodle", "bbb-context": "Kurs <Mathe> & Physik",
			"bbb-recording-name": "Übung 日本", "empty": "",
		}},
		{"breakoutRooms", p.BreakoutRooms, []string{"brk-1-1715261800000", "brk-2-1715261800001"}},
		{"parent isBreakout", p.IsBreakout, false},

		{"flat isBreakout", ms[1].IsBreakout, true},
		{"flat parent", ms[1].ParentMeetingID, p.InternalMeetingID},
		{"flat sequence", ms[1].Sequence, 1},
		{"flat freeJoin", ms[1].FreeJoin, true},
		{"flat attendees", len(ms[1].Attendees), 0},
		{"flat metadata", ms[1].Metadata, map[string]string(nil)},

		{"wrapped isBreakout", ms[2].IsBreakout, true},
		{"wrapped parent", ms[2].ParentMeetingID, p.InternalMeetingID},
		{"wrapped sequence", ms[2].Sequence, 2},
		{"wrapped freeJoin", ms[2].FreeJoin, false},
		{"wrapped not running (missing)", ms[2].Running, false},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestDecodeResponses(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		meetings int
		// error expectations
		apiKey    string
		apiMsg    string
		apiErrors []ErrorDetail
		secret    bool
		malformed string
	}{
		{name: "noMeetings", body: `<response><returncode>SUCCESS</returncode><meetings/><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message></response>`},
		{name: "noMeetings CRLF", body: "<response>\r\n<returncode>SUCCESS</returncode>\r\n<meetings>\r\n</meetings>\r\n<messageKey>noMeetings</messageKey>\r\n</response>"},
		{name: "lowercase success", body: `<response><returncode>success</returncode><meetings><meeting><meetingID>x</meetingID></meeting></meetings></response>`, meetings: 1},
		{name: "unknown elements ignored", body: `<response><returncode>SUCCESS</returncode><future a="1"><x><y/></x></future><meetings><meeting><meetingID>x</meetingID><newField><deep><deeper>1</deeper></deep></newField></meeting><notAMeeting/></meetings></response>`, meetings: 1},
		{name: "FAILED checksumError", body: `<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey><message>Checksums do not match</message></response>`,
			apiKey: "checksumError", apiMsg: "Checksums do not match", secret: true},
		{name: "FAILED old checksum text", body: `<response><returncode>FAILED</returncode><messageKey>invalidChecksum</messageKey><message>You did not pass the checksum security check</message></response>`,
			apiKey: "invalidChecksum", apiMsg: "You did not pass the checksum security check", secret: true},
		{name: "FAILED apiNotEnabled", body: `<response><returncode>FAILED</returncode><messageKey>apiNotEnabled</messageKey><message>The API is disabled</message></response>`,
			apiKey: "apiNotEnabled", apiMsg: "The API is disabled"},
		{name: "FAILED multi-error", body: `<response><returncode>FAILED</returncode><errors><error><key>missingParamMeetingID</key><message>You must specify a meeting ID</message></error><error><key>checksumError</key><message>You must provide the checksum</message></error></errors></response>`,
			apiKey: "missingParamMeetingID", apiMsg: "You must specify a meeting ID", secret: true,
			apiErrors: []ErrorDetail{{"missingParamMeetingID", "You must specify a meeting ID"}, {"checksumError", "You must provide the checksum"}}},
		{name: "truncated", body: `<response><returncode>SUCCESS</returncode><meetings><meeting><meetingName>Dem`, malformed: "ends early"},
		{name: "empty", body: ``, malformed: "no XML element"},
		{name: "whitespace", body: " \n ", malformed: "no XML element"},
		{name: "json", body: `{"returncode":"SUCCESS"}`, malformed: "text before"},
		{name: "html root", body: `<html><body>hi</body></html>`, malformed: "root element is <html>"},
		{name: "no returncode", body: `<response><meetings/></response>`, malformed: "no <returncode>"},
		{name: "odd returncode", body: `<response><returncode>MAYBE</returncode></response>`, malformed: "unknown returncode"},
		{name: "mismatched tags", body: `<response><returncode>SUCCESS</returncode><meetings><meeting></meetings></response>`, malformed: "malformed"},
		{name: "backtick tag", body: "<response><returncode>SUCCESS</returncode><meetings><meeting><`voiceBridge`>1</`voiceBridge`></meeting></meetings></response>", malformed: "malformed"},
		{name: "bad entity", body: `<response><returncode>SUCCESS</returncode><x>&bogus;</x></response>`, malformed: "malformed"},
		{name: "latin1 declared", body: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><response><returncode>SUCCESS</returncode><meetings><meeting><meetingName>Gr\xfc\xdfe</meetingName></meeting></meetings></response>", meetings: 1},
		{name: "BOM", body: "\xEF\xBB\xBF<response><returncode>SUCCESS</returncode><meetings/></response>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := DecodeMeetings([]byte(tt.body))
			var ae *APIError
			var me *MalformedXMLError
			switch {
			case tt.apiKey != "":
				if !errors.As(err, &ae) {
					t.Fatalf("err %v, want *APIError", err)
				}
				if ae.MessageKey != tt.apiKey || ae.Message != tt.apiMsg || !reflect.DeepEqual(ae.Errors, tt.apiErrors) {
					t.Errorf("got %+v", ae)
				}
				if IsSecretRejected(err) != tt.secret {
					t.Errorf("IsSecretRejected = %v", !tt.secret)
				}
			case tt.malformed != "":
				if !errors.As(err, &me) {
					t.Fatalf("err %v, want *MalformedXMLError", err)
				}
				if !strings.Contains(err.Error(), tt.malformed) || !strings.HasPrefix(err.Error(), "truncated or malformed XML") {
					t.Errorf("error %q does not contain %q", err, tt.malformed)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if ms == nil || len(ms) != tt.meetings {
					t.Errorf("%d meetings (nil %v), want %d", len(ms), ms == nil, tt.meetings)
				}
			}
		})
	}
}

func TestDecodeLatin1(t *testing.T) {
	body := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><response><returncode>SUCCESS</returncode><meetings><meeting><meetingName>Gr\xfc\xdfe</meetingName></meeting></meetings></response>"
	ms, err := DecodeMeetings([]byte(body))
	if err != nil || ms[0].MeetingName != "Grüße" {
		t.Errorf("%v %v", ms, err)
	}
}

func TestDecodeLenientValues(t *testing.T) {
	body := `<response><returncode>SUCCESS</returncode><meetings><meeting>
<participantCount> 7 </participantCount><moderatorCount>x</moderatorCount><videoCount>-1</videoCount>
<listenerCount>99999999999999999999999</listenerCount><running> TRUE </running><isBreakout>
false
</isBreakout><createTime>+1715261728123</createTime></meeting></meetings></response>`
	ms, err := DecodeMeetings([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	if m.ParticipantCount != 7 || m.ModeratorCount != 0 || m.VideoCount != -1 || m.ListenerCount != 0 ||
		!m.Running || m.IsBreakout || m.CreateTime != 1715261728123 {
		t.Errorf("%+v", m)
	}
}

func TestDecodeMeetingInfoRunning(t *testing.T) {
	r, err := decodeResponse([]byte(`<response><returncode>SUCCESS</returncode><running>true</running></response>`))
	if err != nil || !r.SawRunning || !r.Top.Running {
		t.Errorf("%+v %v", r, err)
	}
}

// A body of tiny elements must not become unbounded memory: past the
// limits the decoder stops with a clear error.
func TestDecodeLimits(t *testing.T) {
	body := func(inner string, n int) []byte {
		return []byte("<response><returncode>SUCCESS</returncode><meetings>" + strings.Repeat(inner, n) + "</meetings></response>")
	}
	if ms, err := DecodeMeetings(body("<meeting/>", MaxMeetings)); err != nil || len(ms) != MaxMeetings {
		t.Fatalf("%d meetings: %d, %v", MaxMeetings, len(ms), err)
	}
	_, err := DecodeMeetings(body("<meeting/>", MaxMeetings+1))
	var me *MalformedXMLError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "more than 10000 meetings") {
		t.Fatalf("too many meetings: %v", err)
	}
	many := "<meeting><attendees>" + strings.Repeat("<attendee/>", MaxItems/2) + "</attendees><metadata>" +
		strings.Repeat("<k/>", MaxItems/2+1) + "</metadata></meeting>"
	if _, err := DecodeMeetings(body(many, 1)); !errors.As(err, &me) || !strings.Contains(err.Error(), "attendees and metadata") {
		t.Fatalf("too many items: %v", err)
	}
}
